//! Overlay features beyond kustomize's: typed changes merged field by field,
//! optional parts, extends chains, per-environment strategies; every kind of
//! bad overlay; and the properties the overlay format promises.

use crate::render_env;
use kiln::model::InputError;
use kiln::{Error, Repo};
use kiln_tests::{copy_inputs, item, put, run, venv_bin};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::path::Path;

fn env_with(overlay: &str) -> (tempfile::TempDir, kiln::EnvironmentOutput) {
    let dir = copy_inputs(false);
    put(dir.path(), "overlays/t/overlay.yaml", overlay);
    let rendered = render_env(dir.path(), "t");
    (dir, rendered)
}

fn doc(rendered: &kiln::EnvironmentOutput, kind: &str) -> Value {
    rendered
        .resources()
        .iter()
        .find(|r| r.kind() == kind)
        .map(|r| r.to_value())
        .unwrap_or_else(|| panic!("no {kind}"))
}

fn failure(dir: &Path, env: &str) -> Error {
    let repo = Repo::open(dir).expect("repo opens");
    match repo.environment(env).and_then(|e| kiln::render(&e)) {
        Ok(_) => panic!("bad overlay accepted"),
        Err(e) => e,
    }
}

fn input(e: Error) -> InputError {
    match e {
        Error::Input(e) => *e,
        other => panic!("expected an input error: {other}"),
    }
}

fn bad(overlay: &str) -> InputError {
    let dir = copy_inputs(false);
    put(dir.path(), "overlays/t/overlay.yaml", overlay);
    input(failure(dir.path(), "t"))
}

#[test]
fn typed_changes_merge_field_by_field() {
    let (dir, r) = env_with(
        "set:\n  replicas: 2\n  image: { tag: \"1.13.0\" }\n  logLevel: debug\n  config: { EXTRA: \"on\" }\n  route:\n    hosts: [a.example.com]\n    gateway: { name: internal, namespace: gw, sectionName: https }\n  secrets:\n    keys:\n      - { env: OPENAI_API_KEY, remoteKey: other-openai }\n      - { env: CEREBRAS_API_KEY, $patch: delete }\n      - { env: GROQ_API_KEY, remoteKey: groq }\n  writable:\n    - { path: /tmp, sizeLimit: 1Gi }\n  labels: { team: ai }\n  annotations: { owner: platform }\nstrategies:\n  remove: [all-models]\n",
    );
    let d = doc(&r, "Deployment");
    assert_eq!(d["spec"]["replicas"], 2);
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "portkeyai/gateway:1.13.0");
    // The version label follows the tag: one source of truth.
    assert_eq!(
        d["metadata"]["labels"]["app.kubernetes.io/version"],
        "1.13.0"
    );
    assert_eq!(d["metadata"]["labels"]["team"], "ai");
    assert_eq!(d["metadata"]["annotations"]["owner"], "platform");
    // The provider keys (which the open-source gateway's pods never read).
    let keys = Repo::open(dir.path())
        .expect("repo")
        .environment("t")
        .expect("env")
        .description()
        .secrets
        .keys
        .clone();
    let key_names: Vec<&str> = keys.iter().map(|k| k.env.as_str()).collect();
    assert!(key_names.contains(&"GROQ_API_KEY") && !key_names.contains(&"CEREBRAS_API_KEY"));
    // Untouched list items keep their values (merged by key, not replaced).
    assert!(key_names.contains(&"ANTHROPIC_API_KEY"));
    let tmp = item(
        &d["spec"]["template"]["spec"]["volumes"],
        "name",
        &json!("tmp"),
    );
    assert_eq!(tmp["emptyDir"]["sizeLimit"], "1Gi");
    let openai = keys
        .iter()
        .find(|k| k.env == "OPENAI_API_KEY")
        .expect("key");
    assert_eq!(openai.remote_key, "other-openai");
    let route = doc(&r, "HTTPRoute");
    assert_eq!(route["spec"]["hostnames"], json!(["a.example.com"]));
    assert_eq!(
        route["spec"]["parentRefs"][0],
        json!({"name": "internal", "namespace": "gw", "sectionName": "https"})
    );
    let cm = r
        .resources()
        .iter()
        .find(|x| x.name().contains("-env-"))
        .expect("cm")
        .to_value();
    assert_eq!(cm["data"]["LOG_LEVEL"], "debug");
    assert_eq!(cm["data"]["EXTRA"], "on");
}

