//! Patching JSON documents the way kustomize does: RFC 6902 JSON patches and
//! RFC 7386 merge patches (both from the `json-patch` crate), and strategic
//! merge, which merges lists of objects by a key instead of replacing them.
//!
//! The same strategic merge serves two purposes: an overlay's typed `set`
//! changes to the description (lists merged by `path`, `env`, …) and
//! strategic-merge patches of rendered resources (lists merged by their
//! Kubernetes merge keys).

use serde_json::{Map, Value};

mod target;
pub use target::{Selector, SelectorError, Target, selector_is_valid};

/// How the items of a list are merged: the fields that identify them, and
/// where the result puts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListMerge {
    /// The merge keys: `name`, or `port` and `protocol`. A patch item must
    /// give the first; it matches the item that agrees on every key both give.
    pub keys: &'static [&'static str],
    /// Where merged items go.
    pub order: Order,
}

/// Item order after a keyed list merge, as kustomize leaves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// The patch's items in patch order, then the target's other items.
    PatchFirst,
    /// Items new to the list (in patch order), then the target's items, merged in place.
    NewFirst,
}

/// How the list at `path` (field names from the document root) merges, or
/// `None` to replace it as a whole.
pub type MergeKeys<'a> = &'a dyn Fn(&[&str]) -> Option<ListMerge>;

const DIRECTIVE: &str = "$patch";

/// Why a strategic merge failed, and where in the patch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeError {
    /// JSON pointer within the patch.
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for MergeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.pointer, self.message)
    }
}

/// The most bytes JSON patch `copy` operations may duplicate, summed over
/// one overlay's patches: a few operations that copy a document into itself
/// would otherwise double it each time.
pub const MAX_COPIED_BYTES: u64 = 4 << 20;

/// Why an RFC 6902 patch failed: which operation, and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPatchError {
    /// Index of the operation in the patch.
    pub operation: usize,
    /// What is wrong.
    pub message: String,
}

/// Applies RFC 6902 `ops` to `doc`, one operation at a time. The bytes each
/// `copy` duplicates are added to `copied`; an operation that would take it
/// past [`MAX_COPIED_BYTES`] is refused before it runs.
///
/// ```
/// use kiln_k8s::patch::json_patch;
/// use serde_json::json;
/// let mut doc = json!({"kind": "Deployment", "spec": {"replicas": 1}});
/// let ops: Vec<json_patch::PatchOperation> = serde_json::from_value(json!([
///     {"op": "test", "path": "/spec/replicas", "value": 1},
///     {"op": "add", "path": "/spec/minReadySeconds", "value": 10},
///     {"op": "copy", "from": "/spec/replicas", "path": "/spec/revisionHistoryLimit"},
/// ])).unwrap();
/// let mut copied = 0;
/// json_patch(&mut doc, &ops, &mut copied).unwrap();
/// assert_eq!(doc["spec"], json!({"replicas": 1, "minReadySeconds": 10, "revisionHistoryLimit": 1}));
/// // RFC 6902: a `remove` of a path that does not exist is an error, naming the operation.
/// let remove: Vec<json_patch::PatchOperation> =
///     serde_json::from_value(json!([{"op": "remove", "path": "/spec/paused"}])).unwrap();
/// assert_eq!(json_patch(&mut doc, &remove, &mut copied).unwrap_err().operation, 0);
/// ```
pub fn json_patch(
    doc: &mut Value,
    ops: &[json_patch::PatchOperation],
    copied: &mut u64,
) -> Result<(), JsonPatchError> {
    for (i, op) in ops.iter().enumerate() {
        if let json_patch::PatchOperation::Copy(copy) = op {
            let size = doc
                .pointer(copy.from.as_str())
                .map_or(0, kiln_model::emit::json_len);
            *copied += size;
            if *copied > MAX_COPIED_BYTES {
                return Err(JsonPatchError {
                    operation: i,
                    message: format!(
                        "copies more than {} MiB in all; JSON patches that copy a document into itself grow it without bound",
                        MAX_COPIED_BYTES >> 20
                    ),
                });
            }
        }
        json_patch::patch(doc, std::slice::from_ref(op)).map_err(|e| JsonPatchError {
            operation: i,
            message: format!("operation on `{}` failed: {}", e.path, e.kind),
        })?;
    }
    Ok(())
}

