//! A stranger's first day, end to end, in a temporary directory with nothing
//! beside it: kiln installed from this clone (offline, into a root of its
//! own), then only that binary on PATH: `kiln init` with an https and an scp
//! URL, `make render`, `make check` and `make diff` in each new repository,
//! and an ordinary kustomize tree (an Ingress, no startup probe, a
//! memory-only limit, a templated v1beta1 ExternalSecret, a Service on port
//! 80) imported, rendered and checked.

use kiln_tests::{git, git_commit_all, repo_root, run};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where cargo builds this workspace (the installed kiln reuses it: no rebuild).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"))
}

fn ok(what: &str, (ok, stdout, stderr): (bool, String, String)) -> String {
    assert!(ok, "{what}:\n{stdout}\n{stderr}");
    format!("{stdout}{stderr}")
}

#[test]
fn a_stranger_installs_inits_renders_checks_diffs_and_imports() {
    let alone = tempfile::tempdir().expect("tmp");
    let root = alone.path().join("kiln-root");
    ok(
        "cargo install",
        run(Command::new(env!("CARGO"))
            .args([
                "install",
                "--offline",
                "--locked",
                "--debug",
                "--quiet",
                "--path",
            ])
            .arg(repo_root().join("crates/kiln-cli"))
            .arg("--root")
            .arg(&root)
            .env("CARGO_TARGET_DIR", target_dir())),
    );
    let path = format!(
        "{}:/usr/local/bin:/usr/bin:/bin",
        root.join("bin").display()
    );
    let in_dir = |dir: &Path, program: &str| {
        let mut c = Command::new(program);
        c.current_dir(dir)
            .env("PATH", &path)
            .env_remove("KILN")
            .env_remove("MAKEFLAGS");
        c
    };
    for (name, url, engine) in [
        (
            "over-https",
            "https://git.example.com/platform/gitops.git",
            "argocd",
        ),
        ("over-ssh", "git@github.com:me/gitops.git", "flux"),
    ] {
        ok(
            "kiln init",
            run(in_dir(alone.path(), "kiln").args([
                "init",
                name,
                "--repo-url",
                url,
                "--engine",
                engine,
                "--kiln-git",
                "https://git.example.com/tools/kiln.git",
            ])),
        );
        let repo = alone.path().join(name);
        ok("make render", run(in_dir(&repo, "make").arg("render")));
        let checked = ok("make check", run(in_dir(&repo, "make").arg("check")));
        assert!(checked.contains("0 errors"), "{checked}");
        git(&repo, &["init", "-q", "-b", "main"]);
        git_commit_all(&repo, "first");
        ok(
            "make diff",
            run(in_dir(&repo, "make").args(["diff", "BASE=main"])),
        );
        assert!(
            repo.join(format!("out/{engine}/kustomization.yaml"))
                .is_file()
        );
    }

    let tree = repo_root().join("tests/fixtures/import/ordinary");
    let report = ok(
        "kiln import kustomize",
        run(in_dir(alone.path(), "kiln")
            .args(["import", "kustomize"])
            .arg(&tree)
            .args(["--into", "imported"])),
    );
    // Breaking changes come first: the immutable selector and the API version.
    let first = report.find("Differences: ").expect("differences");
    assert!(
        report[first..].starts_with("Differences: BREAKING"),
        "{report}"
    );
    assert!(
        report.contains("spec.selector is immutable")
            && report.contains("external-secrets.io/v1beta1"),
        "{report}"
    );
    // The Ingress stays beside kiln's output, and the Service keeps port 80 for it.
    assert!(
        report.contains("Ingress/portkey: kiln renders no Ingress"),
        "{report}"
    );
    let imported = alone.path().join("imported");
    ok("kiln render", run(in_dir(&imported, "kiln").arg("render")));
    let checked = ok("kiln check", run(in_dir(&imported, "kiln").arg("check")));
    assert!(checked.contains("0 errors"), "{checked}");
    let service = std::fs::read_to_string(imported.join("out/imported/service-portkey.yaml"))
        .expect("Service");
    assert!(service.contains("port: 80\n"), "{service}");
    // The templated Secret's store keys become the description's; the
    // open-source gateway's pods read none, so nothing syncs them yet.
    let base = std::fs::read_to_string(imported.join("base/service.yaml")).expect("base");
    assert!(
        base.contains("remoteKey: ai/openai") && base.contains("property: api-key"),
        "the templated Secret's store keys: {base}"
    );
    assert!(
        !imported
            .join("out/imported/externalsecret-portkey-provider-keys.yaml")
            .exists()
    );
    let deployment = std::fs::read_to_string(imported.join("out/imported/deployment-portkey.yaml"))
        .expect("Deployment");
    assert!(
        deployment.contains("startupProbe:"),
        "kiln adds the startup probe"
    );
}
