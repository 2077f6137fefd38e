//! What the input produced against what kiln renders from the import:
//! resources paired by role (kiln names some differently), a `kiln diff` of
//! the pairs, and every field-level difference classified.

use super::document::id;
use super::{Found, Import, Options, text_of};
use crate::diff::{Item, ResourceId, Snapshot};
use crate::error::Result;
use kiln_k8s::Resource;
use serde_json::Value;
use std::collections::BTreeMap;

/// Why kiln's render differs from the input at a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Why {
    /// Changes how clients reach the service, or what `kubectl apply` would
    /// refuse on the live objects: read these first.
    Breaking,
    /// kiln hardens what the input left open.
    Hardening,
    /// The input's value cannot work; kiln's does.
    Correction,
    /// A value the API server or controller would fill in anyway, written out.
    Default,
    /// kiln's own labels, annotations and names.
    Convention,
    /// A reference to a resource kiln names differently.
    Rename,
    /// An input value kiln does not reproduce.
    NotImported,
    /// Anything else kiln adds or changes.
    Other,
}

impl Why {
    /// How the report heads it.
    pub fn as_str(self) -> &'static str {
        match self {
            Why::Breaking => "BREAKING",
            Why::Hardening => "hardening",
            Why::Correction => "correction",
            Why::Default => "default made explicit",
            Why::Convention => "kiln convention",
            Why::Rename => "renamed reference",
            Why::NotImported => "not imported",
            Why::Other => "other",
        }
    }
}

/// One field where kiln's render departs from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Departure {
    /// The resource, as kiln names it.
    pub resource: String,
    /// The field: map keys and, for list items with a `name`, `[name]`.
    pub path: String,
    /// The input's value (`None`: kiln adds the field).
    pub input: Option<String>,
    /// kiln's value (`None`: kiln leaves the field out).
    pub kiln: Option<String>,
    /// Why.
    pub why: Why,
    /// The reason, in a few words.
    pub reason: &'static str,
}

/// Fields matched by their path (first match wins), with why and the reason.
const RULES: &[(&str, Why, &str)] = &[
    (
        "httpGet/path",
        Why::Correction,
        "the open-source gateway answers /v1/* without Portkey headers with 400; kiln probes `/`",
    ),
    (
        "data/HEALTH_CHECK_PATH",
        Why::Correction,
        "the health path the probes call",
    ),
    (
        "securityContext",
        Why::Hardening,
        "Pod Security `restricted`: non-root, no privilege escalation, no capabilities, RuntimeDefault seccomp, read-only root",
    ),
    (
        "automountServiceAccountToken",
        Why::Hardening,
        "the gateway needs no Kubernetes API token",
    ),
    (
        "enableServiceLinks",
        Why::Hardening,
        "no service-link variables in the gateway's environment",
    ),
    ("sizeLimit", Why::Hardening, "every emptyDir is bounded"),
    (
        "readOnly",
        Why::Hardening,
        "mounted configuration is read-only",
    ),
    (
        "defaultMode",
        Why::Hardening,
        "strategy files are read-only (0444)",
    ),
    (
        "pod-security.kubernetes.io",
        Why::Hardening,
        "Pod Security `restricted` enforced, audited and warned at a pinned version",
    ),
    (
        "namespaceSelector/matchLabels",
        Why::Hardening,
        "namespaces selected by `kubernetes.io/metadata.name`, which the API server sets (a `name` label is set by nobody, or by anyone)",
    ),
    (
        "responseHeaderModifier",
        Why::Hardening,
        "kiln's strict response headers",
    ),
    (
        "app.kubernetes.io/version",
        Why::Hardening,
        "the version label follows the image tag",
    ),
    (
        "revisionHistoryLimit",
        Why::Hardening,
        "a bounded rollout history",
    ),
    (
        "ConfigMap/immutable",
        Why::Hardening,
        "a changed ConfigMap rolls out under a new name instead of changing running pods",
    ),
    (
        "/optional",
        Why::Hardening,
        "a missing ConfigMap or Secret stops the pod instead of starting it half configured",
    ),
    (
        "app.kubernetes.io/",
        Why::Convention,
        "kiln's recommended labels",
    ),
    (
        "kubectl.kubernetes.io/default-container",
        Why::Convention,
        "kubectl's default container",
    ),
    (
        "argocd.argoproj.io/sync-wave",
        Why::Convention,
        "the Namespace syncs first",
    ),
    (
        "checkov.io/skip",
        Why::Convention,
        "suppressions with their reasons",
    ),
    (
        "prometheus.io/",
        Why::Convention,
        "scrape annotations from `monitoring`",
    ),
    (
        "ServiceMonitor/spec/namespaceSelector",
        Why::Convention,
        "the ServiceMonitor looks in its own namespace only",
    ),
    (
        "httpGet/port",
        Why::Convention,
        "probes name the port (`http`)",
    ),
    (
        "httpGet/scheme",
        Why::Default,
        "HTTP is Kubernetes' default",
    ),
    (
        "Probe/failureThreshold",
        Why::Default,
        "3 is Kubernetes' default",
    ),
    (
        "Probe/timeoutSeconds",
        Why::Default,
        "1 is Kubernetes' default",
    ),
    ("/protocol", Why::Default, "TCP is Kubernetes' default"),
    (
        "spec/type",
        Why::Default,
        "ClusterIP is Kubernetes' default",
    ),
    (
        "/matches",
        Why::Default,
        "PathPrefix `/` is the Gateway API default",
    ),
    (
        "target/creationPolicy",
        Why::Default,
        "External Secrets' default",
    ),
    (
        "target/deletionPolicy",
        Why::Default,
        "External Secrets' default",
    ),
];