/// Strategic merge of `patch` into `target`:
/// - maps merge recursively; `null` removes a field;
/// - lists with a merge key merge item by item, ordered as kustomize orders
///   them (see [`Order`]); an item
///   `{<key>: …, $patch: delete}` removes the matching item;
/// - other lists and scalars are replaced;
/// - `$patch: replace` in a map replaces the map; a list item `{$patch: replace}`
///   makes the patch's items the whole list; `$patch: delete` in a map removes it.
///
/// Errors carry the JSON pointer (within the patch) of the problem.
///
/// ```
/// use kiln_k8s::openapi::KindSchema;
/// use kiln_k8s::patch::strategic_merge;
/// use serde_json::json;
/// let mut doc = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": {"spec": {
///     "containers": [{"name": "gateway", "image": "portkeyai/gateway:1.12.1",
///                     "env": [{"name": "TMPDIR", "value": "/tmp"}, {"name": "LOG_LEVEL", "value": "info"}]}]}}}});
/// let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "gateway",
///     "env": [{"name": "TMPDIR", "$patch": "delete"}, {"name": "LOG_LEVEL", "value": "debug"}]}]}}}});
/// let schema = KindSchema::of("apps/v1", "Deployment").unwrap();
/// let keys = |path: &[&str]| schema.list_merge(path); // containers and env merge by `name`
/// strategic_merge(&mut doc, &patch, &keys).unwrap();
/// let container = &doc["spec"]["template"]["spec"]["containers"][0];
/// assert_eq!(container["image"], "portkeyai/gateway:1.12.1");
/// assert_eq!(container["env"], json!([{"name": "LOG_LEVEL", "value": "debug"}]));
/// ```
pub fn strategic_merge(
    target: &mut Value,
    patch: &Value,
    keys: MergeKeys,
) -> Result<(), MergeError> {
    let mut path = Vec::new();
    merge_value(target, patch, keys, &mut path)
}

fn pointer(path: &[&str]) -> String {
    path.iter()
        .map(|p| kiln_model::pointer::join("", p))
        .collect()
}

fn merge_value<'a>(
    target: &mut Value,
    patch: &'a Value,
    keys: MergeKeys,
    path: &mut Vec<&'a str>,
) -> Result<(), MergeError> {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => merge_map(t, p, keys, path),
        (target, patch) => {
            *target = strip(patch, path)?;
            Ok(())
        }
    }
}

/// The strategic-merge directives kiln does not apply, refused with what to
/// write instead (they would otherwise land in the object as keys).
fn unsupported_directive(map: &Map<String, Value>, path: &[&str]) -> Result<(), MergeError> {
    let Some(key) = map.keys().find(|k| k.starts_with('$') && *k != DIRECTIVE) else {
        return Ok(());
    };
    let instead = if key == "$retainKeys" {
        "to keep only the keys you give, write the map with `$patch: replace` in it"
    } else if key.starts_with("$setElementOrder/") {
        "kiln keeps merged items in the list's order; to set an order, give the whole list with an item `{$patch: replace}`"
    } else if key.starts_with("$deleteFromPrimitiveList/") {
        "give the whole list without those values and an item `{$patch: replace}`, or remove them with a `json:` (RFC 6902) patch"
    } else {
        "kiln applies only `$patch` (merge, replace, delete)"
    };
    Err(MergeError {
        pointer: format!(
            "{}/{}",
            pointer(path),
            key.replace('~', "~0").replace('/', "~1")
        ),
        message: format!("`{key}` is a directive kiln does not apply: {instead}"),
    })
}

fn directive<'a>(
    map: &'a Map<String, Value>,
    path: &[&str],
) -> Result<Option<&'a str>, MergeError> {
    match map.get(DIRECTIVE) {
        None => Ok(None),
        Some(Value::String(s)) if s == "replace" || s == "delete" || s == "merge" => Ok(Some(s)),
        Some(other) => Err(MergeError {
            pointer: pointer(path),
            message: format!(
                "`$patch: {other}` is not a directive kiln knows (expected replace, delete or merge)"
            ),
        }),
    }
}

