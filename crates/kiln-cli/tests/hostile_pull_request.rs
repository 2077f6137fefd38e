//! A pull request is hostile, round two: inputs shaped to hang every command,
//! to exhaust memory, to forge lines a CI system obeys, or to trick kiln into
//! writing through a planted symlink. Each test runs the real binary under a
//! memory ceiling and a hang guard (see `kiln_tests::guarded`) and fails on
//! the attack as it was reported before kiln withstood it.

use kiln_tests::{copy_inputs, git_commit_all, guarded, outcome, put, synthetic_repo};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

fn kiln(root: &Path) -> Command {
    let mut c = guarded(env!("CARGO_BIN_EXE_kiln"));
    c.arg("--repo").arg(root).args(["--color", "never"]);
    c
}

/// No line of `output` starts with a GitHub Actions workflow command.
fn no_forged_line(output: &str) {
    for line in output.lines() {
        assert!(
            !line.trim_start().starts_with("::"),
            "a line a CI runner would obey: {line:?}\n{output}"
        );
    }
}

/// The `gitops:` settings with `environments` (YAML lines, indented four).
fn settings(environments: &str) -> String {
    format!(
        "gitops:\n  repoURL: https://git.example.com/platform/gitops.git\n  argocd: {{}}\n  flux: {{}}\n  environments:\n{environments}"
    )
}

#[test]
fn a_lattice_of_depends_on_is_walked_once() {
    // 30 layers of two environments, each depending on both of the next:
    // 2^30 paths through the graph, in 3 KB of kiln.yaml.
    let dir = tempfile::tempdir().expect("tmp");
    let envs = synthetic_repo(dir.path(), 60);
    let mut lines = String::new();
    for (i, env) in envs.iter().enumerate() {
        let _ = writeln!(lines, "    {env}:\n      cluster: c{i}");
        let layer = i / 2;
        if layer + 1 < 30 {
            let next = [&envs[2 * layer + 2], &envs[2 * layer + 3]];
            let _ = writeln!(lines, "      dependsOn: [{}, {}]", next[0], next[1]);
        }
    }
    put(dir.path(), "kiln.yaml", &settings(&lines));
    for args in [vec!["envs"], vec!["check"], vec!["render", "--check"]] {
        let (status, stdout, stderr) = outcome(kiln(dir.path()).args(&args));
        assert!(status <= 1, "kiln {args:?}: {stdout}{stderr}");
    }
    let (status, _, stderr) = outcome(kiln(dir.path()).arg("render"));
    assert_eq!(status, 0, "{stderr}");
    // The first layer waits for all 29 below it.
    let app = std::fs::read_to_string(dir.path().join(format!(
        "out/argocd/application-portkey-gateway-{}.yaml",
        envs[0]
    )))
    .expect("the Application");
    assert!(
        app.contains("argocd.argoproj.io/sync-wave: \"29\""),
        "{app}"
    );

    // A cycle at the bottom of the same lattice is found and named.
    let last = &envs[59];
    let lines = lines.replace(
        &format!("    {last}:\n      cluster: c59\n"),
        &format!(
            "    {last}:\n      cluster: c59\n      dependsOn: [{}]\n",
            envs[0]
        ),
    );
    put(dir.path(), "kiln.yaml", &settings(&lines));
    let (status, _, stderr) = outcome(kiln(dir.path()).arg("check"));
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains("dependsOn makes a cycle"), "{stderr}");
}

