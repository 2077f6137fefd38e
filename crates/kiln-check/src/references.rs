//! References between resources: selectors, ports, backends, monitors,
//! network policies, and the Secrets and ConfigMaps pods read. A reference
//! resolves among the manifests checked together, in the same namespace.

use super::config_refs::{Store, config_references, credential_injection};
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
