"""Validate a JSON document against a JSON schema (draft picked from its $schema).

usage: json_validate.py SCHEMA FILE   (exit 1 and the errors on failure)"""
import json
import sys

import jsonschema


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    with open(sys.argv[2], encoding="utf-8") as f:
        doc = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    errors = sorted(cls(schema).iter_errors(doc), key=str)
    for error in errors:
        pointer = "/" + "/".join(str(p) for p in error.absolute_path)
        print(f"{pointer}: {error.message}")
    sys.exit(1 if errors else 0)


main()