#[test]
fn one_large_blob_under_thousands_of_paths_is_refused_before_it_is_read() {
    let dir = copy_inputs(false);
    let root = dir.path();
    git_commit_all(root, "inputs");
    // 3,000 paths of one 4 MiB blob: 12 GB if each were read.
    let big = "#".repeat((4 << 20) - 16) + "\nreplicas: 2\n";
    std::fs::create_dir_all(root.join("base/copies")).expect("mkdir");
    std::fs::write(root.join("base/copies/c0000.yaml"), &big).expect("write");
    for i in 1..3000 {
        std::fs::hard_link(
            root.join("base/copies/c0000.yaml"),
            root.join(format!("base/copies/c{i:04}.yaml")),
        )
        .expect("link");
    }
    git_commit_all(root, "copies");
    let (status, stdout, stderr) =
        outcome(kiln(root).args(["diff", "--base", "HEAD~1", "--head", "HEAD"]));
    assert_eq!(status, 2, "{stdout}{stderr}");
    assert!(
        stderr.contains("more than the 16.0 MiB kiln reads")
            && stderr.contains("base/copies/c0000.yaml"),
        "{stderr}"
    );
}

#[test]
fn inputs_larger_than_the_budget_together_are_refused_naming_the_largest() {
    let dir = copy_inputs(false);
    let root = dir.path();
    // Twelve strategies just under the 4 MiB a file may have.
    let strategy = format!(
        "{{\"strategy\": {{\"mode\": \"single\"}}, \"targets\": [{{\"provider\": \"openai\", \"api_key\": \"${{OPENAI_API_KEY}}\", \"custom_host\": \"https://a.example.com/{}\"}}]}}",
        "a".repeat(3_900_000)
    );
    for i in 0..12 {
        put(root, &format!("strategies/big-{i:02}.json"), &strategy);
    }
    for args in [vec!["check"], vec!["render", "--check"], vec!["envs"]] {
        let (status, stdout, stderr) = outcome(kiln(root).args(&args));
        assert_eq!(status, 2, "kiln {args:?}: {stdout}{stderr}");
        assert!(
            stderr.contains("strategies/big-00.json (3.7 MiB)")
                && stderr.contains("more than the 16.0 MiB"),
            "kiln {args:?}: {stderr}"
        );
    }
}

#[test]
fn a_thousand_colliding_environments_make_one_finding() {
    let dir = tempfile::tempdir().expect("tmp");
    let envs = synthetic_repo(dir.path(), 1000);
    // Every environment in the same namespace of one cluster, under one name.
    for env in &envs {
        put(dir.path(), &format!("overlays/{env}/overlay.yaml"), "");
    }
    put(
        dir.path(),
        "kiln.yaml",
        "gitops:\n  repoURL: https://git.example.com/platform/gitops.git\n  argocd: {}\n",
    );
    let (status, stdout, stderr) = outcome(kiln(dir.path()).arg("check"));
    assert_eq!(status, 1, "{stderr}");
    assert_eq!(
        stdout.matches("[environment-collision]").count(),
        1,
        "{}",
        &stdout[..stdout.len().min(4000)]
    );
    assert!(
        stdout.contains("1000 environments (`e00000`, `e00001`"),
        "{stdout}"
    );
    assert!(stdout.len() < 64 << 10, "{} bytes of output", stdout.len());
}

#[test]
fn text_from_a_pull_request_never_starts_a_line() {
    let dir = copy_inputs(false);
    let root = dir.path();
    // A model name with a forged workflow command, which render accepts.
    let strategy = r#"{"strategy": {"mode": "single"}, "targets": [{"provider": "openai", "api_key": "${OPENAI_API_KEY}", "override_params": {"model": "gpt-4o\n::warning::forged\u2028::error::forged\u0085::add-mask::x"}}]}"#;
    put(root, "strategies/forged.json", strategy);
    let (status, _, stderr) = outcome(kiln(root).arg("render"));
    assert_eq!(status, 0, "{stderr}");
    for args in [
        vec!["strategies"],
        vec!["route", "--strategy", "forged"],
        vec!["diff"],
    ] {
        let (_, stdout, stderr) = outcome(kiln(root).args(&args));
        no_forged_line(&format!("{stdout}{stderr}"));
    }
    // A leftover staging directory's name, in every output style.
    std::fs::create_dir_all(root.join("out/.kiln-staging-x\n::error::forged")).expect("mkdir");
    for no_graphics in ["0", "1"] {
        let (status, stdout, stderr) = outcome(
            kiln(root)
                .args(["render", "--check"])
                .env("NO_GRAPHICS", no_graphics),
        );
        assert_eq!(status, 1, "{stdout}{stderr}");
        no_forged_line(&format!("{stdout}{stderr}"));
    }
    // A file name under a checked directory, with an error in the file.
    let manifests = tempfile::tempdir().expect("tmp");
    put(manifests.path(), "a\n::error::forged.yaml", "kind: [\n");
    for no_graphics in ["0", "1"] {
        let (status, stdout, stderr) = outcome(
            guarded(env!("CARGO_BIN_EXE_kiln"))
                .arg("check")
                .arg(manifests.path())
                .env("NO_GRAPHICS", no_graphics),
        );
        assert_eq!(status, 2, "{stdout}{stderr}");
        no_forged_line(&format!("{stdout}{stderr}"));
    }
}

