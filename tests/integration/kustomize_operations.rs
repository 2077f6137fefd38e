//! Random overlay operations for the generated kustomize differential (fixed
//! seed): RFC 6902, strategic and merge patches on every rendered kind, images,
//! replicas, name prefix/suffix, labels, annotations, namespace, with targets by
//! kind, name, anchored regular expression or label selector.

use crate::kustomize_cases::Case;
use serde_json::{Map, Value, json};

/// SplitMix64: a tiny, fixed, platform-independent generator.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// One overlay operation, as kiln and as kustomize spell it.
#[derive(Debug, Clone)]
pub(crate) struct Op {
    pub(crate) kiln: Value,
    pub(crate) kustomize: Value,
}

/// Fields whose values are lists in both overlays (appended); others are set.
const LIST_FIELDS: [&str; 4] = ["patches", "images", "replicas", "labels"];

/// The case's operations over `env`, or over a parent level `parent` (an
/// overlay of `env` both tools spell the same) when it is not null.
pub(crate) fn combine(env: &str, parent: &Value, ops: &[Op]) -> Case {
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
pub(crate) fn parent_level(rng: &mut Rng) -> Value {
    match rng.below(6) {
        0 => json!({"namePrefix": format!("{}-", word(rng))}),
        1 => json!({"namePrefix": "p-", "nameSuffix": format!("-{}", word(rng))}),
        _ => Value::Null,
    }
}

pub(crate) fn operation(rng: &mut Rng, docs: &[Value]) -> Op {
    match rng.below(21) {
        0..=5 => json6902(rng, docs),
        6..=11 => strategic(rng, docs),
        12 | 13 => images(rng, docs),
        14 => delete(rng, docs),
        15 if rng.below(2) == 0 => duplicate_key(rng, docs),
        _ => convenience(rng, docs),
    }
}
