//! Every rendered environment's gateway pod, booted as the kubelet would boot
//! it: the container's command and args (the image's entrypoint and CMD where
//! the container has none), in the image's working directory, with the env of
//! its ConfigMaps and `env` entries (Secrets from a fake store) and its
//! volumes (emptyDirs and ConfigMap files) under a temporary root. Then its
//! probes run as the kubelet runs them, and every strategy it mounts is used
//! the way the strategies guide tells clients to use it, each target pointed at the mock
//! provider: the target that serves is the one `kiln route` predicts.

use crate::harness::{
    Client, Mock, Process, fill, listening, package_dir, point_at, probe, stringify,
};
use kiln::model::routing::{Decision, Request, falls_back, route};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Loadbalance draws per strategy.
const DRAWS: usize = 800;
/// How far an observed share may stray from kiln's, in standard deviations
/// of a binomial draw: a false alarm about once in 150,000 targets checked.
const SIGMAS: f64 = 4.5;

/// The environments whose image is Portkey's enterprise gateway, which is not
/// public: their pods cannot be booted here (docs/design/departures.md).
const ENTERPRISE: [&str; 3] = ["aks", "eks", "gke"];

/// The value the fake secret store holds for key `key` of Secret `name`.
fn secret(name: &str, key: &str) -> String {
    format!("fake-{name}-{key}")
}

/// A gateway pod as rendered.
struct Pod {
    env: String,
    image: String,
    argv: Vec<String>,
    vars: BTreeMap<String, String>,
    ports: BTreeMap<String, u16>,
    probes: BTreeMap<String, Value>,
    /// The strategies ConfigMap, as mounted: file name → content.
    strategies: BTreeMap<String, String>,
}

