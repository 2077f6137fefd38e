//! Generated differential test: random overlays (fixed seed), each applied by
//! kiln and by `kubectl kustomize` to the same rendered environment.
//!
//! Each case is 1–4 operations — RFC 6902, strategic and merge patches on
//! every rendered kind, images, replicas, name prefix/suffix, labels (with and
//! without selectors), annotations, namespace — with targets by kind, name,
//! anchored regular expression or label selector. A case passes when both
//! tools give the same documents, both refuse it, or a divergence docs/reference/overlays.md
//! documents explains the difference (see [`Explained`]). A failure prints
//! the smallest subset of the case's operations that still fails.

use crate::kustomize_diff::{Case, sorted, with_kiln, with_kustomize};
use kiln_tests::*;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// At least this many cases per `make test` run.
const CASES: usize = 640;
const SEED: u64 = 0x006b_696c_6e2d_3137;

/// Environments whose resources cover every kind kiln renders for the gateway.
const ENVIRONMENTS: [&str; 3] = ["prod", "eks", "dev"];

/// SplitMix64: a tiny, fixed, platform-independent generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// One overlay operation, as kiln and as kustomize spell it.
#[derive(Debug, Clone)]
struct Op {
    kiln: Value,
    kustomize: Value,
}

/// Fields whose values are lists in both overlays (appended); others are set.
const LIST_FIELDS: [&str; 4] = ["patches", "images", "replicas", "labels"];

/// The case's operations over `env`, or over a parent level `parent` (an
/// overlay of `env` both tools spell the same) when it is not null.
fn combine(env: &str, parent: &Value, ops: &[Op]) -> Case {
    let mut kiln = json!({"extends": if parent.is_null() { env } else { "case-parent" }});
    let mut kustomize = json!({});
    for op in ops {
        for (into, from) in [(&mut kiln, &op.kiln), (&mut kustomize, &op.kustomize)] {
            for (k, v) in from.as_object().into_iter().flatten() {
                if LIST_FIELDS.contains(&k.as_str()) {
                    let list = into[k.as_str()].as_array().cloned().unwrap_or_default();
                    into[k.as_str()] =
                        Value::Array([list, v.as_array().cloned().unwrap_or_default()].concat());
                } else if let (Some(have), Some(add)) =
                    (into[k.as_str()].as_object_mut(), v.as_object())
                {
                    have.extend(add.clone());
                } else {
                    into[k.as_str()] = v.clone();
                }
            }
        }
    }
    let mut parent = parent.clone();
    if !parent.is_null() {
        parent["extends"] = json!(env);
    }
    Case {
        name: "generated",
        kiln,
        kustomize,
        parent,
    }
}

const WORDS: [&str; 6] = ["web", "blue", "a1", "x-y", "on", "2"];

fn word(rng: &mut Rng) -> String {
    rng.pick(&WORDS).to_string()
}

/// A value of the same JSON type as `v` (a different one where possible).
fn similar(rng: &mut Rng, v: &Value) -> Option<Value> {
    Some(match v {
        Value::String(_) => Value::from(word(rng)),
        Value::Number(_) => Value::from(rng.below(5) + 1),
        Value::Bool(b) => Value::from(!b),
        _ => return None,
    })
}

/// Paths (as field/index segments) of every node of `doc`, except the
/// identity fields both tools select and name resources by.
fn nodes(doc: &Value) -> Vec<Vec<String>> {
    fn walk(v: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        out.push(at.clone());
        let children: Vec<(String, &Value)> = match v {
            Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), v)).collect(),
            Value::Array(a) => a
                .iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v))
                .collect(),
            _ => Vec::new(),
        };
        for (k, child) in children {
            at.push(k);
            walk(child, at, out);
            at.pop();
        }
    }
    let mut out = Vec::new();
    walk(doc, &mut Vec::new(), &mut out);
    let identity = |p: &Vec<String>| {
        matches!(
            p.iter().map(String::as_str).collect::<Vec<_>>().as_slice(),
            [] | ["apiVersion"]
                | ["kind"]
                | ["metadata"]
                | ["metadata", "name"]
                | ["metadata", "namespace"]
        )
    };
    out.retain(|p| !identity(p));
    out
}

fn pointer(path: &[String]) -> String {
    path.iter()
        .fold(String::new(), |at, p| kiln::model::pointer::join(&at, p))
}

