//! A new user's first day, with the built binary in a temporary directory:
//! init a repository (every URL form, every engine), render and check it,
//! install kiln the way the generated Makefile does, then make the mistakes a
//! newcomer makes and read what kiln says about them.

use kiln_tests::{edit, git, git_commit_all, run};
use std::path::{Path, PathBuf};
use std::process::Command;

fn kiln(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kiln"));
    c.current_dir(dir).arg("--color").arg("never");
    c
}

/// Exit code, stdout, stderr.
fn code(c: &mut Command) -> (i32, String, String) {
    let out = c.output().expect("kiln runs");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `kiln init <tmp>/gitops` with `args`; the repository's path.
fn init(tmp: &Path, args: &[&str]) -> PathBuf {
    let repo = tmp.join("gitops");
    let (status, _, stderr) = code(kiln(tmp).arg("init").arg(&repo).args(args));
    assert_eq!(status, 0, "kiln init {args:?}: {stderr}");
    repo
}

/// Every file under `dir`, sorted, with its bytes.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push((path.clone(), std::fs::read(&path).expect("read")));
        }
    }
    out.sort();
    out
}

#[test]
fn every_url_form_and_engine_init_accepts_renders_and_passes_check() {
    let urls = [
        "https://github.com/me/gitops.git",
        "http://git.internal:3000/platform/gitops",
        "ssh://git@git.example.com:2222/platform/gitops.git",
        "git@github.com:me/gitops.git",
        "git@gitlab.example.com:group/sub/gitops.git",
    ];
    let engines: [&[&str]; 3] = [
        &["--engine", "argocd"],
        &["--engine", "flux"],
        &["--engine", "argocd", "--engine", "flux"],
    ];
    for url in urls {
        for engine in engines {
            let tmp = tempfile::tempdir().expect("tmp");
            let mut args = vec!["--repo-url", url];
            args.extend(engine);
            let repo = init(tmp.path(), &args);
            let (status, _, stderr) = code(kiln(&repo).arg("render"));
            assert_eq!(status, 0, "{url} {engine:?}: {stderr}");
            let (status, stdout, _) = code(kiln(&repo).arg("check"));
            assert_eq!(status, 0, "{url} {engine:?}: {stdout}");
            let flux = repo.join("out/flux/gitrepository-gitops.yaml");
            assert_eq!(flux.is_file(), engine.contains(&"flux"), "{url} {engine:?}");
            if let Ok(text) = std::fs::read_to_string(&flux) {
                let expected = match url.strip_prefix("git@") {
                    // Flux takes only http(s) and ssh URLs: the scp form becomes ssh://.
                    Some(rest) => format!("ssh://git@{}", rest.replacen(':', "/", 1)),
                    None => url.to_string(),
                };
                assert!(text.contains(&format!("url: {expected}\n")), "{text}");
            }
        }
    }
}

#[test]
fn dev_and_prod_of_a_new_repository_can_share_a_cluster_and_a_collision_is_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let repo = init(
        tmp.path(),
        &["--repo-url", "https://github.com/me/gitops.git"],
    );
    let (status, _, stderr) = code(kiln(&repo).arg("render"));
    assert_eq!(status, 0, "{stderr}");
    assert!(repo.join("out/dev/namespace-portkey-dev.yaml").is_file());
    assert!(repo.join("out/prod/namespace-portkey-prod.yaml").is_file());
    let readme = std::fs::read_to_string(repo.join("README.md")).expect("README");
    assert!(readme.contains("own namespaces"), "{readme}");

    // prod moved into dev's namespace: both Applications would own its objects.
    let before = files(&repo.join("out"));
    edit(
        &repo,
        "overlays/prod/overlay.yaml",
        "portkey-prod",
        "portkey-dev",
    );
    let (status, _, stderr) = code(kiln(&repo).arg("render"));
    assert_eq!(status, 2, "{stderr}");
    assert!(
        stderr.contains("overlays/prod/overlay.yaml")
            && stderr.contains("[environment-collision]")
            && stderr.contains("environments `dev` and `prod`"),
        "{stderr}"
    );
    assert_eq!(files(&repo.join("out")), before, "nothing written");
    let (status, stdout, _) = code(kiln(&repo).args(["check", "."]));
    assert_eq!(status, 1, "{stdout}");
    assert!(stdout.contains("environment-collision"), "{stdout}");

    // Its own cluster makes the same namespace fine.
    edit(
        &repo,
        "kiln.yaml",
        "  revision: main\n",
        "  revision: main\n  environments:\n    prod: { cluster: https://prod.example.com }\n",
    );
    let (status, _, stderr) = code(kiln(&repo).arg("render"));
    assert_eq!(status, 0, "{stderr}");
}

