//! The NetworkPolicies of kiln's gke, eks and aks environments, which Portkey's
//! chart does not render, against the flows the pods need
//! (tests/fixtures/chart/flows.yaml): every flow admitted, no port open for no flow.

use crate::chart::{CLOUDS, fixture, role};
use crate::rendered as kiln;
use serde_json::Value;
use std::collections::BTreeSet;

const FLOWS: &str = "tests/fixtures/chart/flows.yaml";

/// kiln's rendering of an environment, for the flows.
struct Rendered(Vec<Value>);

impl Rendered {
    fn of(env: &str) -> Rendered {
        Rendered(kiln(env))
    }

    fn find(&self, kind: &str, name: &str) -> &Value {
        self.0
            .iter()
            .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name}"))
    }

    fn pod_labels(&self, component: &str) -> &Value {
        let name = match component {
            "gateway" => "portkey-gateway".to_string(),
            other => format!("portkey-gateway-{other}"),
        };
        &self.find("Deployment", &name)["spec"]["template"]["metadata"]["labels"]
    }

    fn policy(&self, component: &str) -> &Value {
        let name = match component {
            "gateway" => "portkey-gateway".to_string(),
            other => format!("portkey-gateway-{other}"),
        };
        &self.find("NetworkPolicy", &name)["spec"]
    }
}

/// A flow's destination: an IPv4 address, anywhere on the internet, or a component's pods.
enum To<'a> {
    Ip([u8; 4]),
    Pods(&'a Value),
}

fn ip(s: &str) -> [u8; 4] {
    let parts: Vec<u8> = s.split('.').map(|p| p.parse().expect("IPv4")).collect();
    parts.try_into().expect("four octets")
}

fn in_cidr(addr: [u8; 4], cidr: &str) -> bool {
    let (net, bits) = cidr.split_once('/').expect("CIDR");
    let bits: u32 = bits.parse().expect("prefix");
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    };
    u32::from_be_bytes(addr) & mask == u32::from_be_bytes(ip(net)) & mask
}

fn peer_matches(peer: &Value, to: &To) -> bool {
    match to {
        To::Ip(addr) => peer["ipBlock"]["cidr"].as_str().is_some_and(|c| {
            in_cidr(*addr, c)
                && !peer["ipBlock"]["except"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|e| in_cidr(*addr, e.as_str().expect("except")))
        }),
        To::Pods(labels) => {
            peer.get("namespaceSelector").is_none()
                && peer["podSelector"]["matchLabels"]
                    .as_object()
                    .is_some_and(|m| m.iter().all(|(k, v)| labels[k] == *v))
        }
    }
}

fn port_matches(entry: &Value, port: i64) -> bool {
    let from = entry["port"].as_i64().expect("numeric port");
    let to = entry["endPort"].as_i64().unwrap_or(from);
    (from..=to).contains(&port)
}

/// The (rule, port entry) indices of `egress` that let `to:port` out.
fn egress_matches(egress: &[Value], to: &To, port: i64) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (i, rule) in egress.iter().enumerate() {
        let peers = rule["to"].as_array();
        let peer_ok = peers.is_none_or(|p| p.is_empty() || p.iter().any(|p| peer_matches(p, to)));
        // A port-less rule would allow every port.
        let ports = rule["ports"]
            .as_array()
            .expect("every rule names its ports");
        for (j, entry) in ports.iter().enumerate() {
            if peer_ok && port_matches(entry, port) {
                out.push((i, j));
            }
        }
    }
    out
}

fn ingress_allows(policy: &Value, from: &Value, port: i64) -> bool {
    policy["ingress"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|rule| {
            rule["ports"]
                .as_array()
                .expect("ports")
                .iter()
                .any(|e| port_matches(e, port))
                && rule["from"]
                    .as_array()
                    .expect("from")
                    .iter()
                    .any(|p| peer_matches(p, &To::Pods(from)))
        })
}

fn flows(name: &str, cloud: &Value, r: &Rendered) -> Vec<String> {
    let mut out = Vec::new();
    let mut used: BTreeSet<(String, usize, usize)> = BTreeSet::new();
    // `any` stands for an address on the internet (TEST-NET-3).
    let resolve = |to: &str| match to.strip_prefix("pod:") {
        Some(c) => To::Pods(r.pod_labels(c)),
        None if to == "any" => To::Ip([203, 0, 113, 9]),
        None => To::Ip(ip(to)),
    };
    for (allowed, list) in [
        (true, &cloud["flows"]["allowed"]),
        (false, &cloud["flows"]["denied"]),
    ] {
        for f in list.as_array().expect("flows") {
            let from = f["from"].as_str().expect("from");
            let to_name = f["to"].as_str().expect("to");
            let port = f["port"].as_i64().expect("port");
            let to = resolve(to_name);
            let egress = r.policy(from)["egress"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let hits = egress_matches(&egress, &to, port);
            let mut ok = !hits.is_empty();
            if let (Some(target), To::Pods(_)) = (to_name.strip_prefix("pod:"), &to) {
                ok &= ingress_allows(r.policy(target), r.pod_labels(from), port);
            }
            if allowed {
                used.extend(hits.into_iter().map(|(i, j)| (from.to_string(), i, j)));
            }
            if ok != allowed {
                let verb = if allowed { "is blocked" } else { "is allowed" };
                out.push(format!("{name}: {from} → {to_name}:{port} {verb}"));
            }
        }
    }
    // Nothing more: every port a policy opens serves an allowed flow.
    for from in ["gateway", "dataservice"] {
        let policy = |d: &&Value| d["kind"] == "NetworkPolicy" && role(d) == from;
        if !r.0.iter().any(|d| policy(&d)) {
            continue;
        }
        for (i, rule) in r.policy(from)["egress"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            for (j, entry) in rule["ports"].as_array().into_iter().flatten().enumerate() {
                let udp_dns = entry["protocol"] == "UDP" && entry["port"] == 53;
                if !udp_dns && !used.contains(&(from.to_string(), i, j)) {
                    out.push(format!(
                        "{name}: {from} egress rule {i} opens {entry} for no listed flow"
                    ));
                }
            }
        }
    }
    out
}

#[test]
fn network_policies_admit_exactly_the_flows_the_pods_need() {
    let flows = fixture(FLOWS);
    let problems: Vec<String> = CLOUDS
        .iter()
        .flat_map(|cloud| self::flows(cloud, &flows[cloud], &Rendered::of(cloud)))
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A port opened for no listed flow is caught.
#[test]
fn a_port_for_no_flow_is_caught() {
    let mut flows = fixture(FLOWS);
    flows["gke"]["flows"]["allowed"]
        .as_array_mut()
        .expect("flows")
        .retain(|f| f["port"] != 988);
    let problems = self::flows("gke", &flows["gke"], &Rendered::of("gke"));
    assert!(
        problems.iter().any(|p| p.contains("opens")),
        "{problems:#?}"
    );
}