fn target(rng: &mut Rng, doc: &Value) -> Value {
    let kind = doc["kind"].as_str().unwrap_or_default();
    let name = doc["metadata"]["name"].as_str().unwrap_or_default();
    let component = doc["metadata"]["labels"]["app.kubernetes.io/component"]
        .as_str()
        .unwrap_or("gateway");
    match rng.below(15) {
        0 | 1 => json!({"kind": kind}),
        2 | 3 => json!({"kind": kind, "name": format!("{}.*", &name[..name.len().min(7)])}),
        4 | 5 => json!({"name": name, "kind": format!("{}|Nothing", kind)}),
        6 => json!({"labelSelector": "app.kubernetes.io/part-of=portkey", "kind": kind}),
        7 => json!({"kind": kind, "name": "nothing-here"}),
        // Set-based selectors, and annotation selectors.
        8 => {
            json!({"kind": kind, "labelSelector": format!("app.kubernetes.io/component in ({component},x)")})
        }
        9 => {
            json!({"kind": kind, "labelSelector": "app.kubernetes.io/component notin (other),app.kubernetes.io/part-of"})
        }
        10 => json!({"kind": kind, "annotationSelector": "checkov.io/skip1"}),
        _ => json!({"kind": kind, "name": name}),
    }
}

fn patch_op(target: Value, kiln_form: &str, body: Value, kustomize_patch: Value) -> Op {
    Op {
        kiln: json!({"patches": [{"target": target, kiln_form: body}]}),
        kustomize: json!({"patches": [{"target": target, "patch": kiln::model::emit::yaml(&kustomize_patch)}]}),
    }
}

/// An RFC 6902 patch of one to three operations on a random resource.
fn json6902(rng: &mut Rng, docs: &[Value]) -> Op {
    let doc = rng.pick(docs);
    let all = nodes(doc);
    let mut ops = Vec::new();
    for _ in 0..=rng.below(3) {
        let path = rng.pick(&all).clone();
        let value = doc.pointer(&pointer(&path)).cloned().unwrap_or(Value::Null);
        let op = match (rng.below(5), similar(rng, &value)) {
            (0 | 1, Some(v)) => json!({"op": "replace", "path": pointer(&path), "value": v}),
            (2, _) => json!({"op": "remove", "path": pointer(&path)}),
            (3, _) if value.is_array() => {
                let item = value[0].clone();
                json!({"op": "add", "path": format!("{}/-", pointer(&path)), "value": item})
            }
            (3, _) if value.is_object() => {
                json!({"op": "add", "path": format!("{}/kiln-gen", pointer(&path)), "value": word(rng)})
            }
            _ => json!({"op": "test", "path": pointer(&path), "value": value}),
        };
        ops.push(op);
    }
    let t = target(rng, doc);
    // As JSON: kustomize v5.5 drops the final newline of a block scalar (`|`)
    // in an inline JSON patch's value, which JSON's "\n" cannot lose.
    let text = serde_json::to_string(&ops).expect("serialises");
    Op {
        kiln: json!({"patches": [{"target": t, "json": ops}]}),
        kustomize: json!({"patches": [{"target": t, "patch": text}]}),
    }
}

/// A strategic-merge (or, for maps and scalars only, RFC 7386) patch: a
/// change to a field somewhere in a random resource, with every list on the
/// way addressed by its merge keys.
fn strategic(rng: &mut Rng, docs: &[Value]) -> Op {
    let doc = rng.pick(docs);
    let schema = kiln::k8s::openapi::KindSchema::of(
        doc["apiVersion"].as_str().unwrap_or_default(),
        doc["kind"].as_str().unwrap_or_default(),
    );
    let all = nodes(doc);
    let path = rng.pick(&all).clone();
    let mut through_list = false;
    let body = build_patch(rng, doc, &path, &mut Vec::new(), schema, &mut through_list);
    let t = target(rng, doc);
    let mut full = body.clone();
    full["apiVersion"] = doc["apiVersion"].clone();
    full["kind"] = doc["kind"].clone();
    full["metadata"]["name"] = doc["metadata"]["name"].clone();
    let form = if through_list {
        "strategic"
    } else {
        *rng.pick(&["strategic", "merge"])
    };
    match rng.below(8) {
        // No target: the body names its resource (with its namespace, as
        // kustomize matches only namespace-less resources otherwise).
        0 if form == "strategic" => {
            let mut named = full.clone();
            if let Some(ns) = doc["metadata"].get("namespace") {
                named["metadata"]["namespace"] = ns.clone();
            }
            Op {
                kiln: json!({"patches": [{"strategic": named}]}),
                kustomize: json!({"patches": [{"patch": kiln::model::emit::yaml(&named)}]}),
            }
        }
        // A target and a body that names another resource: the target decides.
        1 => {
            let mut other = body.clone();
            other["metadata"]["name"] = json!("another-name");
            let mut other_full = full.clone();
            other_full["metadata"]["name"] = json!("another-name");
            patch_op(t, form, other, other_full)
        }
        _ => patch_op(t, form, body, full),
    }
}