/// Renders the staged import, pairs its resources with the input's and
/// classifies every difference; also the staged environment, for callers
/// that compare more of it.
pub(super) fn finish(
    docs: Vec<Value>,
    found: Found,
    options: &Options,
    source: String,
) -> Result<(Import, crate::Environment)> {
    let files = super::stage(&found, options, &source)?;
    let (staged, rendered) = super::render_staged(&files, options, &source)?;
    let kiln: Vec<Value> = rendered.resources.iter().map(Resource::to_value).collect();
    let docs: Vec<Value> = docs.into_iter().map(redact_credentials).collect();
    let pairs: Vec<(Value, Option<&Value>)> = docs
        .iter()
        .map(|doc| (doc.clone(), partner(doc, &docs, &kiln)))
        .collect();
    let renamed: Vec<(ResourceId, ResourceId)> = pairs
        .iter()
        .filter_map(|(doc, theirs)| Some((ResourceId::of(doc), ResourceId::of((*theirs)?))))
        .filter(|(a, b)| a != b)
        .collect();
    let mut old = Vec::new();
    let mut differences = Vec::new();
    for (mut doc, theirs) in pairs {
        if let Some(theirs) = theirs {
            differences.extend(identity_breaks(&doc, theirs));
            doc["metadata"]["name"] = theirs["metadata"]["name"].clone();
            doc["metadata"]["namespace"] = theirs["metadata"]["namespace"].clone();
            differences.extend(name_ports(&mut doc, theirs));
            differences.extend(align_volumes(&mut doc, theirs));
            differences.extend(classify(&id(theirs), &doc, theirs, &renamed));
        }
        old.push(Item::from(doc));
    }
    let mut left_out = found.left_out;
    left_out.sort_by(|a, b| a.at.cmp(&b.at));
    let new: Vec<Item> = kiln.into_iter().map(Item::from).collect();
    let env = options.env.clone();
    let diff = crate::diff::diff(
        &Snapshot::from([(env.clone(), old)]),
        &Snapshot::from([(env.clone(), new)]),
        3,
    );
    let import = Import {
        env,
        source,
        files,
        fields: found.fields,
        left_out,
        plain_secrets: found.plain_secrets,
        renamed,
        diff: Some(diff),
        differences,
        root: options.into.clone(),
    };
    Ok((import, staged))
}

