//! Portkey's Helm chart 1.7.7 (vendored in tests/fixtures/chart), rendered by
//! a real Helm for the values of Portkey's GKE, EKS and AKS install guides
//! (tests/fixtures/import/helm, written with the chart's own keys), compared
//! resource by resource with kiln's gke, eks and aks environments. Both sides
//! are seen alike: the containers' environment resolved through Secrets,
//! ConfigMaps and ExternalSecrets, lists Kubernetes merges by a key keyed by
//! it, every leaf a JSON pointer. Every difference must be listed in
//! tests/fixtures/chart/deliberate.yaml with its reason, and every entry
//! there must still explain a difference. (The NetworkPolicies, which the
//! chart does not render: network_flows.rs.)

use crate::{render_env, rendered as kiln};
use kiln::k8s::Resource;
use kiln_tests::{helm, repo_root, run, yaml_documents};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

const CHART: &str = "tests/fixtures/chart/portkey-gateway-1.7.7";
const DELIBERATE: &str = "tests/fixtures/chart/deliberate.yaml";

/// The Helm release name the values are installed under in Portkey's guides.
const RELEASE: &str = "portkey-gateway";
pub(crate) const CLOUDS: [&str; 3] = ["gke", "eks", "aks"];

pub(crate) fn fixture(path: &str) -> Value {
    let text = std::fs::read_to_string(repo_root().join(path)).expect(path);
    serde_yaml::from_str(&text).expect("YAML")
}

/// What the chart renders for `cloud`'s values.
fn chart(cloud: &str) -> Vec<Value> {
    let values = repo_root().join(format!("tests/fixtures/import/helm/{cloud}.yaml"));
    let (ok, out, err) = run(std::process::Command::new(helm())
        .args(["template", RELEASE])
        .arg(repo_root().join(CHART))
        .args(["--namespace", "portkey", "--values"])
        .arg(values));
    assert!(ok, "helm template failed for {cloud}: {err}");
    yaml_documents(&out)
        .into_iter()
        .filter(|d| !d.is_null())
        .collect()
}

/// The part of the service a resource belongs to, from its name on either side.
pub(crate) fn role(doc: &Value) -> String {
    let name = doc["metadata"]["name"].as_str().unwrap_or_default();
    let short = name.strip_prefix("portkey-gateway-").unwrap_or(match name {
        "portkey-gateway" | "gateway-sa" => "gateway",
        other => other,
    });
    short.to_string()
}

fn key(doc: &Value) -> String {
    format!("{} {}", doc["kind"].as_str().unwrap_or_default(), role(doc))
}

/// A container's environment as the process sees it: `envFrom` first, `env`
/// over it; a value from a Secret the chart renders is its decoded text, one
/// from an ExternalSecret `(secret store: KEY)`. Empty values are left out:
/// the chart renders every key of its values, set or not, and the gateway
/// reads an empty variable as an unset one.
fn environment(container: &Value, all: &[Value]) -> Map<String, Value> {
    let mut out = Map::new();
    for from in container["envFrom"].as_array().into_iter().flatten() {
        if let Some(name) = from["configMapRef"]["name"].as_str() {
            out.extend(data(all, "ConfigMap", name));
        }
        if let Some(name) = from["secretRef"]["name"].as_str() {
            out.extend(secret(all, name));
        }
    }
    for e in container["env"].as_array().into_iter().flatten() {
        let name = e["name"].as_str().unwrap_or_default().to_string();
        let value = if let Some(v) = e.get("value") {
            v.clone()
        } else if let Some(r) = e["valueFrom"].get("secretKeyRef") {
            let from = secret(all, r["name"].as_str().unwrap_or_default());
            from.get(r["key"].as_str().unwrap_or_default())
                .cloned()
                .unwrap_or(Value::Null)
        } else if let Some(r) = e["valueFrom"].get("configMapKeyRef") {
            data(all, "ConfigMap", r["name"].as_str().unwrap_or_default())
                .get(r["key"].as_str().unwrap_or_default())
                .cloned()
                .unwrap_or(Value::Null)
        } else {
            e["valueFrom"].clone()
        };
        out.insert(name, value);
    }
    out.retain(|_, v| v != "" && !v.is_null());
    out
}

