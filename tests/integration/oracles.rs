//! Checks by tools no one here wrote: kubectl kustomize (Go, YAML 1.1),
//! kubernetes-validate --strict, the published CRD schemas, and PyYAML.

use crate::render_env;
use kiln_tests::*;
use proptest::strategy::ValueTree;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

pub(crate) const CORE_KINDS: [&str; 9] = [
    "Namespace",
    "Ingress",
    "ServiceAccount",
    "ConfigMap",
    "Deployment",
    "Service",
    "NetworkPolicy",
    "PodDisruptionBudget",
    "HorizontalPodAutoscaler",
];

/// Everything `kiln render` writes: the environments, then the GitOps wiring.
fn rendered_repo() -> Vec<kiln::EnvironmentOutput> {
    kiln::render_repo(
        &kiln::Repo::open(repo_root()).expect("repo"),
        &kiln::Selection::All,
    )
    .expect("renders")
    .environments()
    .to_vec()
}

/// The directories of out/ that hold Kubernetes manifests: environments
/// (but Azure Container Apps, whose output is Terraform variables), `argocd`, `flux`.
fn output_dirs() -> Vec<String> {
    rendered_repo()
        .into_iter()
        .filter(|r| !r.resources().is_empty())
        .map(|r| r.env().to_string())
        .collect()
}

/// Writes the rendered files of directory `env` of out/ into a temp dir (as `kiln render` would).
fn env_dir(env: &str) -> (tempfile::TempDir, kiln::EnvironmentOutput) {
    let dir = tempfile::tempdir().expect("tmp");
    let rendered = rendered_repo()
        .into_iter()
        .find(|r| r.env() == env)
        .expect("rendered");
    for f in rendered.files() {
        put(dir.path(), f.name(), f.contents());
    }
    (dir, rendered)
}

fn homelab_dir() -> (tempfile::TempDir, kiln::EnvironmentOutput) {
    env_dir("homelab")
}

/// Every environment of the repository.
pub(crate) fn environments() -> Vec<String> {
    kiln::Repo::open(repo_root())
        .expect("repo")
        .environments()
        .to_vec()
}

/// A core kind kiln renders (as JSON), which kubernetes-validate checks.
pub(crate) fn is_core(doc: &Value) -> bool {
    CORE_KINDS.contains(&doc["kind"].as_str().unwrap_or_default())
}

fn files_of_kinds(dir: &Path, rendered: &kiln::EnvironmentOutput, core: bool) -> Vec<PathBuf> {
    rendered
        .resources()
        .iter()
        .filter(|r| CORE_KINDS.contains(&r.kind()) == core)
        .map(|r| dir.join(kiln::file_name(r)))
        .collect()
}

#[test]
fn kubectl_kustomize_reproduces_the_documents_in_apply_order() {
    for env in output_dirs() {
        let (dir, rendered) = env_dir(&env);
        let (ok, stdout, stderr) = run(kubectl().arg("kustomize").arg(dir.path()));
        assert!(ok, "{env}: kubectl kustomize failed: {stderr}");
        let expected: Vec<Value> = rendered.resources().iter().map(|r| r.to_value()).collect();
        assert_eq!(yaml_documents(&stdout), expected, "{env}");
    }
}

pub(crate) fn validate() -> Command {
    let mut c = Command::new(venv_bin("kubernetes-validate"));
    c.args(["--strict", "--no-warn", "-k", "1.33.0"]);
    c
}

#[test]
fn core_kinds_pass_kubernetes_validate_strict() {
    let mut kinds = std::collections::BTreeSet::new();
    for env in environments() {
        let (dir, rendered) = env_dir(&env);
        let files = files_of_kinds(dir.path(), &rendered, true);
        kinds.extend(
            rendered
                .resources()
                .iter()
                .map(|r| r.kind())
                .filter(|k| CORE_KINDS.contains(k)),
        );
        let (ok, stdout, stderr) = run(validate().args(&files));
        assert!(ok, "{env}: kubernetes-validate failed:\n{stdout}{stderr}");
        assert_eq!(
            stdout.matches(" passed ").count(),
            files.len(),
            "{env}: {stdout}"
        );
    }
    // Every core kind kiln renders (HPA: see the overlay tests) was checked somewhere.
    assert!(kinds.len() >= CORE_KINDS.len() - 1, "{kinds:?}");

    let (dir, _) = homelab_dir();
    // The oracle does catch a misspelt field (so the pass above means something).
    let deployment = dir.path().join("deployment-portkey-gateway.yaml");
    let text = std::fs::read_to_string(&deployment).expect("read");
    std::fs::write(
        &deployment,
        text.replace("readOnlyRootFilesystem", "readOnlyRootFileSystem"),
    )
    .expect("write");
    let (ok, stdout, stderr) = run(validate().arg(&deployment));
    assert!(!ok, "a misspelt field passed:\n{stdout}{stderr}");
}

