//! References between resources: selectors, ports, backends, monitors,
//! network policies, and the Secrets and ConfigMaps pods read. A reference
//! resolves among the manifests checked together, in the same namespace.

use super::object::{Object, Pod, string_map};
use super::{Findings, pointer_join};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kiln_k8s::transform::NAME_REFERENCES;
use kiln_model::rules::*;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

type Labels = BTreeMap<String, String>;

pub(super) fn check(objects: &[Object], out: &mut Findings) {
    let pods: Vec<(&Object, &Pod)> = objects
        .iter()
        .filter_map(|o| o.pod.as_ref().map(|p| (o, p)))
        .collect();
    let store = Store::new(objects);
    let names: BTreeSet<(&str, &str, &str)> = objects
        .iter()
        .map(|o| (o.namespace, o.kind, o.name))
        .collect();
    for o in objects {
        name_references(o, &names, out);
        match (o.api_version, o.kind) {
            ("apps/v1", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet") => {
                workload_selector(o, out)
            }
            ("batch/v1", "Job") if o.at("/spec/manualSelector") == Some(&Value::Bool(true)) => {
                workload_selector(o, out)
            }
            ("v1", "Service") => service(o, &pods, out),
            ("monitoring.coreos.com/v1", "ServiceMonitor") => service_monitor(o, objects, out),
            ("gateway.networking.k8s.io/v1", "HTTPRoute") => http_route(o, objects, out),
            ("gateway.envoyproxy.io/v1alpha1", "HTTPRouteFilter") => {
                credential_injection(o, &store, out)
            }
            ("networking.k8s.io/v1", "NetworkPolicy") => network_policy(o, objects, &pods, out),
            _ => {}
        }
        if let Some(pod) = &o.pod {
            probes(o, pod, out);
            config_references(o, pod, &store, out);
        }
    }
}

/// The name references renames follow (kustomize's nameReference fields)
/// that the Secret, ConfigMap and HTTPRoute rules do not already resolve:
/// a pod's ServiceAccount, an Ingress's backend Services, an HPA's target.
fn name_references(o: &Object, names: &BTreeSet<(&str, &str, &str)>, out: &mut Findings) {
    let others = NAME_REFERENCES.iter().filter(|r| {
        !matches!(r.to, "ConfigMap" | "Secret") && !r.path.starts_with("spec/rules/backendRefs")
    });
    for r in others {
        for found in r.names_in(&o.manifest.value) {
            // Every namespace has the `default` ServiceAccount.
            let implicit = found.kind == "ServiceAccount" && found.name == "default";
            if !implicit
                && !names.contains(&(o.namespace, found.kind.as_str(), found.name.as_str()))
            {
                out.push(
                    &NAME_REF,
                    o,
                    found.pointer,
                    format!("no {} `{}` in this namespace", found.kind, found.name),
                );
            }
        }
    }
}

/// Whether `selector` selects an object labelled `labels`.
pub(super) fn selects(selector: &LabelSelector, labels: &Labels) -> bool {
    let by_label = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let by_expression = selector.match_expressions.iter().flatten().all(|e| {
        let value = labels.get(&e.key);
        let listed = |v: &String| e.values.iter().flatten().any(|x| x == v);
        match e.operator.as_str() {
            "In" => value.is_some_and(listed),
            "NotIn" => !value.is_some_and(listed),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            _ => false,
        }
    });
    by_label && by_expression
}

pub(super) fn label_selector(value: Option<&Value>) -> Option<LabelSelector> {
    LabelSelector::deserialize(value?).ok()
}

fn is_empty(selector: &LabelSelector) -> bool {
    selector
        .match_labels
        .as_ref()
        .is_none_or(BTreeMap::is_empty)
        && selector
            .match_expressions
            .as_ref()
            .is_none_or(Vec::is_empty)
}

