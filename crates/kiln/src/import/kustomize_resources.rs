//! The resources around the gateway's Deployment in a kustomize tree: its
//! route (or Ingress), Service, NetworkPolicy, ServiceMonitor, strategies
//! ConfigMap, and Secrets written in plain text.

use super::Found;

use super::document::{At, id, mounted, of_kind};
use crate::error::Result;
use serde_json::{Value, json};

/// The HTTPRoute's hosts, Gateway and response headers. Without one the
/// description has no route (an Ingress stays beside kiln's output, its
/// backend unchanged since the Service keeps its port).
pub(super) fn route(found: &mut Found, docs: &[Value], used: &mut Vec<String>) -> Result<()> {
    let Some(route) = of_kind(docs, "HTTPRoute").next() else {
        for ingress in of_kind(docs, "Ingress") {
            used.push(id(ingress));
            found.leave(
                id(ingress),
                "kiln renders no Ingress for the open-source gateway: keep this one beside kiln's output (its backend, the Service's name and port, stays as it was), or give the description `route.hosts` for an HTTPRoute on a Gateway",
            );
        }
        return Ok(());
    };
    let r = At::new(route);
    used.push(r.id.clone());
    found.take(
        "/route/hosts",
        r.get("/spec/hostnames").cloned().unwrap_or(json!([])),
        r.from("/spec/hostnames"),
    );
    let own = route["metadata"]["namespace"].clone();
    let parent = "/spec/parentRefs/0";
    if let Some(p) = r.get(parent) {
        let namespace = if p["namespace"].is_null() {
            own
        } else {
            p["namespace"].clone()
        };
        let mut gateway = json!({ "name": p["name"], "namespace": namespace });
        if let Some(section) = p.get("sectionName") {
            gateway["sectionName"] = section.clone();
        }
        found.take("/route/gateway", gateway, r.from(parent));
    }
    let set = "/spec/rules/0/filters/0/responseHeaderModifier/set";
    for (i, header) in r.items(set).enumerate() {
        let (name, value) = (
            header["name"].as_str().unwrap_or_default(),
            &header["value"],
        );
        let default = crate::build::DEFAULT_RESPONSE_HEADERS
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name));
        if default.is_none_or(|(_, v)| value != v) {
            found.take(
                &kiln_model::pointer::join("/route/responseHeaders", name),
                value.clone(),
                r.from(&format!("{set}/{i}")),
            );
        }
    }
    Ok(())
}

/// The Service's port, where it differs from the container's: in-cluster
/// clients and an Ingress connect there.
pub(super) fn service_port(found: &mut Found, docs: &[Value], used: &mut Vec<String>) {
    let Some(service) = of_kind(docs, "Service").next() else {
        return;
    };
    let s = At::new(service);
    used.push(s.id.clone());
    let at = "/spec/ports/0/port";
    let container = found
        .description
        .get("port")
        .cloned()
        .unwrap_or(json!(kiln_model::portkey::DEFAULT_PORT));
    if let Some(port) = s.get(at).filter(|p| **p != container) {
        found.take("/servicePort", port.clone(), s.from(at));
    }
}

/// Namespaces let in (by a single-label namespaceSelector), TCP ports let out.
pub(super) fn network_policy(found: &mut Found, docs: &[Value], used: &mut Vec<String>) {
    let Some(policy) = of_kind(docs, "NetworkPolicy").next() else {
        return;
    };
    let p = At::new(policy);
    used.push(p.id.clone());
    let mut namespaces = Vec::new();
    let peers = "/spec/ingress/0/from";
    for (i, peer) in p.items(peers).enumerate() {
        match peer["namespaceSelector"]["matchLabels"]
            .as_object()
            .map(|m| m.values().collect::<Vec<_>>())
        {
            Some(values) if values.len() == 1 => namespaces.push(values[0].clone()),
            _ => found.leave(
                p.from(&format!("{peers}/{i}")),
                "kiln lets in whole namespaces only (`networkPolicy.ingressFromNamespaces`)",
            ),
        }
    }
    found.take(
        "/networkPolicy/ingressFromNamespaces",
        json!(namespaces),
        p.from(peers),
    );
    let mut ports: Vec<Value> = Vec::new();
    for rule in p.items("/spec/egress") {
        for port in rule["ports"].as_array().into_iter().flatten() {
            if port["port"] != 53
                && port["protocol"].as_str().unwrap_or("TCP") == "TCP"
                && !ports.contains(&port["port"])
            {
                ports.push(port["port"].clone());
            }
        }
    }
    found.take(
        "/networkPolicy/egressTcpPorts",
        json!(ports),
        p.from("/spec/egress"),
    );
}

pub(super) fn monitoring(found: &mut Found, docs: &[Value], used: &mut Vec<String>) {
    let Some(monitor) = of_kind(docs, "ServiceMonitor").next() else {
        return;
    };
    let m = At::new(monitor);
    used.push(m.id.clone());
    // The trees kiln imports run the open-source gateway, which has no metrics.
    found.leave(
        m.id.clone(),
        "the open-source gateway serves no metrics (GET /metrics answers 404 in every released version): kiln renders no ServiceMonitor, whose target would always be down; request metrics come from your Gateway implementation (kiln's docs/design/departures.md, \"Metrics only where there are some\")",
    );
}

/// The ConfigMap of JSON files mounted into the container: strategy files.
pub(super) fn strategies(
    found: &mut Found,
    docs: &[Value],
    d: &At,
    c: &str,
    used: &mut Vec<String>,
) {
    for (i, mount, volume) in mounted(d, c) {
        let Some(name) = volume["configMap"]["name"].as_str() else {
            continue;
        };
        let Some(map) = of_kind(docs, "ConfigMap").find(|m| m["metadata"]["name"] == name) else {
            continue;
        };
        let m = At::new(map);
        used.push(m.id.clone());
        found.take(
            "/strategies/mountPath",
            mount["mountPath"].clone(),
            d.from(&format!("{c}/volumeMounts/{i}/mountPath")),
        );
        for (key, text) in map["data"].as_object().into_iter().flatten() {
            let at = m.from(&kiln_model::pointer::join("/data", key));
            match (key.strip_suffix(".json"), text.as_str()) {
                (Some(strategy), Some(text)) => {
                    found
                        .strategies
                        .insert(strategy.to_string(), text.to_string());
                    found.fields.push(super::Field {
                        to: format!("strategies/{strategy}.json"),
                        from: at,
                    });
                }
                _ => found.leave(
                    at,
                    "not a strategy (`*.json`): kiln mounts strategy files only",
                ),
            }
        }
    }
}

/// A Secret's values are never copied: where they are is noted.
pub(super) fn plain_secret_objects(found: &mut Found, doc: &Value) {
    if doc["kind"] != "Secret" {
        return;
    }
    for field in ["data", "stringData"] {
        for key in doc[field].as_object().into_iter().flatten().map(|(k, _)| k) {
            found.plain_secrets.push(format!(
                "{} {} (`{key}`)",
                id(doc),
                kiln_model::pointer::join(&format!("/{field}"), key)
            ));
        }
    }
}
