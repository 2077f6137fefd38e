//! The enterprise environments against what Portkey's Helm chart renders for
//! the seeds' values (tests/fixtures/chart/portkey-gateway-1.7.7.yaml): env,
//! ports, probes, identity and load-balancer annotations per cloud, and the
//! NetworkPolicies against the flows those need. Every difference must be
//! listed as deliberate, and every deliberate entry must still be a difference.

use crate::render_env;
use kiln::Resource;
use kiln_tests::repo_root;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

const TABLE: &str = "tests/fixtures/chart/portkey-gateway-1.7.7.yaml";

fn table() -> Value {
    let text = std::fs::read_to_string(repo_root().join(TABLE)).expect("chart table");
    serde_yaml::from_str(&text).expect("chart table is YAML")
}

struct Rendered(Vec<Value>);

impl Rendered {
    fn of(env: &str) -> Rendered {
        let docs = render_env(&repo_root(), env)
            .resources
            .iter()
            .map(Resource::to_value)
            .collect();
        Rendered(docs)
    }

    fn find(&self, kind: &str, name: &str) -> &Value {
        self.0
            .iter()
            .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name}"))
    }

    fn container(&self, deployment: &str) -> &Value {
        &self.find("Deployment", deployment)["spec"]["template"]["spec"]["containers"][0]
    }

    /// What the container reads: its ConfigMaps (envFrom) overridden by env,
    /// secrets as `{secret: store key}` through their ExternalSecrets.
    fn env(&self, deployment: &str) -> Map<String, Value> {
        let c = self.container(deployment);
        let mut out = Map::new();
        for from in c["envFrom"].as_array().into_iter().flatten() {
            let name = from["configMapRef"]["name"].as_str().expect("configMapRef");
            let data = self.find("ConfigMap", name)["data"]
                .as_object()
                .expect("data");
            out.extend(data.clone());
        }
        for e in c["env"].as_array().into_iter().flatten() {
            let name = e["name"].as_str().expect("name").to_string();
            let value = match e.get("value") {
                Some(v) => v.clone(),
                None => self.secret(&e["valueFrom"]["secretKeyRef"]),
            };
            out.insert(name, value);
        }
        out
    }

    fn secret(&self, key_ref: &Value) -> Value {
        let es = self
            .0
            .iter()
            .find(|d| {
                d["kind"] == "ExternalSecret" && d["spec"]["target"]["name"] == key_ref["name"]
            })
            .unwrap_or_else(|| panic!("no ExternalSecret makes Secret {}", key_ref["name"]));
        let data = es["spec"]["data"].as_array().expect("data");
        let item = data
            .iter()
            .find(|d| d["secretKey"] == key_ref["key"])
            .unwrap_or_else(|| panic!("{} has no key {}", key_ref["name"], key_ref["key"]));
        json!({ "secret": item["remoteRef"]["key"] })
    }

    fn ports(&self, deployment: &str) -> Vec<i64> {
        let mut ports: Vec<i64> = self.container(deployment)["ports"]
            .as_array()
            .expect("ports")
            .iter()
            .map(|p| p["containerPort"].as_i64().expect("number"))
            .collect();
        ports.sort();
        ports
    }

    /// The readiness and liveness probes' path and port number (named ports resolved).
    fn probes(&self, deployment: &str) -> Vec<Value> {
        let c = self.container(deployment);
        ["readinessProbe", "livenessProbe"]
            .iter()
            .map(|p| {
                let get = &c[p]["httpGet"];
                let port = match &get["port"] {
                    Value::String(name) => c["ports"]
                        .as_array()
                        .expect("ports")
                        .iter()
                        .find(|p| p["name"] == *name)
                        .unwrap_or_else(|| panic!("no port named {name}"))["containerPort"]
                        .clone(),
                    number => number.clone(),
                };
                json!({ "path": get["path"], "port": port })
            })
            .collect()
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

/// Differences between the chart's `expected` and kiln's `actual` maps that
/// neither the cloud's `own` deliberate entries nor the `shared` ones
/// explain, and own entries that are no difference (shared ones need not
/// apply to every cloud).
fn unexplained(
    what: &str,
    expected: &Map<String, Value>,
    actual: &Map<String, Value>,
    own: &Value,
    shared: &Value,
) -> Vec<String> {
    let explained = |k: &str| own.get(k).is_some() || shared.get(k).is_some();
    let keys: BTreeSet<&String> = expected.keys().chain(actual.keys()).collect();
    let mut out = Vec::new();
    for k in keys {
        let differs = expected.get(k) != actual.get(k);
        if differs && !explained(k) {
            out.push(format!(
                "{what} {k}: chart {} kiln {}",
                expected.get(k).unwrap_or(&Value::Null),
                actual.get(k).unwrap_or(&Value::Null)
            ));
        }
    }
    for k in own.as_object().into_iter().flat_map(|o| o.keys()) {
        if expected.get(k) == actual.get(k) {
            out.push(format!(
                "{what} {k}: listed as deliberate but kiln matches the chart"
            ));
        }
    }
    out
}

fn object(v: &Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn compare_cloud(table: &Value, cloud_name: &str) -> Vec<String> {
    let cloud = &table[cloud_name];
    let common = &table["common"]["deliberate"];
    let env = cloud["environment"].as_str().expect("environment");
    let r = Rendered::of(env);
    let mut problems = Vec::new();
    let mut components = vec![("gateway", "portkey-gateway")];
    if cloud.get("dataService").is_some() {
        components.push(("dataService", "portkey-gateway-dataservice"));
    }
    for (key, deployment) in components {
        let chart = &cloud[key];
        let env_key = format!("{key}.env");
        problems.extend(unexplained(
            &format!("{cloud_name} {key} env"),
            &object(&chart["env"]),
            &r.env(deployment),
            &cloud["deliberate"][&env_key],
            &common[&env_key],
        ));
        let ports: Vec<i64> = serde_json::from_value(chart["ports"].clone()).expect("ports");
        let rendered = r.ports(deployment);
        if rendered != ports {
            problems.push(format!(
                "{cloud_name} {key} ports: chart {ports:?} kiln {rendered:?}"
            ));
        }
        for probe in r.probes(deployment) {
            if probe != chart["probes"] {
                problems.push(format!(
                    "{cloud_name} {key} probe: chart {} kiln {probe}",
                    chart["probes"]
                ));
            }
        }
    }
    problems.extend(service_account(cloud_name, cloud, common, &r));
    problems.extend(load_balancer(cloud_name, cloud, &r));
    problems.extend(flows(cloud_name, cloud, &r));
    problems
}

fn service_account(name: &str, cloud: &Value, common: &Value, r: &Rendered) -> Vec<String> {
    let chart = &cloud["gateway"]["serviceAccount"];
    let sa = r.find("ServiceAccount", "portkey-gateway");
    let mut out = unexplained(
        &format!("{name} ServiceAccount annotations"),
        &object(&chart["annotations"]),
        &object(&sa["metadata"]["annotations"]),
        &Value::Null,
        &Value::Null,
    );
    let automount = sa["automountServiceAccountToken"].as_bool().unwrap_or(true);
    if Some(automount) != chart["automount"].as_bool()
        && common.get("serviceAccount.automount").is_none()
    {
        out.push(format!(
            "{name} ServiceAccount automount differs unexplained"
        ));
    }
    out
}

fn load_balancer(name: &str, cloud: &Value, r: &Rendered) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(chart) = cloud.get("ingress") {
        let ing = r.find("Ingress", "portkey-gateway");
        if ing["spec"].get("ingressClassName").unwrap_or(&Value::Null) != &chart["className"] {
            out.push(format!(
                "{name} ingressClassName: chart {} kiln {}",
                chart["className"], ing["spec"]["ingressClassName"]
            ));
        }
        out.extend(unexplained(
            &format!("{name} Ingress annotations"),
            &object(&chart["annotations"]),
            &object(&ing["metadata"]["annotations"]),
            &cloud["deliberate"]["ingress.annotations"],
            &Value::Null,
        ));
        let rules: Vec<Value> = ing["spec"]["rules"]
            .as_array()
            .expect("rules")
            .iter()
            .map(|rule| {
                let backend = &rule["http"]["paths"][0]["backend"]["service"]["port"]["number"];
                json!([rule["host"], backend])
            })
            .collect();
        if Value::from(rules.clone()) != chart["rules"] {
            out.push(format!(
                "{name} Ingress rules: chart {} kiln {rules:?}",
                chart["rules"]
            ));
        }
    }
    if let Some(chart) = cloud.get("service") {
        let svc = r.find("Service", "portkey-gateway");
        if svc["spec"]["type"] != chart["type"] {
            out.push(format!(
                "{name} Service type: chart {} kiln {}",
                chart["type"], svc["spec"]["type"]
            ));
        }
        out.extend(unexplained(
            &format!("{name} Service annotations"),
            &object(&chart["annotations"]),
            &object(&svc["metadata"]["annotations"]),
            &cloud["deliberate"]["service.annotations"],
            &Value::Null,
        ));
    }
    out
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
        if from == "dataservice" && cloud.get("dataService").is_none() {
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
fn enterprise_environments_match_the_chart_or_say_why_not() {
    let table = table();
    let problems: Vec<String> = ["gke", "eks", "aks"]
        .iter()
        .flat_map(|cloud| compare_cloud(&table, cloud))
        .collect();
    assert!(
        problems.is_empty(),
        "differences from Portkey's chart 1.7.7 ({TABLE}):\n{}",
        problems.join("\n")
    );
}

/// The comparison itself finds differences: a changed value, a missing
/// variable and a port opened for no flow each fail it.
#[test]
fn the_comparison_catches_differences() {
    let mut table = table();
    table["gke"]["gateway"]["env"]["REDIS_MODE"] = json!("standalone");
    table["gke"]["gateway"]["env"]["NEW_VARIABLE"] = json!("x");
    table["gke"]["flows"]["allowed"]
        .as_array_mut()
        .expect("flows")
        .retain(|f| f["port"] != 988);
    let problems = compare_cloud(&table, "gke");
    for needle in ["REDIS_MODE", "NEW_VARIABLE", "opens"] {
        assert!(
            problems.iter().any(|p| p.contains(needle)),
            "{needle} not reported: {problems:#?}"
        );
    }
}
