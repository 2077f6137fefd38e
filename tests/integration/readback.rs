//! The typed read-back that follows every overlay, against the schema
//! oracles: each object an environment renders, with one optional field of
//! its schema added (a value built from the field's schema) or one present
//! field removed, must be accepted by kiln exactly when kubernetes-validate
//! --strict (core kinds) or the published CRD schema (custom resources)
//! accepts it. (The GitOps wiring is not overlaid, so never read back.)

use crate::oracles::{environments, is_core, validate, validate_crds};
use kiln_tests::{crd_schemas, repo_root, run};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// How deep a synthesised value fills in the required fields of nested objects.
const DEPTH: usize = 4;

/// Where the schemas of an object's fields come from.
struct Schemas {
    definitions: Map<String, Value>,
}

impl Schemas {
    /// The schema of a whole object of `doc`'s kind.
    fn root(&self, doc: &Value) -> Value {
        let api_version = doc["apiVersion"].as_str().unwrap_or_default();
        let kind = doc["kind"].as_str().unwrap_or_default();
        if is_core(doc) {
            let name = crate::openapi::root_of(&self.definitions, api_version, kind);
            return self.definitions[name].clone();
        }
        let (group, version) = api_version.rsplit_once('/').expect("group/version");
        let file = crd_schemas()
            .join(group)
            .join(format!("{}_{version}.json", kind.to_lowercase()));
        serde_json::from_str(&std::fs::read_to_string(&file).expect("CRD schema"))
            .expect("CRD schema parses")
    }

    /// `schema` with its `$ref` (or single `allOf`) followed.
    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        let reference = schema
            .get("$ref")
            .or_else(|| schema.pointer("/allOf/0/$ref"))
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/$defs/"));
        match reference {
            Some(name) => self.resolve(&self.definitions[name]),
            None => schema,
        }
    }

    /// A value `schema` describes: its first enum value, its minimum, one
    /// item, the required fields of an object.
    fn value(&self, schema: &Value, depth: usize) -> Value {
        let schema = self.resolve(schema);
        if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
            return first.clone();
        }
        let types: Vec<&str> = match &schema["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        // Formats the oracles do not check but the API server does (and kiln's types) get valid values.
        match types.into_iter().find(|t| *t != "null") {
            Some("string") if schema["format"] == "date-time" => json!("2026-01-01T00:00:00Z"),
            Some("string") if schema["format"] == "byte" => json!("eA=="),
            Some("string") => json!("x"),
            Some("integer") | Some("number") => schema["minimum"]
                .as_i64()
                .map_or(json!(1), |m| json!(m.max(1))),
            Some("boolean") => json!(true),
            Some("array") if depth > 0 => json!([self.value(&schema["items"], depth - 1)]),
            Some("array") => json!([]),
            Some("object") | None => self.object(schema, depth),
            Some(other) => panic!("schema type {other}"),
        }
    }

    fn object(&self, schema: &Value, depth: usize) -> Value {
        let mut out = Map::new();
        if depth == 0 {
            return Value::Object(out);
        }
        if let Some(properties) = schema["properties"].as_object() {
            for name in schema["required"].as_array().into_iter().flatten() {
                let name = name.as_str().unwrap_or_default();
                out.insert(name.into(), self.value(&properties[name], depth - 1));
            }
        } else if let Some(values) = schema.get("additionalProperties").filter(|v| v.is_object()) {
            out.insert("k".into(), self.value(values, depth - 1));
        }
        Value::Object(out)
    }

    /// Every object `doc` holds, with its schema: where a field can be added or removed.
    fn variants(&self, doc: &Value) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        let root = self.root(doc);
        self.walk(doc, &root, String::new(), doc, &mut out);
        out
    }

    fn walk(
        &self,
        here: &Value,
        schema: &Value,
        at: String,
        doc: &Value,
        out: &mut Vec<(String, Value)>,
    ) {
        let schema = self.resolve(schema);
        match here {
            Value::Object(map) => {
                let Some(properties) = schema["properties"].as_object() else {
                    return;
                };
                for (name, field) in properties {
                    let pointer = kiln::model::pointer::join(&at, name);
                    if ["/apiVersion", "/kind", "/metadata"].contains(&pointer.as_str()) {
                        continue;
                    }
                    let mut changed = doc.clone();
                    let parent = changed
                        .pointer_mut(&at)
                        .and_then(Value::as_object_mut)
                        .expect("object");
                    match map.get(name) {
                        Some(value) => {
                            parent.remove(name);
                            out.push((format!("without {pointer}"), changed));
                            self.walk(value, field, pointer, doc, out);
                        }
                        None => {
                            parent.insert(name.clone(), self.value(field, DEPTH));
                            out.push((format!("with {pointer}"), changed));
                        }
                    }
                }
            }
            Value::Array(items) if !items.is_empty() => {
                self.walk(&items[0], &schema["items"], format!("{at}/0"), doc, out);
            }
            _ => {}
        }
    }
}