/// A strategic patch that names one `env` item twice, with two values.
fn duplicate_key(rng: &mut Rng, docs: &[Value]) -> Op {
    let workloads: Vec<&Value> = docs.iter().filter(|d| d["kind"] == "Deployment").collect();
    let doc = *rng.pick(&workloads);
    let container = doc["spec"]["template"]["spec"]["containers"][0]["name"].clone();
    let name = format!("GEN_{}", word(rng).to_uppercase().replace('-', "_"));
    let body = json!({"spec": {"template": {"spec": {"containers": [{
        "name": container,
        "env": [{"name": name, "value": word(rng)}, {"name": name, "value": "second"}],
    }]}}}});
    let mut full = body.clone();
    full["apiVersion"] = doc["apiVersion"].clone();
    full["kind"] = doc["kind"].clone();
    full["metadata"]["name"] = doc["metadata"]["name"].clone();
    patch_op(
        json!({"kind": "Deployment", "name": doc["metadata"]["name"]}),
        "strategic",
        body,
        full,
    )
}

/// `$patch: delete` of the resources a target selects.
fn delete(rng: &mut Rng, docs: &[Value]) -> Op {
    let doc = rng.pick(docs);
    let t = target(rng, doc);
    let full = json!({
        "$patch": "delete",
        "apiVersion": doc["apiVersion"],
        "kind": doc["kind"],
        "metadata": {"name": doc["metadata"]["name"]},
    });
    patch_op(t, "strategic", json!({"$patch": "delete"}), full)
}

/// The patch that reaches `rest` from `here`: maps by field, keyed lists by
/// their item's keys, other lists replaced as a whole (with one item changed).
fn build_patch(
    rng: &mut Rng,
    here: &Value,
    rest: &[String],
    fields: &mut Vec<String>,
    schema: Option<kiln::k8s::openapi::KindSchema>,
    through_list: &mut bool,
) -> Value {
    let Some((first, rest)) = rest.split_first() else {
        return leaf_change(rng, here, fields, schema, through_list);
    };
    match here {
        Value::Object(map) => {
            fields.push(first.clone());
            let inner = build_patch(rng, &map[first], rest, fields, schema, through_list);
            fields.pop();
            json!({ first.as_str(): inner })
        }
        Value::Array(items) => {
            *through_list = true;
            let field_path: Vec<&str> = fields.iter().map(String::as_str).collect();
            let keyed = schema.and_then(|s| s.list_merge(&field_path));
            let i: usize = first.parse().unwrap_or_default();
            match keyed {
                Some(how) => {
                    let mut item = build_patch(rng, &items[i], rest, fields, schema, through_list);
                    for k in how.keys {
                        if let Some(v) = items[i].get(*k) {
                            item[*k] = v.clone();
                        }
                    }
                    json!([item])
                }
                None => {
                    let mut copy = items.clone();
                    let changed = build_patch(rng, &items[i], rest, fields, schema, through_list);
                    copy[i] = merged(&items[i], &changed);
                    Value::Array(copy)
                }
            }
        }
        _ => Value::Null,
    }
}

/// `base` with `change` merged in (RFC 7386), for replaced lists.
fn merged(base: &Value, change: &Value) -> Value {
    let mut out = base.clone();
    json_patch::merge(&mut out, change);
    out
}

