//! Getting started: `kiln init`, shell completions and man pages.

use crate::harness::{code, kiln, kiln_bare, tree};
use kiln_tests::{put, run};
use std::path::Path;
use std::process::Command;

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