/// The kiln resource `doc` became: the same kind in the same role (a
/// ConfigMap of variables or of mounted files), or of the only one of its kind.
fn partner<'a>(doc: &Value, docs: &[Value], kiln: &'a [Value]) -> Option<&'a Value> {
    let kind = &doc["kind"];
    let candidates: Vec<&Value> = kiln.iter().filter(|k| &k["kind"] == kind).collect();
    if let Some(same) = candidates
        .iter()
        .find(|k| ResourceId::of(k) == ResourceId::of(doc))
    {
        return Some(same);
    }
    let wanted = role(doc, docs);
    let matching: Vec<&Value> = candidates
        .into_iter()
        .filter(|k| role(k, kiln) == wanted)
        .collect();
    let peers = docs
        .iter()
        .filter(|d| &d["kind"] == kind && role(d, docs) == wanted)
        .count();
    match matching[..] {
        [one] if peers == 1 => Some(one),
        _ => None,
    }
}

/// A ConfigMap's role in its Deployment: variables (`envFrom`) or files (a volume).
fn role(doc: &Value, docs: &[Value]) -> &'static str {
    if doc["kind"] != "ConfigMap" {
        return "";
    }
    let name = &doc["metadata"]["name"];
    let pods = docs.iter().filter(|d| d["kind"] == "Deployment");
    for pod in pods.map(|d| &d["spec"]["template"]["spec"]) {
        let containers = pod["containers"].as_array().into_iter().flatten();
        if containers
            .flat_map(|c| c["envFrom"].as_array().into_iter().flatten())
            .any(|f| &f["configMapRef"]["name"] == name)
        {
            return "variables";
        }
        if pod["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|v| &v["configMap"]["name"] == name)
        {
            return "files";
        }
    }
    "other"
}

/// The input with plain-text credentials (every Secret value, ConfigMap
/// data and literal variables that look like one) replaced: the report and
/// diff never show them.
fn redact_credentials(mut doc: Value) -> Value {
    const REDACTED: &str = "<redacted: a credential, not copied>";
    if doc["kind"] == "Secret" {
        for field in ["data", "stringData"] {
            for (_, value) in doc[field].as_object_mut().into_iter().flatten() {
                *value = Value::from(REDACTED);
            }
        }
    }
    if doc["kind"] == "ConfigMap" {
        for (key, value) in doc["data"].as_object_mut().into_iter().flatten() {
            if kiln_check::is_credential(key, value.as_str().unwrap_or_default()) {
                *value = Value::from(REDACTED);
            }
        }
    }
    let containers = doc
        .pointer_mut("/spec/template/spec/containers")
        .and_then(Value::as_array_mut);
    for var in containers
        .into_iter()
        .flatten()
        .flat_map(|c| c["env"].as_array_mut().into_iter().flatten())
    {
        let name = var["name"].as_str().unwrap_or_default().to_string();
        if let Some(value) = var.get_mut("value")
            && kiln_check::is_credential(&name, value.as_str().unwrap_or_default())
        {
            *value = Value::from(REDACTED);
        }
    }
    doc
}

/// Whether `path` (`…/containers[c]/env[NAME]/…`) lies in an input variable
/// read from a Secret (`valueFrom.secretKeyRef`).
fn reads_a_secret(input: &Value, path: &str) -> bool {
    let between = |open: &str| {
        let start = path.find(open)? + open.len();
        let end = path[start..].find(']')? + start;
        Some(&path[start..end])
    };
    let (Some(container), Some(var)) = (between("/containers["), between("/env[")) else {
        return false;
    };
    let containers = input
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array);
    containers
        .into_iter()
        .flatten()
        .filter(|c| c["name"] == container)
        .flat_map(|c| c["env"].as_array().into_iter().flatten())
        .any(|e| e["name"] == var && e["valueFrom"].get("secretKeyRef").is_some())
}

