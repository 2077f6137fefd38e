//! The patch stage: each overlay's resource changes (patches and kustomize's
//! conveniences) applied to the built resources, layer by layer.

use crate::error::{Error, Result};
use crate::resolve::{Environment, Layer, PatchEntry};
use kiln_k8s::openapi::KindSchema;
use kiln_k8s::patch::{Target, strategic_merge};
use kiln_k8s::{Resource, transform};
use kiln_model::InputError;
use serde_json::Value;
use std::collections::BTreeMap;

/// Applies each overlay's resource changes to `resources`, first layer first,
/// in kustomize's order: patches, namespace, name prefix/suffix, labels,
/// annotations, replicas, images. After each layer the result is read back
/// into typed resources, so a change that makes an invalid object is an
/// error naming the overlay.
pub fn apply_overlays(env: &Environment, resources: Vec<Resource>) -> Result<Vec<Resource>> {
    apply_layers(env, resources).map(|(typed, _)| typed)
}

/// [`apply_overlays`], with each resource's canonical JSON (as
/// [`Resource::to_value`] gives it), computed once.
pub(crate) fn apply_layers(
    env: &Environment,
    resources: Vec<Resource>,
) -> Result<(Vec<Resource>, Vec<Value>)> {
    let mut docs: Vec<Value> = resources.iter().map(Resource::to_value).collect();
    let layers: Vec<&Layer> = env
        .layers
        .iter()
        .filter(|l| has_resource_changes(&l.overlay))
        .collect();
    if layers.is_empty() {
        return Ok((resources, docs));
    }
    // Each document's name as built; a patch that deletes a document deletes its name too.
    let mut original: Vec<String> = resources.iter().map(|r| r.name().to_string()).collect();
    let mut typed = resources;
    let last = layers.len() - 1;
    for (n, layer) in layers.into_iter().enumerate() {
        apply_patches(layer, &mut docs, &mut original)?;
        apply_transforms(layer, &mut docs, &original)?;
        drop_empty_annotations(&mut docs);
        if n == last {
            point_references(&mut docs, &original);
        }
        // Every layer's result must be a valid set of resources before the next builds on it.
        (typed, docs) = read_back(layer, &docs)?.into_iter().unzip();
    }
    Ok((typed, docs))
}

/// Points references at the names the layers gave: until then every layer
/// reads and writes them by the names as built (`original`), as kustomize's
/// overlays do, so a child overlay's patch that names a Service as built
/// still reaches it after a parent's `namePrefix`.
fn point_references(docs: &mut [Value], original: &[String]) {
    let renamed: BTreeMap<(String, String), String> = docs
        .iter()
        .zip(original)
        .filter_map(|(doc, built)| {
            let now = doc["metadata"]["name"].as_str()?;
            let kind = doc["kind"].as_str()?;
            (now != built).then(|| ((kind.to_string(), built.clone()), now.to_string()))
        })
        .collect();
    transform::point_references(docs, &renamed);
}

/// An error about `layer`'s overlay file at `pointer`.
fn fail(layer: &Layer, pointer: String, message: String) -> Error {
    InputError::new(&layer.file, message).at(pointer).into()
}

/// The layer's `patches`, in order, each on every resource its target
/// selects. As in kustomize, a target matches a resource by its current name
/// or by `original` (its name as built, before any layer's prefix or
/// suffix), and a strategic or merge patch without a target selects the
/// resource its body names (`kind`, `metadata.name`).
fn apply_patches(layer: &Layer, docs: &mut Vec<Value>, original: &mut Vec<String>) -> Result<()> {
    let mut copied = 0;
    for (i, entry) in layer.overlay.patches.iter().enumerate() {
        let target = effective_target(entry);
        let selector = target
            .selector()
            .map_err(|e| fail(layer, format!("/patches/{i}/target/{}", e.field), e.message))?;
        let selected: Vec<usize> = (0..docs.len())
            .filter(|d| {
                selector.matches(&docs[*d])
                    || (docs[*d]["metadata"]["name"] != original[*d].as_str()
                        && selector.matches(&as_built(&docs[*d], &original[*d])))
            })
            .collect();
        if selected.is_empty() {
            return Err(fail(
                layer,
                format!("/patches/{i}/target"),
                format!("matches no resource ({target})"),
            ));
        }
        // `$patch: delete` at the top of a strategic patch deletes the resource, as in kustomize.
        if entry
            .strategic
            .as_ref()
            .is_some_and(|b| b.get("$patch") == Some(&Value::from("delete")))
        {
            remove_at(docs, &selected);
            remove_at(original, &selected);
            continue;
        }
        for d in selected {
            apply_patch(layer, i, entry, &mut docs[d], &mut copied)?;
        }
    }
    Ok(())
}

/// `items` without those at the (ascending) indexes `at`.
fn remove_at<T>(items: &mut Vec<T>, at: &[usize]) {
    let mut index = 0;
    items.retain(|_| {
        index += 1;
        at.binary_search(&(index - 1)).is_err()
    });
}

/// The patch's target; for a strategic or merge patch given without one,
/// the resource its body names, as kustomize selects it.
fn effective_target(entry: &PatchEntry) -> Target {
    let body = entry.strategic.as_ref().or(entry.merge.as_ref());
    match body {
        Some(body) if entry.target == Target::default() => {
            let text = |p: &str| body.pointer(p).and_then(Value::as_str);
            Target::naming(
                text("/kind"),
                text("/metadata/name"),
                text("/metadata/namespace"),
            )
        }
        _ => entry.target.clone(),
    }
}

