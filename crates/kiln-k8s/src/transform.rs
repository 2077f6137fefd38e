//! kustomize's conveniences over rendered resources, with kustomize's results:
//! `images`, `replicas`, `namePrefix`/`nameSuffix` (with references updated),
//! `labels`, `commonAnnotations` and `namespace`.
//!
//! Each works on the JSON form of the resources; `kiln::apply_overlays` turns the
//! result back into typed resources, so nothing here can produce an object
//! that Kubernetes would not accept.

use kiln_model::image::ImageRef;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `images:` entry: change the image of every container whose image name is `name`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImageOverride {
    /// Image name as written, without tag or digest (`portkeyai/gateway`).
    pub name: String,
    /// Replacement name.
    #[serde(default)]
    pub new_name: Option<String>,
    /// Replacement tag.
    #[serde(default)]
    pub new_tag: Option<String>,
    /// Digest (`sha256:…`); replaces the tag.
    #[serde(default)]
    pub digest: Option<String>,
}

/// `replicas:` entry: set `spec.replicas` of the workload named `name`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicaOverride {
    /// Workload name.
    pub name: String,
    /// Replica count.
    pub count: i32,
}

/// `labels:` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LabelsEntry {
    /// Labels to add.
    pub pairs: BTreeMap<String, String>,
    /// Also add them to selectors (and pod templates). Selectors are immutable
    /// on a live Deployment: changing them means recreating it.
    #[serde(default)]
    pub include_selectors: bool,
    /// Also add them to pod templates.
    #[serde(default)]
    pub include_templates: bool,
}

const WORKLOADS: [&str; 5] = [
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
];

fn kind(doc: &Value) -> &str {
    doc["kind"].as_str().unwrap_or_default()
}

fn name(doc: &Value) -> &str {
    doc["metadata"]["name"].as_str().unwrap_or_default()
}