#[test]
fn optional_parts_render_and_validate() {
    let (dir, r) = env_with(
        "set:\n  podDisruptionBudget: { maxUnavailable: \"25%\" }\n  autoscaling: { minReplicas: 2, maxReplicas: 6, cpuUtilization: 70 }\n  topologySpread:\n    - { topologyKey: topology.kubernetes.io/zone }\n  priorityClassName: gateway-critical\n",
    );
    let d = doc(&r, "Deployment");
    assert!(d["spec"].get("replicas").is_none(), "the HPA owns replicas");
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(pod["priorityClassName"], "gateway-critical");
    assert_eq!(
        pod["topologySpreadConstraints"][0]["labelSelector"]["matchLabels"],
        d["spec"]["selector"]["matchLabels"]
    );
    let pdb = doc(&r, "PodDisruptionBudget");
    assert_eq!(pdb["spec"]["maxUnavailable"], "25%");
    assert_eq!(
        pdb["spec"]["selector"]["matchLabels"],
        d["spec"]["selector"]["matchLabels"]
    );
    let hpa = doc(&r, "HorizontalPodAutoscaler");
    assert_eq!(hpa["spec"]["scaleTargetRef"]["name"], d["metadata"]["name"]);
    assert_eq!(
        hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
        70
    );

    // Both pass the upstream schemas strictly.
    let out = dir.path().join("rendered");
    for f in r.files() {
        put(&out, f.name(), f.contents());
    }
    let (ok, stdout, stderr) = run(std::process::Command::new(venv_bin("kubernetes-validate"))
        .args(["--strict", "--no-warn", "-k", "1.33.0"])
        .arg(out.join("poddisruptionbudget-portkey-gateway.yaml"))
        .arg(out.join("horizontalpodautoscaler-portkey-gateway.yaml"))
        .arg(out.join("deployment-portkey-gateway.yaml")));
    assert!(ok, "{stdout}{stderr}");
}

#[test]
fn extends_chains_apply_parents_first() {
    let dir = copy_inputs(false);
    put(
        dir.path(),
        "overlays/a/overlay.yaml",
        "set: { replicas: 2, logLevel: warn }\ncommonAnnotations: { from: a }\n",
    );
    put(
        dir.path(),
        "overlays/b/overlay.yaml",
        "extends: a\nset: { replicas: 3 }\nnamePrefix: b-\n",
    );
    put(
        dir.path(),
        "overlays/c/overlay.yaml",
        "extends: b\ncommonAnnotations: { from: c }\n",
    );
    let r = render_env(dir.path(), "c");
    let d = r
        .resources()
        .iter()
        .find(|x| x.kind() == "Deployment")
        .expect("d")
        .to_value();
    assert_eq!(d["spec"]["replicas"], 3);
    assert_eq!(d["metadata"]["name"], "b-portkey-gateway");
    assert_eq!(d["metadata"]["annotations"]["from"], "c");
    let cm = r
        .resources()
        .iter()
        .find(|x| x.name().contains("-env-"))
        .expect("cm")
        .to_value();
    assert_eq!(cm["data"]["LOG_LEVEL"], "warn");
    // The renamed ConfigMap is still the one the pods read.
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["configMapRef"]["name"],
        cm["metadata"]["name"]
    );
}

#[test]
fn strategies_are_added_replaced_and_removed_per_environment() {
    let (_dir, r) = env_with(
        "strategies:\n  remove: [openai-models]\n  add: [overlays/dev/strategies/small-models.json]\n",
    );
    let cm = r
        .resources()
        .iter()
        .find(|x| x.name().contains("-strategies-"))
        .expect("cm")
        .to_value();
    let keys: Vec<&String> = cm["data"].as_object().expect("data").keys().collect();
    assert_eq!(
        keys,
        [
            "all-models.json",
            "azure-models.json",
            "claude-models.json",
            "cost-optimized.json",
            "small-models.json"
        ]
    );

    let e = bad("strategies:\n  remove: [openai-model]\n");
    assert_eq!(e.pointer(), Some("/strategies/remove/0"));
    assert_eq!(e.suggestion(), Some("did you mean `openai-models`?"));
    let e = bad("strategies:\n  add: [../outside.json]\n");
    assert_eq!(e.file(), Path::new("overlays/t/overlay.yaml"));
    assert_eq!(e.pointer(), Some("/strategies/add/0"));
    assert!(e.message().contains("leaves the repository"), "{e}");
}

