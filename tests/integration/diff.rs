//! kiln diff: change kinds, rename detection, secret redaction, the PR-comment
//! budget, changes shared by many environments said once, ref-to-ref diffs in
//! a real git repository (the wiring and Terraform variables included), and
//! the markdown output as a reviewed golden file.

use crate::render_env;
use kiln::diff::{ChangeKind, Snapshot, between, diff, json as diff_json, markdown, snapshot};
use kiln_tests::{copy_inputs, edit, git, git_commit_all, put};
use serde_json::{Value, json};
use std::path::Path;

fn homelab_snapshot(root: &Path) -> Snapshot {
    snapshot(&[render_env(root, "homelab")])
}

#[test]
fn added_removed_changed_and_renamed() {
    let dir = copy_inputs(false);
    let before = homelab_snapshot(dir.path());
    edit(
        dir.path(),
        "base/service.yaml",
        "replicas: 1",
        "replicas: 2",
    );
    edit(
        dir.path(),
        "strategies/claude-models.json",
        "\"weight\": 1",
        "\"weight\": 3",
    );
    put(
        dir.path(),
        "overlays/homelab/overlay.yaml",
        "set:\n  podDisruptionBudget: { minAvailable: 1 }\n",
    );
    let after = homelab_snapshot(dir.path());
    let d = diff(&before, &after, 3);
    assert_eq!(d.environments.len(), 1);
    let changes = &d.environments[0].changes;
    let find = |kind: &str| {
        changes
            .iter()
            .find(|c| c.id.kind == kind)
            .unwrap_or_else(|| panic!("{kind}"))
    };
    assert_eq!(find("PodDisruptionBudget").kind, ChangeKind::Added);
    assert_eq!(find("Deployment").kind, ChangeKind::Changed);
    assert!(
        find("Deployment")
            .diff
            .contains("-  replicas: 1\n+  replicas: 2"),
        "{}",
        find("Deployment").diff
    );
    // The strategies ConfigMap got a new hash-suffixed name: one rename, not an add and a remove.
    let renamed: Vec<_> = changes
        .iter()
        .filter(|c| matches!(c.kind, ChangeKind::Renamed { .. }))
        .collect();
    assert_eq!(renamed.len(), 1, "{changes:#?}");
    let ChangeKind::Renamed { from } = &renamed[0].kind else {
        unreachable!()
    };
    assert!(from.name.starts_with("portkey-gateway-strategies-"));
    assert_ne!(from.name, renamed[0].id.name);
    assert!(
        renamed[0].diff.contains("\"weight\": 3"),
        "{}",
        renamed[0].diff
    );
    assert!(
        changes.iter().all(|c| c.kind != ChangeKind::Removed),
        "no removal: {changes:#?}"
    );
    assert_eq!(d.environments[0].counts(), (1, 2, 0));
    // Unchanged resources are left out; an identical snapshot gives no diff at all.
    assert!(changes.iter().all(|c| c.id.kind != "Namespace"));
    assert!(diff(&after, &after, 3).is_empty());

    // Removing an environment removes all of its resources.
    let gone = diff(&after, &Snapshot::new(), 3);
    assert_eq!(gone.environments[0].counts().2, after["homelab"].len());
}

fn secret(data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "p"}, "data": data})
}