/// The input's name and namespace where kiln's differ and that breaks
/// something (see [`breaking`]): checked before the two are aligned for the
/// field-by-field comparison.
fn identity_breaks(doc: &Value, kiln: &Value) -> Vec<Departure> {
    let kind = doc["kind"].as_str().unwrap_or_default();
    ["/metadata/namespace", "/metadata/name"]
        .into_iter()
        .filter(|path| doc.pointer(path) != kiln.pointer(path))
        .filter_map(|path| {
            Some(Departure {
                resource: id(kiln),
                path: path.into(),
                input: doc.pointer(path).map(text_of),
                kiln: kiln.pointer(path).map(text_of),
                why: Why::Breaking,
                reason: breaking(kind, path)?,
            })
        })
        .collect()
}

/// Why a difference at `path` of a `kind` breaks something on the live
/// cluster, and how to keep the old behaviour; `None` if it does not.
fn breaking(kind: &str, path: &str) -> Option<&'static str> {
    if path == "/metadata/namespace" {
        return Some(
            "the resource moves to another namespace: the old one is pruned and in-cluster clients' DNS names change; keep the namespace with `namespace.name`",
        );
    }
    if path == "/apiVersion" {
        return Some(
            "another API version: the cluster's controller must serve it (External Secrets v0.16 or later for external-secrets.io/v1); upgrade the controller before syncing",
        );
    }
    match kind {
        "Service" if path.starts_with("/spec/ports") && path.ends_with("/port") => Some(
            "in-cluster clients and Ingress backends connect to the Service's port: keep the old one with `servicePort`",
        ),
        "Deployment" | "StatefulSet" | "DaemonSet" if path.starts_with("/spec/selector") => Some(
            "spec.selector is immutable: `kubectl apply` and Argo CD fail on the live object; from a Helm release, `kiln import helm --release NAME` keeps the chart's selectors; otherwise delete the old Deployment when switching (a brief outage), or sync into a new namespace",
        ),
        _ => None,
    }
}

/// Every field where `input` and `kiln` (one resource) differ, classified.
fn classify(
    resource: &str,
    input: &Value,
    kiln: &Value,
    renamed: &[(ResourceId, ResourceId)],
) -> Vec<Departure> {
    let (mut before, mut after) = (BTreeMap::new(), BTreeMap::new());
    flatten(input, String::new(), &mut before);
    flatten(kiln, String::new(), &mut after);
    let mut paths: Vec<&String> = before.keys().chain(after.keys()).collect();
    paths.sort();
    paths.dedup();
    let mut out = Vec::new();
    for path in paths {
        let (a, b) = (before.get(path), after.get(path));
        if a == b {
            continue;
        }
        let kind = input["kind"].as_str().unwrap_or_default();
        if let Some(reason) = breaking(kind, path) {
            out.push(Departure {
                resource: resource.to_string(),
                path: path.clone(),
                input: a.map(text_of),
                kiln: b.map(text_of),
                why: Why::Breaking,
                reason,
            });
            continue;
        }
        if path == "/metadata/name" {
            continue;
        }
        let full = format!("{}{path}", input["kind"].as_str().unwrap_or_default());
        let renamed_ref = a.is_some_and(|v| {
            renamed
                .iter()
                .any(|(old, _)| v.as_str() == Some(old.name.as_str()))
        });
        let rule = RULES
            .iter()
            .filter(|(_, why, _)| *why != Why::Default || a.is_none())
            .find(|(pattern, _, _)| full.contains(pattern));
        let (why, reason) = match rule {
            _ if b.is_none() && reads_a_secret(input, path) => (
                Why::Hardening,
                "the open-source gateway reads no provider key from its environment (clients send theirs): the keys stay in the store, out of the pods",
            ),
            _ if renamed_ref => (Why::Rename, "names the resource kiln renamed"),
            Some((_, why, reason)) => (*why, *reason),
            None if b.is_none() => (Why::NotImported, "kiln does not model this input value"),
            None => (Why::Other, "kiln's render"),
        };
        out.push(Departure {
            resource: resource.to_string(),
            path: path.clone(),
            input: a.map(text_of),
            kiln: b.map(text_of),
            why,
            reason,
        });
    }
    out
}