/// The object at `pointer`, created (with its parents) if absent.
fn object_at<'a>(doc: &'a mut Value, path: &[&str]) -> Option<&'a mut Map<String, Value>> {
    let mut here = doc;
    for key in path {
        let map = here.as_object_mut()?;
        here = map
            .entry(key.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    here.as_object_mut()
}

fn add_pairs(doc: &mut Value, path: &[&str], pairs: &BTreeMap<String, String>) {
    if let Some(map) = object_at(doc, path) {
        for (k, v) in pairs {
            map.insert(k.clone(), Value::from(v.as_str()));
        }
    }
}

/// Whether `doc` is a workload with a pod template at `spec.template`.
fn has_pod_template(doc: &Value) -> bool {
    WORKLOADS.contains(&kind(doc))
}

/// Applies `images:` entries; returns the names that matched no container.
pub fn images(docs: &mut [Value], overrides: &[ImageOverride]) -> Vec<String> {
    let mut unmatched = Vec::new();
    for o in overrides {
        let mut matched = false;
        for doc in docs.iter_mut().filter(|d| has_pod_template(d)) {
            let Some(spec) = doc.pointer_mut("/spec/template/spec") else {
                continue;
            };
            for list in ["initContainers", "containers"] {
                for c in items(spec, list) {
                    let Some(image) = c.get("image").and_then(Value::as_str) else {
                        continue;
                    };
                    if let Some(new) = override_image(image, o) {
                        c["image"] = Value::from(new);
                        matched = true;
                    }
                }
            }
        }
        if !matched {
            unmatched.push(o.name.clone());
        }
    }
    unmatched
}

/// `image` with `o` applied, if its name is `o.name`.
fn override_image(image: &str, o: &ImageOverride) -> Option<String> {
    let current = ImageRef::parse(image);
    if current.name != o.name {
        return None;
    }
    let name = o.new_name.as_deref().unwrap_or(current.name);
    let (tag, digest) = match (&o.digest, &o.new_tag) {
        (Some(d), _) => (None, Some(d.as_str())),
        (None, Some(t)) => (Some(t.as_str()), None),
        (None, None) => match current.digest {
            Some(d) => (None, Some(d)),
            None => (current.tag, None),
        },
    };
    Some(ImageRef { name, tag, digest }.to_string())
}

/// Applies `replicas:` entries, matching a workload by its current name or by
/// `original` (its name as built, before any prefix or suffix), as kustomize
/// does; returns the names that matched no workload.
pub fn replicas(
    docs: &mut [Value],
    original: &[String],
    overrides: &[ReplicaOverride],
) -> Vec<String> {
    let mut unmatched = Vec::new();
    for o in overrides {
        let mut matched = false;
        for (doc, first) in docs.iter_mut().zip(original) {
            if WORKLOADS.contains(&kind(doc)) && (name(doc) == o.name || *first == o.name) {
                if let Some(spec) = object_at(doc, &["spec"]) {
                    spec.insert("replicas".into(), Value::from(o.count));
                    matched = true;
                }
            }
        }
        if !matched {
            unmatched.push(o.name.clone());
        }
    }
    unmatched
}

/// Adds `labels:` entries where kustomize adds them.
pub fn labels(docs: &mut [Value], entries: &[LabelsEntry]) {
    for e in entries {
        for doc in docs.iter_mut() {
            add_pairs(doc, &["metadata", "labels"], &e.pairs);
            let k = kind(doc).to_string();
            if (e.include_selectors || e.include_templates) && has_pod_template(doc) {
                add_pairs(doc, &["spec", "template", "metadata", "labels"], &e.pairs);
            }
            if !e.include_selectors {
                continue;
            }
            match k.as_str() {
                "Service" => add_pairs(doc, &["spec", "selector"], &e.pairs),
                "PodDisruptionBudget" => {
                    add_pairs(doc, &["spec", "selector", "matchLabels"], &e.pairs)
                }
                "NetworkPolicy" => {
                    add_pairs(doc, &["spec", "podSelector", "matchLabels"], &e.pairs)
                }
                w if WORKLOADS.contains(&w) => {
                    add_pairs(doc, &["spec", "selector", "matchLabels"], &e.pairs)
                }
                _ => {}
            }
        }
    }
}

/// Adds `commonAnnotations` to every resource and pod template.
pub fn annotations(docs: &mut [Value], pairs: &BTreeMap<String, String>) {
    if pairs.is_empty() {
        return;
    }
    for doc in docs.iter_mut() {
        add_pairs(doc, &["metadata", "annotations"], pairs);
        if has_pod_template(doc) {
            add_pairs(doc, &["spec", "template", "metadata", "annotations"], pairs);
        }
    }
}

/// Sets the namespace of every namespaced resource; a Namespace object is
/// renamed to it (as kustomize does). kiln also moves the ServiceMonitor's
/// `namespaceSelector`, which kustomize does not know about.
pub fn namespace(docs: &mut [Value], ns: &str) {
    let old: Vec<String> = docs
        .iter()
        .filter(|d| kind(d) == "Namespace")
        .map(|d| name(d).to_string())
        .collect();
    for doc in docs.iter_mut() {
        let is_namespace = kind(doc) == "Namespace";
        let is_monitor = kind(doc) == "ServiceMonitor";
        if let Some(meta) = object_at(doc, &["metadata"]) {
            let field = if is_namespace { "name" } else { "namespace" };
            meta.insert(field.into(), Value::from(ns));
        }
        if is_monitor {
            if let Some(Value::Array(names)) = doc.pointer_mut("/spec/namespaceSelector/matchNames")
            {
                for n in names.iter_mut() {
                    if n.as_str().is_some_and(|s| old.iter().any(|o| o == s)) {
                        *n = Value::from(ns);
                    }
                }
            }
        }
    }
}

/// Renames every resource but Namespaces to `prefix + name + suffix`, then
/// updates every reference to a renamed resource.
pub fn rename(docs: &mut [Value], prefix: &str, suffix: &str) {
    if prefix.is_empty() && suffix.is_empty() {
        return;
    }
    let mut renamed: BTreeMap<(String, String), String> = BTreeMap::new();
    for doc in docs.iter_mut() {
        if kind(doc) == "Namespace" {
            continue;
        }
        let old = name(doc).to_string();
        let new = format!("{prefix}{old}{suffix}");
        renamed.insert((kind(doc).to_string(), old), new.clone());
        if let Some(meta) = object_at(doc, &["metadata"]) {
            meta.insert("name".into(), Value::from(new));
        }
    }
    let lookup = |k: &str, n: &str| renamed.get(&(k.to_string(), n.to_string())).cloned();
    for doc in docs.iter_mut() {
        fix_references(doc, &lookup);
    }
}

/// The items of the list at `v[key]` (none if absent or not a list).
fn items<'a>(v: &'a mut Value, key: &str) -> impl Iterator<Item = &'a mut Value> {
    v.get_mut(key).into_iter().flat_map(items_of)
}