/// The change at the end of a strategic patch's path.
fn leaf_change(
    rng: &mut Rng,
    here: &Value,
    fields: &[String],
    schema: Option<kiln::k8s::openapi::KindSchema>,
    through_list: &mut bool,
) -> Value {
    let field_path: Vec<&str> = fields.iter().map(String::as_str).collect();
    match here {
        Value::Array(items) if !items.is_empty() => {
            *through_list = true;
            let keyed = schema.and_then(|s| s.list_merge(&field_path));
            match (keyed, rng.below(4)) {
                (Some(how), 0) => {
                    // Delete an item by its keys (sometimes leaving out the protocol).
                    let mut item = Map::new();
                    for k in how.keys.iter().take(if rng.chance(70) { 2 } else { 1 }) {
                        if let Some(v) = items[0].get(*k) {
                            item.insert(k.to_string(), v.clone());
                        }
                    }
                    item.insert("$patch".into(), json!("delete"));
                    json!([item])
                }
                (Some(how), 1) => {
                    // A new item: a copy of the first with its key changed.
                    let mut item = items[0].clone();
                    let key = how.keys[0];
                    item[key] = match &item[key] {
                        Value::Number(n) => json!(n.as_u64().unwrap_or(1) + 1000),
                        _ => json!(format!("gen-{}", word(rng))),
                    };
                    if how.keys.len() > 1
                        && rng.chance(30)
                        && let Some(m) = item.as_object_mut()
                    {
                        m.remove(how.keys[1]);
                    }
                    json!([item])
                }
                (Some(_), 2) => json!([{"$patch": "replace"}, items[items.len() - 1].clone()]),
                _ => Value::Array(items.iter().rev().cloned().collect()),
            }
        }
        Value::Object(map) if rng.chance(30) && !map.is_empty() => {
            let key = map
                .keys()
                .nth(rng.below(map.len()))
                .cloned()
                .unwrap_or_default();
            let value = map[&key].clone();
            if rng.chance(50) {
                json!({ key: null })
            } else {
                json!({"$patch": "replace", key: value})
            }
        }
        Value::Object(_) => json!({ format!("kiln-gen-{}", word(rng)): word(rng) }),
        other => similar(rng, other).unwrap_or(Value::Null),
    }
}

