//! The `kiln` binary: exit codes, --check, what a user sees, and that bad
//! input writes nothing.

use kiln_tests::{copy_inputs, edit, git, git_commit_all, put, repo_root, run};
use std::path::Path;
use std::process::Command;

fn kiln(root: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kiln"));
    c.arg("--repo").arg(root).arg("--color").arg("never");
    c
}

fn code(c: &mut Command) -> (i32, String, String) {
    let out = c.output().expect("kiln runs");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    if dir.exists() {
        for entry in std::fs::read_dir(dir).expect("dir") {
            let entry = entry.expect("entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type().expect("type").is_dir() {
                files.extend(
                    tree(&entry.path())
                        .into_iter()
                        .map(|(n, b)| (format!("{name}/{n}"), b)),
                );
            } else {
                files.push((name, std::fs::read(entry.path()).expect("read")));
            }
        }
    }
    files.sort();
    files
}

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
fn strategies_lists_mode_targets_and_header() {
    let (status, stdout, stderr) = code(kiln(&repo_root()).arg("strategies"));
    assert_eq!(status, 0, "{stderr}");
    assert!(stdout.contains("cost-optimized  (conditional)"), "{stdout}");
    assert!(
        stdout.contains("header:  kiln strategies --header cost-optimized"),
        "{stdout}"
    );
    assert!(
        stdout.contains("target:  premium azure-openai gpt-4o"),
        "{stdout}"
    );
    let (status, stdout, _) = code(kiln(&repo_root()).args(["strategies", "--env", "dev"]));
    assert_eq!(status, 0);
    assert!(stdout.contains("small-models  (fallback)"), "{stdout}");
    assert!(
        stdout.contains("header:  kiln strategies --env dev --header small-models"),
        "{stdout}"
    );

    // The header: the config on one line, credentials as references for the client to fill.
    let (status, stdout, _) =
        code(kiln(&repo_root()).args(["strategies", "--env", "dev", "--header", "small-models"]));
    assert_eq!(status, 0);
    let json = stdout
        .strip_prefix("x-portkey-config: ")
        .and_then(|s| s.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("{stdout}"));
    let file =
        std::fs::read_to_string(repo_root().join("overlays/dev/strategies/small-models.json"))
            .expect("strategy");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(json).expect("JSON"),
        serde_json::from_str::<serde_json::Value>(&file).expect("JSON")
    );
    assert!(!json.contains('\n') && json.contains("${OPENAI_API_KEY}"));
    let (status, _, stderr) =
        code(kiln(&repo_root()).args(["strategies", "--header", "smal-models"]));
    assert_eq!(status, 2);
    assert!(stderr.contains("no strategy `smal-models`"), "{stderr}");

    let dir = copy_inputs(false);
    put(
        dir.path(),
        "strategies/bad.json",
        "{\"strategy\": {\"mode\": \"fallback\"}, \"targets\": [{\"provider\": \"openai\"}]}",
    );
    let (status, _, stderr) = code(kiln(dir.path()).arg("render"));
    assert_eq!(status, 2);
    assert!(
        stderr.contains("strategies/bad.json:1:1 at /targets/0: the gateway refuses this")
            && !stderr.contains("errors"),
        "{stderr}"
    );
    assert!(!dir.path().join("out").exists());
}

#[test]
fn route_shows_where_a_request_goes() {
    let route = |args: &[&str]| code(kiln(&repo_root()).arg("route").args(args));
    let (status, stdout, _) =
        route(&["--strategy", "cost-optimized", "--param", "max_tokens=8000"]);
    assert_eq!(status, 0);
    assert!(
        stdout.contains("condition 0 matched → premium azure-openai gpt-4o"),
        "{stdout}"
    );
    let (_, stdout, _) = route(&["-s", "cost-optimized", "--param", "max_tokens=100"]);
    assert!(stdout.contains("default → budget"), "{stdout}");
    let (_, stdout, _) = route(&["-s", "claude-models"]);
    assert!(
        stdout.contains(" 33.3%  #0 anthropic claude-opus"),
        "{stdout}"
    );
    let (_, stdout, _) = route(&["-s", "small-models", "--env", "dev"]);
    assert!(
        stdout.contains("fallback (next target on 429, 500, 502, 503):"),
        "{stdout}"
    );
    assert!(stdout.contains("1. #0 openai gpt-4o-mini"), "{stdout}");
    let (status, _, stderr) = route(&["-s", "nope"]);
    assert_eq!(status, 2);
    assert!(stderr.contains("there are: all-models"), "{stderr}");
    let (status, _, _) = route(&["-s", "cost-optimized", "--param", "novalue"]);
    assert_eq!(status, 2);
}