#[test]
fn bidirectional_controls_are_escaped_in_every_diff_format() {
    let dir = copy_inputs(false);
    let root = dir.path();
    let (status, _, stderr) = outcome(kiln(root).arg("render"));
    assert_eq!(status, 0, "{stderr}");
    // A model name that reorders what a reviewer sees.
    let strategy = r#"{"strategy": {"mode": "single"}, "targets": [{"provider": "openai", "api_key": "${OPENAI_API_KEY}", "override_params": {"model": "a\u202eevil\u2066"}}]}"#;
    put(root, "strategies/bidi.json", strategy);
    for format in ["text", "markdown", "json"] {
        let (status, stdout, stderr) = outcome(kiln(root).args(["diff", "--format", format]));
        assert!(status <= 1, "{stderr}");
        assert!(
            !stdout.contains('\u{202e}') && !stdout.contains('\u{2066}'),
            "--format {format}: {stdout}"
        );
        assert!(
            stdout.contains("202e"),
            "--format {format} shows the escape: {stdout}"
        );
    }
}

#[test]
fn an_import_report_never_follows_a_planted_symlink() {
    let dir = copy_inputs(false);
    let root = dir.path();
    let victim = tempfile::NamedTempFile::new().expect("tmp");
    std::fs::write(victim.path(), "precious").expect("write");
    std::os::unix::fs::symlink(victim.path(), root.join("report.md")).expect("symlink");
    let tree = kiln_tests::repo_root().join("tests/fixtures/import/homelab-guide");
    for dry_run in [true, false] {
        let mut c = kiln(root);
        c.args(["import", "kustomize"])
            .arg(&tree)
            .args(["--env", "imported", "--into"])
            .arg(root)
            .arg("--report")
            .arg(root.join("report.md"));
        if dry_run {
            c.arg("--dry-run");
        }
        let (status, stdout, stderr) = outcome(&mut c);
        assert_eq!(status, 2, "{stdout}{stderr}");
        assert!(
            stderr.contains("report.md") && stderr.contains("symlink"),
            "{stderr}"
        );
        assert_eq!(
            std::fs::read_to_string(victim.path()).expect("read"),
            "precious"
        );
    }
}

#[test]
fn check_names_every_symlink_it_skips() {
    let dir = tempfile::tempdir().expect("tmp");
    let elsewhere = tempfile::tempdir().expect("tmp");
    put(
        elsewhere.path(),
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: c\n      image: busybox:1.36\n      securityContext: {privileged: true}\n",
    );
    put(
        dir.path(),
        "ok.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: n}\n",
    );
    std::os::unix::fs::symlink(
        elsewhere.path().join("pod.yaml"),
        dir.path().join("pod.yaml"),
    )
    .expect("symlink");
    let (_, stdout, stderr) = outcome(
        guarded(env!("CARGO_BIN_EXE_kiln"))
            .arg("check")
            .arg(dir.path()),
    );
    assert!(
        stderr.contains("pod.yaml: a symlink, not followed and not checked"),
        "{stdout}{stderr}"
    );
}