#[test]
fn extends_cycles_and_missing_parents_are_named() {
    let dir = copy_inputs(false);
    put(dir.path(), "overlays/x/overlay.yaml", "extends: y\n");
    put(dir.path(), "overlays/y/overlay.yaml", "extends: z\n");
    put(dir.path(), "overlays/z/overlay.yaml", "extends: x\n");
    let e = input(failure(dir.path(), "x"));
    assert!(e.message().contains("x → y → z → x"), "{e}");
    assert_eq!(e.pointer(), Some("/extends"));

    let e = bad("extends: prd\n");
    assert_eq!(e.pointer(), Some("/extends"));
    assert_eq!(e.suggestion(), Some("did you mean `prod`?"));
}

#[test]
fn json_patch_errors_name_file_patch_op_pointer_and_resource() {
    let e = bad(
        "patches:\n  - target: { kind: Deployment }\n    json:\n      - { op: add, path: /spec/replicas, value: 2 }\n      - { op: remove, path: /spec/nothing/here }\n",
    );
    assert_eq!(e.file(), Path::new("overlays/t/overlay.yaml"));
    assert_eq!(e.pointer(), Some("/patches/0/json/1"));
    assert!(e.message().contains("/spec/nothing/here"), "{e}");
    assert!(e.message().contains("Deployment portkey-gateway"), "{e}");

    let e = bad(
        "patches:\n  - target: { kind: Deployment }\n    json:\n      - { op: test, path: /spec/replicas, value: 9 }\n",
    );
    assert_eq!(e.pointer(), Some("/patches/0/json/0"));
    assert!(e.message().contains("did not match"), "{e}");

    let e = bad(
        "patches:\n  - target: { kind: Deployment }\n    json:\n      - { op: replac, path: /spec/replicas, value: 9 }\n",
    );
    assert!(e.message().contains("unknown variant `replac`"), "{e}");
}

#[test]
fn patches_cannot_make_invalid_resources_or_miss() {
    let e =
        bad("patches:\n  - target: { kind: Deployment }\n    merge: { spec: { replicass: 3 } }\n");
    assert!(e.message().contains("/spec/replicass"), "{e}");
    assert!(e.message().contains("Deployment portkey-gateway"), "{e}");
    let e = bad(
        "patches:\n  - target: { kind: Deployment }\n    merge: { spec: { replicas: many } }\n",
    );
    assert!(
        e.message().contains("not a valid apps/v1 Deployment"),
        "{e}"
    );
    let e =
        bad("patches:\n  - target: { kind: HTTPRoute }\n    merge: { spec: { hostname: [x] } }\n");
    assert!(e.message().contains("hostname"), "{e}");
    let e = bad(
        "extends: gke\npatches:\n  - target: { kind: ServiceMonitor }\n    merge: { spc: { x: 1 } }\n",
    );
    assert!(e.message().contains("`/spc`"), "{e}");
    assert!(e.message().contains("did you mean `spec`?"), "{e}");
    // What the CRD schema allows, kiln keeps, modelled or not; what it refuses, kiln refuses.
    let (_dir, rendered) = env_with(
        "extends: gke\npatches:\n  - target: { kind: ServiceMonitor }\n    merge: { spec: { namespaceSelector: { any: true }, endpoints: [{ port: http, honorLabels: true }] } }\n",
    );
    let monitor = doc(&rendered, "ServiceMonitor");
    assert_eq!(monitor["spec"]["namespaceSelector"]["any"], true);
    assert_eq!(
        monitor["spec"]["endpoints"],
        json!([{"port": "http", "honorLabels": true}])
    );
    let e = bad(
        "extends: gke\npatches:\n  - target: { kind: ServiceMonitor }\n    merge: { spec: { namespaceSelector: { anything: true } } }\n",
    );
    assert!(
        e.message().contains("/spec/namespaceSelector/anything"),
        "{e}"
    );
    assert!(e.message().contains("did you mean `any`?"), "{e}");

    let e = bad(
        "patches:\n  - target: { kind: Deployment, name: nope }\n    merge: { spec: { replicas: 2 } }\n",
    );
    assert_eq!(e.pointer(), Some("/patches/0/target"));
    assert!(
        e.message()
            .contains("matches no resource (kind=Deployment, name=nope)"),
        "{e}"
    );
    let e = bad("patches:\n  - target: { kind: Deployment }\n    merge: {}\n    strategic: {}\n");
    assert!(e.message().contains("exactly one"), "{e}");
    let e = bad("images:\n  - { name: portkeyai/gatewy, newTag: \"2\" }\n");
    assert_eq!(e.pointer(), Some("/images"));
    let e = bad("replicas:\n  - { name: nope, count: 2 }\n");
    assert_eq!(e.pointer(), Some("/replicas"));
}