fn images(rng: &mut Rng, docs: &[Value]) -> Op {
    let images: Vec<String> = docs
        .iter()
        .flat_map(|d| {
            d.pointer("/spec/template/spec/containers")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|c| c["image"].as_str().map(str::to_string))
        .collect();
    let mut names: Vec<String> = images
        .iter()
        .map(|i| kiln::model::image::ImageRef::parse(i).name.to_string())
        .collect();
    let tagged: Vec<String> = images.into_iter().filter(|i| !i.contains('@')).collect();
    names.push("nothing/else".into());
    // Sometimes the image as it is, tag included.
    let name = if rng.below(4) == 0 && !tagged.is_empty() {
        rng.pick(&tagged).clone()
    } else {
        rng.pick(&names).clone()
    };
    let mut entry = json!({"name": name});
    let digest = "sha256:4b825dc642cb6eb9a060e54bf8d69288fbee4904f0ea1b2f3c1e8c52f9a5d1e0";
    match rng.below(5) {
        0 => entry["newTag"] = json!("9.9.9"),
        1 => entry["digest"] = json!(digest),
        2 => {
            entry["newTag"] = json!("9.9.9");
            entry["digest"] = json!(digest);
        }
        3 => entry["newName"] = json!("mirror.example.com/gen"),
        _ => {
            entry["newName"] = json!("mirror.example.com/gen");
            entry["newTag"] = json!("1.0");
        }
    }
    let op = json!({"images": [entry]});
    Op {
        kiln: op.clone(),
        kustomize: op,
    }
}

fn convenience(rng: &mut Rng, docs: &[Value]) -> Op {
    let op = match rng.below(6) {
        0 => {
            let workloads: Vec<&str> = docs
                .iter()
                .filter(|d| d["kind"] == "Deployment")
                .filter_map(|d| d["metadata"]["name"].as_str())
                .collect();
            json!({"replicas": [{"name": rng.pick(&workloads), "count": rng.below(5)}]})
        }
        1 => json!({"namePrefix": format!("{}-", word(rng))}),
        2 => json!({"nameSuffix": format!("-{}", word(rng))}),
        3 => {
            let key = format!("gen/{}", word(rng));
            let mut entry = json!({"pairs": {key.as_str(): word(rng)}});
            match rng.below(3) {
                0 => entry["includeSelectors"] = json!(true),
                1 => entry["includeTemplates"] = json!(true),
                _ => {}
            }
            // Sometimes the same key again in a second entry.
            if rng.below(3) == 0 {
                let again = json!({"pairs": {key.as_str(): word(rng)}, "includeSelectors": rng.below(2) == 0});
                json!({"labels": [entry, again]})
            } else {
                json!({"labels": [entry]})
            }
        }
        4 => json!({"commonAnnotations": {format!("gen-{}", word(rng)): word(rng)}}),
        _ => json!({"namespace": format!("ns-{}", word(rng))}),
    };
    Op {
        kiln: op.clone(),
        kustomize: op,
    }
}

/// One case in six runs over a parent level that renames every resource,
/// so the case's targets, `replicas` and references name the original
/// names (kustomize matches them; so must kiln).
fn parent_level(rng: &mut Rng) -> Value {
    match rng.below(6) {
        0 => json!({"namePrefix": format!("{}-", word(rng))}),
        1 => json!({"namePrefix": "p-", "nameSuffix": format!("-{}", word(rng))}),
        _ => Value::Null,
    }
}

fn operation(rng: &mut Rng, docs: &[Value]) -> Op {
    match rng.below(21) {
        0..=5 => json6902(rng, docs),
        6..=11 => strategic(rng, docs),
        12 | 13 => images(rng, docs),
        14 => delete(rng, docs),
        15 if rng.below(2) == 0 => duplicate_key(rng, docs),
        _ => convenience(rng, docs),
    }
}

/// Why the two tools may differ on a case: each a divergence docs/reference/overlays.md lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Explained {
    /// kiln refuses a patch target, `images` or `replicas` entry that matches nothing.
    MatchesNothing,
    /// kiln reads each overlay's result back into its type and refuses what
    /// is not a valid object (confirmed below by the schema oracles).
    NotAValidObject,
    /// A strategic patch's port item leaves out `protocol`: kustomize v5.5
    /// drops or mismerges it (kubernetes-sigs/kustomize#4752, #3620).
    PartialCompoundKey,
    /// An item of a merged list says `$patch: replace`: Kubernetes' strategic
    /// merge (and kiln) replace that item, kustomize v5.5 ignores the item.
    ItemReplace,
    /// A JSON patch `test` of the whole `metadata` or `metadata.annotations`:
    /// kustomize keeps its own internal annotations there while it builds.
    TestOfAnnotations,
    /// A `$patch` directive in kiln's RFC 7386 `merge:` patch, which has no
    /// directives: kiln refuses it (kustomize reads every patch as strategic).
    MergeDirective,
    /// An RFC 6902 `replace`, `remove` or `test` of a path that does not exist:
    /// RFC 6902 makes it an error, as kiln does; kustomize v5.5 creates it.
    Rfc6902Strict,
    /// `null` in a label or annotation patch removes the key, as RFC 7386 and
    /// strategic merge say; kustomize v5.5 writes the string `"null"`.
    NullRemovesKey,
    /// A strategic patch names one list item twice: kiln changes it twice,
    /// the last value winning, as the API server's merge does; kustomize
    /// v5.5 keeps the first.
    DuplicateMergeKey,
    /// A reference a patch adds without its `name` (a `secretKeyRef` in a new
    /// container) is written with `name: ""` by kiln's typed read-back, absent
    /// by kustomize: the API server reads both alike.
    EmptyReferenceName,
}

enum Outcome {
    Same,
    BothRefuse,
    Explained(Explained, Option<(String, Vec<Value>)>),
    Differs(String),
}

/// The bodies of a case's strategic-merge patches, where the merge-key
/// divergences below can arise.
fn strategic_bodies(case: &Value) -> impl Iterator<Item = &Value> {
    let patches = case["patches"].as_array().into_iter().flatten();
    patches.filter_map(|p| p.get("strategic"))
}

fn leaves_out_protocol(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, v)| {
            (k == "ports"
                && v.as_array()
                    .is_some_and(|items| items.iter().any(|i| i.get("protocol").is_none())))
                || leaves_out_protocol(v)
        }),
        Value::Array(items) => items.iter().any(leaves_out_protocol),
        _ => false,
    }
}

/// Whether a list item in `v` says `$patch: replace` beside other fields.
fn replaces_an_item(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.values().any(replaces_an_item),
        Value::Array(items) => items.iter().any(|i| {
            i.as_object()
                .is_some_and(|m| m.len() > 1 && m.get("$patch") == Some(&json!("replace")))
                || replaces_an_item(i)
        }),
        _ => false,
    }
}