fn workload_selector(o: &Object, out: &mut Findings) {
    let Some(pod) = &o.pod else { return };
    let Some(selector) = label_selector(o.at("/spec/selector")) else {
        out.push(&SELECTOR, o, "/spec", "has no spec.selector");
        return;
    };
    if is_empty(&selector) {
        out.push(
            &SELECTOR,
            o,
            "/spec/selector",
            "the selector is empty; it must select the pod template's labels",
        );
    }
    for (k, v) in selector.match_labels.iter().flatten() {
        if pod.labels.get(k) != Some(v) {
            let has = pod
                .labels
                .get(k)
                .map_or("does not have it".to_string(), |x| format!("has `{x}`"));
            out.push(
                &SELECTOR,
                o,
                pointer_join("/spec/selector/matchLabels", k),
                format!("selects {k}=`{v}` but the pod template {has}"),
            );
        }
    }
    for (i, e) in selector.match_expressions.iter().flatten().enumerate() {
        let one = LabelSelector {
            match_expressions: Some(vec![e.clone()]),
            match_labels: None,
        };
        if !selects(&one, &pod.labels) {
            out.push(
                &SELECTOR,
                o,
                format!("/spec/selector/matchExpressions/{i}"),
                format!("the pod template's labels fail `{} {}`", e.key, e.operator),
            );
        }
    }
}

fn service(o: &Object, pods: &[(&Object, &Pod)], out: &mut Findings) {
    let selector = string_map(o.at("/spec/selector"));
    if selector.is_empty() || o.at("/spec/type").and_then(Value::as_str) == Some("ExternalName") {
        return; // Endpoints are managed by hand; nothing to match.
    }
    let selected: Vec<&Pod> = pods
        .iter()
        .filter(|(w, p)| {
            w.namespace == o.namespace && selector.iter().all(|(k, v)| p.labels.get(k) == Some(v))
        })
        .map(|(_, p)| *p)
        .collect();
    if selected.is_empty() {
        let wanted: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
        out.push(
            &SERVICE_SELECTOR,
            o,
            "/spec/selector",
            format!(
                "selects no pod of any workload here ({})",
                wanted.join(", ")
            ),
        );
        return;
    }
    let ports = o.at("/spec/ports").and_then(Value::as_array);
    for (i, port) in ports.into_iter().flatten().enumerate() {
        let target = match port.get("targetPort").or_else(|| port.get("port")) {
            Some(Value::String(name)) => IntOrString::String(name.clone()),
            Some(Value::Number(n)) => IntOrString::Int(n.as_i64().unwrap_or_default() as i32),
            _ => continue,
        };
        let containers = selected.iter().flat_map(|p| p.spec.containers.iter());
        let declared: Vec<_> = containers.flat_map(|c| c.ports.iter().flatten()).collect();
        let found = match &target {
            IntOrString::String(name) => declared.iter().any(|p| p.name.as_deref() == Some(name)),
            IntOrString::Int(n) => {
                declared.is_empty() || declared.iter().any(|p| p.container_port == *n)
            }
        };
        if !found {
            let at = if port.get("targetPort").is_some() {
                format!("/spec/ports/{i}/targetPort")
            } else {
                format!("/spec/ports/{i}/port")
            };
            let shown = match &target {
                IntOrString::String(s) => format!("`{s}`"),
                IntOrString::Int(n) => n.to_string(),
            };
            let have: Vec<String> = declared
                .iter()
                .map(|p| {
                    p.name.as_ref().map_or(p.container_port.to_string(), |n| {
                        format!("{n} ({})", p.container_port)
                    })
                })
                .collect();
            out.push(
                &SERVICE_PORT,
                o,
                at,
                format!(
                    "targets port {shown}, which no selected container has (they have: {})",
                    have.join(", ")
                ),
            );
        }
    }
}

fn probes(o: &Object, pod: &Pod, out: &mut Findings) {
    for c in pod.containers() {
        for (field, probe) in c.probes {
            let Some(probe) = probe else { continue };
            let (action, port) = if let Some(h) = &probe.http_get {
                ("httpGet", h.port.clone())
            } else if let Some(t) = &probe.tcp_socket {
                ("tcpSocket", t.port.clone())
            } else if let Some(g) = &probe.grpc {
                ("grpc", IntOrString::Int(g.port))
            } else {
                continue;
            };
            let ok = match &port {
                IntOrString::String(name) => {
                    c.ports.iter().any(|p| p.name.as_deref() == Some(name))
                }
                IntOrString::Int(n) => {
                    c.ports.is_empty() || c.ports.iter().any(|p| p.container_port == *n)
                }
            };
            if !ok {
                let shown = match &port {
                    IntOrString::String(s) => format!("`{s}`"),
                    IntOrString::Int(n) => n.to_string(),
                };
                out.push(&PROBE_PORT, o, format!("{}/{field}/{action}/port", c.pointer), format!("{field} of container `{}` uses port {shown}, which the container does not declare", c.name));
            }
        }
    }
}