pub(crate) fn validate_crds(files: &[PathBuf]) -> (bool, String, String) {
    run(Command::new(venv_bin("python"))
        .arg(repo_root().join("tests/oracle/crd_validate.py"))
        .arg(crd_schemas())
        .args(files))
}

#[test]
fn custom_resources_validate_against_the_published_crd_schemas() {
    let mut kinds = std::collections::BTreeSet::new();
    for env in output_dirs() {
        let (dir, rendered) = env_dir(&env);
        let files = files_of_kinds(dir.path(), &rendered, false);
        kinds.extend(
            rendered
                .resources()
                .iter()
                .map(|r| r.kind())
                .filter(|k| !CORE_KINDS.contains(k)),
        );
        let (ok, stdout, stderr) = validate_crds(&files);
        assert!(ok, "{env}: CRD validation failed:\n{stdout}{stderr}");
        assert_eq!(
            stdout.matches(" ok").count(),
            files.len(),
            "{env}: {stdout}"
        );
    }
    // Argo CD's Application and Flux's GitRepository and Kustomization included.
    let kinds: Vec<&str> = kinds.into_iter().collect();
    assert_eq!(
        kinds,
        [
            "Application",
            "ExternalSecret",
            "GitRepository",
            "HTTPRoute",
            "HTTPRouteFilter",
            "Kustomization",
            "ServiceMonitor"
        ]
    );
    let (dir, rendered) = homelab_dir();
    let files = files_of_kinds(dir.path(), &rendered, false);
    let kinds: Vec<&str> = rendered
        .resources()
        .iter()
        .map(|r| r.kind())
        .filter(|k| !CORE_KINDS.contains(k))
        .collect();
    assert_eq!(kinds, ["HTTPRoute"]);
    let (ok, stdout, stderr) = validate_crds(&files);
    assert!(ok, "CRD validation failed:\n{stdout}{stderr}");
    assert_eq!(stdout.matches(" ok").count(), 1, "{stdout}");

    let route = dir.path().join("httproute-portkey-gateway.yaml");
    let text = std::fs::read_to_string(&route).expect("read");
    std::fs::write(&route, text.replace("parentRefs", "parentRef")).expect("write");
    let (ok, stdout, _) = validate_crds(&[route]);
    assert!(!ok, "a misspelt HTTPRoute field passed:\n{stdout}");
}

#[test]
fn a_yaml_1_1_reader_reads_every_rendered_file_as_kiln_meant_it() {
    let (dir, rendered) = homelab_dir();
    let files: Vec<PathBuf> = rendered
        .resources()
        .iter()
        .map(|r| dir.path().join(kiln::file_name(r)))
        .collect();
    let read = yaml_1_1_documents(&files);
    for (resource, docs) in rendered.resources().iter().zip(read) {
        assert_eq!(docs, vec![resource.to_value()], "{}", resource.kind());
    }
}

/// Values that YAML 1.1 readers turn into booleans, numbers, dates or null when unquoted.
const LOOK_ALIKES: [&str; 24] = [
    "on",
    "off",
    "yes",
    "no",
    "y",
    "n",
    "Y",
    "N",
    "true",
    "False",
    "ON",
    "null",
    "~",
    "12:30",
    "1_000",
    "0777",
    "0x1F",
    "2024-01-01",
    "2001-12-14t21:59:43.10-05:00",
    "1e3",
    ".5",
    "-.inf",
    "+1",
    "<<",
];