/// A directory holding only `kiln` (a link to `target`), and a PATH of it
/// and the system's directories: what a user has after installing kiln.
fn path_with_kiln(dir: &Path, target: &Path) -> String {
    std::fs::create_dir_all(dir).expect("mkdir");
    std::os::unix::fs::symlink(target, dir.join("kiln")).expect("symlink");
    format!("{}:/usr/local/bin:/usr/bin:/bin", dir.display())
}

fn make(repo: &Path, path: &str, args: &[&str]) -> (bool, String, String) {
    run(Command::new("make")
        .arg("-C")
        .arg(repo)
        .args(args)
        .env("PATH", path)
        .env_remove("KILN")
        .env_remove("MAKEFLAGS"))
}

#[test]
fn the_generated_makefile_runs_the_kiln_on_path_and_says_when_it_is_too_old() {
    let tmp = tempfile::tempdir().expect("tmp");
    let version = env!("CARGO_PKG_VERSION");
    let repo = init(
        tmp.path(),
        &["--kiln-git", "https://git.example.com/tools/kiln.git"],
    );
    let makefile = std::fs::read_to_string(repo.join("Makefile")).expect("Makefile");
    assert!(
        makefile.contains(&format!("KILN_VERSION := {version}\n"))
            && makefile.contains("KILN_GIT := https://git.example.com/tools/kiln.git\n")
            && makefile.contains("KILN ?= kiln\n"),
        "{makefile}"
    );
    // Only the kiln under test on PATH: render, check and diff work.
    let path = path_with_kiln(
        &tmp.path().join("bin"),
        Path::new(env!("CARGO_BIN_EXE_kiln")),
    );
    for target in [&["render"][..], &["check"]] {
        let (ok, stdout, stderr) = make(&repo, &path, target);
        assert!(ok, "make {target:?}: {stdout}{stderr}");
    }
    assert!(repo.join("out/dev/kustomization.yaml").is_file());
    git(&repo, &["init", "-q", "-b", "main"]);
    git_commit_all(&repo, "first");
    let (ok, stdout, stderr) = make(&repo, &path, &["diff", "BASE=main"]);
    assert!(ok, "make diff: {stdout}{stderr}");

    // An older kiln is refused with what to do.
    let old = tmp.path().join("old-kiln.sh");
    std::fs::write(&old, "#!/bin/sh\necho 'kiln 0.0.1'\n").expect("write");
    run(Command::new("chmod").arg("+x").arg(&old));
    let old_path = path_with_kiln(&tmp.path().join("old-bin"), &old);
    let (ok, _, stderr) = make(&repo, &old_path, &["render"]);
    assert!(
        !ok && stderr.contains(&format!("kiln 0.0.1 is older than the {version}")),
        "{stderr}"
    );
    // No kiln at all.
    let (ok, _, stderr) = make(&repo, "/usr/bin:/bin", &["render"]);
    assert!(!ok && stderr.contains("kiln is not installed"), "{stderr}");

    // make install-kiln builds the pinned version from KILN_GIT: a stand-in
    // for kiln's source, tagged like a release, whose `kiln` runs this one.
    let source = tmp.path().join("kiln-source");
    std::fs::create_dir_all(source.join("src")).expect("mkdir");
    std::fs::write(
        source.join("Cargo.toml"),
        format!(
            "[package]\nname = \"kiln-cli\"\nversion = \"{version}\"\nedition = \"2021\"\n\n[[bin]]\nname = \"kiln\"\npath = \"src/main.rs\"\n"
        ),
    )
    .expect("write");
    std::fs::write(
        source.join("src/main.rs"),
        format!(
            "fn main() {{ let s = std::process::Command::new({:?}).args(std::env::args_os().skip(1)).status().unwrap(); std::process::exit(s.code().unwrap_or(2)); }}\n",
            env!("CARGO_BIN_EXE_kiln")
        ),
    )
    .expect("write");
    std::fs::write(
        source.join("Cargo.lock"),
        format!("version = 4\n\n[[package]]\nname = \"kiln-cli\"\nversion = \"{version}\"\n"),
    )
    .expect("write");
    git_commit_all(&source, "release");
    git(&source, &["tag", &format!("v{version}")]);
    let root = tmp.path().join("installed");
    let (ok, stdout, stderr) = run(Command::new("make")
        .arg("-C")
        .arg(&repo)
        .arg("install-kiln")
        .arg(format!("KILN_GIT=file://{}", source.display()))
        .env("CARGO_INSTALL_ROOT", &root));
    assert!(ok, "make install-kiln: {stdout}{stderr}");
    let installed = format!("{}:/usr/bin:/bin", root.join("bin").display());
    let (ok, stdout, stderr) = make(&repo, &installed, &["check"]);
    assert!(ok, "make check with the installed kiln: {stdout}{stderr}");
}