/// Services with their labels, in namespace `ns`.
fn services<'a>(
    objects: &'a [Object<'a>],
    ns: Option<&str>,
) -> impl Iterator<Item = &'a Object<'a>> {
    objects.iter().filter(move |s| {
        s.api_version == "v1" && s.kind == "Service" && ns.is_none_or(|ns| s.namespace == ns)
    })
}

fn service_monitor(o: &Object, objects: &[Object], out: &mut Findings) {
    let selector = label_selector(o.at("/spec/selector")).unwrap_or_default();
    let any = o.at("/spec/namespaceSelector/any") == Some(&Value::Bool(true));
    let names: Vec<&str> = o
        .at("/spec/namespaceSelector/matchNames")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let selected: Vec<&Object> = services(objects, None)
        .filter(|s| {
            any || (names.is_empty() && s.namespace == o.namespace) || names.contains(&s.namespace)
        })
        .filter(|s| selects(&selector, &s.labels))
        .collect();
    if selected.is_empty() {
        out.push(
            &SERVICE_MONITOR_PORT,
            o,
            "/spec/selector",
            "selects no Service",
        );
        return;
    }
    let endpoints = o.at("/spec/endpoints").and_then(Value::as_array);
    for (i, e) in endpoints.into_iter().flatten().enumerate() {
        let Some(port) = e.get("port").and_then(Value::as_str) else {
            continue;
        };
        let has = selected.iter().any(|s| {
            s.at("/spec/ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|p| p.get("name").and_then(Value::as_str) == Some(port))
        });
        if !has {
            out.push(
                &SERVICE_MONITOR_PORT,
                o,
                format!("/spec/endpoints/{i}/port"),
                format!("no selected Service has a port named `{port}`"),
            );
        }
    }
}

fn http_route(o: &Object, objects: &[Object], out: &mut Findings) {
    let rules = o.at("/spec/rules").and_then(Value::as_array);
    for (i, rule) in rules.into_iter().flatten().enumerate() {
        let refs = rule.get("backendRefs").and_then(Value::as_array);
        for (j, r) in refs.into_iter().flatten().enumerate() {
            let at = format!("/spec/rules/{i}/backendRefs/{j}");
            let group = r.get("group").and_then(Value::as_str).unwrap_or_default();
            let kind = r.get("kind").and_then(Value::as_str).unwrap_or("Service");
            if !group.is_empty() || kind != "Service" {
                continue;
            }
            let name = r.get("name").and_then(Value::as_str).unwrap_or_default();
            let ns = r
                .get("namespace")
                .and_then(Value::as_str)
                .unwrap_or(o.namespace);
            let Some(service) = services(objects, Some(ns)).find(|s| s.name == name) else {
                out.push(
                    &HTTPROUTE_BACKEND,
                    o,
                    format!("{at}/name"),
                    format!("no Service `{name}` in namespace `{ns}`"),
                );
                continue;
            };
            let port = r.get("port").and_then(Value::as_i64);
            let ports: Vec<i64> = service
                .at("/spec/ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|p| p.get("port")?.as_i64())
                .collect();
            match port {
                None => out.push(
                    &HTTPROUTE_BACKEND,
                    o,
                    at,
                    format!("a Service backend needs a port (Service `{name}` has {ports:?})"),
                ),
                Some(p) if !ports.contains(&p) => out.push(
                    &HTTPROUTE_BACKEND,
                    o,
                    format!("{at}/port"),
                    format!("Service `{name}` has no port {p} (it has {ports:?})"),
                ),
                _ => {}
            }
        }
    }
}

fn network_policy(o: &Object, objects: &[Object], pods: &[(&Object, &Pod)], out: &mut Findings) {
    let namespace_labels: BTreeSet<&str> = objects
        .iter()
        .filter(|n| n.api_version == "v1" && n.kind == "Namespace")
        .flat_map(|n| n.labels.keys().map(String::as_str))
        .collect();
    let pods_here = |selector: &LabelSelector| {
        pods.iter()
            .any(|(w, p)| w.namespace == o.namespace && selects(selector, &p.labels))
    };
    if let Some(selector) = label_selector(o.at("/spec/podSelector"))
        && !is_empty(&selector)
        && !pods_here(&selector)
    {
        out.push(
            &NETWORK_POLICY_UNMATCHED,
            o,
            "/spec/podSelector",
            "selects no pod of any workload here: the policy protects nothing",
        );
    }
    for (direction, peers_field) in [("ingress", "from"), ("egress", "to")] {
        let rules = o
            .at(&format!("/spec/{direction}"))
            .and_then(Value::as_array);
        for (i, rule) in rules.into_iter().flatten().enumerate() {
            let peers = rule.get(peers_field).and_then(Value::as_array);
            for (j, peer) in peers.into_iter().flatten().enumerate() {
                let at = format!("/spec/{direction}/{i}/{peers_field}/{j}");
                let ns_selector = label_selector(peer.get("namespaceSelector"));
                if let Some(sel) = &ns_selector {
                    let keys =
                        sel.match_labels
                            .iter()
                            .flatten()
                            .map(|(k, _)| {
                                (
                                    k.as_str(),
                                    pointer_join(&format!("{at}/namespaceSelector/matchLabels"), k),
                                )
                            })
                            .chain(sel.match_expressions.iter().flatten().enumerate().map(
                                |(e, x)| {
                                    (
                                        x.key.as_str(),
                                        format!("{at}/namespaceSelector/matchExpressions/{e}/key"),
                                    )
                                },
                            ));
                    for (key, pointer) in keys {
                        if key == "name" {
                            out.push(&NETWORK_POLICY_LABELS, o, pointer, "Kubernetes does not label namespaces with `name`; use `kubernetes.io/metadata.name`, which it sets on every namespace");
                        } else if key != "kubernetes.io/metadata.name"
                            && !namespace_labels.contains(key)
                        {
                            out.push(&NETWORK_POLICY_UNMATCHED, o, pointer, format!("no Namespace here carries the label `{key}`; Kubernetes itself sets only `kubernetes.io/metadata.name`"));
                        }
                    }
                }
                if ns_selector.is_none()
                    && let Some(sel) = label_selector(peer.get("podSelector"))
                    && !is_empty(&sel)
                    && !pods_here(&sel)
                {
                    out.push(
                        &NETWORK_POLICY_UNMATCHED,
                        o,
                        format!("{at}/podSelector"),
                        "selects no pod of any workload in this namespace",
                    );
                }
            }
        }
    }
}

/// An Envoy Gateway credential injection reads the key `credential` of a
/// Secret in its namespace (rendered, or the target of an ExternalSecret).
fn credential_injection(o: &Object, store: &Store, out: &mut Findings) {
    let at = "/spec/credentialInjection/credential/valueRef/name";
    let Some(name) = o.at(at).and_then(Value::as_str) else {
        return;
    };
    match store.secrets.get(&(o.namespace, name.to_string())) {
        None => out.push(
            &NAME_REF,
            o,
            at,
            format!(
                "no Secret `{name}` in this namespace (rendered or the target of an ExternalSecret)"
            ),
        ),
        Some(Some(keys)) if !keys.contains("credential") => out.push(
            &NAME_REF,
            o,
            at,
            format!("Secret `{name}` has no key `credential`, the one the filter injects"),
        ),
        Some(_) => {}
    }
}

/// The Secrets (rendered or materialized by an ExternalSecret) and ConfigMaps
/// of each namespace, with their keys (None: any key, e.g. `dataFrom`).
#[derive(Default)]
struct Store<'a> {
    secrets: BTreeMap<(&'a str, String), Option<BTreeSet<String>>>,
    config_maps: BTreeMap<(&'a str, String), Option<BTreeSet<String>>>,
}

impl<'a> Store<'a> {
    fn new(objects: &'a [Object<'a>]) -> Store<'a> {
        let keys = |o: &Object, fields: &[&str]| -> BTreeSet<String> {
            fields
                .iter()
                .filter_map(|f| o.at(f)?.as_object())
                .flat_map(|m| m.keys().cloned())
                .collect()
        };
        let mut store = Store::default();
        for o in objects {
            let ns = o.namespace;
            match (o.api_version, o.kind) {
                ("v1", "Secret") => {
                    store.secrets.insert(
                        (ns, o.name.to_string()),
                        Some(keys(o, &["/data", "/stringData"])),
                    );
                }
                ("v1", "ConfigMap") => {
                    store.config_maps.insert(
                        (ns, o.name.to_string()),
                        Some(keys(o, &["/data", "/binaryData"])),
                    );
                }
                ("external-secrets.io/v1", "ExternalSecret") => {
                    let target = o
                        .at("/spec/target/name")
                        .and_then(Value::as_str)
                        .unwrap_or(o.name);
                    let templated = o.at("/spec/target/template").is_some();
                    let from_all = o
                        .at("/spec/dataFrom")
                        .and_then(Value::as_array)
                        .is_some_and(|a| !a.is_empty());
                    let data: BTreeSet<String> = o
                        .at("/spec/data")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|d| Some(d.get("secretKey")?.as_str()?.to_string()))
                        .collect();
                    store.secrets.insert(
                        (ns, target.to_string()),
                        (!templated && !from_all).then_some(data),
                    );
                }
                _ => {}
            }
        }
        store
    }
}