#[test]
fn yaml_1_1_look_alikes_survive_kubectl_and_pyyaml() {
    let dir = copy_inputs(false);
    let base = std::fs::read_to_string(dir.path().join("base/service.yaml")).expect("base");
    let config: String = LOOK_ALIKES
        .iter()
        .enumerate()
        .map(|(i, v)| format!("  V{i}: {}\n", json!(v)))
        .collect();
    put(
        dir.path(),
        "base/service.yaml",
        &format!("{base}\nconfig:\n{config}"),
    );
    let rendered = render_env(dir.path(), "homelab");
    let cm = rendered
        .resources()
        .iter()
        .find(|r| r.kind() == "ConfigMap" && r.name().contains("-env-"))
        .expect("env ConfigMap");
    let file = rendered
        .files()
        .iter()
        .find(|f| f.name() == kiln::file_name(cm))
        .expect("file");
    let out = tempfile::tempdir().expect("tmp");
    for f in rendered.files() {
        put(out.path(), f.name(), f.contents());
    }

    let py = yaml_1_1_documents(&[out.path().join(file.name())]);
    let data = &py[0][0]["data"];
    for (i, v) in LOOK_ALIKES.iter().enumerate() {
        assert_eq!(data[format!("V{i}")], json!(v), "PyYAML misread {v:?}");
    }

    let (ok, stdout, stderr) = run(kubectl().arg("kustomize").arg(out.path()));
    assert!(ok, "{stderr}");
    let docs = yaml_documents(&stdout);
    let from_go = docs
        .iter()
        .find(|d| d["metadata"]["name"] == cm.name())
        .expect("ConfigMap in kustomize output");
    for (i, v) in LOOK_ALIKES.iter().enumerate() {
        assert_eq!(
            from_go["data"][format!("V{i}")],
            json!(v),
            "kubectl misread {v:?}"
        );
    }
}

/// Random JSON values (strings biased towards YAML's traps) emitted by kiln and
/// read back by PyYAML: the YAML 1.1 side of the emitter's round-trip property.
#[test]
fn emitted_yaml_round_trips_through_a_yaml_1_1_reader() {
    use proptest::prelude::*;
    let trap = prop::sample::select(LOOK_ALIKES.to_vec()).prop_map(|s| json!(s));
    let leaf = prop_oneof![
        trap,
        "[0-9a-zA-Z:._ +#-]{0,10}".prop_map(|s| json!(s)),
        "\\PC{0,10}".prop_map(|s| json!(s)),
        "[ -~\n]{0,20}".prop_map(|s| json!(s)),
        any::<bool>().prop_map(|b| json!(b)),
        any::<i32>().prop_map(|n| json!(n)),
        Just(Value::Null),
    ];
    let values = leaf.prop_recursive(3, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z0-9:._ -]{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let dir = tempfile::tempdir().expect("tmp");
    let mut cases = Vec::new();
    for i in 0..300 {
        let value = values.new_tree(&mut runner).expect("value").current();
        let path = dir.path().join(format!("{i}.yaml"));
        std::fs::write(&path, kiln::model::emit::yaml(&value)).expect("write");
        cases.push((path, value));
    }
    let files: Vec<PathBuf> = cases.iter().map(|(p, _)| p.clone()).collect();
    for ((path, value), docs) in cases.iter().zip(yaml_1_1_documents(&files)) {
        let expected = if value.is_null() {
            vec![]
        } else {
            vec![value.clone()]
        };
        assert_eq!(
            docs,
            expected,
            "PyYAML read {} differently:\n{}",
            path.display(),
            kiln::model::emit::yaml(value)
        );
    }
}

/// checkov's verdict on `dir`: (passed, failed) checks of the kubernetes framework.
fn checkov(dir: &Path) -> (u64, u64, String) {
    let (_, stdout, stderr) = run(Command::new(venv_bin("checkov"))
        .args([
            "--framework",
            "kubernetes",
            "--skip-download",
            "-o",
            "json",
            "-d",
        ])
        .arg(dir));
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("checkov output: {e}\n{stdout}\n{stderr}"));
    let failed: Vec<String> = report["results"]["failed_checks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| format!("{} {} {}", c["check_id"], c["resource"], c["file_path"]))
        .collect();
    (
        report["summary"]["passed"].as_u64().unwrap_or_default(),
        report["summary"]["failed"].as_u64().unwrap_or_default(),
        failed.join("\n"),
    )
}

#[test]
fn checkov_finds_no_failed_check_in_the_committed_environments() {
    let (passed, failed, list) = checkov(&repo_root().join("out"));
    assert_eq!(failed, 0, "checkov failed checks:\n{list}");
    assert!(passed > 300, "checkov ran only {passed} checks");
    // Every skip is checkov's own annotation, carrying its reason.
    for env in environments() {
        for r in render_env(&repo_root(), &env).resources() {
            for (key, value) in r.metadata().annotations.iter().flatten() {
                if key.starts_with("checkov.io/skip") {
                    let (id, reason) = value.split_once('=').expect("ID=reason");
                    assert!(
                        id.starts_with("CKV") && reason.len() > 20,
                        "{env} {key}: {value}"
                    );
                }
            }
        }
    }
    // Negative control: a pod that breaks the rules fails checkov (which skips
    // hidden directories such as tempfile's default `.tmpXXXX`).
    let dir = tempfile::Builder::new()
        .prefix("kiln-")
        .tempdir()
        .expect("tmp");
    put(
        dir.path(),
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: bad}\nspec:\n  hostNetwork: true\n  containers:\n    - name: bad\n      image: nginx\n      securityContext: {privileged: true}\n",
    );
    assert!(checkov(dir.path()).1 > 5);
}