#[test]
fn secret_values_never_appear() {
    let one = |doc: Value| Snapshot::from([("e".to_string(), vec![doc.into()])]);
    let old = one(secret(json!({"A": "c2VjcmV0LW9uZQ==", "B": "c2FtZQ=="})));
    let new = one(secret(
        json!({"A": "c2VjcmV0LXR3bw==", "B": "c2FtZQ==", "C": "bmV3"}),
    ));
    let d = diff(&old, &new, 3);
    let text = kiln::diff::text(&d, kiln::model::emit::Color::Plain)
        + &markdown(&d, 65_536)
        + &diff_json(&d).to_string();
    for value in ["c2VjcmV0LW9uZQ==", "c2VjcmV0LXR3bw==", "c2FtZQ==", "bmV3"] {
        assert!(!text.contains(value), "{value} leaked:\n{text}");
    }
    let change = &d.environments[0].changes[0].diff;
    assert!(change.contains("+  A: \"<redacted: changed>\""), "{change}");
    assert!(change.contains("+  C: \"<redacted: changed>\""), "{change}");
    assert!(change.contains("   B: <redacted>\n"), "{change}");

    // What an ExternalSecret's target template would materialize is redacted
    // too, in added objects, inside List kinds, and in the last-applied
    // annotation that repeats a Secret's data.
    let es = |url: &str| {
        json!({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": {"name": "x", "namespace": "p"},
            "spec": {"target": {"name": "x", "template": {"data": {"URL": url}}}}})
    };
    let listed = |doc: Value| json!({"apiVersion": "v1", "kind": "List", "metadata": {"name": "all"}, "items": [doc]});
    let mut annotated = secret(json!({"A": "c2VjcmV0LXRocmVl"}));
    annotated["metadata"]["annotations"] = json!({
        "kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"A\":\"c2VjcmV0LXRocmVl\"}}"
    });
    for (before, after, values) in [
        (None, es("postgres://user:hunter2@db"), vec!["hunter2"]),
        (
            Some(es("postgres://user:old-pass@db")),
            es("postgres://user:new-pass@db"),
            vec!["old-pass", "new-pass"],
        ),
        (
            None,
            listed(es("postgres://user:listed-pass@db")),
            vec!["listed-pass"],
        ),
        (
            Some(listed(secret(json!({"A": "bGlzdC1vbmU="})))),
            listed(secret(json!({"A": "bGlzdC10d28="}))),
            vec!["bGlzdC1vbmU=", "bGlzdC10d28="],
        ),
        (None, annotated.clone(), vec!["c2VjcmV0LXRocmVl"]),
    ] {
        let old = before.map(one).unwrap_or_default();
        let d = diff(&old, &one(after), 3);
        assert!(!d.is_empty());
        let text = kiln::diff::text(&d, kiln::model::emit::Color::Plain)
            + &markdown(&d, 65_536)
            + &diff_json(&d).to_string();
        for value in values {
            assert!(!text.contains(value), "{value} leaked:\n{text}");
        }
        assert!(text.contains("<redacted: changed>"), "{text}");
    }
}

#[test]
fn markdown_fits_a_pr_comment_cutting_the_largest_diffs_first() {
    let cm = |name: &str, lines: usize, v: &str| {
        let data: serde_json::Map<String, Value> = (0..lines)
            .map(|i| (format!("K{i:05}"), json!(format!("{v}-{i}"))))
            .collect();
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "p"}, "data": data})
    };
    let old = Snapshot::from([(
        "e".to_string(),
        vec![cm("huge", 5000, "a").into(), cm("small", 3, "a").into()],
    )]);
    let new = Snapshot::from([(
        "e".to_string(),
        vec![cm("huge", 5000, "b").into(), cm("small", 3, "b").into()],
    )]);
    let d = diff(&old, &new, 3);
    let body = markdown(&d, kiln::diff::COMMENT_LIMIT);
    assert!(
        body.len() <= kiln::diff::COMMENT_LIMIT,
        "{} characters",
        body.len()
    );
    assert!(
        body.contains("1 of 2 diffs were left out"),
        "{}",
        &body[..500]
    );
    assert!(body.contains("-  K00000: a-0"), "the small diff stays");
    assert!(
        body.contains("_diff left out to fit the comment"),
        "the huge one is summarised"
    );
    assert!(
        body.contains("| <code>e</code> | 0 | 2 | 0 |"),
        "{}",
        &body[..500]
    );
    // Without a limit problem, everything is there.
    let full = markdown(&d, usize::MAX);
    assert!(!full.contains("left out"));
}

#[test]
fn markdown_output_matches_the_reviewed_golden_file() {
    let dir = copy_inputs(false);
    let before = homelab_snapshot(dir.path());
    edit(
        dir.path(),
        "base/service.yaml",
        "logLevel: info",
        "logLevel: debug",
    );
    edit(
        dir.path(),
        "base/service.yaml",
        "hosts: [portkey.peekoff.com]",
        "hosts: [portkey.peekoff.com, ai.peekoff.com]",
    );
    let after = homelab_snapshot(dir.path());
    insta::assert_snapshot!(
        "diff_markdown",
        markdown(&diff(&before, &after, 3), kiln::diff::COMMENT_LIMIT)
    );
}

/// A git repository of the inputs (and kiln.yaml), committed on `main`.
fn committed_copy() -> tempfile::TempDir {
    let dir = copy_inputs(false);
    let root = dir.path();
    std::fs::copy(
        kiln_tests::repo_root().join("kiln.yaml"),
        root.join("kiln.yaml"),
    )
    .expect("kiln.yaml");
    git_commit_all(root, "first");
    dir
}

fn at(root: &Path, rev: &str) -> kiln::git::Revision {
    kiln::git::revision(root, rev).expect("revision")
}