fn merge_map<'a>(
    target: &mut Map<String, Value>,
    patch: &'a Map<String, Value>,
    keys: MergeKeys,
    path: &mut Vec<&'a str>,
) -> Result<(), MergeError> {
    unsupported_directive(patch, path)?;
    match directive(patch, path)? {
        Some("replace") => {
            *target = match strip(&Value::Object(patch.clone()), path)? {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            return Ok(());
        }
        Some("delete") => {
            target.clear();
            return Ok(());
        }
        _ => {}
    }
    for (key, value) in patch {
        if key == DIRECTIVE {
            continue;
        }
        path.push(key);
        match value {
            Value::Null => {
                target.remove(key);
            }
            Value::Object(p) if directive(p, path)? == Some("delete") => {
                target.remove(key);
            }
            Value::Array(items) => match (keys(path), target.get_mut(key)) {
                (Some(how), Some(Value::Array(existing))) => {
                    merge_list(existing, items, how, keys, path)?;
                }
                _ => {
                    target.insert(key.clone(), strip_list(items, path)?);
                }
            },
            _ => match target.get_mut(key) {
                Some(existing) => merge_value(existing, value, keys, path)?,
                None => {
                    target.insert(key.clone(), strip(value, path)?);
                }
            },
        }
        path.pop();
    }
    Ok(())
}

fn merge_list<'a>(
    target: &mut Vec<Value>,
    patch: &'a [Value],
    how: ListMerge,
    keys: MergeKeys,
    path: &mut Vec<&'a str>,
) -> Result<(), MergeError> {
    let replace_all = patch.iter().any(|item| {
        item.as_object()
            .is_some_and(|m| m.len() == 1 && m.get(DIRECTIVE) == Some(&Value::from("replace")))
    });
    if replace_all {
        let kept: Vec<Value> = patch
            .iter()
            .filter(|item| item.get(DIRECTIVE).is_none())
            .cloned()
            .collect();
        *target = match strip_list(&kept, path)? {
            Value::Array(items) => items,
            _ => Vec::new(),
        };
        return Ok(());
    }
    let mut remaining: Vec<Option<Value>> = target.drain(..).map(Some).collect();
    // Patch items, with the index of the target item each replaces (if any).
    let mut merged: Vec<(Option<usize>, Value)> = Vec::new();
    for (i, item) in patch.iter().enumerate() {
        let map = keyed_item(item, how.keys).map_err(|message| MergeError {
            pointer: format!("{}/{i}", pointer(path)),
            message,
        })?;
        // The same item again in one patch: as the API server's strategic
        // merge does, it changes the item already merged (the last value wins).
        let again = merged.iter().position(|(_, v)| {
            how.keys
                .iter()
                .all(|k| map.get(*k).is_none_or(|x| v.get(*k) == Some(x)))
        });
        if let Some(at) = again {
            if directive(map, path)? == Some("delete") {
                merged.remove(at);
            } else {
                merge_value(&mut merged[at].1, item, keys, path)?;
            }
            continue;
        }
        let found = matching_item(&remaining, map, how.keys).map_err(|message| MergeError {
            pointer: format!("{}/{i}", pointer(path)),
            message,
        })?;
        let existing = found.and_then(|at| remaining[at].take());
        if directive(map, path)? == Some("delete") {
            continue;
        }
        let mut value = existing.unwrap_or_else(|| Value::Object(Map::new()));
        merge_value(&mut value, item, keys, path)?;
        merged.push((found, value));
    }
    *target = match how.order {
        Order::PatchFirst => merged
            .into_iter()
            .map(|(_, v)| v)
            .chain(remaining.into_iter().flatten())
            .collect(),
        Order::NewFirst => {
            let mut slots: Vec<Option<Value>> = remaining;
            let mut new = Vec::new();
            for (at, value) in merged {
                match at {
                    Some(at) => slots[at] = Some(value),
                    None => new.push(value),
                }
            }
            new.into_iter().chain(slots.into_iter().flatten()).collect()
        }
    };
    Ok(())
}

/// A patch item of a keyed list: an object with the first merge key.
fn keyed_item<'a>(item: &'a Value, keys: &[&str]) -> Result<&'a Map<String, Value>, String> {
    let names = keys.join("`, `");
    let map = item.as_object().ok_or_else(|| {
        format!("expected an object with `{names}` (items of this list are merged by them)")
    })?;
    match keys.first() {
        Some(first) if !map.contains_key(*first) => Err(format!(
            "missing `{first}`, which identifies the item to change"
        )),
        _ => Ok(map),
    }
}

/// The first remaining target item that agrees with `item` on every merge
/// key both give: a patch that leaves out `protocol` matches the port
/// whatever its protocol, and is an error if several ports match. A target
/// item without the first key (a port without `port`) matches nothing.
fn matching_item(
    remaining: &[Option<Value>],
    item: &Map<String, Value>,
    keys: &[&str],
) -> Result<Option<usize>, String> {
    let agrees = |t: &Value| {
        keys.first().is_none_or(|first| t.get(*first).is_some())
            && keys.iter().all(|k| match (item.get(*k), t.get(*k)) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            })
    };
    let mut found = remaining
        .iter()
        .enumerate()
        .filter(|(_, slot)| slot.as_ref().is_some_and(agrees))
        .map(|(at, _)| at);
    let gives_every_key = keys.iter().all(|k| item.contains_key(*k));
    match (found.next(), found.next()) {
        (Some(_), Some(_)) if !gives_every_key => Err(format!(
            "matches more than one item; give every one of `{}` to say which",
            keys.join("`, `")
        )),
        (first, _) => Ok(first),
    }
}

/// A patch value with its directives removed, for places where there is nothing to merge into.
fn strip(value: &Value, path: &[&str]) -> Result<Value, MergeError> {
    match value {
        Value::Object(map) => {
            directive(map, path)?;
            let mut out = Map::new();
            for (k, v) in map {
                if k != DIRECTIVE && !v.is_null() {
                    out.insert(k.clone(), strip(v, path)?);
                }
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => strip_list(items, path),
        other => Ok(other.clone()),
    }
}

/// A list that replaces another: its items as given (a `null` inside an item
/// stays, as in RFC 7386 and kustomize), without the directive-only items.
fn strip_list(items: &[Value], path: &[&str]) -> Result<Value, MergeError> {
    let mut out = Vec::new();
    for item in items {
        if let Some(map) = item.as_object() {
            directive(map, path)?;
        }
        let is_directive_only = item
            .as_object()
            .is_some_and(|m| m.len() == 1 && m.contains_key(DIRECTIVE));
        let deleted = item.get(DIRECTIVE) == Some(&Value::from("delete"));
        if !is_directive_only && !deleted {
            out.push(item.clone());
        }
    }
    Ok(Value::Array(out))
}

#[cfg(test)]
mod tests;