#[test]
fn yamllint_passes_the_repository_yaml_with_the_committed_config() {
    let lint = |paths: &[&Path]| {
        run(Command::new(venv_bin("yamllint"))
            .arg("--strict")
            .arg("-c")
            .arg(repo_root().join(".yamllint.yaml"))
            .args(paths))
    };
    let root = repo_root();
    let dirs = [
        "out",
        "base",
        "overlays",
        "examples",
        "kiln.yaml",
        "crates/kiln/templates",
    ]
    .map(|d| root.join(d));
    let paths: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
    let (ok, stdout, stderr) = lint(&paths);
    assert!(ok, "yamllint:\n{stdout}{stderr}");
    // Negative control: a YAML 1.1 boolean look-alike and a duplicate key fail.
    let dir = tempfile::tempdir().expect("tmp");
    put(dir.path(), "bad.yaml", "enabled: yes\nname: a\nname: b\n");
    assert!(!lint(&[dir.path()]).0);
}

#[test]
fn kiln_check_of_the_committed_files_agrees_with_render() {
    // The committed out/ read back as hand-written manifests: same references, no findings.
    for rendered in rendered_repo() {
        let env = &rendered.env();
        let manifests = kiln::manifests::load(&[repo_root().join("out").join(env)]).expect("loads");
        assert_eq!(manifests.len(), rendered.resources().len(), "{env}");
        let findings = kiln::rules::check(&manifests);
        assert!(
            findings.is_empty(),
            "{env}:\n{}",
            kiln::rules::report::text(&findings, kiln::model::emit::Color::Plain)
        );
    }
}

/// Checks that every set of documents holds at least one object the schema
/// oracles refuse (kubernetes-validate --strict for core kinds, the
/// published CRD schemas for custom resources): kiln refused each set as
/// not valid objects, and must not refuse what Kubernetes would accept.
/// Each set is the refusal kiln printed and the documents it refused.
pub(crate) fn assert_refused_by_oracles(sets: &[(String, Vec<Value>)]) {
    if sets.is_empty() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let (mut core, mut custom) = (Vec::new(), Vec::new());
    for (i, (_, docs)) in sets.iter().enumerate() {
        for (j, doc) in docs.iter().enumerate() {
            let file = dir.path().join(format!("set-{i}-{j}.yaml"));
            std::fs::write(&file, kiln::model::emit::yaml(doc)).expect("write");
            if is_core(doc) {
                core.push(file);
            } else {
                custom.push(file);
            }
        }
    }
    let (_, core_out, _) = run(validate().args(&core));
    let (_, custom_out, _) = validate_crds(&custom);
    let refused: Vec<&str> = core_out
        .lines()
        .filter_map(|l| l.strip_prefix("ERROR "))
        .chain(custom_out.lines().filter(|l| !l.ends_with(" ok")))
        .collect();
    for (i, (refusal, docs)) in sets.iter().enumerate() {
        let tag = format!("set-{i}-");
        if refused.iter().any(|line| line.contains(&tag)) {
            continue;
        }
        let named: Vec<Value> = docs
            .iter()
            .filter(|d| {
                let kind = d["kind"].as_str().unwrap_or_default();
                let name = d["metadata"]["name"].as_str().unwrap_or_default();
                refusal.contains(&format!("{kind} {name} after"))
            })
            .cloned()
            .collect();
        panic!(
            "kiln refused an object as invalid that kubernetes-validate --strict and the CRD schemas accept:\n{refusal}\n{}",
            kiln::model::emit::yaml(&Value::Array(named))
        );
    }
}
