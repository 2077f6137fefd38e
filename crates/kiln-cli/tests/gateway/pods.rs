//! Every rendered environment's gateway pod, booted as the kubelet would boot
//! it (boot.rs): its probes run as the kubelet runs them, its metrics are
//! scraped where its ServiceMonitor says, and every strategy it mounts routes
//! as `kiln route` predicts (routes.rs).

use crate::boot::{Pod, boot, http_port, objects, pod};
use crate::harness::Client;
use crate::routes::route_strategies;
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

/// The environments whose image is Portkey's enterprise gateway, which is not
/// public: their pods cannot be booted here (docs/design/departures.md).
const ENTERPRISE: [&str; 3] = ["aks", "eks", "gke"];

#[test]
fn every_environment_boots_passes_its_probes_and_routes_its_strategies() {
    let repo = kiln_tests::repo_root();
    let mut booted = Vec::new();
    let mut not_booted = Vec::new();
    let mut drawn = BTreeSet::new();
    let mut served_by_name = Vec::new();
    let environments = kiln::Repo::open(&repo)
        .expect("repo")
        .environments()
        .to_vec();
    for env in environments {
        let root = tempfile::tempdir().expect("temp dir");
        let objects = objects(&repo.join("out").join(&env));
        let Some(pod) = pod(&env, &objects, root.path()) else {
            not_booted.push(env);
            continue;
        };
        if pod.image.contains("gateway_enterprise") {
            assert!(ENTERPRISE.contains(&env.as_str()), "{env}: {}", pod.image);
            not_booted.push(env);
            continue;
        }
        let mut process = boot(&pod, root.path());
        if route_strategies(&repo, &pod, &objects, http_port(&pod), &mut drawn) > 0 {
            served_by_name.push(env.clone());
        }
        scrape(&env, &objects, http_port(&pod));
        process.assert_running();
        drop(process);
        booted.push(env);
    }
    assert_eq!(booted, ["dev", "homelab", "prod", "staging"]);
    assert_eq!(served_by_name, ["dev"]);
    assert_eq!(not_booted, ["aca", "aks", "eks", "gke"]);
}

/// The paths a rendered environment tells Prometheus to scrape: its
/// ServiceMonitors' endpoints and the pods' `prometheus.io/path`.
fn scrape_paths(objects: &[Value]) -> BTreeSet<String> {
    let monitors = objects
        .iter()
        .filter(|o| o["kind"] == "ServiceMonitor")
        .flat_map(|o| {
            o["spec"]["endpoints"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|e| e["path"].as_str().map(String::from));
    let annotated = objects
        .iter()
        .filter_map(|o| o.pointer("/spec/template/metadata/annotations/prometheus.io~1path"))
        .filter_map(|p| p.as_str().map(String::from));
    monitors.chain(annotated).collect()
}

/// Every scrape path the environment renders answers 200 with Prometheus
/// text on the booted gateway; and where it renders none, the gateway has
/// no metrics to give (404 at /metrics), so a target would only ever be down.
fn scrape(env: &str, objects: &[Value], port: u16) {
    let client = Client::new(Duration::from_secs(5));
    let paths = scrape_paths(objects);
    for path in &paths {
        let reply = client.get(port, path).expect("an answer");
        assert_eq!(reply.status, 200, "{env}: GET {path}: {reply:?}");
        assert!(
            reply.body.contains("# TYPE "),
            "{env}: {path} is not Prometheus text"
        );
    }
    if paths.is_empty() {
        let reply = client.get(port, "/metrics").expect("an answer");
        assert_eq!(
            reply.status, 404,
            "{env}: the gateway now serves /metrics: render a ServiceMonitor for it ({reply:?})"
        );
    }
}

/// homelab's pod rendered (into a copy of the repository) to listen on a
/// free port, so it can run beside the other tests' pods on 8787; the copy
/// and the pod's root stay alive as long as the returned directories.
fn homelab_on_a_free_port() -> (Pod, u16, tempfile::TempDir, tempfile::TempDir) {
    let dir = kiln_tests::copy_inputs(false);
    let port = crate::harness::free_port();
    kiln_tests::put(
        dir.path(),
        "overlays/elsewhere/overlay.yaml",
        &format!("extends: homelab\nset:\n  port: {port}\n"),
    );
    let status = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .arg("--repo")
        .arg(dir.path())
        .arg("render")
        .status()
        .expect("kiln runs");
    assert!(status.success());
    let root = tempfile::tempdir().expect("temp dir");
    let objects = objects(&dir.path().join("out/elsewhere"));
    let pod = pod("elsewhere", &objects, root.path()).expect("a pod");
    (pod, port, dir, root)
}

#[test]
fn a_pod_on_another_port_listens_there() {
    let (pod, port, _dir, root) = homelab_on_a_free_port();
    assert_eq!(http_port(&pod), port);
    let _process = boot(&pod, root.path());
}

/// kiln check's `probe-path` allows exactly the paths the real gateway
/// answers 2xx without headers; the paths people reach for do not pass.
#[test]
fn the_gateway_answers_every_allowed_probe_path_and_no_usual_health_path() {
    let (pod, port, _dir, root) = homelab_on_a_free_port();
    let mut process = boot(&pod, root.path());
    let client = Client::new(Duration::from_secs(5));
    for path in kiln::model::portkey::PROBE_PATHS {
        let reply = client.get(port, path).expect("an answer");
        assert!((200..300).contains(&reply.status), "GET {path}: {reply:?}");
    }
    for path in ["/healthz", "/health", "/v1/health", "/ready", "/livez"] {
        assert!(!kiln::model::portkey::PROBE_PATHS.contains(&path));
        let reply = client.get(port, path).expect("an answer");
        assert!(
            !(200..300).contains(&reply.status),
            "GET {path} answers 2xx: {reply:?}"
        );
    }
    process.assert_running();
}