/// One reference from a pod to a Secret or ConfigMap.
struct Reference<'a> {
    secret: bool,
    name: &'a str,
    key: Option<&'a str>,
    optional: bool,
    /// Pointer of the name field.
    name_at: String,
    /// Pointer of the key field (for references to one key).
    key_at: String,
}

impl<'a> Reference<'a> {
    /// A reference at `at` (an object with `name` and maybe `key`).
    fn at(
        secret: bool,
        name: &'a str,
        key: Option<&'a str>,
        optional: Option<bool>,
        at: String,
    ) -> Reference<'a> {
        Reference {
            secret,
            name,
            key,
            optional: optional == Some(true),
            name_at: format!("{at}/name"),
            key_at: format!("{at}/key"),
        }
    }
}

fn config_references(o: &Object, pod: &Pod, store: &Store, out: &mut Findings) {
    let mut refs = container_references(pod);
    refs.extend(volume_references(pod));
    let sp = pod.spec_pointer();
    for (i, s) in pod.spec.image_pull_secrets.iter().flatten().enumerate() {
        refs.push(Reference::at(
            true,
            &s.name,
            None,
            None,
            format!("{sp}/imagePullSecrets/{i}"),
        ));
    }
    resolve(o, refs, store, out);
}

/// `env` and `envFrom` of every container.
fn container_references(pod: &Pod) -> Vec<Reference<'_>> {
    let mut refs = Vec::new();
    for c in pod.containers() {
        for (i, env) in c.env.iter().enumerate() {
            let source = env.value_from.as_ref();
            if let Some(s) = source.and_then(|s| s.secret_key_ref.as_ref()) {
                refs.push(Reference::at(
                    true,
                    &s.name,
                    Some(&s.key),
                    s.optional,
                    format!("{}/env/{i}/valueFrom/secretKeyRef", c.pointer),
                ));
            }
            if let Some(s) = source.and_then(|s| s.config_map_key_ref.as_ref()) {
                refs.push(Reference::at(
                    false,
                    &s.name,
                    Some(&s.key),
                    s.optional,
                    format!("{}/env/{i}/valueFrom/configMapKeyRef", c.pointer),
                ));
            }
        }
        for (i, from) in c.env_from.iter().enumerate() {
            if let Some(s) = &from.secret_ref {
                refs.push(Reference::at(
                    true,
                    &s.name,
                    None,
                    s.optional,
                    format!("{}/envFrom/{i}/secretRef", c.pointer),
                ));
            }
            if let Some(s) = &from.config_map_ref {
                refs.push(Reference::at(
                    false,
                    &s.name,
                    None,
                    s.optional,
                    format!("{}/envFrom/{i}/configMapRef", c.pointer),
                ));
            }
        }
    }
    refs
}