#[test]
fn an_enormous_context_is_refused_not_a_panic() {
    let dir = copy_inputs(false);
    let (status, _, stderr) = outcome(kiln(dir.path()).args(["diff", "-U", "2147483648"]));
    assert_eq!(status, 2, "{stderr}");
    assert!(
        stderr.contains("--context") && stderr.contains("0..=100000"),
        "{stderr}"
    );
    let (status, _, stderr) = outcome(kiln(dir.path()).args(["diff", "-U", "100000"]));
    assert!(status <= 1, "{stderr}");
}

#[test]
fn line_breaks_that_reviewers_do_not_see_are_refused_where_they_are() {
    for (name, hidden) in [
        ("NEL", "\u{85}"),
        ("line separator", "\u{2028}"),
        ("paragraph separator", "\u{2029}"),
        ("lone carriage return", "\r"),
    ] {
        let dir = copy_inputs(false);
        let root = dir.path();
        // What GitHub shows as one comment line; a YAML 1.1 reader sees a key.
        kiln_tests::edit(
            root,
            "overlays/dev/overlay.yaml",
            "  replicas: 1\n",
            &format!("  replicas: 1\n  # scale later{hidden}  logLevel: info\n"),
        );
        let (status, stdout, stderr) = outcome(kiln(root).arg("render"));
        assert_eq!(status, 2, "{name}: {stdout}{stderr}");
        assert!(
            stderr.contains("overlays/dev/overlay.yaml:8:16")
                && stderr.contains("git and GitHub do not show")
                && stderr.contains("at /set/replicas"),
            "{name}: {stderr}"
        );
    }
}

#[test]
fn credentials_are_masked_in_every_snippet() {
    let key = "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789";
    let dir = copy_inputs(false);
    let root = dir.path();
    // A strategy with a literal key, and a syntax error on the key's line.
    let strategy = format!(
        "{{\"strategy\": {{\"mode\": \"single\"}}, \"targets\": [{{\"provider\": \"anthropic\", \"api_key\": \"{key}\"}}]}}"
    );
    put(root, "strategies/leak.json", &strategy);
    put(
        root,
        "strategies/broken.json",
        &format!("{{\"api_key\": \"{key}\",,}}"),
    );
    for no_graphics in ["0", "1"] {
        for args in [vec!["check"], vec!["strategies"], vec!["render"]] {
            let (status, stdout, stderr) =
                outcome(kiln(root).args(&args).env("NO_GRAPHICS", no_graphics));
            assert_ne!(status, 0, "{args:?}: {stdout}{stderr}");
            assert!(
                !format!("{stdout}{stderr}").contains("AbCdEfGhIjKl"),
                "{args:?}: {stdout}{stderr}"
            );
        }
        std::fs::remove_file(root.join("strategies/broken.json")).ok();
    }
    // A hand-written Secret with a duplicate key: its values stay unprinted.
    let manifests = tempfile::tempdir().expect("tmp");
    put(
        manifests.path(),
        "secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n  password: correct-horse-battery\n  password: correct-horse-battery\n",
    );
    let (status, stdout, stderr) = outcome(
        guarded(env!("CARGO_BIN_EXE_kiln"))
            .arg("check")
            .arg(manifests.path()),
    );
    assert_eq!(status, 2, "{stdout}{stderr}");
    assert!(stderr.contains("secret.yaml"), "{stderr}");
    assert!(
        !format!("{stdout}{stderr}").contains("correct-horse"),
        "{stdout}{stderr}"
    );
}

#[test]
fn a_pattern_that_backtracks_catastrophically_is_refused_before_it_runs() {
    let dir = copy_inputs(false);
    let root = dir.path();
    let strategy = r#"{"strategy": {"mode": "conditional", "conditions": [{"query": {"metadata.user": {"$regex": "^(a|aa)+$"}}, "then": "a"}], "default": "a"},
        "targets": [{"name": "a", "provider": "openai", "api_key": "${OPENAI_API_KEY}"}]}"#;
    put(root, "strategies/slow.json", strategy);
    let (status, _, stderr) = outcome(kiln(root).arg("render"));
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains("exponential time"), "{stderr}");
    // 40 characters took kiln route 51 s when the pattern was accepted.
    let value = format!("user={}!", "a".repeat(40));
    let (status, stdout, stderr) =
        outcome(kiln(root).args(["route", "--strategy", "slow", "--metadata", &value]));
    assert_eq!(status, 2, "{stdout}{stderr}");
    assert!(stderr.contains("exponential time"), "{stderr}");
}

