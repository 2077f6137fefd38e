"""Validate custom resources against the CRD schemas in crates/kiln-k8s/schemas,
strictly: an object schema that lists its properties rejects any other property
(as kubeconform -strict does), so a misspelt field fails.

usage: crd_validate.py SCHEMA_DIR FILE...   (exit 1 on any failure)"""
import json
import os
import sys

import jsonschema
import yaml


def strict(schema):
    if isinstance(schema, dict):
        if schema.get("type") == "object" and "properties" in schema:
            schema.setdefault("additionalProperties", False)
        for key, value in schema.items():
            if key != "additionalProperties" or isinstance(value, dict):
                strict(value)
    elif isinstance(schema, list):
        for item in schema:
            strict(item)
    return schema


def main():
    schema_dir, files = sys.argv[1], sys.argv[2:]
    failures = 0
    for path in files:
        with open(path, encoding="utf-8") as f:
            docs = [d for d in yaml.safe_load_all(f) if d is not None]
        for doc in docs:
            group, _, version = doc["apiVersion"].rpartition("/")
            schema_path = os.path.join(schema_dir, group, f"{doc['kind'].lower()}_{version}.json")
            if not os.path.exists(schema_path):
                print(f"{path}: no schema for {doc['apiVersion']} {doc['kind']}")
                failures += 1
                continue
            with open(schema_path, encoding="utf-8") as f:
                schema = strict(json.load(f))
            errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(doc), key=str)
            for error in errors:
                pointer = "/" + "/".join(str(p) for p in error.absolute_path)
                print(f"{path}: {doc['kind']} {pointer}: {error.message}")
            failures += len(errors)
            if not errors:
                print(f"{path}: {doc['kind']} ok")
    sys.exit(1 if failures else 0)


main()