#[test]
fn route_reads_metadata_as_the_gateways_json_parse() {
    let dir = copy_inputs(false);
    let strategy = serde_json::json!({
        "strategy": {"mode": "conditional", "default": "a", "conditions": [
            {"query": {"metadata.level": {"$regex": "^Infinity$"}}, "then": "b"},
            {"query": {"metadata.level": {"$regex": "^[\\ud800-\\udbff]$"}}, "then": "b"}]},
        "targets": [{"name": "a", "provider": "openai", "api_key": "${OPENAI_API_KEY}"},
                    {"name": "b", "provider": "anthropic", "api_key": "${ANTHROPIC_API_KEY}"}]
    });
    std::fs::write(
        dir.path().join("strategies/edge.json"),
        strategy.to_string(),
    )
    .expect("write");
    let route =
        |json: &str| code(kiln(dir.path()).args(["route", "-s", "edge", "--metadata-json", json]));
    // JavaScript reads 1e400 as Infinity and keeps a lone surrogate; a strict reader refuses both.
    let (status, stdout, stderr) = route(r#"{"level": 1e400}"#);
    assert_eq!(status, 0, "{stderr}");
    assert!(
        stdout.contains("condition 0 matched → b anthropic"),
        "{stdout}"
    );
    let (_, stdout, _) = route(r#"{"level": "\ud800"}"#);
    assert!(
        stdout.contains("condition 1 matched → b anthropic"),
        "{stdout}"
    );
    let (_, stdout, _) = route(r#"{"level": "\ud83d\ude00"}"#);
    assert!(stdout.contains("default → a openai"), "{stdout}");
    let (status, _, stderr) = route(r#"{"level": 1e400,}"#);
    assert_eq!(status, 2);
    assert!(
        stderr.contains("not JSON at position 16: expected a key in double quotes"),
        "{stderr}"
    );
    let (status, _, stderr) = route("[1]");
    assert_eq!(status, 2);
    assert!(stderr.contains("expected a JSON object"), "{stderr}");
}

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

/// `kiln check` outside any repository, on hand-written manifests.
fn check_paths(dir: &Path, args: &[&str]) -> (i32, String, String) {
    code(
        Command::new(env!("CARGO_BIN_EXE_kiln"))
            .current_dir(dir)
            .args(["--color", "never", "check"])
            .args(args),
    )
}

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

fn kiln_bare() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kiln"));
    c.args(["--color", "never"]);
    c
}

#[test]
fn init_scaffolds_a_repository_whose_make_render_and_check_pass() {
    let dir = tempfile::tempdir().expect("tmp");
    let repo = dir.path().join("gitops");
    let (status, _, stderr) = code(kiln_bare().arg("init").arg(&repo).args([
        "--repo-url",
        "https://git.example.com/platform/gitops.git",
        "--engine",
        "argocd",
        "--engine",
        "flux",
    ]));
    assert_eq!(status, 0, "{stderr}");
    assert!(stderr.contains("make render"), "{stderr}");
    for file in [
        "base/service.yaml",
        "overlays/dev/overlay.yaml",
        "overlays/prod/overlay.yaml",
        "strategies/fallback.json",
        "Makefile",
        ".github/workflows/kiln.yml",
        ".github/workflows/kiln-comment.yml",
        "README.md",
        "kiln.yaml",
    ] {
        assert!(repo.join(file).is_file(), "{file}");
    }
    // The scaffold's own Makefile, with this kiln.
    let make = |target: &str| {
        run(Command::new("make")
            .arg("-C")
            .arg(&repo)
            .arg(target)
            .arg(format!("KILN={}", env!("CARGO_BIN_EXE_kiln"))))
    };
    let (ok, stdout, stderr) = make("render");
    assert!(ok, "make render: {stdout}{stderr}");
    for dir in ["dev", "prod", "argocd", "flux"] {
        assert!(
            repo.join("out")
                .join(dir)
                .join("kustomization.yaml")
                .is_file(),
            "{dir}"
        );
        let (ok, _, stderr) = run(Command::new("kubectl")
            .arg("kustomize")
            .arg(repo.join("out").join(dir)));
        assert!(ok, "kubectl kustomize out/{dir}: {stderr}");
    }
    let (ok, stdout, stderr) = make("check");
    assert!(ok, "make check: {stdout}{stderr}");
    assert!(stdout.contains("0 errors"), "{stdout}");
    // A second init into the now full directory refuses and changes nothing.
    let before = tree(&repo);
    let (status, _, stderr) = code(kiln_bare().arg("init").arg(&repo));
    assert_eq!(status, 2, "{stderr}");
    assert!(
        stderr.contains("is not empty") && stderr.contains("base"),
        "{stderr}"
    );
    assert_eq!(tree(&repo), before);
}

#[test]
fn init_refuses_a_non_empty_directory_and_a_bad_url_writes_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    put(dir.path(), "notes.txt", "mine\n");
    let (status, _, stderr) = code(kiln_bare().arg("init").arg(dir.path()));
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains("notes.txt"), "{stderr}");
    assert_eq!(tree(dir.path()).len(), 1);

    let empty = tempfile::tempdir().expect("tmp");
    let (status, _, stderr) = code(
        kiln_bare()
            .arg("init")
            .arg(empty.path())
            .args(["--repo-url", "not a url"]),
    );
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains("not a Git URL"), "{stderr}");
    assert!(tree(empty.path()).is_empty());

    // A fresh clone (only .git) is fine; without --repo-url there is no wiring.
    std::fs::create_dir(empty.path().join(".git")).expect("mkdir");
    let (status, _, stderr) = code(kiln_bare().arg("init").arg(empty.path()));
    assert_eq!(status, 0, "{stderr}");
    let (status, _, stderr) = code(kiln(empty.path()).arg("render"));
    assert_eq!(status, 0, "{stderr}");
    assert!(empty.path().join("out/prod").is_dir());
    assert!(!empty.path().join("out/argocd").exists());
}