fn items_of(v: &mut Value) -> impl Iterator<Item = &mut Value> {
    v.as_array_mut().into_iter().flatten()
}

/// Points every name reference kiln renders at the renamed object.
fn fix_references(doc: &mut Value, lookup: &dyn Fn(&str, &str) -> Option<String>) {
    let set = |slot: Option<&mut Value>, k: &str| {
        if let Some(v) = slot {
            if let Some(new) = v.as_str().and_then(|n| lookup(k, n)) {
                *v = Value::from(new);
            }
        }
    };
    match kind(doc) {
        k if WORKLOADS.contains(&k) => {
            let Some(spec) = doc.pointer_mut("/spec/template/spec") else {
                return;
            };
            for list in ["initContainers", "containers"] {
                for c in items(spec, list) {
                    for e in items(c, "envFrom") {
                        set(e.pointer_mut("/configMapRef/name"), "ConfigMap");
                        // The Secret an ExternalSecret creates carries the ExternalSecret's name.
                        set(e.pointer_mut("/secretRef/name"), "ExternalSecret");
                    }
                    for e in items(c, "env") {
                        set(
                            e.pointer_mut("/valueFrom/configMapKeyRef/name"),
                            "ConfigMap",
                        );
                        set(
                            e.pointer_mut("/valueFrom/secretKeyRef/name"),
                            "ExternalSecret",
                        );
                    }
                }
            }
            for v in items(spec, "volumes") {
                set(v.pointer_mut("/configMap/name"), "ConfigMap");
                set(v.pointer_mut("/secret/secretName"), "ExternalSecret");
            }
            for s in items(spec, "imagePullSecrets") {
                set(s.get_mut("name"), "ExternalSecret");
            }
        }
        "HTTPRoute" => {
            for rule in doc
                .pointer_mut("/spec/rules")
                .into_iter()
                .flat_map(items_of)
            {
                for b in items(rule, "backendRefs") {
                    let is_service = b
                        .get("kind")
                        .and_then(Value::as_str)
                        .is_none_or(|k| k == "Service")
                        && b.get("group")
                            .and_then(Value::as_str)
                            .is_none_or(str::is_empty);
                    if is_service {
                        set(b.get_mut("name"), "Service");
                    }
                }
            }
        }
        "ExternalSecret" => set(doc.pointer_mut("/spec/target/name"), "ExternalSecret"),
        "HorizontalPodAutoscaler" => {
            let k = doc
                .pointer("/spec/scaleTargetRef/kind")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            set(doc.pointer_mut("/spec/scaleTargetRef/name"), &k);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(
        name: &str,
        new_name: Option<&str>,
        tag: Option<&str>,
        digest: Option<&str>,
    ) -> ImageOverride {
        ImageOverride {
            name: name.into(),
            new_name: new_name.map(Into::into),
            new_tag: tag.map(Into::into),
            digest: digest.map(Into::into),
        }
    }

    #[test]
    fn image_overrides_follow_kustomize() {
        let d = "sha256:aa";
        assert_eq!(
            override_image("a/b:1", &o("a/b", None, Some("2"), None)).as_deref(),
            Some("a/b:2")
        );
        assert_eq!(
            override_image("a/b:1", &o("a/b", Some("c/d"), None, None)).as_deref(),
            Some("c/d:1")
        );
        assert_eq!(
            override_image("a/b:1", &o("a/b", None, None, Some(d))).as_deref(),
            Some("a/b@sha256:aa")
        );
        assert_eq!(
            override_image("reg:5000/a/b:1", &o("reg:5000/a/b", None, Some("2"), None)).as_deref(),
            Some("reg:5000/a/b:2")
        );
        assert_eq!(
            override_image("a/bc:1", &o("a/b", None, Some("2"), None)),
            None
        );
    }
}
