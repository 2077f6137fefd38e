//! Reading built Kubernetes documents: their `Kind/name`, and fields named by
//! where they are.

use serde_json::Value;

/// `Kind/name` of a document.
pub(super) fn id(doc: &Value) -> String {
    format!(
        "{}/{}",
        doc["kind"].as_str().unwrap_or("?"),
        doc["metadata"]["name"].as_str().unwrap_or("?")
    )
}

pub(super) fn of_kind<'a>(
    docs: &'a [Value],
    kind: &'a str,
) -> impl Iterator<Item = &'a Value> + 'a {
    docs.iter().filter(move |d| d["kind"] == kind)
}

/// Reads a document's fields, naming each as `Kind/name /pointer`.
pub(super) struct At<'a> {
    pub(super) doc: &'a Value,
    pub(super) id: String,
}

impl<'a> At<'a> {
    pub(super) fn new(doc: &'a Value) -> At<'a> {
        At { doc, id: id(doc) }
    }

    pub(super) fn get(&self, pointer: &str) -> Option<&'a Value> {
        self.doc.pointer(pointer).filter(|v| !v.is_null())
    }

    /// The items of the list at `pointer` (none if it is not a list).
    pub(super) fn items(&self, pointer: &str) -> impl Iterator<Item = &'a Value> + use<'a> {
        self.get(pointer)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
    }

    pub(super) fn from(&self, pointer: &str) -> String {
        format!("{} {pointer}", self.id)
    }
}

/// Each volume mount of container `c` (its index, the mount, the volume).
pub(super) fn mounted<'a>(d: &At<'a>, c: &str) -> Vec<(usize, &'a Value, &'a Value)> {
    let volumes: Vec<&Value> = d.items("/spec/template/spec/volumes").collect();
    d.items(&format!("{c}/volumeMounts"))
        .enumerate()
        .filter_map(|(i, mount)| {
            let volume = volumes.iter().find(|v| v["name"] == mount["name"])?;
            Some((i, mount, *volume))
        })
        .collect()
}