/// Every object of a rendered environment directory.
fn objects(dir: &Path) -> Vec<Value> {
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
fn pod(env: &str, objects: &[Value], root: &Path) -> Option<Pod> {
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
fn boot(pod: &Pod, root: &Path) -> Process {
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

/// Where requests go when every target answers 200: leaf id → share.
fn leaves(d: &Decision, id: &str, share: f64, out: &mut BTreeMap<String, f64>) {
    match d {
        Decision::Target { .. } => *out.entry(id.to_string()).or_default() += share,
        Decision::LoadBalance(shares) => {
            for (i, (s, _, next)) in shares.iter().enumerate() {
                leaves(next, &format!("{id}.{i}"), share * s, out);
            }
        }
        Decision::Fallback { order, .. } => leaves(&order[0].1, &format!("{id}.0"), share, out),
        Decision::Conditional { target, next, .. } => {
            leaves(next, &format!("{id}.{target}"), share, out)
        }
    }
}

/// Requests that exercise a config's conditions: none, and each value a
/// query compares with (numbers also one above and below, and as strings).
fn requests(config: &kiln::model::strategy::Config) -> Vec<Request> {
    fn fields(query: &Map<String, Value>, out: &mut Vec<(String, Value)>) {
        for (key, value) in query {
            match value {
                Value::Array(subs) => subs
                    .iter()
                    .filter_map(Value::as_object)
                    .for_each(|q| fields(q, out)),
                Value::Object(ops) => ops.values().for_each(|operand| match operand {
                    Value::Array(items) => items
                        .iter()
                        .for_each(|v| out.push((key.clone(), v.clone()))),
                    v => out.push((key.clone(), v.clone())),
                }),
                v => out.push((key.clone(), v.clone())),
            }
        }
    }
    let mut pairs = Vec::new();
    for c in config
        .strategy
        .iter()
        .flat_map(|s| s.conditions.iter().flatten())
    {
        fields(&c.query, &mut pairs);
    }
    let mut out = vec![Request::default()];
    for (key, value) in pairs {
        let mut values = vec![value.clone()];
        if let Some(n) = value.as_f64() {
            values.extend([json!(n + 1.0), json!(n - 1.0), json!((n + 1.0).to_string())]);
        }
        for v in values {
            let mut r = Request {
                path: "/v1/chat/completions".into(),
                ..Request::default()
            };
            match key.split_once('.') {
                Some(("metadata", k)) => r.metadata.insert(k.into(), (&v).into()),
                Some(("params", k)) => r.params.insert(k.into(), (&v).into()),
                _ => None,
            };
            out.push(r);
        }
    }
    out
}

/// Sends `request` through the gateway with `config` and checks that the
/// targets the mock sees are the ones kiln predicts.
fn check_request(
    client: &Client,
    port: u16,
    mock: &Mock,
    (name, config, typed): (&str, &Value, &kiln::model::strategy::Config),
    request: &Request,
    draw: bool,
) {
    let metadata = (!request.metadata.is_empty())
        .then(|| stringify(&kiln::model::js::Value::Object(request.metadata.clone())));
    let send = || client.chat(port, config, metadata.as_deref(), &request.params);
    let decision = match route(typed, request) {
        Ok(d) => d,
        Err(why) => {
            let reply = send();
            assert!(
                reply.status >= 400 && mock.take_hits().is_empty(),
                "{name}: kiln says the request fails ({why}), the gateway answered {} {}",
                reply.status,
                reply.body
            );
            return;
        }
    };
    let mut expected = BTreeMap::new();
    leaves(&decision, "t", 1.0, &mut expected);
    if expected.len() == 1 || !draw {
        let reply = send();
        let hits = mock.take_hits();
        assert_eq!(reply.status, 200, "{name}: {}", reply.body);
        assert!(
            hits.len() == 1 && expected.contains_key(&hits[0]),
            "{name} with {request:?}: kiln predicts {expected:?}, the gateway sent it to {hits:?}"
        );
    } else {
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for _ in 0..DRAWS {
            assert_eq!(send().status, 200, "{name}");
            for hit in mock.take_hits() {
                *seen.entry(hit).or_default() += 1;
            }
        }
        let n = DRAWS as f64;
        for (leaf, p) in &expected {
            let observed = seen.get(leaf).copied().unwrap_or(0) as f64 / n;
            let tolerance = SIGMAS * (p * (1.0 - p) / n).sqrt() + 1.0 / n;
            assert!(
                (observed - p).abs() <= tolerance,
                "{name}: target {leaf} served {observed:.3} of {DRAWS} requests, kiln predicts {p:.3} (±{tolerance:.3}); all: {seen:?}"
            );
        }
        let unexpected: BTreeSet<_> = seen.keys().filter(|k| !expected.contains_key(*k)).collect();
        assert!(
            unexpected.is_empty(),
            "{name}: unexpected targets {unexpected:?}"
        );
    }
    if let Decision::Fallback {
        on_status_codes,
        order,
    } = &decision
    {
        check_fallback(send, mock, name, on_status_codes.as_deref(), order.len());
    }
}

/// A fallback whose first target fails: with a status the strategy lists the
/// next target is tried, with one it does not the failure is the answer.
fn check_fallback(
    send: impl Fn() -> crate::harness::Reply,
    mock: &Mock,
    name: &str,
    codes: Option<&[u16]>,
    targets: usize,
) {
    let listed = codes.and_then(|c| c.first().copied()).unwrap_or(503);
    for status in [listed, 400] {
        mock.answer_with("t.0", status);
        let reply = send();
        let expected: Vec<String> = if falls_back(codes, status) && targets > 1 {
            vec!["t.0".into(), "t.1".into()]
        } else {
            vec!["t.0".into()]
        };
        let hits = mock.take_hits();
        assert_eq!(
            hits, expected,
            "{name}: first target answering {status}; the gateway answered {}",
            reply.status
        );
    }
}

/// `kiln strategies --env ENV --header NAME`, as a client runs it.
fn header(repo: &Path, env: &str, name: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .arg("--repo")
        .arg(repo)
        .args(["strategies", "--env", env, "--header", name])
        .output()
        .expect("kiln runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .trim_end()
        .to_string()
}

/// What the fake store holds under `remote_key`: quotes, backslashes, a
/// slash and template braces, which the injected JSON must carry intact.
fn store_value(remote_key: &str) -> String {
    format!("sk-{remote_key}-\"quoted\"\\back/slash{{{{x}}}}")
}

/// External Secrets' engine on a kiln template: `{{ .VAR | toJson }}` is
/// the store's value of the key VAR reads as a JSON string, `{{"{{"}}`
/// prints `{{`; kiln writes no other action (a panic here says otherwise).
fn render_template(template: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let end = start + rest[start..].find("}}").expect("a closed action") + 2;
        let action = &rest[start..end];
        if action == "{{\"{{\"}}" {
            out.push_str("{{");
        } else {
            let var = action
                .strip_prefix("{{ .")
                .and_then(|a| a.strip_suffix(" | toJson }}"))
                .unwrap_or_else(|| panic!("not a plain lookup: {action}"));
            out.push_str(&Value::from(values[var].as_str()).to_string());
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// What Envoy Gateway puts into `x-portkey-config` for a request carrying
/// only `name`: the rule matching the name exactly, its ExtensionRef
/// filter's credential Secret, made by an ExternalSecret from the fake
/// store; `None` where the environment does not serve strategies by name.
fn injected(objects: &[Value], name: &str) -> Option<String> {
    let find = |kind: &str, name: &str| {
        objects
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
    };
    let rules = objects
        .iter()
        .filter(|o| o["kind"] == "HTTPRoute")
        .flat_map(|o| o["spec"]["rules"].as_array().cloned().unwrap_or_default());
    let rule = rules.into_iter().find(|r| {
        r["matches"].as_array().into_iter().flatten().any(|m| {
            m["headers"].as_array().into_iter().flatten().any(|h| {
                h["name"] == "x-portkey-config" && h["type"] == "Exact" && h["value"] == name
            })
        })
    })?;
    let filter_name = rule["filters"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["type"] == "ExtensionRef")
        .and_then(|f| f["extensionRef"]["name"].as_str())
        .expect("the rule injects with a filter");
    let filter = find("HTTPRouteFilter", filter_name).expect("the filter is rendered");
    let injection = &filter["spec"]["credentialInjection"];
    assert_eq!(injection["header"], "x-portkey-config");
    assert_eq!(
        injection["overwrite"], true,
        "a client's own header is replaced"
    );
    let secret = injection["credential"]["valueRef"]["name"]
        .as_str()
        .expect("a Secret");
    let es = objects
        .iter()
        .find(|o| o["kind"] == "ExternalSecret" && o["spec"]["target"]["name"] == secret)
        .expect("an ExternalSecret makes the Secret");
    let values: BTreeMap<String, String> = es["spec"]["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            let key = d["secretKey"].as_str().expect("secretKey").to_string();
            (
                key,
                store_value(d["remoteRef"]["key"].as_str().expect("remote key")),
            )
        })
        .collect();
    let template = es["spec"]["target"]["template"]["data"]["credential"]
        .as_str()
        .expect("the template writes `credential`");
    Some(render_template(template, &values))
}

/// The provider key each target of `config` sends (its filled `api_key`), by
/// the mock's ids (see [`point_at`]).
fn keys_by_target(config: &Value, id: &str, out: &mut BTreeMap<String, String>) {
    if let Some(key) = config["api_key"]
        .as_str()
        .filter(|_| config.get("provider").is_some())
    {
        out.insert(id.to_string(), key.to_string());
    }
    for (i, t) in config["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        keys_by_target(t, &format!("{id}.{i}"), out);
    }
}

/// Uses every strategy `pod` mounts through the running gateway on `port`:
/// by name where the environment serves them so (the config Envoy would
/// inject), else as the strategies guide tells clients (the whole config, their keys).
fn route_strategies(
    repo: &Path,
    pod: &Pod,
    objects: &[Value],
    port: u16,
    drawn: &mut BTreeSet<String>,
) -> usize {
    let mock = Mock::start();
    let client = Client::new(Duration::from_secs(30));
    let env = kiln::Repo::open(repo)
        .expect("repo")
        .environment(&pod.env)
        .expect("env");
    let remote: BTreeMap<String, String> = env
        .description()
        .secrets
        .keys
        .iter()
        .map(|k| (k.env.clone(), k.remote_key.clone()))
        .collect();
    let mut by_name = 0;
    for (file, content) in &pod.strategies {
        let name = file.strip_suffix(".json").expect("a .json file");
        let mounted: Value = serde_json::from_str(content).expect("JSON");
        let filled = match injected(objects, name) {
            Some(filled) => {
                by_name += 1;
                // The strategy with each reference replaced by the store's value.
                let expected = fill(&mounted.to_string(), |var| {
                    let value = Value::from(store_value(&remote[var])).to_string();
                    value[1..value.len() - 1].to_string()
                });
                assert_eq!(
                    serde_json::from_str::<Value>(&filled).expect("the injected value is JSON"),
                    serde_json::from_str::<Value>(&expected).expect("JSON"),
                    "{name}"
                );
                filled
            }
            None => {
                let line = header(repo, &pod.env, name);
                let json = line
                    .strip_prefix("x-portkey-config: ")
                    .unwrap_or_else(|| panic!("not a header: {line}"));
                // The header carries exactly the config the pod mounts.
                assert_eq!(serde_json::from_str::<Value>(json).expect("JSON"), mounted);
                // The client fills the references with its own keys.
                fill(json, |name| format!("client-key-{name}"))
            }
        };
        let mut config: Value = serde_json::from_str(&filled).expect("JSON");
        let mut keys = BTreeMap::new();
        keys_by_target(&config, "t", &mut keys);
        point_at(&mut config, &mock, "t");
        let typed = kiln::model::strategy::from_file(Path::new(file), content)
            .expect("a valid strategy")
            .parsed()
            .clone();
        let draw = drawn.insert(content.clone());
        for request in requests(&typed) {
            check_request(
                &client,
                port,
                &mock,
                (name, &config, &typed),
                &request,
                draw,
            );
        }
        // Each target received its own key, and nothing else.
        let received = mock.take_keys();
        assert!(!received.is_empty(), "{name}: no provider key arrived");
        for (id, got) in received {
            assert_eq!(
                got,
                BTreeSet::from([keys[&id].clone()]),
                "{name}: target {id} received the wrong key"
            );
        }
    }
    by_name
}

/// The gateway's port in `pod`, named `http` (the one its probes call).
fn http_port(pod: &Pod) -> u16 {
    pod.ports["http"]
}

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
