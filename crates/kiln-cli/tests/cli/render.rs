//! `kiln render` and the command line around it: exit codes, --check, what a
//! user sees, and that bad input writes nothing.

use crate::harness::{code, kiln, tree};
use kiln_tests::{copy_inputs, edit, git, git_commit_all, put, repo_root, run};
use std::process::Command;

#[test]
fn render_then_check_then_drift() {
    let dir = copy_inputs(false);
    let root = dir.path();
    let (status, _, stderr) = code(kiln(root).arg("render"));
    assert_eq!(status, 0, "{stderr}");
    assert!(stderr.contains("rendered homelab"), "{stderr}");
    assert!(root.join("out/homelab/kustomization.yaml").exists());

    let (status, _, stderr) = code(kiln(root).args(["render", "--check"]));
    assert_eq!(status, 0, "{stderr}");

    let (status, _, stderr) = code(kiln(root).arg("render"));
    assert_eq!(status, 0);
    assert!(stderr.contains("up to date"), "{stderr}");

    put(root, "out/homelab/service-portkey-gateway.yaml", "edited\n");
    let before = tree(&root.join("out"));
    let (status, stdout, stderr) = code(kiln(root).args(["render", "--check"]));
    assert_eq!(status, 1, "{stderr}");
    assert!(
        stdout.contains("changed  out/homelab/service-portkey-gateway.yaml"),
        "{stdout}"
    );
    assert!(stderr.contains("make render"), "{stderr}");
    assert_eq!(tree(&root.join("out")), before, "--check wrote something");
}

#[test]
fn the_committed_out_passes_check() {
    let (status, stdout, stderr) = code(kiln(&repo_root()).args(["render", "--check"]));
    assert_eq!(status, 0, "{stdout}{stderr}");
}

#[test]
fn time_zone_and_locale_do_not_change_a_byte() {
    let a = copy_inputs(false);
    let b = copy_inputs(true);
    let (status, _, stderr) = code(
        kiln(a.path())
            .arg("render")
            .env("TZ", "UTC")
            .env("LANG", "C"),
    );
    assert_eq!(status, 0, "{stderr}");
    let (status, _, stderr) = code(
        kiln(b.path())
            .arg("render")
            .env("TZ", "Pacific/Kiritimati")
            .env("LANG", "tr_TR.UTF-8")
            .env("LC_ALL", "tr_TR.UTF-8"),
    );
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(tree(&a.path().join("out")), tree(&b.path().join("out")));
    assert_eq!(
        tree(&a.path().join("out/homelab")),
        tree(&repo_root().join("out/homelab"))
    );
}

#[test]
fn bad_input_exits_2_names_the_place_and_writes_nothing() {
    let cases: [(&str, &str, &str, &str); 9] = [
        (
            "overlays/staging/overlay.yaml",
            "extends: prod",
            "extends: staging",
            "cycle: staging → staging",
        ),
        (
            "overlays/prod/overlay.yaml",
            "kind: Deployment, name: portkey-gateway",
            "kind: Deployment, name: gateway",
            "matches no resource",
        ),
        (
            "overlays/prod/overlay.yaml",
            "terminationGracePeriodSeconds: 60",
            "terminationGracePeriod: 60",
            "/spec/template/spec/terminationGracePeriod",
        ),
        (
            "base/service.yaml",
            "replicas: 1",
            "replics: 1",
            "did you mean `replicas`?",
        ),
        (
            "base/service.yaml",
            "replicas: 1",
            "replicas: [",
            "base/service.yaml:",
        ),
        (
            "base/service.yaml",
            "replicas: 1",
            "replicas: lots",
            "/replicas",
        ),
        (
            "base/service.yaml",
            "name: portkey-gateway\n",
            "",
            "missing field `name`",
        ),
        (
            "overlays/homelab/overlay.yaml",
            "# base: base/service.yaml",
            "base: ../x.yaml",
            "leaves the repository",
        ),
        (
            "overlays/homelab/overlay.yaml",
            "# base: base/service.yaml",
            "base: /etc/hosts",
            "absolute path",
        ),
    ];
    for (file, from, to, expected) in cases {
        let dir = copy_inputs(false);
        let text = std::fs::read_to_string(dir.path().join(file)).expect("read");
        assert!(text.contains(from), "{file} has {from:?}");
        put(dir.path(), file, &text.replacen(from, to, 1));
        let (status, stdout, stderr) = code(kiln(dir.path()).arg("render"));
        assert_eq!(status, 2, "{to}: {stdout}{stderr}");
        assert!(
            stderr.contains(expected),
            "{to}: expected {expected:?} in:\n{stderr}"
        );
        assert!(
            stderr.contains(file),
            "{to}: the file is not named:\n{stderr}"
        );
        assert!(
            !dir.path().join("out").exists(),
            "{to}: something was written"
        );
    }

    // A render that fails leaves earlier output exactly as it was.
    let dir = copy_inputs(false);
    assert_eq!(code(kiln(dir.path()).arg("render")).0, 0);
    let before = tree(&dir.path().join("out"));
    put(dir.path(), "strategies/bad.json", "{");
    assert_eq!(code(kiln(dir.path()).arg("render")).0, 2);
    assert_eq!(tree(&dir.path().join("out")), before);
}