/// A Service's port takes the name of kiln's port with the same number (or,
/// unnamed and alone, of kiln's only port), so that its fields compare:
/// clients connect by number. A name that changes is one difference.
fn name_ports(doc: &mut Value, kiln: &Value) -> Vec<Departure> {
    let theirs = match kiln.pointer("/spec/ports").and_then(Value::as_array) {
        Some(ports) if doc["kind"] == "Service" => ports,
        _ => return Vec::new(),
    };
    let resource = id(kiln);
    let mut out = Vec::new();
    let lone = theirs.len() == 1 && doc["spec"]["ports"].as_array().map(Vec::len) == Some(1);
    for port in doc["spec"]["ports"].as_array_mut().into_iter().flatten() {
        let same: Vec<&Value> = theirs
            .iter()
            .filter(|k| k["port"] == port["port"])
            .collect();
        let name = match same[..] {
            [one] => one["name"].clone(),
            _ if lone && port.get("name").is_none() => theirs[0]["name"].clone(),
            _ => continue,
        };
        if port.get("name").is_some_and(|n| *n != name) {
            out.push(Departure {
                resource: resource.clone(),
                path: format!("/spec/ports[{}]/name", text_of(&port["name"])),
                input: Some(text_of(&port["name"])),
                kiln: Some(text_of(&name)),
                why: Why::Convention,
                reason: "the port keeps its number, which clients connect to; kiln names it after its protocol",
            });
        }
        port["name"] = name;
    }
    out
}

/// Gives the input's volumes kiln's names (kiln names a volume after its
/// mount path), matched by mount path, so that their fields compare; each
/// renamed volume is one difference.
fn align_volumes(doc: &mut Value, kiln: &Value) -> Vec<Departure> {
    let mounts = |d: &Value| -> Vec<(Value, Value)> {
        let containers = d
            .pointer("/spec/template/spec/containers")
            .and_then(Value::as_array);
        containers
            .into_iter()
            .flatten()
            .flat_map(|c| c["volumeMounts"].as_array().into_iter().flatten())
            .map(|m| (m["mountPath"].clone(), m["name"].clone()))
            .collect()
    };
    let theirs = mounts(kiln);
    let names: Vec<(Value, Value)> = mounts(doc)
        .into_iter()
        .filter_map(|(path, name)| {
            let (_, new) = theirs.iter().find(|(p, _)| *p == path)?;
            (*new != name).then(|| (name, new.clone()))
        })
        .collect();
    let pod = doc.pointer_mut("/spec/template/spec");
    let Some(pod) = pod else {
        return Vec::new();
    };
    let rename = |item: &mut Value| {
        if let Some((_, new)) = names.iter().find(|(old, _)| item["name"] == *old) {
            item["name"] = new.clone();
        }
    };
    for c in pod["containers"].as_array_mut().into_iter().flatten() {
        c["volumeMounts"]
            .as_array_mut()
            .into_iter()
            .flatten()
            .for_each(rename);
    }
    pod["volumes"]
        .as_array_mut()
        .into_iter()
        .flatten()
        .for_each(rename);
    names
        .into_iter()
        .map(|(old, new)| Departure {
            resource: id(kiln),
            path: format!("/spec/template/spec/volumes[{}]/name", text_of(&new)),
            input: Some(text_of(&old)),
            kiln: Some(text_of(&new)),
            why: Why::Convention,
            reason: "kiln names a volume after its mount path",
        })
        .collect()
}

/// Leaves of `v` by path: map keys, `[name]` for list items with a name,
/// `[i]` for other items of lists of maps; lists of scalars are one leaf.
fn flatten(v: &Value, path: String, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                flatten(child, format!("{path}/{k}"), out);
            }
        }
        Value::Array(items) if items.iter().any(Value::is_object) => {
            for (i, item) in items.iter().enumerate() {
                let key = item["name"]
                    .as_str()
                    .map_or_else(|| i.to_string(), str::to_string);
                flatten(item, format!("{path}[{key}]"), out);
            }
        }
        other => {
            out.insert(path, other.clone());
        }
    }
}
