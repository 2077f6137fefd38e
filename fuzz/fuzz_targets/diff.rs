//! `kiln diff` of two arbitrary sets of documents (JSON, the sides separated
//! by a NUL) in every format; and no Secret value ever in the output.
//!
//! The secret oracle: the same diff is computed with every Secret value
//! replaced by a blank; a value that does not appear in that output (it is
//! not also a name, a key or kiln's own words) must not appear in the real one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn docs(text: &str) -> Option<Vec<Value>> {
    match serde_json::from_str(text).ok()? {
        Value::Array(docs) => Some(docs),
        doc => Some(vec![doc]),
    }
}

/// Visits the values under each Secret's data and stringData (in Lists too).
fn secret_values(doc: &mut Value, f: &mut dyn FnMut(&mut Value)) {
    if doc["kind"] == "Secret" {
        for field in ["data", "stringData"] {
            if let Some(map) = doc.get_mut(field).and_then(Value::as_object_mut) {
                map.values_mut().for_each(&mut *f);
            }
        }
    }
    if let Some(items) = doc.get_mut("items").and_then(Value::as_array_mut) {
        for item in items {
            secret_values(item, f);
        }
    }
}

fn shown(old: &[Value], new: &[Value]) -> String {
    let items = |docs: &[Value]| docs.iter().cloned().map(kiln::diff::Item::from).collect();
    let old = kiln::diff::Snapshot::from([("e".to_string(), items(old))]);
    let new = kiln::diff::Snapshot::from([("e".to_string(), items(new))]);
    let diff = kiln::diff::diff(&old, &new, 3);
    kiln::diff::text(&diff, kiln::model::emit::Color::Ansi)
        + &kiln::diff::markdown(&diff, kiln::diff::COMMENT_LIMIT)
        + &kiln::diff::json(&diff).to_string()
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (a, b) = text.split_once('\0').unwrap_or((&text, "[]"));
    let (Some(old), Some(new)) = (docs(a), docs(b)) else {
        return;
    };
    let output = shown(&old, &new);
    let (mut blank_old, mut blank_new) = (old.clone(), new.clone());
    let mut hidden = Vec::new();
    for doc in blank_old.iter_mut().chain(blank_new.iter_mut()) {
        secret_values(doc, &mut |v| {
            if let Some(s) = v.as_str().filter(|s| s.len() >= 8) {
                hidden.push(s.to_string());
            }
            *v = Value::String(String::new());
        });
    }
    let baseline = shown(&blank_old, &blank_new);
    for secret in hidden {
        if !baseline.contains(&secret) {
            assert!(
                !output.contains(&secret),
                "secret value {secret:?} shown:\n{output}"
            );
        }
    }
});
