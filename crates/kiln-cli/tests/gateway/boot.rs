//! A rendered environment's gateway pod, booted as the kubelet would boot it:
//! the container's command and args (the image's entrypoint and CMD where the
//! container has none), in the image's working directory, with the env of its
//! ConfigMaps and `env` entries (Secrets from a fake store) and its volumes
//! (emptyDirs and ConfigMap files) under a temporary root.

use crate::harness::{Process, listening, package_dir, probe};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The value the fake secret store holds for key `key` of Secret `name`.
fn secret(name: &str, key: &str) -> String {
    format!("fake-{name}-{key}")
}

/// A gateway pod as rendered.
pub(crate) struct Pod {
    pub(crate) env: String,
    pub(crate) image: String,
    pub(crate) argv: Vec<String>,
    pub(crate) vars: BTreeMap<String, String>,
    pub(crate) ports: BTreeMap<String, u16>,
    pub(crate) probes: BTreeMap<String, Value>,
    /// The strategies ConfigMap, as mounted: file name → content.
    pub(crate) strategies: BTreeMap<String, String>,
}

/// Every object of a rendered environment directory.
pub(crate) fn objects(dir: &Path) -> Vec<Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("environment directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .filter(|p| !p.ends_with("kustomization.yaml"))
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|f| kiln_tests::yaml_documents(&std::fs::read_to_string(f).expect("read")))
        .collect()
}

/// The gateway pod of a rendered environment's `objects`, with its volumes
/// under `root`; `None` when the environment renders no Deployment (Azure
/// Container Apps).
pub(crate) fn pod(env: &str, objects: &[Value], root: &Path) -> Option<Pod> {
    let config_map = |name: &str| -> Map<String, Value> {
        objects
            .iter()
            .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == name)
            .and_then(|o| o["data"].as_object().cloned())
            .unwrap_or_else(|| panic!("{env}: no ConfigMap {name}"))
    };
    let deployment = objects.iter().find(|o| {
        o["kind"] == "Deployment"
            && o["metadata"]["labels"]["app.kubernetes.io/component"] == "gateway"
    })?;
    let spec = &deployment["spec"]["template"]["spec"];
    let container = spec["containers"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "gateway"))
        .expect("gateway container");
    // Volumes: emptyDirs and ConfigMap files under `root`, which stands for the pod's `/`.
    let mut strategies = BTreeMap::new();
    let mut mounts = Vec::new();
    for m in container["volumeMounts"].as_array().into_iter().flatten() {
        let path = m["mountPath"].as_str().expect("mountPath");
        let host = root.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(&host).expect("mount");
        let volume = spec["volumes"]
            .as_array()
            .and_then(|v| v.iter().find(|v| v["name"] == m["name"]))
            .expect("volume");
        if let Some(name) = volume["configMap"]["name"].as_str() {
            for (file, content) in config_map(name) {
                let content = content.as_str().expect("string data").to_string();
                std::fs::write(host.join(&file), &content).expect("ConfigMap file");
                if m["name"] == "strategies" {
                    strategies.insert(file, content);
                }
            }
        }
        mounts.push((path.to_string(), host));
    }
    let on_host = |value: String| -> String {
        mounts
            .iter()
            .filter(|(path, _)| value == *path || value.starts_with(&format!("{path}/")))
            .max_by_key(|(path, _)| path.len())
            .map(|(path, host)| format!("{}{}", host.display(), &value[path.len()..]))
            .unwrap_or(value)
    };
    // The env: the node image's HOME for uid 1000, then envFrom, then env (which wins).
    let mut vars = BTreeMap::from([(
        "HOME".to_string(),
        root.join("home/node").display().to_string(),
    )]);
    for from in container["envFrom"].as_array().into_iter().flatten() {
        let name = from["configMapRef"]["name"].as_str().expect("configMapRef");
        for (k, v) in config_map(name) {
            vars.insert(k, on_host(v.as_str().expect("string").to_string()));
        }
    }
    for e in container["env"].as_array().into_iter().flatten() {
        let value = if let Some(v) = e["value"].as_str() {
            on_host(v.to_string())
        } else if let Some(r) = e["valueFrom"].get("secretKeyRef") {
            secret(
                r["name"].as_str().expect("name"),
                r["key"].as_str().expect("key"),
            )
        } else if let Some(r) = e["valueFrom"].get("configMapKeyRef") {
            config_map(r["name"].as_str().expect("name"))[r["key"].as_str().expect("key")]
                .as_str()
                .expect("string")
                .to_string()
        } else {
            panic!("{env}: env entry not modelled here: {e}")
        };
        vars.insert(e["name"].as_str().expect("name").to_string(), value);
    }
    let strings = |v: &Value| -> Option<Vec<String>> {
        v.as_array().map(|a| {
            a.iter()
                .map(|s| s.as_str().expect("string").to_string())
                .collect()
        })
    };
    let image = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
    // Kubernetes: `command` replaces the entrypoint (and drops the CMD), `args` the CMD.
    let argv = match (strings(&container["command"]), strings(&container["args"])) {
        (Some(command), args) => [command, args.unwrap_or_default()].concat(),
        (None, args) => [
            image(&kiln::model::portkey::IMAGE_ENTRYPOINT),
            args.unwrap_or_else(|| image(&kiln::model::portkey::IMAGE_ARGS)),
        ]
        .concat(),
    };
    let ports = container["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let number = p["containerPort"].as_u64().expect("containerPort");
            (
                p["name"].as_str().unwrap_or_default().to_string(),
                u16::try_from(number).expect("port"),
            )
        })
        .collect();
    let probes = ["startupProbe", "readinessProbe", "livenessProbe"]
        .iter()
        .filter(|p| container.get(**p).is_some())
        .map(|p| (p.to_string(), container[*p].clone()))
        .collect();
    Some(Pod {
        env: env.to_string(),
        image: container["image"].as_str().expect("image").to_string(),
        argv,
        vars,
        ports,
        probes,
        strategies,
    })
}

/// Boots `pod` and waits for its startup probe as the kubelet would (trying
/// more often, within the same window of `periodSeconds × failureThreshold`),
/// then runs the readiness and liveness probes.
pub(crate) fn boot(pod: &Pod, root: &Path) -> Process {
    for port in pod.ports.values() {
        // The previous pod's node process may still be on its way out.
        let deadline = Instant::now() + Duration::from_secs(10);
        while listening(*port) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(
            !listening(*port),
            "port {port} is in use: {}'s pod listens there; stop what holds it",
            pod.env
        );
    }
    let mut process = Process::start(&pod.argv, &package_dir(), &pod.vars, &root.join("log"));
    let first = pod
        .probes
        .get("startupProbe")
        .or(pod.probes.get("readinessProbe"))
        .expect("a probe");
    let window = first["periodSeconds"].as_u64().unwrap_or(10)
        * first["failureThreshold"].as_u64().unwrap_or(3)
        + first["initialDelaySeconds"].as_u64().unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(window);
    while let Err(e) = probe(first, &pod.ports) {
        process.assert_running();
        assert!(
            Instant::now() < deadline,
            "{}: the startup probe failed for {window} s, so the kubelet would restart the pod: {e}\n{}",
            pod.env,
            process.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for (name, p) in &pod.probes {
        if let Err(e) = probe(p, &pod.ports) {
            panic!("{}: {name} fails: {e}\n{}", pod.env, process.log());
        }
    }
    process
}

/// The gateway's port in `pod`, named `http` (the one its probes call).
pub(crate) fn http_port(pod: &Pod) -> u16 {
    pod.ports["http"]
}