#[test]
fn the_generated_workflows_never_run_what_a_pull_request_can_change() {
    let tmp = tempfile::tempdir().expect("tmp");
    let repo = init(
        tmp.path(),
        &["--kiln-git", "https://git.example.com/tools/kiln.git"],
    );
    let read = |name: &str| -> (String, serde_yaml::Value) {
        let text = std::fs::read_to_string(repo.join(".github/workflows").join(name)).expect(name);
        let yaml = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        (text, yaml)
    };
    let (check, yaml) = read("kiln.yml");
    // Read-only, and kiln from the default branch's Makefile, never the pull request's.
    assert_eq!(yaml["permissions"]["contents"], "read", "{check}");
    assert!(
        yaml["permissions"].get("pull-requests").is_none(),
        "{check}"
    );
    assert!(
        check.contains("ref: ${{ github.event.pull_request.base.sha }}")
            && check.contains("sed -n 's/^KILN_GIT := *//p' trusted/Makefile")
            && !check.contains("make ")
            && !check.contains("--path"),
        "{check}"
    );
    assert!(
        check.contains("kiln --repo pr render --check") && check.contains("upload-artifact"),
        "{check}"
    );
    let (comment, yaml) = read("kiln-comment.yml");
    assert!(
        yaml["on"]["workflow_run"]["workflows"][0] == "kiln",
        "{comment}"
    );
    assert!(
        comment.contains("pr.head.sha !== context.payload.workflow_run.head_sha")
            && comment.contains("c.user.login === 'github-actions[bot]'")
            && comment.contains(kiln::diff::COMMENT_MARKER),
        "{comment}"
    );

    // Without a source, init says what to set and the workflow would say it too.
    let other = tempfile::tempdir().expect("tmp");
    let (status, _, stderr) = code(kiln(other.path()).arg("init").arg("gitops"));
    assert_eq!(status, 0, "{stderr}");
    assert!(stderr.contains("set KILN_GIT in the Makefile"), "{stderr}");
    let makefile = std::fs::read_to_string(other.path().join("gitops/Makefile")).expect("Makefile");
    assert!(makefile.contains("KILN_GIT := \n"), "{makefile}");
    let (ok, _, stderr) = make(
        &other.path().join("gitops"),
        "/usr/bin:/bin",
        &["install-kiln"],
    );
    assert!(!ok && stderr.contains("KILN_GIT is empty"), "{stderr}");
    // A source with a password is refused before anything is written.
    let (status, _, stderr) = code(kiln(other.path()).args([
        "init",
        "leaky",
        "--kiln-git",
        "https://me:hunter2@git.example.com/kiln.git",
    ]));
    assert_eq!(status, 2, "{stderr}");
    assert!(
        stderr.contains("credentials") && !stderr.contains("hunter2"),
        "{stderr}"
    );
    assert!(!other.path().join("leaky").exists());
}