fn data(all: &[Value], kind: &str, name: &str) -> Map<String, Value> {
    all.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .and_then(|d| d["data"].as_object().cloned())
        .unwrap_or_default()
}

/// A Secret's keys and values: decoded where the chart renders the Secret,
/// the store keys where an ExternalSecret makes it.
fn secret(all: &[Value], name: &str) -> Map<String, Value> {
    if let Some(es) = all
        .iter()
        .find(|d| d["kind"] == "ExternalSecret" && d["spec"]["target"]["name"] == name)
    {
        return es["spec"]["data"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|item| {
                let key = item["secretKey"].as_str().unwrap_or_default().to_string();
                let store = item["remoteRef"]["key"].as_str().unwrap_or_default();
                (key, json!(format!("(secret store: {store})")))
            })
            .collect();
    }
    use base64::Engine as _;
    data(all, "Secret", name)
        .into_iter()
        .map(|(k, v)| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(v.as_str().unwrap_or_default())
                .expect("base64");
            (k, json!(String::from_utf8(bytes).expect("UTF-8")))
        })
        .collect()
}

/// `list` as a map keyed by each item's `field` (the item keeps the rest).
fn keyed(list: &Value, field: &str) -> Value {
    let mut out = Map::new();
    for item in list.as_array().into_iter().flatten() {
        let mut rest = item.clone();
        let id = rest
            .as_object_mut()
            .and_then(|m| m.remove(field))
            .map(|v| match v {
                Value::String(s) => s,
                other => other.to_string(),
            })
            .unwrap_or_default();
        out.insert(id, rest);
    }
    Value::Object(out)
}

/// A resource as both sides are compared: names dropped (resources are
/// paired by role), the pod's containers by position, their environment
/// resolved, ports by number, mounts by path, volumes by name.
fn view(doc: &Value, all: &[Value]) -> Value {
    let mut doc = doc.clone();
    if let Some(meta) = doc["metadata"].as_object_mut() {
        meta.remove("name");
        meta.remove("namespace");
    }
    if let Some(pod) = doc.pointer_mut("/spec/template/spec") {
        let containers = pod["containers"].take();
        for (i, c) in containers.as_array().into_iter().flatten().enumerate() {
            let mut c = c.clone();
            c["env"] = Value::Object(environment(&c, all));
            c.as_object_mut().map(|m| m.remove("envFrom"));
            c["ports"] = keyed(&c["ports"], "containerPort");
            c["volumeMounts"] = keyed(&c["volumeMounts"], "mountPath");
            pod[format!("container{i}")] = c;
        }
        pod.as_object_mut().map(|m| m.remove("containers"));
        pod["volumes"] = keyed(&pod["volumes"], "name");
        pod["imagePullSecrets"] = keyed(&pod["imagePullSecrets"], "name");
    }
    if doc["kind"] == "Service" {
        doc["spec"]["ports"] = keyed(&doc["spec"]["ports"], "port");
    }
    doc
}

/// Every leaf of `v` (empty maps and lists and nulls count as nothing) by its pointer.
fn leaves(v: &Value, at: String, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                leaves(
                    v,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, v) in items.iter().enumerate() {
                leaves(v, format!("{at}/{i}"), out);
            }
        }
        Value::Array(_) | Value::Null => {}
        leaf => {
            out.insert(at, leaf.clone());
        }
    }
}

/// One difference: `Kind role pointer` and the two sides' values.
#[derive(Debug, Clone)]
struct Difference {
    at: String,
    chart: Option<Value>,
    kiln: Option<Value>,
}

fn differences(chart: &[Value], ours: &[Value]) -> Vec<Difference> {
    let flat = |docs: &[Value]| -> BTreeMap<String, BTreeMap<String, Value>> {
        docs.iter()
            .map(|d| {
                let mut out = BTreeMap::new();
                leaves(&view(d, docs), String::new(), &mut out);
                (key(d), out)
            })
            .collect()
    };
    let (a, b) = (flat(chart), flat(ours));
    let mut out = Vec::new();
    for resource in a.keys().chain(b.keys()).collect::<BTreeSet<_>>() {
        match (a.get(resource), b.get(resource)) {
            (Some(x), Some(y)) => {
                for p in x.keys().chain(y.keys()).collect::<BTreeSet<_>>() {
                    if x.get(p) != y.get(p) {
                        out.push(Difference {
                            at: format!("{resource} {p}"),
                            chart: x.get(p).cloned(),
                            kiln: y.get(p).cloned(),
                        });
                    }
                }
            }
            (x, _) => out.push(Difference {
                at: resource.clone(),
                chart: x.map(|_| json!("(rendered)")),
                kiln: b.get(resource).map(|_| json!("(rendered)")),
            }),
        }
    }
    out
}