#[test]
fn a_stale_environment_swapped_for_a_symlink_mid_render_never_leads_outside_out() {
    let dir = copy_inputs(false);
    let root = dir.path();
    let (status, _, stderr) = outcome(kiln(root).arg("render"));
    assert_eq!(status, 0, "{stderr}");
    // A victim outside out/ with the very names kiln would prune.
    let victim = tempfile::tempdir().expect("tmp");
    let names: Vec<String> = std::fs::read_dir(root.join("out/homelab"))
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    for name in &names {
        std::fs::write(victim.path().join(name), "precious").expect("write");
    }
    let out = root.join("out");
    for round in 0..10 {
        // out/gone: an environment that no longer exists, so render prunes it.
        kiln_tests::copy_tree(&out.join("homelab"), &out.join("gone"), false);
        let _ = std::fs::remove_file(out.join(".link"));
        std::os::unix::fs::symlink(victim.path(), out.join(".link")).expect("symlink");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let swapper = {
            let (stop, out) = (stop.clone(), out.clone());
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    // The real directory and the symlink trade places, over and over.
                    let _ = std::fs::rename(out.join("gone"), out.join(".real"));
                    let _ = std::fs::rename(out.join(".link"), out.join("gone"));
                    std::thread::yield_now();
                    let _ = std::fs::rename(out.join("gone"), out.join(".link"));
                    let _ = std::fs::rename(out.join(".real"), out.join("gone"));
                }
            })
        };
        let (status, stdout, stderr) = outcome(kiln(root).arg("render"));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        swapper.join().expect("swapper");
        assert!(
            status == 0 || status == 2,
            "round {round}: {stdout}{stderr}"
        );
        for name in &names {
            let kept = std::fs::read_to_string(victim.path().join(name));
            assert_eq!(
                kept.ok().as_deref(),
                Some("precious"),
                "round {round}: {name}"
            );
        }
        for leftover in ["gone", ".real", ".link"] {
            let path = out.join(leftover);
            match std::fs::symlink_metadata(&path) {
                Ok(m) if m.is_dir() => std::fs::remove_dir_all(&path).expect("clean"),
                Ok(_) => std::fs::remove_file(&path).expect("clean"),
                Err(_) => {}
            }
        }
    }
}

#[test]
fn a_deep_foreign_tree_in_out_is_refused_and_a_shallow_one_carried_over() {
    let dir = copy_inputs(false);
    let root = dir.path();
    let (status, _, stderr) = outcome(kiln(root).arg("render"));
    assert_eq!(status, 0, "{stderr}");
    let file = root.join("out/homelab/service-portkey-gateway.yaml");
    let edited = || {
        let text = std::fs::read_to_string(&file).expect("read");
        std::fs::write(&file, format!("{text}# edited\n")).expect("write");
    };
    // 1,500 levels: quadratic work (and a handle per level) if walked naively.
    let deep: std::path::PathBuf = std::iter::repeat_n("d", 1500).collect();
    std::fs::create_dir_all(root.join("out/homelab/notes").join(&deep)).expect("mkdir");
    edited();
    let (status, _, stderr) = outcome(kiln(root).arg("render"));
    assert_eq!(status, 2, "{stderr}");
    assert!(
        stderr.contains("out/homelab/notes") && stderr.contains("64 directories deep"),
        "{stderr}"
    );
    std::fs::remove_dir_all(root.join("out/homelab/notes")).expect("clean");
    // Ten levels with a file at the bottom come through the render intact.
    let shallow: std::path::PathBuf = std::iter::repeat_n("d", 10).collect();
    put(
        root,
        &format!("out/homelab/notes/{}/keep.txt", shallow.display()),
        "mine",
    );
    edited();
    let (status, _, stderr) = outcome(kiln(root).arg("render"));
    assert_eq!(status, 0, "{stderr}");
    let kept = root
        .join("out/homelab/notes")
        .join(&shallow)
        .join("keep.txt");
    assert_eq!(std::fs::read_to_string(kept).expect("kept"), "mine");
    assert!(
        !std::fs::read_to_string(&file)
            .expect("read")
            .contains("# edited")
    );
}