#[test]
fn typed_change_errors_blame_the_overlay() {
    let e = bad("set:\n  replics: 2\n");
    assert_eq!(e.file(), Path::new("overlays/t/overlay.yaml"));
    assert_eq!(e.pointer(), Some("/set/replics"));
    assert_eq!(e.suggestion(), Some("did you mean `replicas`?"));
    let e = bad("set:\n  route: { hosts: [Bad_Host] }\n");
    assert_eq!(e.pointer(), Some("/set/route/hosts/0"));
    let e = bad("set:\n  secrets: { keys: [ { remoteKey: x } ] }\n");
    assert!(e.message().contains("missing `env`"), "{e}");
    let e = bad("set: [1]\n");
    assert_eq!(e.pointer(), Some("/set"));
    let e = bad("namePrefix: Bad_\n");
    assert_eq!(e.pointer(), Some("/namePrefix"));
    let e = bad("pathces: []\n");
    assert_eq!(e.suggestion(), Some("did you mean `patches`?"));
}

fn documents(r: &kiln::EnvironmentOutput) -> Vec<Value> {
    r.resources().iter().map(|x| x.to_value()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Rendering does not depend on the order overlay directories were created in.
    #[test]
    fn overlay_read_order_does_not_matter(order in Just(vec![0usize, 1, 2, 3]).prop_shuffle()) {
        let overlays = [
            ("p", "set: { replicas: 3 }\nnamePrefix: p-\n"),
            ("q", "extends: p\ncommonAnnotations: { q: \"yes\" }\n"),
            ("r", "extends: q\nlabels: [ { pairs: { r: x } } ]\n"),
            ("s", "extends: r\npatches: [ { target: { kind: Service }, merge: { spec: { type: NodePort } } } ]\n"),
        ];
        let reference = copy_inputs(false);
        for (name, text) in overlays {
            put(reference.path(), &format!("overlays/{name}/overlay.yaml"), text);
        }
        let shuffled = copy_inputs(true);
        for i in &order {
            let (name, text) = overlays[*i];
            put(shuffled.path(), &format!("overlays/{name}/overlay.yaml"), text);
        }
        for (name, _) in overlays {
            prop_assert_eq!(render_env(reference.path(), name).files().to_vec(), render_env(shuffled.path(), name).files().to_vec());
        }
    }

    /// An empty overlay renders the base unchanged, whatever the base says.
    #[test]
    fn an_empty_overlay_renders_the_base_unchanged(replicas in 0i32..20, debug in any::<bool>(), host in "[a-z]{1,8}\\.example\\.com") {
        let dir = copy_inputs(false);
        let base = std::fs::read_to_string(dir.path().join("base/service.yaml")).expect("base");
        let base = base
            .replace("replicas: 1", &format!("replicas: {replicas}"))
            .replace("logLevel: info", if debug { "logLevel: debug" } else { "logLevel: info" })
            .replace("portkey.peekoff.com", &host);
        put(dir.path(), "base/service.yaml", &base);
        for (name, text) in [("empty", ""), ("nothing", "set: {}\npatches: []\nlabels: []\n")] {
            put(dir.path(), &format!("overlays/{name}/overlay.yaml"), text);
            let repo = Repo::open(dir.path()).expect("repo");
            let env = repo.environment(name).expect("env");
            let rendered = kiln::render(&env).expect("renders");
            prop_assert_eq!(documents(&rendered), kiln::build(&env).iter().map(|x| x.to_value()).collect::<Vec<_>>());
            prop_assert_eq!(rendered.resources().iter().find(|x| x.kind() == "Deployment").map(|d| d.to_value()["spec"]["replicas"].clone()), Some(json!(replicas)));
        }
    }
}

/// The overlay example of docs/reference/overlays.md is a real, working overlay.
#[test]
fn the_documented_overlay_example_renders() {
    let readme =
        std::fs::read_to_string(kiln_tests::repo_root().join("docs/reference/overlays.md"))
            .expect("the overlay reference");
    let start = readme
        .find("```yaml\nextends: prod")
        .expect("the example of the overlay reference")
        + "```yaml\n".len();
    let end = start + readme[start..].find("```").expect("end of example");
    let (_dir, r) = env_with(&readme[start..end]);
    let d = doc(&r, "Deployment");
    assert_eq!(d["metadata"]["name"], "eu-portkey-gateway-blue");
    assert_eq!(d["metadata"]["namespace"], "ai-gateway");
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "mirror.example.com/gateway:1.13.0"
    );
    assert!(d["spec"].get("replicas").is_none() || d["spec"]["replicas"] == 4);
}

