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
    /// Digest (`sha256:…`); replaces the tag unless `new_tag` is given too.
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

/// Whether `doc` is a workload with a pod template at `spec.template`.
fn has_pod_template(doc: &Value) -> bool {
    WORKLOADS.contains(&kind(doc))
}

/// Applies `images:` entries; returns the names that matched no container.
///
/// ```
/// use kiln_k8s::transform::{images, ImageOverride};
/// use serde_json::json;
/// let deployment = || json!({"apiVersion": "apps/v1", "kind": "Deployment",
///     "metadata": {"name": "gw", "namespace": "portkey"},
///     "spec": {"selector": {"matchLabels": {"app": "gw"}}, "template": {
///         "metadata": {"labels": {"app": "gw"}},
///         "spec": {"containers": [{"name": "gateway", "image": "portkeyai/gateway:1.12.1"}]}}}});
/// let mut docs = vec![deployment()];
/// let mirror = ImageOverride {
///     name: "portkeyai/gateway".into(),
///     new_name: Some("mirror.example.com/gateway".into()),
///     new_tag: Some("1.13.0".into()),
///     digest: None,
/// };
/// let typo = ImageOverride { name: "portkey/gateway".into(), ..mirror.clone() };
/// assert_eq!(images(&mut docs, &[mirror, typo]), ["portkey/gateway"]);
/// assert_eq!(docs[0]["spec"]["template"]["spec"]["containers"][0]["image"],
///            "mirror.example.com/gateway:1.13.0");
/// ```
pub fn images(docs: &mut [Value], overrides: &[ImageOverride]) -> Vec<String> {
    let mut unmatched = Vec::new();
    for o in overrides {
        let mut matched = false;
        for doc in docs.iter_mut().filter(|d| has_pod_template(d)) {
            for list in ["initContainers", "containers"] {
                let path = ["spec", "template", "spec", list];
                each_object(doc, &path, false, &mut |c| {
                    let image = c.get("image").and_then(Value::as_str);
                    if let Some(new) = image.and_then(|i| override_image(i, o)) {
                        c.insert("image".into(), Value::from(new));
                        matched = true;
                    }
                });
            }
        }
        if !matched {
            unmatched.push(o.name.clone());
        }
    }
    unmatched
}

/// `image` with `o` applied, if `o.name` selects it: its name, or (as
/// kustomize matches it) its name with the very tag or digest it has
/// (`portkeyai/gateway:1.12.1`).
fn override_image(image: &str, o: &ImageOverride) -> Option<String> {
    let current = ImageRef::parse(image);
    let tagged = ImageRef::parse(&o.name).tag.is_some();
    let selected = current.name == o.name
        || (tagged
            && image
                .strip_prefix(o.name.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('@')));
    if !selected {
        return None;
    }
    let name = o.new_name.as_deref().unwrap_or(current.name);
    // As kustomize v5.5: a new tag or digest replaces both of the old ones;
    // given together they are kept together (`name:tag@digest`).
    let (tag, digest) = match (o.new_tag.as_deref(), o.digest.as_deref()) {
        (None, None) => (current.tag, current.digest),
        given => given,
    };
    Some(ImageRef { name, tag, digest }.to_string())
}

/// Applies `replicas:` entries, matching a workload by its current name or by
/// `original` (its name as built, before any prefix or suffix), as kustomize
/// does; returns the names that matched no workload.
///
/// ```
/// use kiln_k8s::transform::{rename, replicas, ReplicaOverride};
/// use serde_json::json;
/// let deployment = || json!({"apiVersion": "apps/v1", "kind": "Deployment",
///     "metadata": {"name": "gw", "namespace": "portkey"},
///     "spec": {"selector": {"matchLabels": {"app": "gw"}}, "template": {
///         "metadata": {"labels": {"app": "gw"}},
///         "spec": {"containers": [{"name": "gateway", "image": "portkeyai/gateway:1.12.1"}]}}}});
/// let mut docs = vec![deployment()];
/// rename(&mut docs, "eu-", "");
/// // The name as built still matches after a prefix, as in kustomize.
/// let unmatched = replicas(&mut docs, &["gw".into()], &[ReplicaOverride { name: "gw".into(), count: 3 }]);
/// assert!(unmatched.is_empty());
/// assert_eq!(docs[0]["spec"]["replicas"], 3);
/// ```
pub fn replicas(
    docs: &mut [Value],
    original: &[String],
    overrides: &[ReplicaOverride],
) -> Vec<String> {
    let mut unmatched = Vec::new();
    for o in overrides {
        let mut matched = false;
        for (doc, first) in docs.iter_mut().zip(original) {
            if WORKLOADS.contains(&kind(doc))
                && (name(doc) == o.name || *first == o.name)
                && let Some(spec) = object_at(doc, &["spec"])
            {
                spec.insert("replicas".into(), Value::from(o.count));
                matched = true;
            }
        }
        if !matched {
            unmatched.push(o.name.clone());
        }
    }
    unmatched
}