/// The oracles' verdict on each document: accepted or not.
fn oracle_accepts(docs: &[&Value]) -> Vec<bool> {
    let dir = tempfile::tempdir().expect("tmp");
    let files: Vec<_> = docs
        .iter()
        .enumerate()
        .map(|(i, doc)| {
            let file = dir.path().join(format!("case-{i}.yaml"));
            std::fs::write(&file, kiln::model::emit::yaml(doc)).expect("write");
            file
        })
        .collect();
    let (core, custom): (Vec<_>, Vec<_>) = (0..docs.len()).partition(|i| is_core(docs[*i]));
    let pick = |indices: &[usize]| {
        indices
            .iter()
            .map(|i| files[*i].clone())
            .collect::<Vec<_>>()
    };
    let (_, core_out, _) = run(validate().args(pick(&core)));
    let (_, custom_out, _) = validate_crds(&pick(&custom));
    let refused: Vec<&str> = core_out
        .lines()
        .filter(|l| l.starts_with("ERROR "))
        .chain(custom_out.lines().filter(|l| !l.ends_with(" ok")))
        .collect();
    files
        .iter()
        .map(|file| {
            let file = format!("{}:", file.display());
            let spaced = format!("{} ", file.trim_end_matches(':'));
            !refused
                .iter()
                .any(|l| l.contains(&file) || l.contains(&spaced))
        })
        .collect()
}

#[test]
fn the_read_back_accepts_and_refuses_what_the_schemas_do() {
    let schemas = Schemas {
        definitions: crate::openapi::definitions(),
    };
    // Each variant of each kind once (the environments' objects differ little).
    let mut cases: BTreeMap<String, (String, Value)> = BTreeMap::new();
    for env in environments() {
        for resource in crate::render_env(&repo_root(), &env).resources() {
            for (what, variant) in schemas.variants(&resource.to_value()) {
                let label = format!("{} {}: {what}", resource.kind(), resource.name());
                let key = format!("{} {what}", resource.kind());
                cases.entry(key).or_insert((label, variant));
            }
        }
    }
    let verdicts = oracle_accepts(&cases.values().map(|(_, d)| d).collect::<Vec<_>>());
    let mut counts: BTreeMap<(bool, bool), usize> = BTreeMap::new();
    let mut disagreements = Vec::new();
    for ((label, doc), oracle) in cases.values().zip(verdicts) {
        let kiln = kiln::k8s::Resource::from_value(doc);
        *counts.entry((kiln.is_ok(), oracle)).or_default() += 1;
        if kiln.is_ok() != oracle {
            disagreements.push(format!(
                "{label}: kiln {}, the schema oracle {}",
                kiln.err()
                    .map_or_else(|| "accepts".into(), |e| e.to_string()),
                if oracle { "accepts" } else { "refuses" }
            ));
        }
    }
    eprintln!(
        "{} variants; (kiln accepts, oracle accepts): {counts:?}",
        cases.len()
    );
    assert!(
        disagreements.is_empty(),
        "{} of {} variants:\n{}",
        disagreements.len(),
        cases.len(),
        disagreements.join("\n")
    );
}