/// The subcommands `kiln help` lists (not `help` itself).
fn subcommands() -> Vec<String> {
    let (_, help, _) = code(kiln_bare().arg("help"));
    help.split("Commands:\n")
        .nth(1)
        .expect("a command list")
        .lines()
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

/// What bash offers after `words` (the last one being completed), with the
/// script `kiln completions bash` prints loaded.
fn bash_completes(script: &Path, words: &[&str]) -> Vec<String> {
    let program = format!(
        "source {script}; COMP_WORDS=({words}); COMP_CWORD={last}; COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}; \
         _kiln kiln \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script = script.display(),
        words = words.join(" "),
        last = words.len() - 1,
        line = words.join(" "),
    );
    let (status, stdout, stderr) = code(Command::new("bash").args(["--norc", "-c", &program]));
    assert_eq!(status, 0, "{stderr}");
    stdout.lines().map(str::to_string).collect()
}

#[test]
fn completions_complete_subcommands_and_options_in_every_shell() {
    let dir = tempfile::tempdir().expect("tmp");
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let (status, script, stderr) = code(kiln_bare().args(["completions", shell]));
        assert_eq!(status, 0, "{shell}: {stderr}");
        for command in subcommands() {
            assert!(script.contains(&command), "{shell} lacks {command}");
        }
        assert!(script.contains("strategy"), "{shell} lacks route's options");
        put(dir.path(), shell, &script);
    }
    let bash = dir.path().join("bash");
    assert!(bash_completes(&bash, &["kiln", "ren"]).contains(&"render".to_string()));
    let route = bash_completes(&bash, &["kiln", "route", "--str"]);
    assert_eq!(route, ["--strategy"], "{route:?}");
    let formats = bash_completes(&bash, &["kiln", "diff", "--format", ""]);
    assert_eq!(formats, ["text", "markdown", "json"], "{formats:?}");

    let (status, _, stderr) = code(kiln_bare().args(["completions", "tcsh"]));
    assert_eq!(status, 2);
    assert!(stderr.contains("possible values"), "{stderr}");
}

/// `kiln man ARGS` rendered by groff (Debian's groff-base, which man-db needs)
/// as `man` runs it, plain text, warnings on, its words joined by one space
/// (groff justifies lines); fails on any warning.
fn man(args: &[&str]) -> String {
    let (status, page, stderr) = code(kiln_bare().arg("man").args(args));
    assert_eq!(status, 0, "{stderr}");
    let dir = tempfile::tempdir().expect("tmp");
    put(dir.path(), "page.1", &page);
    let (status, text, warnings) = code(
        Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-P-cbou"])
            .arg(dir.path().join("page.1")),
    );
    assert_eq!(status, 0, "{warnings}");
    assert!(
        warnings.is_empty(),
        "groff warns on kiln man {args:?}: {warnings}"
    );
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn man_pages_render_without_warnings_and_document_every_subcommand() {
    let kiln = man(&[]);
    for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "SUBCOMMANDS"] {
        assert!(
            kiln.contains(&format!(" {section} ")),
            "no {section} in {kiln}"
        );
    }
    for command in subcommands() {
        assert!(
            kiln.contains(&format!("kiln-{command}(1)")),
            "no {command} in {kiln}"
        );
        let page = man(&[&command]);
        assert!(page.starts_with(&format!("kiln-{command}(1)")), "{page}");
        assert!(page.contains(&format!("kiln {command}")), "{page}");
    }
    assert!(man(&["route"]).contains("--strategy"));

    let (status, _, stderr) = code(kiln_bare().args(["man", "rendr"]));
    assert_eq!(status, 2);
    assert!(stderr.contains("did you mean `render`"), "{stderr}");
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