/// Secret, ConfigMap and projected volumes.
fn volume_references(pod: &Pod) -> Vec<Reference<'_>> {
    let mut refs = Vec::new();
    let sp = pod.spec_pointer();
    for (i, v) in pod.spec.volumes.iter().flatten().enumerate() {
        let at = format!("{sp}/volumes/{i}");
        if let Some(s) = &v.secret {
            let name = s.secret_name.as_deref().unwrap_or_default();
            items(
                &mut refs,
                true,
                name,
                s.items.as_deref(),
                s.optional,
                format!("{at}/secret"),
                "secretName",
            );
        }
        if let Some(s) = &v.config_map {
            items(
                &mut refs,
                false,
                &s.name,
                s.items.as_deref(),
                s.optional,
                format!("{at}/configMap"),
                "name",
            );
        }
        let sources = v
            .projected
            .as_ref()
            .and_then(|p| p.sources.as_deref())
            .unwrap_or_default();
        for (j, source) in sources.iter().enumerate() {
            if let Some(s) = &source.secret {
                items(
                    &mut refs,
                    true,
                    &s.name,
                    s.items.as_deref(),
                    s.optional,
                    format!("{at}/projected/sources/{j}/secret"),
                    "name",
                );
            }
            if let Some(s) = &source.config_map {
                items(
                    &mut refs,
                    false,
                    &s.name,
                    s.items.as_deref(),
                    s.optional,
                    format!("{at}/projected/sources/{j}/configMap"),
                    "name",
                );
            }
        }
    }
    refs
}