/// Whether the deliberate entry `entry` (`Kind role pointer`, where a kind
/// or role ending in `*` stands for every one it begins, a `*` in the pointer
/// for any text, and no pointer for the whole resource) explains the
/// difference at `at`.
fn explains(entry: &str, at: &str) -> bool {
    let mut e = entry.splitn(3, ' ');
    let mut a = at.splitn(3, ' ');
    let same = |x: Option<&str>, y: Option<&str>| match (x, y) {
        (Some(x), Some(y)) => x.strip_suffix('*').map_or(x == y, |p| y.starts_with(p)),
        _ => false,
    };
    if !same(e.next(), a.next()) || !same(e.next(), a.next()) {
        return false;
    }
    match (e.next(), a.next().unwrap_or_default()) {
        (None, _) => true,
        (Some(p), at) => match p.split_once('*') {
            Some((begins, ends)) => at.starts_with(begins) && at[begins.len()..].ends_with(ends),
            None => at == p || at.starts_with(&format!("{p}/")),
        },
    }
}

/// The differences of `cloud` no deliberate entry explains, and the cloud's
/// own entries that explain nothing; the common entries each cloud used.
fn check(cloud: &str, diffs: &[Difference], deliberate: &Value) -> (Vec<String>, BTreeSet<String>) {
    let own = deliberate[cloud].as_object().cloned().unwrap_or_default();
    let common = deliberate["common"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut problems = Vec::new();
    let mut used = BTreeSet::new();
    let mut own_used = BTreeSet::new();
    for d in diffs {
        if let Some(e) = own.keys().find(|e| explains(e, &d.at)) {
            own_used.insert(e.clone());
        } else if let Some(e) = common.keys().find(|e| explains(e, &d.at)) {
            used.insert(e.clone());
        } else {
            problems.push(format!(
                "{cloud}: {}: chart {} kiln {}",
                d.at,
                d.chart.as_ref().map_or("(none)".into(), Value::to_string),
                d.kiln.as_ref().map_or("(none)".into(), Value::to_string),
            ));
        }
    }
    for e in own.keys().filter(|e| !own_used.contains(*e)) {
        problems.push(format!(
            "{cloud}: `{e}` is listed as deliberate but kiln matches the chart there"
        ));
    }
    (problems, used)
}

#[test]
fn enterprise_environments_match_the_chart_or_say_why_not() {
    let deliberate = fixture(DELIBERATE);
    let mut problems = Vec::new();
    let mut used = BTreeSet::new();
    for cloud in CLOUDS {
        let diffs = differences(&chart(cloud), &kiln(cloud));
        // eks takes over the release in place: its Deployments' (immutable)
        // selectors must be the chart's.
        if cloud == "eks" {
            let selectors: Vec<&String> = diffs
                .iter()
                .map(|d| &d.at)
                .filter(|at| {
                    at.starts_with("Deployment gateway /spec/selector")
                        || at.starts_with("Deployment dataservice /spec/selector")
                })
                .collect();
            assert!(
                selectors.is_empty(),
                "the adopted release's selectors differ: {selectors:?}"
            );
        }
        let (p, u) = check(cloud, &diffs, &deliberate);
        problems.extend(p);
        used.extend(u);
    }
    for e in deliberate["common"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.keys())
    {
        if !used.contains(e) {
            problems.push(format!(
                "common: `{e}` is listed as deliberate but explains no difference"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "differences from Portkey's chart 1.7.7 ({CHART}) not in {DELIBERATE}:\n{}",
        problems.join("\n")
    );
}

/// The comparison finds differences: a changed value, a new variable, a
/// resource only one side renders.
#[test]
fn the_comparison_catches_differences() {
    let chart = chart("eks");
    let ours = kiln("eks");
    let mut changed = ours.clone();
    for d in &mut changed {
        if d["kind"] == "Deployment" && d["metadata"]["name"] == "portkey-gateway" {
            d["spec"]["replicas"] = json!(7);
        }
    }
    changed.retain(|d| {
        !(d["kind"] == "Service" && d["metadata"]["name"] == "portkey-gateway-dataservice")
    });
    let before: BTreeSet<String> = differences(&chart, &ours)
        .into_iter()
        .map(|d| d.at)
        .collect();
    let after: BTreeSet<String> = differences(&chart, &changed)
        .into_iter()
        .map(|d| d.at)
        .collect();
    let new: Vec<&String> = after.difference(&before).collect();
    assert_eq!(
        new,
        ["Deployment gateway /spec/replicas", "Service dataservice"],
        "{new:?}"
    );
    let mut env = json!({"name": "x", "env": [{"name": "A", "value": "1"}, {"name": "B", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]});
    let secret = json!({"kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "dmFsdWU="}});
    assert_eq!(
        Value::Object(environment(&env, &[secret])),
        json!({"A": "1", "B": "value"})
    );
    // An unexplained difference and an entry that explains nothing both fail.
    let deliberate = json!({"eks": {"Service redis /spec/type": "why", "Ingress * /metadata/annotations/a*": "why"}});
    let one = |at: &str| Difference {
        at: at.into(),
        chart: None,
        kiln: Some(json!(1)),
    };
    let (problems, _) = check(
        "eks",
        &[
            one("Service redis /spec/type"),
            one("Ingress gateway /metadata/annotations/b"),
        ],
        &deliberate,
    );
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(
        problems[0].contains("annotations/b") && problems[1].contains("a*"),
        "{problems:#?}"
    );
    assert!(explains(
        "Deployment * /spec/x/env/*_KEY",
        "Deployment gateway /spec/x/env/A_KEY"
    ));
    assert!(!explains(
        "Deployment * /spec/x",
        "Deployment gateway /spec/xy"
    ));
    env["env"][0]["value"] = json!("");
    assert_eq!(
        environment(&env, &[]).get("A"),
        None,
        "an empty value is an unset one"
    );
}

/// `kiln import helm --release` takes a running release over in place:
/// every Deployment the chart and kiln both name keeps the chart's selector
/// (which the API server never lets change), and a release whose objects
/// the chart names otherwise is refused with the name to set.
#[test]
fn an_imported_release_is_taken_over_in_place() {
    let values = repo_root().join("tests/fixtures/import/helm/eks.yaml");
    let repo = kiln_tests::copy_inputs(false);
    let options = |release: &str, env: &str| kiln::import::Options {
        into: repo.path().to_path_buf(),
        env: env.into(),
        network: kiln::import::Network::Off,
        adopt: Some(release.into()),
        chart: None,
    };
    kiln::import::helm(&values, &options(RELEASE, "taken"))
        .expect("imports")
        .write()
        .expect("writes");
    let ours = render_env(repo.path(), "taken")
        .resources()
        .iter()
        .map(Resource::to_value)
        .collect::<Vec<_>>();
    let theirs = chart("eks");
    let mut same_name = 0;
    for d in theirs.iter().filter(|d| d["kind"] == "Deployment") {
        let name = &d["metadata"]["name"];
        if let Some(k) = ours
            .iter()
            .find(|k| k["kind"] == "Deployment" && k["metadata"]["name"] == *name)
        {
            same_name += 1;
            assert_eq!(k["spec"]["selector"], d["spec"]["selector"], "{name}");
            let labels = k["spec"]["template"]["metadata"]["labels"]
                .as_object()
                .expect("labels");
            for (key, value) in d["spec"]["selector"]["matchLabels"]
                .as_object()
                .expect("matchLabels")
            {
                assert_eq!(labels.get(key), Some(value), "{name}: the pods carry {key}");
            }
        }
    }
    assert_eq!(
        same_name, 2,
        "the gateway and the Data Service replace the chart's"
    );
    let err = kiln::import::helm(&values, &options("other", "other"))
        .and_then(|i| i.write().map(|_| ()))
        .and_then(|()| {
            kiln::Repo::open(repo.path())?.environment("other")?;
            Ok(())
        })
        .expect_err("a release the chart names other-gateway");
    assert!(format!("{err}").contains("name: other-gateway"), "{err}");
}