/// Where `labels` with `includeSelectors` goes, beyond `metadata.labels`:
/// kustomize's `commonLabels` field specs for the kinds kiln renders or might
/// be patched into. `(kinds, path, create)`: a path through a list covers
/// every item; `create: false` only adds to maps that are already there.
const SELECTOR_LABELS: &[(&[&str], &str, bool)] = &[
    (&["Service"], "spec/selector", true),
    (&POD_SET_KINDS, "spec/selector/matchLabels", true),
    (&POD_SET_KINDS, "spec/template/metadata/labels", true),
    (
        &POD_SET_KINDS,
        "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
        false,
    ),
    (
        &POD_SET_KINDS,
        "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
        false,
    ),
    (
        &POD_SET_KINDS,
        "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
        false,
    ),
    (
        &POD_SET_KINDS,
        "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
        false,
    ),
    (
        &POD_SET_KINDS,
        "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels",
        false,
    ),
    (&["Job"], "spec/selector/matchLabels", false),
    (&["Job"], "spec/template/metadata/labels", true),
    (&["PodDisruptionBudget"], "spec/selector/matchLabels", false),
    (&["NetworkPolicy"], "spec/podSelector/matchLabels", false),
    (
        &["NetworkPolicy"],
        "spec/ingress/from/podSelector/matchLabels",
        false,
    ),
    (
        &["NetworkPolicy"],
        "spec/egress/to/podSelector/matchLabels",
        false,
    ),
];

/// Workloads whose selector kustomize always sets (a Job's is generated).
const POD_SET_KINDS: [&str; 4] = ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"];

/// Calls `f` with every object at `path` (`a/b/c`, stepping into every item
/// of a list on the way). With `create`, missing maps on the way are made
/// (never list items).
fn each_object(
    v: &mut Value,
    path: &[&str],
    create: bool,
    f: &mut dyn FnMut(&mut Map<String, Value>),
) {
    if let Value::Array(items) = v {
        for item in items {
            each_object(item, path, create, f);
        }
        return;
    }
    let Some(map) = v.as_object_mut() else { return };
    match path.split_first() {
        None => f(map),
        Some((first, rest)) => {
            if create && !map.contains_key(*first) {
                map.insert(first.to_string(), Value::Object(Map::new()));
            }
            if let Some(next) = map.get_mut(*first) {
                each_object(next, rest, create, f);
            }
        }
    }
}

/// Sets `pairs` in every map at `path` (see [`each_object`]).
fn add_pairs(doc: &mut Value, path: &str, create: bool, pairs: &BTreeMap<String, String>) {
    let path: Vec<&str> = path.split('/').collect();
    each_object(doc, &path, create, &mut |map| {
        for (k, v) in pairs {
            map.insert(k.clone(), Value::from(v.as_str()));
        }
    });
}

