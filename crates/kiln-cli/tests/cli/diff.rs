//! `kiln diff`: exit codes like `git diff --exit-code`, against out/ and between revisions.

use crate::harness::{code, kiln};
use kiln_tests::{copy_inputs, edit, git, git_commit_all, repo_root};
use std::process::Command;

#[test]
fn diff_exits_like_git_diff_exit_code() {
    let dir = copy_inputs(false);
    let root = dir.path();
    assert_eq!(code(kiln(root).arg("render")).0, 0);
    let (status, stdout, _) = code(kiln(root).arg("diff"));
    assert_eq!((status, stdout.as_str()), (0, ""));

    // An edit not yet rendered: out/ is behind the inputs.
    edit(root, "base/service.yaml", "replicas: 1", "replicas: 2");
    let (status, stdout, _) = code(kiln(root).arg("diff"));
    assert_eq!(status, 1);
    assert!(
        stdout.contains("=== homelab: 0 added, 1 changed, 0 removed"),
        "{stdout}"
    );
    assert!(stdout.contains("+  replicas: 2"), "{stdout}");
    assert!(!stdout.contains("\x1b["), "no color off a terminal");
    let (_, stdout, _) = code(kiln(root).args(["diff", "--color", "always"]));
    assert!(stdout.contains("\x1b[32m+  replicas: 2"), "{stdout}");

    let (_, stdout, _) = code(kiln(root).args(["diff", "--format", "json", "--env", "homelab"]));
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(v["schema"], "kiln.diff/v2");
    assert_eq!(v["changes"][0]["environments"][0], "homelab");
    assert_eq!(v["environments"][0]["name"], "homelab");
    assert_eq!(v["environments"].as_array().map(Vec::len), Some(1));
    // prod sets its own replicas: the base edit does not reach it.
    let (status, _, _) = code(kiln(root).args(["diff", "--env", "prod"]));
    assert_eq!(status, 0);

    let (status, stdout, _) = code(kiln(root).args(["diff", "--format", "markdown"]));
    assert_eq!(status, 1);
    assert!(
        stdout.starts_with("<!-- kiln-diff -->\n### kiln diff\n"),
        "{stdout}"
    );

    let (status, _, stderr) = code(kiln(root).args(["diff", "--base", "main"]));
    assert_eq!(status, 2, "not a git repository: {stderr}");
}

#[test]
fn diff_against_head_of_a_clean_clone_says_nothing() {
    let dir = copy_inputs(false);
    let origin = dir.path();
    std::fs::copy(repo_root().join("kiln.yaml"), origin.join("kiln.yaml")).expect("kiln.yaml");
    assert_eq!(code(kiln(origin).arg("render")).0, 0);
    git_commit_all(origin, "one");
    let clones = tempfile::tempdir().expect("tmp");
    let clone = clones.path().join("clone");
    let (ok, _, stderr) = kiln_tests::run(
        Command::new("git")
            .args(["clone", "-q"])
            .arg(origin)
            .arg(&clone),
    );
    assert!(ok, "{stderr}");
    for args in [
        &["diff", "--base", "HEAD"][..],
        &["diff"],
        &["diff", "--base", "HEAD", "--format", "markdown"],
    ] {
        let (status, stdout, stderr) = code(kiln(&clone).args(args));
        assert_eq!(status, 0, "{args:?}: {stdout}{stderr}");
        assert!(!stdout.contains("added"), "{args:?}: {stdout}");
    }
}

#[test]
fn diff_between_revisions() {
    let dir = copy_inputs(false);
    let root = dir.path();
    git_commit_all(root, "one");
    git(root, &["checkout", "-qb", "feature"]);
    edit(
        root,
        "overlays/prod/overlay.yaml",
        "replicas: 3",
        "replicas: 4",
    );
    git(root, &["commit", "-qam", "two"]);

    let (status, stdout, stderr) =
        code(kiln(root).args(["diff", "--base", "main", "--head", "feature"]));
    assert_eq!(status, 1, "{stderr}");
    assert!(
        stdout.contains("=== prod: 0 added, 1 changed, 0 removed"),
        "{stdout}"
    );
    assert!(!stdout.contains("=== homelab"), "{stdout}");
    // Head defaults to the working tree, which matches `feature`.
    let (_, worktree, _) = code(kiln(root).args(["diff", "--base", "main"]));
    assert_eq!(worktree, stdout);
    let (status, _, _) = code(kiln(root).args(["diff", "--base", "feature"]));
    assert_eq!(status, 0);
    let (status, _, stderr) = code(kiln(root).args(["diff", "--base", "nope"]));
    assert_eq!(status, 2);
    assert!(stderr.contains("git rev-parse"), "{stderr}");
}

#[test]
fn diff_against_a_missing_base_says_why_and_what_to_do() {
    let dir = copy_inputs(false);
    let root = dir.path();
    git_commit_all(root, "first");
    let (status, _, stderr) = code(kiln(root).args(["diff", "--base", "origin/main"]));
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains("no remote `origin`"), "{stderr}");
    assert!(stderr.contains("make diff BASE=main"), "{stderr}");

    git(
        root,
        &[
            "remote",
            "add",
            "origin",
            "https://git.example.com/gitops.git",
        ],
    );
    let (status, _, stderr) = code(kiln(root).args(["diff", "--base", "origin/main"]));
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains("git fetch origin main"), "{stderr}");
}