#[test]
fn unknown_environment_and_usage_errors_exit_2() {
    let dir = copy_inputs(false);
    let (status, _, stderr) = code(kiln(dir.path()).args(["render", "--env", "homelb"]));
    assert_eq!(status, 2);
    assert!(stderr.contains("did you mean `homelab`?"), "{stderr}");
    let (status, _, _) = code(kiln(dir.path()).args(["render", "--bogus"]));
    assert_eq!(status, 2);
    let (status, _, _) = code(kiln(dir.path()).args(["--color", "sometimes", "envs"]));
    assert_eq!(status, 2);
}

#[test]
fn envs_and_repository_discovery() {
    let dir = copy_inputs(false);
    put(dir.path(), "overlays/qa/overlay.yaml", "");
    let mut c = Command::new(env!("CARGO_BIN_EXE_kiln"));
    c.arg("envs")
        .current_dir(dir.path().join("overlays/homelab"));
    let (ok, stdout, stderr) = run(&mut c);
    assert!(ok, "{stderr}");
    assert_eq!(
        stdout,
        "aca\naks\ndev\neks\ngke\nhomelab\nprod\nqa\nstaging\n"
    );

    let elsewhere = tempfile::tempdir().expect("tmp");
    let mut c = Command::new(env!("CARGO_BIN_EXE_kiln"));
    c.arg("envs").current_dir(elsewhere.path());
    let (status, _, stderr) = code(&mut c);
    assert_eq!(status, 2);
    assert!(stderr.contains("not inside a kiln repository"), "{stderr}");
    assert!(stderr.contains("--repo"), "{stderr}");
}

#[test]
fn every_example_in_the_help_runs() {
    let (status, help, _) = code(Command::new(env!("CARGO_BIN_EXE_kiln")).arg("--help"));
    assert_eq!(status, 0);
    let examples: Vec<Vec<String>> = help
        .lines()
        .skip_while(|l| !l.starts_with("Examples:"))
        .filter_map(|l| l.trim().strip_prefix("kiln "))
        // The command, then (after two spaces) what it does.
        .map(|l| l.split("  ").next().unwrap_or_default())
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect();
    assert!(examples.len() >= 8, "the help shows its examples:\n{help}");
    // A repository with an origin/main, hand-written manifests in k8s/, and an
    // empty place for `init`: every example has what it needs.
    let dir = copy_inputs(false);
    let root = dir.path();
    git_commit_all(root, "inputs");
    git(root, &["update-ref", "refs/remotes/origin/main", "HEAD"]);
    put(
        root,
        "k8s/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  A: b\n",
    );
    for example in examples {
        let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
            .current_dir(root)
            .args(&example)
            .output()
            .expect("kiln runs");
        let code = out.status.code().expect("exit code");
        assert!(
            code == 0 || code == 1,
            "`kiln {}` exited {code}: {}",
            example.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn render_prints_suppressed_findings_with_their_reasons() {
    let repo = copy_inputs(false);
    put(
        repo.path(),
        "overlays/homelab/overlay.yaml",
        "patches:\n  - target: { kind: Deployment }\n    strategic:\n      spec:\n        template:\n          spec:\n            hostNetwork: true\n",
    );
    let (status, _, stderr) = code(kiln(repo.path()).arg("render"));
    assert_eq!(status, 2, "{stderr}");
    assert!(
        stderr.contains("[pss-host-namespaces]") && stderr.contains("nothing written"),
        "{stderr}"
    );
    assert!(!repo.path().join("out").exists());
    put(
        repo.path(),
        "overlays/homelab/overlay.yaml",
        "patches:\n  - target: { kind: Deployment }\n    strategic:\n      spec:\n        template:\n          spec:\n            hostNetwork: true\nsuppress:\n  - rule: pss-host-namespaces\n    resource: Deployment/portkey-gateway\n    reason: the homelab gateway must see client IPs on the node\n",
    );
    let (status, _, stderr) = code(kiln(repo.path()).arg("render"));
    assert_eq!(status, 0, "{stderr}");
    assert!(
        stderr.contains("suppressed: out/homelab/deployment-portkey-gateway.yaml"),
        "{stderr}"
    );
    assert!(
        stderr.contains("reason: the homelab gateway must see client IPs"),
        "{stderr}"
    );
}

#[test]
fn an_image_changed_with_images_is_refused_with_the_way_that_works() {
    let dir = copy_inputs(false);
    let root = dir.path();
    let overlay = root.join("overlays/dev/overlay.yaml");
    let text = std::fs::read_to_string(&overlay).expect("overlay");
    put(
        root,
        "overlays/dev/overlay.yaml",
        &format!("{text}images: [ {{ name: portkeyai/gateway, newTag: \"1.13.0\" }} ]\n"),
    );
    let (status, _, stderr) = code(kiln(root).args(["render", "--env", "dev"]));
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains("[version-label]"), "{stderr}");
    assert!(stderr.contains("set: { image: { tag: ... } }"), "{stderr}");
    assert!(
        !root.join("out/dev").exists(),
        "nothing is written on error"
    );

    // The way it names works.
    put(root, "overlays/dev/overlay.yaml", &text);
    edit(
        root,
        "overlays/dev/overlay.yaml",
        "set:\n",
        "set:\n  image: { tag: \"1.13.0\" }\n",
    );
    let (status, _, stderr) = code(kiln(root).args(["render", "--env", "dev"]));
    assert_eq!(status, 0, "{stderr}");
}