/// Adds `labels:` entries where kustomize adds them.
///
/// ```
/// use kiln_k8s::transform::{labels, LabelsEntry};
/// use serde_json::json;
/// let deployment = || json!({"apiVersion": "apps/v1", "kind": "Deployment",
///     "metadata": {"name": "gw", "namespace": "portkey"},
///     "spec": {"selector": {"matchLabels": {"app": "gw"}}, "template": {
///         "metadata": {"labels": {"app": "gw"}},
///         "spec": {"containers": [{"name": "gateway", "image": "portkeyai/gateway:1.12.1"}]}}}});
/// let mut docs = vec![deployment()];
/// let team = LabelsEntry {
///     pairs: [("team".to_string(), "ai".to_string())].into(),
///     include_selectors: false,
///     include_templates: true,
/// };
/// labels(&mut docs, &[team]);
/// assert_eq!(docs[0]["metadata"]["labels"]["team"], "ai");
/// assert_eq!(docs[0]["spec"]["template"]["metadata"]["labels"]["team"], "ai");
/// assert!(docs[0]["spec"]["selector"]["matchLabels"].get("team").is_none()); // selectors are immutable
/// ```
pub fn labels(docs: &mut [Value], entries: &[LabelsEntry]) {
    // As kustomize: a key given in several entries takes the last entry's
    // value everywhere any of them puts it, so selectors and templates agree.
    let last: BTreeMap<&String, &String> = entries.iter().flat_map(|e| e.pairs.iter()).collect();
    for e in entries {
        let pairs: BTreeMap<String, String> = e
            .pairs
            .keys()
            .map(|k| (k.clone(), last[k].clone()))
            .collect();
        for doc in docs.iter_mut() {
            add_pairs(doc, "metadata/labels", true, &pairs);
            let k = kind(doc).to_string();
            if e.include_selectors {
                for (kinds, path, create) in SELECTOR_LABELS {
                    if kinds.contains(&k.as_str()) {
                        add_pairs(doc, path, *create, &pairs);
                    }
                }
            } else if e.include_templates && has_pod_template(doc) {
                add_pairs(doc, "spec/template/metadata/labels", true, &pairs);
            }
        }
    }
}

/// Adds `commonAnnotations` to every resource and pod template.
///
/// ```
/// use kiln_k8s::transform::annotations;
/// use serde_json::json;
/// let deployment = || json!({"apiVersion": "apps/v1", "kind": "Deployment",
///     "metadata": {"name": "gw", "namespace": "portkey"},
///     "spec": {"selector": {"matchLabels": {"app": "gw"}}, "template": {
///         "metadata": {"labels": {"app": "gw"}},
///         "spec": {"containers": [{"name": "gateway", "image": "portkeyai/gateway:1.12.1"}]}}}});
/// let mut docs = vec![deployment()];
/// annotations(&mut docs, &[("on-call".to_string(), "platform".to_string())].into());
/// assert_eq!(docs[0]["metadata"]["annotations"]["on-call"], "platform");
/// assert_eq!(docs[0]["spec"]["template"]["metadata"]["annotations"]["on-call"], "platform");
/// ```
pub fn annotations(docs: &mut [Value], pairs: &BTreeMap<String, String>) {
    if pairs.is_empty() {
        return;
    }
    for doc in docs.iter_mut() {
        add_pairs(doc, "metadata/annotations", true, pairs);
        if has_pod_template(doc) {
            add_pairs(doc, "spec/template/metadata/annotations", true, pairs);
        }
    }
}

/// Sets the namespace of every namespaced resource; a Namespace object is
/// renamed to it (as kustomize does). kiln also moves the ServiceMonitor's
/// `namespaceSelector`, which kustomize does not know about.
///
/// ```
/// use kiln_k8s::transform::namespace;
/// use serde_json::json;
/// let mut docs = vec![
///     json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "portkey"}}),
///     json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "gw", "namespace": "portkey"}}),
/// ];
/// namespace(&mut docs, "ai-gateway");
/// assert_eq!(docs[0]["metadata"]["name"], "ai-gateway");
/// assert_eq!(docs[1]["metadata"]["namespace"], "ai-gateway");
/// ```
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
        if is_monitor
            && let Some(Value::Array(names)) = doc.pointer_mut("/spec/namespaceSelector/matchNames")
        {
            for n in names.iter_mut() {
                if n.as_str().is_some_and(|s| old.iter().any(|o| o == s)) {
                    *n = Value::from(ns);
                }
            }
        }
    }
}