#[test]
fn a_newcomers_mistakes_get_errors_that_point_home() {
    let tmp = tempfile::tempdir().expect("tmp");
    let repo = init(tmp.path(), &[]);
    let (status, _, stderr) = code(kiln(&repo).arg("render"));
    assert_eq!(status, 0, "{stderr}");
    let before = files(&repo.join("out"));
    let render = || code(kiln(&repo).arg("render"));

    // Two broken overlays: both reported, each with its line, in user words.
    edit(
        &repo,
        "overlays/dev/overlay.yaml",
        "replicas: 1",
        "replicas: one",
    );
    edit(
        &repo,
        "overlays/prod/overlay.yaml",
        "replicas: 3",
        "replicas: 3\n  port: 99999",
    );
    let (status, _, stderr) = render();
    assert_eq!(status, 2, "{stderr}");
    for expected in [
        "2 errors",
        "overlays/dev/overlay.yaml:5:3",
        "expected a whole number",
        "overlays/prod/overlay.yaml:6:3",
        "from 0 to 65535",
    ] {
        assert!(stderr.contains(expected), "{expected}: {stderr}");
    }
    for rust in ["i32", "u16", "struct "] {
        assert!(!stderr.contains(rust), "{rust}: {stderr}");
    }
    edit(
        &repo,
        "overlays/dev/overlay.yaml",
        "replicas: one",
        "replicas: 1",
    );
    edit(&repo, "overlays/prod/overlay.yaml", "\n  port: 99999", "");

    // A password in config: and a budget one replica cannot meet, refused at
    // the lines that set them, not at out/ files that were never written.
    edit(
        &repo,
        "base/service.yaml",
        "logLevel: info\n",
        "logLevel: info\nconfig:\n  DB_PASSWORD: hunter2\n",
    );
    edit(
        &repo,
        "overlays/dev/overlay.yaml",
        "replicas: 1\n",
        "replicas: 1\n  podDisruptionBudget: { minAvailable: 1 }\n",
    );
    let (status, _, stderr) = render();
    assert_eq!(status, 2, "{stderr}");
    let base_line = std::fs::read_to_string(repo.join("base/service.yaml"))
        .expect("base")
        .lines()
        .position(|l| l.contains("DB_PASSWORD"))
        .expect("line")
        + 1;
    for expected in [
        format!("base/service.yaml:{base_line} ConfigMap"),
        "[literal-credential]".to_string(),
        "overlays/dev/overlay.yaml:6 PodDisruptionBudget".to_string(),
        "[pdb-drain]".to_string(),
        "not written".to_string(),
    ] {
        assert!(stderr.contains(&expected), "{expected}: {stderr}");
    }
    assert!(
        !stderr.contains("hunter2"),
        "a secret value is never printed"
    );
    assert_eq!(files(&repo.join("out")), before, "nothing written");

    // A misspelt strategy gets a suggestion.
    let (status, _, stderr) = code(kiln(&repo).args(["route", "-s", "fallbak"]));
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains("did you mean `fallback`?"), "{stderr}");
}

#[test]
fn sarif_of_a_repository_given_by_absolute_path_has_relative_uris() {
    let tmp = tempfile::tempdir().expect("tmp");
    let repo = init(tmp.path(), &[]);
    edit(
        &repo,
        "base/service.yaml",
        "logLevel: info\n",
        "logLevel: info\nconfig:\n  DB_PASSWORD: hunter2\n",
    );
    let (status, stdout, _) = code(
        kiln(tmp.path())
            .args(["check", "--format", "sarif"])
            .arg(&repo),
    );
    assert_eq!(status, 1, "{stdout}");
    let log: serde_json::Value = serde_json::from_str(&stdout).expect("SARIF is JSON");
    let run = &log["runs"][0];
    let base = run["originalUriBaseIds"]["SRCROOT"]["uri"]
        .as_str()
        .expect("SRCROOT");
    assert!(
        base.starts_with("file:///") && base.ends_with('/'),
        "{base}"
    );
    let results = run["results"].as_array().expect("results");
    assert!(!results.is_empty());
    for r in results {
        let location = &r["locations"][0]["physicalLocation"]["artifactLocation"];
        let uri = location["uri"].as_str().expect("uri");
        assert!(uri.starts_with("gitops/out/"), "{uri}");
        assert_eq!(location["uriBaseId"], "SRCROOT");
    }
}