/// Each reference that is not optional must name an object (and key) of its namespace.
fn resolve(o: &Object, refs: Vec<Reference>, store: &Store, out: &mut Findings) {
    for r in refs.into_iter().filter(|r| !r.optional) {
        let (rule, what, map) = if r.secret {
            (&SECRET_REF, "Secret", &store.secrets)
        } else {
            (&CONFIG_MAP_REF, "ConfigMap", &store.config_maps)
        };
        match map.get(&(o.namespace, r.name.to_string())) {
            None => {
                let from = if r.secret {
                    " (rendered or the target of an ExternalSecret)"
                } else {
                    ""
                };
                out.push(
                    rule,
                    o,
                    r.name_at,
                    format!("no {what} `{}`{from} in this namespace", r.name),
                );
            }
            Some(Some(keys)) => {
                if let Some(key) = r.key.filter(|k| !keys.contains(*k)) {
                    let known: Vec<&str> = keys.iter().map(String::as_str).collect();
                    out.push(
                        rule,
                        o,
                        r.key_at,
                        format!(
                            "{what} `{}` has no key `{key}` (it has: {})",
                            r.name,
                            known.join(", ")
                        ),
                    );
                }
            }
            Some(None) => {}
        }
    }
}

/// A Secret or ConfigMap volume: one reference for the object, one per listed key.
fn items<'a>(
    refs: &mut Vec<Reference<'a>>,
    secret: bool,
    name: &'a str,
    items: Option<&'a [k8s_openapi::api::core::v1::KeyToPath]>,
    optional: Option<bool>,
    at: String,
    name_field: &str,
) {
    let name_at = format!("{at}/{name_field}");
    let optional = optional == Some(true);
    let listed = items.unwrap_or_default();
    refs.extend(listed.iter().enumerate().map(|(k, item)| Reference {
        secret,
        name,
        key: Some(&item.key),
        optional,
        name_at: name_at.clone(),
        key_at: format!("{at}/items/{k}/key"),
    }));
    if listed.is_empty() {
        refs.push(Reference {
            secret,
            name,
            key: None,
            optional,
            key_at: String::new(),
            name_at,
        });
    }
}