#[test]
fn ref_to_ref_diff_in_a_git_repository() {
    let dir = committed_copy();
    let root = dir.path();
    edit(root, "base/service.yaml", "replicas: 1", "replicas: 5");
    git(root, &["commit", "-qam", "second"]);
    // Uncommitted: the working tree differs from both commits.
    edit(
        root,
        "base/service.yaml",
        "logLevel: info",
        "logLevel: warn",
    );
    let status_before = git(root, &["status", "--porcelain"]);

    let d = between(at(root, "HEAD~1").repo(), at(root, "main").repo(), 3).expect("diff");
    let homelab = d
        .environments
        .iter()
        .find(|e| e.env == "homelab")
        .expect("homelab");
    let deployment = homelab
        .changes
        .iter()
        .find(|c| c.id.kind == "Deployment")
        .expect("deployment");
    assert!(
        deployment.diff.contains("+  replicas: 5"),
        "{}",
        deployment.diff
    );
    // Committed revisions do not see the working tree's edit; the working tree does.
    assert!(!kiln::diff::text(&d, kiln::model::emit::Color::Plain).contains("LOG_LEVEL"));
    let working = kiln::Repo::open(root).expect("repo");
    let d = between(at(root, "main").repo(), &working, 3).expect("diff");
    assert!(kiln::diff::text(&d, kiln::model::emit::Color::Plain).contains("+  LOG_LEVEL: warn"));
    // Reading revisions touched neither the working tree nor the index.
    assert_eq!(git(root, &["status", "--porcelain"]), status_before);
    assert!(kiln::git::revision(root, "no-such-branch").is_err());
    assert!(kiln::git::revision(root, "--output=/tmp/x").is_err());
}

#[test]
fn a_revision_is_read_like_the_working_tree() {
    let dir = committed_copy();
    let root = dir.path();
    // Nothing changed: no difference at all, the wiring of kiln.yaml included.
    let working = kiln::Repo::open(root).expect("repo");
    let head = at(root, "HEAD");
    assert_eq!(head.repo().settings(), working.settings());
    assert!(between(head.repo(), &working, 3).expect("diff").is_empty());
    // A change of the wiring alone shows, in the wiring.
    edit(root, "kiln.yaml", "revision: main", "revision: release");
    git(root, &["commit", "-qam", "wiring"]);
    let d = between(at(root, "HEAD~1").repo(), at(root, "HEAD").repo(), 3).expect("diff");
    let envs: Vec<&str> = d.environments.iter().map(|e| e.env.as_str()).collect();
    assert_eq!(envs, ["argocd", "flux"]);
    assert!(
        kiln::diff::text(&d, kiln::model::emit::Color::Plain)
            .contains("+    targetRevision: release"),
        "{}",
        kiln::diff::text(&d, kiln::model::emit::Color::Plain)
    );
    // So does a change of Azure Container Apps' Terraform variables.
    edit(
        root,
        "overlays/aca/overlay.yaml",
        "minReplicas: 2",
        "minReplicas: 3",
    );
    git(root, &["commit", "-qam", "aca"]);
    let d = between(at(root, "HEAD~1").repo(), at(root, "HEAD").repo(), 3).expect("diff");
    assert_eq!(d.environments.len(), 1);
    assert_eq!(d.environments[0].env, "aca");
    let change = &d.environments[0].changes[0];
    assert_eq!(change.id.to_string(), "file terraform.tfvars.json");
    assert!(
        change.diff.contains("+    \"min_replicas\": 3,"),
        "{}",
        change.diff
    );
}

#[test]
fn a_change_in_many_environments_is_said_once() {
    let dir = committed_copy();
    let root = dir.path();
    for i in 0..400 {
        put(
            root,
            &format!("overlays/copy-{i:03}/overlay.yaml"),
            &format!("extends: prod\nset:\n  route:\n    hosts: [ai-{i:03}.example.com]\n"),
        );
    }
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "copies"]);
    edit(
        root,
        "strategies/claude-models.json",
        "\"weight\": 1",
        "\"weight\": 3",
    );
    git(root, &["commit", "-qam", "weights"]);
    let d = between(at(root, "HEAD~1").repo(), at(root, "HEAD").repo(), 3).expect("diff");
    // The strategies of every environment but aca (which renders none) changed.
    assert_eq!(d.environments.len(), 407);
    let groups = kiln::diff::groups(&d);
    // A renamed ConfigMap and the Deployment that mounts it, shared by 406
    // environments; dev mounts one more strategy, so its names differ, and
    // serves strategies by name (the strategy's ExternalSecret): its own.
    let sizes: Vec<usize> = groups.iter().map(|g| g.environments.len()).collect();
    assert_eq!(sizes, [406, 406, 1, 1, 1]);
    assert!(groups[2..].iter().all(|g| g.environments == ["dev"]));
    let body = markdown(&d, kiln::diff::COMMENT_LIMIT);
    assert!(body.len() <= kiln::diff::COMMENT_LIMIT, "{}", body.len());
    assert!(
        body.contains("+          \"weight\": 3"),
        "the change itself is shown:\n{body}"
    );
    assert!(
        body.contains("in 406 environments: <code>aks</code>, <code>copy-000</code>"),
        "{body}"
    );
    let text = kiln::diff::text(&d, kiln::model::emit::Color::Plain);
    assert_eq!(
        text.matches("+          \"weight\": 3").count(),
        2,
        "twice (shared, dev), not 407 times"
    );
    let json = diff_json(&d);
    assert_eq!(json["changes"].as_array().map(Vec::len), Some(5));
    assert_eq!(
        json["changes"][0]["environments"].as_array().map(Vec::len),
        Some(406)
    );
}

