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

#[test]
fn the_generated_makefile_installs_the_pinned_kiln_from_its_source() {
    let tmp = tempfile::tempdir().expect("tmp");
    let repo = init(tmp.path(), &[]);
    let makefile = std::fs::read_to_string(repo.join("Makefile")).expect("Makefile");
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        makefile.contains(&format!("KILN_VERSION := {version}\n"))
            && makefile.contains(&format!("KILN_GIT ?= {}\n", kiln::init::KILN_SOURCE))
            && kiln::init::KILN_SOURCE.contains("://"),
        "{makefile}"
    );
    let workflow =
        std::fs::read_to_string(repo.join(".github/workflows/kiln.yml")).expect("workflow");
    assert!(
        workflow.contains("make kiln") && !workflow.contains("CHANGE ME"),
        "{workflow}"
    );

    // A stand-in for kiln's source repository, tagged like a release: a
    // `kiln-cli` package whose `kiln` runs the kiln under test.
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

    let make = |target: &str| {
        run(Command::new("make")
            .arg("-C")
            .arg(&repo)
            .arg(target)
            .arg(format!("KILN_GIT=file://{}", source.display()))
            .env_remove("KILN"))
    };
    let (ok, stdout, stderr) = make("render");
    assert!(ok, "make render: {stdout}{stderr}");
    let pinned = repo.join(format!(".kiln/{version}/bin/kiln"));
    assert!(pinned.is_file(), "{stdout}{stderr}");
    assert!(repo.join("out/dev/kustomization.yaml").is_file());
    let (ok, stdout, stderr) = make("check");
    assert!(ok, "make check: {stdout}{stderr}");
    let gitignore = std::fs::read_to_string(repo.join(".gitignore")).expect(".gitignore");
    assert!(gitignore.contains("/.kiln/"), "{gitignore}");
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