/// Renames every resource but Namespaces to `prefix + name + suffix`.
/// References are left as they are: [`point_references`] moves them once,
/// after the last overlay, so that every overlay's patches read and write
/// references by the names the resources were built with, as kustomize's do.
///
/// ```
/// use kiln_k8s::transform::{point_references, rename};
/// use serde_json::json;
/// let mut docs = vec![
///     json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "gw"}}),
///     json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "gw"},
///            "spec": {"rules": [{"backendRefs": [{"name": "gw", "port": 8787}]}]}}),
/// ];
/// rename(&mut docs, "eu-", "-blue");
/// assert_eq!(docs[0]["metadata"]["name"], "eu-gw-blue");
/// // References still hold the names as built, until they are pointed once at the end.
/// assert_eq!(docs[1]["spec"]["rules"][0]["backendRefs"][0]["name"], "gw");
/// point_references(&mut docs, &[(("Service".to_string(), "gw".to_string()), "eu-gw-blue".to_string())].into());
/// assert_eq!(docs[1]["spec"]["rules"][0]["backendRefs"][0]["name"], "eu-gw-blue");
/// ```
pub fn rename(docs: &mut [Value], prefix: &str, suffix: &str) {
    if prefix.is_empty() && suffix.is_empty() {
        return;
    }
    for doc in docs.iter_mut() {
        if kind(doc) == "Namespace" {
            continue;
        }
        let new = format!("{prefix}{}{suffix}", name(doc));
        if let Some(meta) = object_at(doc, &["metadata"]) {
            meta.insert("name".into(), Value::from(new));
        }
    }
}

/// Points every reference to a resource that `renamed` maps — (kind, name
/// as built) to its name now — at its name now. A reference to a resource
/// that is gone keeps the name it was written with.
///
/// ```
/// use kiln_k8s::transform::point_references;
/// use serde_json::json;
/// let mut docs = vec![json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "gw"},
///     "spec": {"template": {"spec": {"containers": [{"name": "gateway",
///         "envFrom": [{"configMapRef": {"name": "gw-env"}}]}]}}}})];
/// point_references(&mut docs, &[(("ConfigMap".to_string(), "gw-env".to_string()), "gw-env-4f2a".to_string())].into());
/// let container = &docs[0]["spec"]["template"]["spec"]["containers"][0];
/// assert_eq!(container["envFrom"][0]["configMapRef"]["name"], "gw-env-4f2a");
/// ```
pub fn point_references(docs: &mut [Value], renamed: &BTreeMap<(String, String), String>) {
    if renamed.is_empty() {
        return;
    }
    let lookup = |k: &str, n: &str| renamed.get(&(k.to_string(), n.to_string())).cloned();
    for doc in docs.iter_mut() {
        fix_references(doc, &lookup);
    }
}

/// A field that holds another object's name: kustomize's `nameReference`
/// field specs for the kinds kiln renders, plus the HTTPRoute backends and
/// ExternalSecret targets kustomize learns only from `configurations`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameReference {
    /// The kind that refers (`""`: any workload, with `path` under its pod spec).
    pub from: &'static str,
    /// Where the name is, from the object's root (or the pod spec's).
    pub path: &'static str,
    /// The kind named. A Secret is named by the ExternalSecret that makes it;
    /// `""` means the kind in the sibling `kind` field (default `Service`).
    pub to: &'static str,
}

const fn reference(from: &'static str, path: &'static str, to: &'static str) -> NameReference {
    NameReference { from, path, to }
}