/// Whether an `env` list in `v` names one variable twice.
fn names_an_env_item_twice(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, v)| {
            let twice = k == "env"
                && v.as_array().is_some_and(|items| {
                    let names: Vec<&Value> = items.iter().map(|i| &i["name"]).collect();
                    names
                        .iter()
                        .enumerate()
                        .any(|(i, n)| names[i + 1..].contains(n))
                });
            twice || names_an_env_item_twice(v)
        }),
        Value::Array(items) => items.iter().any(names_an_env_item_twice),
        _ => false,
    }
}

/// `docs` without any `name: ""` (a reference's name left empty).
fn without_empty_names(docs: &[Value]) -> Vec<Value> {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.retain(|k, v| !(k == "name" && v == ""));
                m.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut docs = docs.to_vec();
    docs.iter_mut().for_each(strip);
    docs
}

/// Whether a strategic or merge patch sets a label or annotation to `null`.
fn patches_null_metadata(case: &Value) -> bool {
    fn null_under_metadata(v: &Value, in_map: bool) -> bool {
        match v {
            Value::Object(m) => m.iter().any(|(k, v)| {
                let map = matches!(k.as_str(), "labels" | "annotations");
                (in_map && v.is_null()) || null_under_metadata(v, map)
            }),
            Value::Array(items) => items.iter().any(|i| null_under_metadata(i, false)),
            _ => false,
        }
    }
    let patches = case["patches"].as_array().into_iter().flatten();
    patches
        .filter_map(|p| p.get("strategic").or_else(|| p.get("merge")))
        .any(|body| null_under_metadata(body, false))
}

fn tests_annotations(case: &Value) -> bool {
    let patches = case["patches"].as_array().into_iter().flatten();
    let mut ops = patches.flat_map(|p| p["json"].as_array().into_iter().flatten());
    ops.any(|op| {
        op["op"] == "test"
            && matches!(
                op["path"].as_str(),
                Some("/metadata" | "/metadata/annotations")
            )
    })
}

fn outcome(repo: &std::path::Path, base: &[Value], case: &Case) -> Outcome {
    let ours = with_kiln(repo, case).map(|(_, docs)| sorted(docs));
    // Compared sorted (without the field only kiln moves); checked by the oracles as written.
    let theirs = with_kustomize(base, case);
    let written = theirs.clone().unwrap_or_default();
    match (ours, theirs.map(sorted)) {
        (Ok(a), Ok(b)) if a == b => Outcome::Same,
        (Err(_), Err(_)) => Outcome::BothRefuse,
        (Err(e), Ok(_))
            if e.contains("matches no resource")
                || e.contains("no container uses an image named") =>
        {
            Outcome::Explained(Explained::MatchesNothing, None)
        }
        (Err(e), Ok(_)) if e.contains("failed: path is invalid") => {
            Outcome::Explained(Explained::Rfc6902Strict, None)
        }
        (Ok(_), Ok(_)) if strategic_bodies(&case.kiln).any(names_an_env_item_twice) => {
            Outcome::Explained(Explained::DuplicateMergeKey, None)
        }
        (Ok(a), Ok(b)) if without_empty_names(&a) == without_empty_names(&b) => {
            Outcome::Explained(Explained::EmptyReferenceName, None)
        }
        (Ok(_), Ok(_)) if patches_null_metadata(&case.kiln) => {
            Outcome::Explained(Explained::NullRemovesKey, None)
        }
        (Err(e), Ok(_)) if e.contains("a `merge:` patch is RFC 7386") => {
            Outcome::Explained(Explained::MergeDirective, None)
        }
        // The item an item-level `$patch: replace` leaves may lack a required field.
        (Err(e), Ok(_))
            if e.contains("after this overlay")
                && strategic_bodies(&case.kiln).any(replaces_an_item) =>
        {
            Outcome::Explained(Explained::ItemReplace, None)
        }
        (Err(e), Ok(_)) if e.contains("after this overlay") => {
            let overlay = kiln::model::emit::yaml(&case.kiln);
            Outcome::Explained(
                Explained::NotAValidObject,
                Some((format!("{e}\nwith this overlay:\n{overlay}"), written)),
            )
        }
        (Ok(_), Ok(_)) if strategic_bodies(&case.kiln).any(leaves_out_protocol) => {
            Outcome::Explained(Explained::PartialCompoundKey, None)
        }
        (Ok(_), Ok(_)) if strategic_bodies(&case.kiln).any(replaces_an_item) => {
            Outcome::Explained(Explained::ItemReplace, None)
        }
        (Ok(_), Err(e)) if tests_annotations(&case.kiln) && e.contains("test failed") => {
            Outcome::Explained(Explained::TestOfAnnotations, None)
        }
        (a, b) => Outcome::Differs(format!(
            "kiln: {}\nkustomize: {}",
            match &a {
                Ok(d) => kiln::model::emit::yaml(&Value::Array(d.clone())),
                Err(e) => e.clone(),
            },
            match &b {
                Ok(d) => kiln::model::emit::yaml(&Value::Array(d.clone())),
                Err(e) => e.clone(),
            },
        )),
    }
}