#[cfg(unix)]
#[test]
fn symlinks_at_a_revision_are_refused() {
    let dir = copy_inputs(false);
    let root = dir.path();
    std::os::unix::fs::symlink("/etc/hostname", root.join("strategies/evil.json")).expect("ln");
    git_commit_all(root, "evil");
    let Err(err) = kiln::git::revision(root, "main") else {
        panic!("a symlink in a revision was read");
    };
    assert!(err.to_string().contains("symlink"), "{err}");
    assert!(err.to_string().starts_with("in revision main: "), "{err}");
}

/// The CI examples are valid YAML and run the commands docs/guide/previews.md promises;
/// GitHub's are the workflows `kiln init` writes.
#[test]
fn ci_examples_run_kiln_diff_on_pull_requests() {
    let root = kiln_tests::repo_root();
    let read = |file: &str| std::fs::read_to_string(root.join(file)).expect(file);
    for name in ["kiln.yml", "kiln-comment.yml"] {
        assert_eq!(
            read(&format!("examples/ci/github-actions/{name}")),
            read(&format!(
                "crates/kiln/templates/init/.github/workflows/{name}"
            )),
            "examples/ci/github-actions/{name} is what kiln init writes"
        );
    }
    let github = read("examples/ci/github-actions/kiln.yml");
    let comment = read("examples/ci/github-actions/kiln-comment.yml");
    let gitlab = read("examples/ci/gitlab-ci.yml");
    for (file, text) in [
        ("kiln.yml", &github),
        ("kiln-comment.yml", &comment),
        ("gitlab-ci.yml", &gitlab),
    ] {
        let _: serde_yaml::Value =
            serde_yaml::from_str(text).unwrap_or_else(|e| panic!("{file}: {e}"));
    }
    for text in [&github, &gitlab] {
        assert!(
            text.contains("diff --base") && text.contains("--format markdown"),
            "{text}"
        );
        assert!(text.contains("render --check"), "{text}");
        assert!(
            text.contains("KILN_GIT := ") && !text.contains("--path"),
            "{text}"
        );
    }
    for text in [&comment, &gitlab] {
        assert!(
            text.contains(kiln::diff::COMMENT_MARKER),
            "finds its comment by the marker: {text}"
        );
    }
}

/// A thousand environments of annotation noise and one image change: the
/// comment keeps the image change, with its diff, and cuts the noise.
#[test]
fn the_comment_keeps_the_change_that_matters_when_it_must_cut() {
    let dir = tempfile::tempdir().expect("tmp");
    let envs = kiln_tests::synthetic_repo(dir.path(), 1000);
    git_commit_all(dir.path(), "base");
    for (i, env) in envs.iter().enumerate() {
        kiln_tests::edit(
            dir.path(),
            &format!("overlays/{env}/overlay.yaml"),
            &format!("team: t{i} "),
            &format!("team: u{i} "),
        );
    }
    let prod = &envs[500];
    let overlay = format!("overlays/{prod}/overlay.yaml");
    let text = std::fs::read_to_string(dir.path().join(&overlay)).expect("read");
    kiln_tests::put(
        dir.path(),
        &overlay,
        &format!("{text}set:\n  image: {{ tag: \"1.99.0\" }}\n"),
    );
    let repo = kiln::Repo::open(dir.path()).expect("repo");
    let base = kiln::git::revision(dir.path(), "HEAD").expect("HEAD");
    let diff = kiln::diff::between(base.repo(), &repo, 3).expect("diff");
    let body = kiln::diff::markdown(&diff, kiln::diff::COMMENT_LIMIT);
    assert!(body.len() <= kiln::diff::COMMENT_LIMIT, "{}", body.len());
    assert!(
        body.contains("more changes are not listed"),
        "the cut is said"
    );
    let at = body.find(prod.as_str()).unwrap_or(0);
    let near = &body[at.saturating_sub(2000)..(at + 2000).min(body.len())];
    assert!(
        body.contains("portkeyai/gateway:1.99.0"),
        "the image change is kept with its diff: {near}"
    );
    assert!(body.contains(&format!("in <code>{prod}</code>")), "{near}");
}