#[test]
fn an_imported_tree_reaches_no_network_unless_asked() {
    let tree = tempfile::tempdir().expect("tmp");
    kiln_tests::copy_tree(
        &kiln_tests::repo_root().join("tests/fixtures/import/homelab-guide"),
        tree.path(),
        false,
    );
    // A remote base and a remote file, as kustomize trees name them.
    let kustomization = tree.path().join("kustomization.yaml");
    let text = std::fs::read_to_string(&kustomization).expect("read");
    let text = text.replacen(
        "resources:\n",
        "resources:\n  - https://raw.example.com/platform/extra.yaml\n  - github.com/example/bases//gateway?ref=v1\n",
        1,
    );
    std::fs::write(&kustomization, text).expect("write");
    let into = tempfile::tempdir().expect("tmp");
    let (status, stdout, stderr) = outcome(
        guarded(env!("CARGO_BIN_EXE_kiln"))
            .args(["import", "kustomize"])
            .arg(tree.path())
            .arg("--into")
            .arg(into.path().join("repo")),
    );
    assert_eq!(status, 2, "{stdout}{stderr}");
    assert!(stderr.contains("network off"), "progress first: {stderr}");
    assert!(stderr.contains("--allow-remote"), "{stderr}");
    assert!(!into.path().join("repo").exists(), "nothing written");
}

#[test]
fn credentials_inside_any_string_are_found_and_never_printed() {
    let dir = tempfile::tempdir().expect("tmp");
    let secrets = [
        "postgres://app:s3cr3t-Pa55word@db.internal:5432/app",
        "token sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789 for the batch job",
        "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
    ];
    let manifest = format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  annotations:\n    a: {:?}\n    b: {:?}\n    c: {:?}\n    d: {:?}\nspec:\n  ports: [{{port: 80}}]\n",
        secrets[0], secrets[1], secrets[2], secrets[3]
    );
    put(dir.path(), "service.yaml", &manifest);
    for (format, each) in [
        ("text", "[literal-credential]"),
        ("json", "\"literal-credential\""),
        ("sarif", "\"ruleId\": \"literal-credential\""),
    ] {
        let (status, stdout, stderr) = outcome(
            guarded(env!("CARGO_BIN_EXE_kiln"))
                .args(["check", "--format", format])
                .arg(dir.path()),
        );
        assert_eq!(status, 1, "{stdout}{stderr}");
        assert_eq!(
            stdout.matches(each).count(),
            4,
            "--format {format}: {stdout}"
        );
        for secret in ["s3cr3t", "AbCdEfGhIjKl", "XXXXXXXXXXXX", "c2lnbmF0dXJl"] {
            assert!(
                !stdout.contains(secret) && !stderr.contains(secret),
                "{secret}: {stdout}"
            );
        }
    }
    // An overlay that adds one to what kiln renders is refused.
    let repo = copy_inputs(false);
    kiln_tests::edit(
        repo.path(),
        "overlays/dev/overlay.yaml",
        "labels: { environment: dev }",
        &format!(
            "labels: {{ environment: dev }}\ncommonAnnotations: {{ alerts: {:?} }}",
            secrets[2]
        ),
    );
    let (status, stdout, stderr) = outcome(kiln(repo.path()).arg("render"));
    assert_eq!(status, 2, "{stdout}{stderr}");
    assert!(
        stderr.contains("literal-credential") && !stderr.contains("XXXXXXXXXXXX"),
        "{stderr}"
    );
}