/// The fewest operations of `ops` that still differ unexplained.
fn minimal(
    repo: &std::path::Path,
    env: &str,
    parent: &Value,
    base: &[Value],
    ops: Vec<Op>,
) -> (Vec<Op>, String) {
    let mut ops = ops;
    let mut i = 0;
    while i < ops.len() && ops.len() > 1 {
        let mut fewer = ops.clone();
        fewer.remove(i);
        if matches!(
            outcome(repo, base, &combine(env, parent, &fewer)),
            Outcome::Differs(_)
        ) {
            ops = fewer;
        } else {
            i += 1;
        }
    }
    let why = match outcome(repo, base, &combine(env, parent, &ops)) {
        Outcome::Differs(why) => why,
        _ => String::new(),
    };
    (ops, why)
}

#[test]
fn generated_overlays_give_kustomizes_documents() {
    let repo = copy_inputs(false);
    let mut rng = Rng(SEED);
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut invalid_by_kiln: Vec<(String, Vec<Value>)> = Vec::new();
    let mut patched = std::collections::BTreeSet::new();
    let bases: Vec<(&str, Vec<Value>)> = ENVIRONMENTS
        .iter()
        .map(|env| {
            let (_, docs) = with_kiln(repo.path(), &combine(env, &Value::Null, &[]))
                .expect("the environment renders");
            (*env, docs)
        })
        .collect();
    for n in 0..CASES {
        let (env, base) = &bases[n % bases.len()];
        let parent = parent_level(&mut rng);
        let ops: Vec<Op> = (0..=rng.below(4))
            .map(|_| operation(&mut rng, base))
            .collect();
        for op in &ops {
            let targets = op.kiln["patches"].as_array().into_iter().flatten();
            let kinds = targets.filter_map(|p| p["target"]["kind"].as_str());
            patched.extend(kinds.map(|k| k.trim_end_matches("|Nothing").to_string()));
        }
        let label = match outcome(repo.path(), base, &combine(env, &parent, &ops)) {
            Outcome::Same => "same".to_string(),
            Outcome::BothRefuse => "refused by both".to_string(),
            Outcome::Explained(why, docs) => {
                invalid_by_kiln.extend(docs);
                format!("{why:?}")
            }
            Outcome::Differs(_) => {
                let (ops, why) = minimal(repo.path(), env, &parent, base, ops);
                let overlay = kiln::model::emit::yaml(&combine(env, &parent, &ops).kiln);
                let parent = kiln::model::emit::yaml(&parent);
                failures.push(format!(
                    "case {n} on {env}; smallest overlay that differs:\n{overlay}over the parent level {parent}{why}"
                ));
                "differs".to_string()
            }
        };
        if !parent.is_null() {
            *counts
                .entry(format!("{label} after a parent's rename"))
                .or_default() += 1;
        }
        *counts.entry(label).or_default() += 1;
    }
    eprintln!("{CASES} generated cases: {counts:?}");
    assert!(
        failures.is_empty(),
        "{} of {CASES} cases differ:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(
        counts.get("same").copied().unwrap_or_default() > CASES / 3,
        "{counts:?}"
    );
    let renamed = counts.get("same after a parent's rename").copied();
    assert!(renamed.unwrap_or_default() > CASES / 20, "{counts:?}");
    // Every kind the environments render was the target of some patch.
    for (env, base) in &bases {
        for doc in base {
            let kind = doc["kind"].as_str().unwrap_or_default();
            assert!(patched.contains(kind), "no case patched {kind} (of {env})");
        }
    }
    crate::oracles::assert_refused_by_oracles(&invalid_by_kiln);
}