/// The identity fields of `doc` with its name as built, for matching a target
/// written against the original name.
fn as_built(doc: &Value, original: &str) -> Value {
    let mut shallow = serde_json::json!({
        "apiVersion": doc["apiVersion"],
        "kind": doc["kind"],
        "metadata": {"name": original},
    });
    for field in ["namespace", "labels"] {
        if let Some(v) = doc["metadata"].get(field) {
            shallow["metadata"][field] = v.clone();
        }
    }
    shallow
}

/// Patch `i` of `layer` on one document: RFC 6902, RFC 7386 or strategic merge.
fn apply_patch(
    layer: &Layer,
    i: usize,
    entry: &PatchEntry,
    doc: &mut Value,
    copied: &mut u64,
) -> Result<()> {
    let what = describe(doc);
    if let Some(ops) = &entry.json {
        kiln_k8s::patch::json_patch(doc, ops, copied).map_err(|e| {
            fail(
                layer,
                format!("/patches/{i}/json/{}", e.operation),
                format!("{} ({what})", e.message),
            )
        })?;
    } else if let Some(merge) = &entry.merge {
        if let Some(at) = directive(merge, String::new()) {
            return Err(fail(
                layer,
                format!("/patches/{i}/merge{at}"),
                "is a strategic-merge directive; a `merge:` patch is RFC 7386, which has none (it would become a key of the object): write the patch as `strategic:`".into(),
            ));
        }
        json_patch::merge(doc, &without_identity(merge));
    } else if let Some(smp) = &entry.strategic {
        let smp = &without_identity(smp);
        let schema = KindSchema::of(
            doc["apiVersion"].as_str().unwrap_or_default(),
            doc["kind"].as_str().unwrap_or_default(),
        );
        let keys = |path: &[&str]| schema.and_then(|s| s.list_merge(path));
        strategic_merge(doc, smp, &keys).map_err(|e| {
            fail(
                layer,
                format!("/patches/{i}/strategic{}", e.pointer),
                format!("{} ({what})", e.message),
            )
        })?;
    }
    Ok(())
}

/// The pointer of the first strategic-merge directive (`$patch`,
/// `$retainKeys`, `$setElementOrder/…`, `$deleteFromPrimitiveList/…`) in a
/// patch body, if any.
fn directive(body: &Value, at: String) -> Option<String> {
    match body {
        Value::Object(map) => map.iter().find_map(|(key, value)| {
            let here = kiln_model::pointer::join(&at, key);
            if key.starts_with('$') {
                Some(here)
            } else {
                directive(value, here)
            }
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| directive(v, format!("{at}/{i}"))),
        _ => None,
    }
}

/// A patch body without the fields that name its resource (`apiVersion`,
/// `kind`, `metadata.name`, `metadata.namespace`): they select the resource
/// (kustomize ignores them when a target is given) and never rename it.
fn without_identity(body: &Value) -> Value {
    let mut body = body.clone();
    if let Some(map) = body.as_object_mut() {
        map.remove("apiVersion");
        map.remove("kind");
        if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("name");
            meta.remove("namespace");
            if meta.is_empty() {
                map.remove("metadata");
            }
        }
    }
    body
}

/// kustomize's conveniences, in kustomize's order: namespace, prefix and
/// suffix, labels, annotations, replicas, images.
fn apply_transforms(layer: &Layer, docs: &mut [Value], original: &[String]) -> Result<()> {
    let o = &layer.overlay;
    if let Some(ns) = &o.namespace {
        transform::namespace(docs, ns);
    }
    transform::rename(
        docs,
        o.name_prefix.as_deref().unwrap_or_default(),
        o.name_suffix.as_deref().unwrap_or_default(),
    );
    transform::labels(docs, &o.labels);
    transform::annotations(docs, &o.common_annotations);
    if let Some(name) = transform::replicas(docs, original, &o.replicas).first() {
        return Err(fail(
            layer,
            "/replicas".into(),
            format!("no workload is named `{name}`"),
        ));
    }
    if let Some(name) = transform::images(docs, &o.images).first() {
        return Err(fail(
            layer,
            "/images".into(),
            format!("no container uses an image named `{name}`"),
        ));
    }
    Ok(())
}

/// Removes a `metadata.annotations` map that changes left empty, as
/// kustomize does (Kubernetes reads an empty map and none alike).
fn drop_empty_annotations(docs: &mut [Value]) {
    for doc in docs {
        if let Some(meta) = doc.get_mut("metadata").and_then(Value::as_object_mut)
            && meta
                .get("annotations")
                .is_some_and(|a| a.as_object().is_some_and(|m| m.is_empty()))
        {
            meta.remove("annotations");
        }
    }
}

/// The documents read back into their types: a change that made an invalid
/// object is an error naming the overlay.
fn read_back(layer: &Layer, docs: &[Value]) -> Result<Vec<(Resource, Value)>> {
    docs.iter()
        .map(|doc| {
            Resource::read(doc).map_err(|message| {
                fail(
                    layer,
                    String::new(),
                    format!("{} after this overlay: {message}", describe(doc)),
                )
            })
        })
        .collect()
}

fn has_resource_changes(o: &crate::resolve::Overlay) -> bool {
    !o.patches.is_empty()
        || o.namespace.is_some()
        || o.name_prefix.is_some()
        || o.name_suffix.is_some()
        || !o.labels.is_empty()
        || !o.common_annotations.is_empty()
        || !o.replicas.is_empty()
        || !o.images.is_empty()
}

/// `Deployment portkey-gateway`, for messages.
fn describe(doc: &serde_json::Value) -> String {
    format!(
        "{} {}",
        doc["kind"].as_str().unwrap_or("resource"),
        doc["metadata"]["name"].as_str().unwrap_or_default()
    )
}