#[test]
fn credentials_never_reach_the_repository() {
    let tmp = tempfile::tempdir().expect("tmp");
    let token = "glpat-AbCdEfGhIjKlMnOpQrSt";
    let url = format!("https://oauth2:{token}@gitlab.example.com/platform/gitops.git");
    let (status, _, stderr) = code(kiln(tmp.path()).args(["init", "leaky", "--repo-url", &url]));
    assert_eq!(status, 2, "{stderr}");
    assert!(
        stderr.contains("credentials") && stderr.contains("argocd.argoproj.io/secret-type"),
        "{stderr}"
    );
    assert!(!stderr.contains(token), "{stderr}");
    assert!(!tmp.path().join("leaky").exists());
    // Written into kiln.yaml by hand, it is refused there, the line masked.
    let repo = init(
        tmp.path(),
        &[
            "--repo-url",
            "https://gitlab.example.com/platform/gitops.git",
        ],
    );
    edit(
        &repo,
        "kiln.yaml",
        "https://gitlab.example.com",
        &format!("https://oauth2:{token}@gitlab.example.com"),
    );
    let (status, _, stderr) = code(kiln(&repo).arg("render"));
    assert_eq!(status, 2, "{stderr}");
    assert!(
        !stderr.contains(token) && stderr.contains("kiln.yaml"),
        "{stderr}"
    );
    // Flux over ssh gets the Secret with its key; without one, kiln.yaml is refused.
    std::fs::create_dir_all(tmp.path().join("ssh")).expect("mkdir");
    let ssh = init(
        &tmp.path().join("ssh"),
        &[
            "--repo-url",
            "git@github.com:me/gitops.git",
            "--engine",
            "flux",
        ],
    );
    let (status, _, stderr) = code(kiln(&ssh).arg("render"));
    assert_eq!(status, 0, "{stderr}");
    let source = std::fs::read_to_string(ssh.join("out/flux/gitrepository-gitops.yaml"))
        .expect("GitRepository");
    assert!(
        source.contains("secretRef:\n    name: flux-system")
            && source.contains("url: ssh://git@github.com/me/gitops.git"),
        "{source}"
    );
    edit(
        &ssh,
        "kiln.yaml",
        "    secretRef: flux-system\n",
        "    interval: 10m\n",
    );
    let (status, _, stderr) = code(kiln(&ssh).arg("render"));
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains("/gitops/flux/secretRef"), "{stderr}");
}

#[test]
fn two_environments_claiming_one_host_on_one_gateway_are_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let repo = init(
        tmp.path(),
        &["--repo-url", "https://git.example.com/platform/gitops.git"],
    );
    // dev and prod live in their own namespaces: no object collides, but the
    // Gateway would split ai.example.com between them.
    edit(
        &repo,
        "overlays/dev/overlay.yaml",
        "hosts: [ai.dev.example.com]",
        "hosts: [ai.example.com]",
    );
    let (status, _, stderr) = code(kiln(&repo).arg("render"));
    assert_eq!(status, 2, "{stderr}");
    assert!(
        stderr.contains("[environment-collision]")
            && stderr.contains("host ai.example.com on Gateway"),
        "{stderr}"
    );
    // In clusters of their own, the same host is fine.
    edit(
        &repo,
        "kiln.yaml",
        "  revision: main\n",
        "  revision: main\n  environments:\n    prod: { cluster: https://prod.example.com }\n",
    );
    let (status, _, stderr) = code(kiln(&repo).arg("render"));
    assert_eq!(status, 0, "{stderr}");
}

#[test]
fn the_probe_guard_judges_what_is_rendered() {
    let dir = kiln_tests::copy_inputs(false);
    let root = dir.path();
    let refused = |overlay: &str| {
        kiln_tests::put(root, "overlays/homelab/overlay.yaml", overlay);
        let (status, _, stderr) = code(kiln(root).arg("render"));
        assert_eq!(status, 2, "{overlay}: {stderr}");
        assert!(stderr.contains("[probe-path]"), "{overlay}: {stderr}");
    };
    // The description's field, and a patch that goes around it.
    refused("set:\n  healthPath: /healthz\n");
    refused(
        "patches:\n  - target: { kind: Deployment }\n    json:\n      - { op: replace, path: /spec/template/spec/containers/0/readinessProbe/httpGet/path, value: /v1/health }\n",
    );
}