/// A child overlay's patch may name a resource as it was built, before a
/// parent's `namePrefix`, as kustomize matches original names.
#[test]
fn a_child_patch_targets_the_original_name_after_a_parents_prefix() {
    let repo = kiln_tests::copy_inputs(false);
    kiln_tests::put(
        repo.path(),
        "overlays/parent/overlay.yaml",
        "extends: homelab\nnamePrefix: team-\n",
    );
    kiln_tests::put(
        repo.path(),
        "overlays/child/overlay.yaml",
        "extends: parent\npatches:\n  - target: { kind: Deployment, name: portkey-gateway }\n    strategic: { spec: { replicas: 4 } }\n",
    );
    let r = kiln::Repo::open(repo.path()).expect("repo");
    let env = r.environment("child").expect("child");
    let patched = kiln::apply_overlays(&env, kiln::build(&env)).expect("patched");
    let deployment = patched
        .iter()
        .find(|d| d.kind() == "Deployment")
        .expect("Deployment")
        .to_value();
    assert_eq!(deployment["metadata"]["name"], "team-portkey-gateway");
    assert_eq!(deployment["spec"]["replicas"], 4);
}

/// A strategic patch that names one list item twice changes that item twice,
/// the last value winning, as the API server's strategic merge does (kustomize
/// v5.5 keeps the first); it never writes the item twice, which the API
/// server would refuse.
#[test]
fn the_same_merge_key_twice_in_a_patch_is_one_item() {
    let (_dir, r) = env_with(
        "patches:\n  - target: { kind: Deployment }\n    strategic:\n      spec:\n        template:\n          spec:\n            containers:\n              - name: gateway\n                env:\n                  - { name: TMPDIR, value: /first }\n                  - { name: TMPDIR, value: /second }\n  - target: { kind: Service }\n    strategic:\n      spec:\n        ports:\n          - { port: 8787, protocol: TCP, name: one }\n          - { port: 8787, protocol: TCP, name: http }\n",
    );
    let d = doc(&r, "Deployment");
    let env = d["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .expect("env");
    let tmpdir: Vec<&Value> = env.iter().filter(|e| e["name"] == "TMPDIR").collect();
    assert_eq!(tmpdir.len(), 1, "{env:?}");
    assert_eq!(tmpdir[0]["value"], "/second");
    let ports = doc(&r, "Service")["spec"]["ports"].clone();
    assert_eq!(ports.as_array().map(Vec::len), Some(1), "{ports}");
    assert_eq!(ports[0]["name"], "http");
}

/// What kustomize users write that kiln does not apply is refused with what
/// to write instead, never applied as an unknown field.
#[test]
fn kustomize_features_kiln_does_not_apply_say_what_to_write_instead() {
    for (overlay, pointer, says) in [
        (
            "patches:\n  - path: patch.yaml\n",
            "/patches/0/path",
            "put the file's content under `strategic:`",
        ),
        (
            "patches:\n  - target: { kind: Deployment }\n    strategic: { spec: { template: { spec: { $setElementOrder/containers: [ { name: gateway } ] } } } }\n",
            "/patches/0/strategic/spec/template/spec/$setElementOrder~1containers",
            "to set an order, give the whole list",
        ),
        (
            "patches:\n  - target: { kind: Deployment }\n    strategic: { spec: { template: { metadata: { $retainKeys: [labels] } } } }\n",
            "/patches/0/strategic/spec/template/metadata/$retainKeys",
            "`$patch: replace`",
        ),
        (
            "patches:\n  - target: { kind: Deployment }\n    strategic: { spec: { template: { spec: { containers: [ { name: gateway, $deleteFromPrimitiveList/args: [x] } ] } } } }\n",
            "$deleteFromPrimitiveList~1args",
            "remove them with a `json:`",
        ),
        (
            "patches:\n  - target: { labelSelector: \"app in (a\" }\n    json: []\n",
            "/patches/0/target/labelSelector",
            "f notin (z)",
        ),
    ] {
        let e = bad(overlay);
        let at = e.pointer().unwrap_or_default();
        assert!(
            at.ends_with(pointer) || at == pointer,
            "{overlay}: {at} {e:?}"
        );
        assert!(e.to_string().contains(says), "{overlay}: {e}");
    }
}