/// Every name reference renames follow and `kiln check` resolves.
pub const NAME_REFERENCES: &[NameReference] = &[
    reference(
        "",
        "containers/env/valueFrom/configMapKeyRef/name",
        "ConfigMap",
    ),
    reference(
        "",
        "initContainers/env/valueFrom/configMapKeyRef/name",
        "ConfigMap",
    ),
    reference("", "containers/envFrom/configMapRef/name", "ConfigMap"),
    reference("", "initContainers/envFrom/configMapRef/name", "ConfigMap"),
    reference("", "volumes/configMap/name", "ConfigMap"),
    reference("", "volumes/projected/sources/configMap/name", "ConfigMap"),
    reference("", "containers/env/valueFrom/secretKeyRef/name", "Secret"),
    reference(
        "",
        "initContainers/env/valueFrom/secretKeyRef/name",
        "Secret",
    ),
    reference("", "containers/envFrom/secretRef/name", "Secret"),
    reference("", "initContainers/envFrom/secretRef/name", "Secret"),
    reference("", "volumes/secret/secretName", "Secret"),
    reference("", "volumes/projected/sources/secret/name", "Secret"),
    reference("", "imagePullSecrets/name", "Secret"),
    reference("", "serviceAccountName", "ServiceAccount"),
    reference("ServiceAccount", "imagePullSecrets/name", "Secret"),
    reference(
        "Ingress",
        "spec/rules/http/paths/backend/service/name",
        "Service",
    ),
    reference("Ingress", "spec/defaultBackend/service/name", "Service"),
    reference("Ingress", "spec/tls/secretName", "Secret"),
    reference("HorizontalPodAutoscaler", "spec/scaleTargetRef/name", ""),
    reference("HTTPRoute", "spec/rules/backendRefs/name", ""),
    reference(
        "HTTPRoute",
        "spec/rules/filters/extensionRef/name",
        "HTTPRouteFilter",
    ),
    reference(
        "HTTPRouteFilter",
        "spec/credentialInjection/credential/valueRef/name",
        "Secret",
    ),
    reference("ExternalSecret", "spec/target/name", "Secret"),
];

/// One name found at a [`NameReference`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedObject {
    /// JSON pointer of the name field.
    pub pointer: String,
    /// The kind named (`Secret` for a Secret, which an ExternalSecret makes).
    pub kind: String,
    /// The name.
    pub name: String,
}

impl NameReference {
    /// The names `doc` (a Kubernetes object as JSON) holds at this reference.
    pub fn names_in(&self, doc: &Value) -> Vec<NamedObject> {
        let mut path: Vec<&str> = Vec::new();
        if self.from.is_empty() {
            if !has_pod_template(doc) {
                return Vec::new();
            }
            path.extend(["spec", "template", "spec"]);
        } else if kind(doc) != self.from {
            return Vec::new();
        }
        path.extend(self.path.split('/'));
        let mut found = Vec::new();
        self.collect(doc, &path, String::new(), &mut found);
        found
    }

    fn collect(&self, v: &Value, path: &[&str], at: String, found: &mut Vec<NamedObject>) {
        match (v, path) {
            (Value::Array(items), _) => {
                for (i, item) in items.iter().enumerate() {
                    self.collect(item, path, format!("{at}/{i}"), found);
                }
            }
            (Value::Object(map), [field]) => {
                let name = map.get(*field).and_then(Value::as_str);
                if let (Some(name), Some(kind)) = (name, self.kind_named(map)) {
                    found.push(NamedObject {
                        pointer: kiln_model::pointer::join(&at, field),
                        kind: kind.to_string(),
                        name: name.to_string(),
                    });
                }
            }
            (Value::Object(map), [first, rest @ ..]) => {
                if let Some(next) = map.get(*first) {
                    self.collect(next, rest, kiln_model::pointer::join(&at, first), found);
                }
            }
            _ => {}
        }
    }

    /// The kind named at a field whose parent object is `parent`, or `None`
    /// when it names something of another API group.
    fn kind_named<'a>(&'a self, parent: &'a Map<String, Value>) -> Option<&'a str> {
        if !self.to.is_empty() {
            return Some(self.to);
        }
        let group = parent
            .get("group")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let kind = parent
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("Service");
        group.is_empty().then_some(kind)
    }
}

/// Points every name reference at the renamed object.
fn fix_references(doc: &mut Value, lookup: &dyn Fn(&str, &str) -> Option<String>) {
    for r in NAME_REFERENCES {
        for found in r.names_in(doc) {
            // A Secret's name is its ExternalSecret's (whose target name follows it).
            let kind = match found.kind.as_str() {
                "Secret" => "ExternalSecret",
                k => k,
            };
            if let (Some(new), Some(slot)) =
                (lookup(kind, &found.name), doc.pointer_mut(&found.pointer))
            {
                *slot = Value::from(new);
            }
        }
    }
}

#[cfg(test)]
mod tests;
