//! `kiln check`: directories of manifests, the repository and its rules, and what it exits with.

use crate::harness::{check_paths, code, kiln};
use kiln_tests::{copy_inputs, edit, put, repo_root};
use std::process::Command;

#[test]
fn check_reads_directories_of_manifests_and_exits_by_severity() {
    let dir = tempfile::tempdir().expect("tmp");
    let good = std::fs::read_to_string(repo_root().join("tests/fixtures/check/good.yaml"))
        .expect("fixture");
    // Split over nested directories; references still resolve across files.
    let (first, rest) = good.split_once("\n---\n").expect("documents");
    put(dir.path(), "app/namespace.yaml", first);
    put(dir.path(), "app/nested/rest.yml", rest);
    // Not manifests: kustomize's file, hidden directories, other extensions.
    put(
        dir.path(),
        "app/kustomization.yaml",
        "resources: [nonsense]\n",
    );
    put(dir.path(), "app/.git/x.yaml", "kind: [broken\n");
    put(dir.path(), "app/README.md", "# no\n");
    let (status, stdout, _) = check_paths(dir.path(), &["app"]);
    assert_eq!(status, 0, "{stdout}");
    assert!(stdout.contains("0 errors, 0 warnings"), "{stdout}");

    // A warning alone keeps exit 0; an error makes it 1.
    put(
        dir.path(),
        "app/policy.yaml",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: nothing}}\n",
    );
    let (status, stdout, _) = check_paths(dir.path(), &["app"]);
    assert_eq!(status, 0, "{stdout}");
    assert!(
        stdout.contains("warning[networkpolicy-unmatched]"),
        "{stdout}"
    );
    edit(
        dir.path(),
        "app/nested/rest.yml",
        "runAsUser: 10001\n        runAsGroup",
        "runAsUser: 0\n        runAsGroup",
    );
    let (status, stdout, _) = check_paths(dir.path(), &["app"]);
    assert_eq!(status, 1, "{stdout}");
    assert!(
        stdout.contains("app/nested/rest.yml: Deployment shop/web"),
        "{stdout}"
    );
    assert!(stdout.contains("error[pss-run-as-user]"), "{stdout}");

    // JSON and SARIF carry the same findings.
    let (status, json, _) = check_paths(dir.path(), &["app", "--format", "json"]);
    assert_eq!(status, 1);
    let json: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(json["summary"]["errors"], 1);
    let (_, sarif, _) = check_paths(dir.path(), &["app", "--format", "sarif"]);
    let sarif: serde_json::Value = serde_json::from_str(&sarif).expect("sarif");
    assert_eq!(
        sarif["runs"][0]["results"].as_array().map(Vec::len),
        Some(2)
    );

    // Invalid YAML and missing paths are bad input: exit 2, the place named.
    put(dir.path(), "bad.yaml", "kind: [broken\n");
    let (status, _, stderr) = check_paths(dir.path(), &["bad.yaml"]);
    assert_eq!(status, 2);
    assert!(stderr.contains("bad.yaml:"), "{stderr}");
    let (status, _, stderr) = check_paths(dir.path(), &["missing"]);
    assert_eq!(status, 2, "{stderr}");
}

#[test]
fn check_of_the_repository_and_its_rules() {
    let (status, stdout, _) = code(kiln(&repo_root()).arg("check"));
    assert_eq!(status, 0, "{stdout}");
    assert!(stdout.contains("0 errors"), "{stdout}");
    let (status, stdout, _) = code(kiln(&repo_root()).args(["check", "--list-rules"]));
    assert_eq!(status, 0);
    for id in ["pss-privileged", "secret-ref", "schema"] {
        assert!(stdout.contains(id), "{stdout}");
    }
    let (status, _, stderr) = code(kiln(&repo_root()).args(["check", "--env", "nope"]));
    assert_eq!(status, 2, "{stderr}");
}

#[test]
fn check_of_a_repository_root_checks_its_environments_not_its_inputs() {
    let dir = copy_inputs(false);
    let root = dir.path();
    let (status, as_environments, stderr) = code(kiln(root).arg("check"));
    assert_eq!(status, 0, "{stderr}");
    let (status, at_root, stderr) = code(
        Command::new(env!("CARGO_BIN_EXE_kiln"))
            .current_dir(root)
            .args(["--color", "never", "check", "."]),
    );
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(at_root, as_environments);
    assert!(!at_root.contains("not-an-object"), "{at_root}");

    // Beside a manifest directory, both are checked.
    put(
        root,
        "k8s/pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: true\n  containers: [{name: c, image: nginx}]\n",
    );
    let (status, both, _) = code(kiln(root).arg("check").arg(root).arg(root.join("k8s")));
    assert_eq!(status, 1, "{both}");
    assert!(both.contains("k8s/pod.yaml"), "{both}");
}
