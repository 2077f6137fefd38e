//! The documentation is tested like code:
//! - every `$ ` command of a ` ```console ` block in README.md,
//!   CONTRIBUTING.md and docs/ runs, file by file in order, in a copy of this
//!   repository's inputs with only the kiln under test (and the system) on
//!   PATH, and prints exactly what the block shows (a line `…` stands for any
//!   lines);
//! - every repository path the documents name exists;
//! - docs/reference/rules.md and docs/reference/cli.md are generated from the
//!   rule table and the clap definitions; `KILN_BLESS=1` rewrites them.

use kiln_tests::{copy_tree, repo_root, run};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The documents a reader meets, relative to the repository root.
fn documents() -> Vec<PathBuf> {
    let mut out = vec![
        PathBuf::from("README.md"),
        PathBuf::from("CONTRIBUTING.md"),
        PathBuf::from("CHANGELOG.md"),
    ];
    let mut stack = vec![repo_root().join("docs")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("docs/") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(
                    path.strip_prefix(repo_root())
                        .expect("inside")
                        .to_path_buf(),
                );
            }
        }
    }
    out.sort();
    out
}

fn read(rel: &Path) -> String {
    std::fs::read_to_string(repo_root().join(rel))
        .unwrap_or_else(|e| panic!("{}: {e}", rel.display()))
}

/// One `$ command` and the lines shown after it.
struct Example {
    command: String,
    shown: Vec<String>,
}

/// The examples of ` ```console ` blocks, in order.
fn examples(text: &str) -> Vec<Example> {
    let mut out: Vec<Example> = Vec::new();
    let mut in_console = false;
    for line in text.lines() {
        let fence = line.trim_start();
        if fence.starts_with("```") {
            in_console = !in_console && fence == "```console";
            continue;
        }
        if !in_console {
            continue;
        }
        match line.strip_prefix("$ ") {
            Some(command) => out.push(Example {
                command: command.to_string(),
                shown: Vec::new(),
            }),
            None => out
                .last_mut()
                .expect("a console block starts with `$ `")
                .shown
                .push(line.trim_end().to_string()),
        }
    }
    out
}

/// Whether `actual` is what `shown` shows (`…` matches any lines).
fn matches(shown: &[String], actual: &[&str]) -> bool {
    match shown.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first == "…" => {
            (0..=actual.len()).any(|skip| matches(rest, &actual[skip..]))
        }
        Some((first, rest)) => actual
            .split_first()
            .is_some_and(|(a, more)| a.trim_end() == first && matches(rest, more)),
    }
}

/// A directory holding this repository's inputs, output, CI examples and
/// import fixtures, as a user's clone has them.
fn sandbox() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    for name in [
        "base",
        "overlays",
        "strategies",
        "out",
        "examples",
        "tests/fixtures/import",
    ] {
        copy_tree(&repo_root().join(name), &dir.path().join(name), false);
    }
    std::fs::copy(repo_root().join("kiln.yaml"), dir.path().join("kiln.yaml")).expect("copy");
    let bin = dir.path().join(".bin");
    std::fs::create_dir(&bin).expect("mkdir");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_kiln"), bin.join("kiln")).expect("symlink");
    dir
}

/// `cargo install` builds kiln from source: crates/kiln-cli/tests/journey.rs
/// runs exactly that (offline, into a root of its own) instead.
fn installs_kiln(command: &str) -> bool {
    command.starts_with("cargo install ")
}

#[test]
fn every_console_example_prints_what_the_docs_show() {
    let journey = read(Path::new("crates/kiln-cli/tests/journey.rs"));
    let mut ran = 0;
    let mut failures = Vec::new();
    for doc in documents() {
        let examples = examples(&read(&doc));
        if examples.is_empty() {
            continue;
        }
        let dir = sandbox();
        let path = format!(
            "{}:/usr/local/bin:/usr/bin:/bin",
            dir.path().join(".bin").display()
        );
        for Example { command, shown } in examples {
            if installs_kiln(&command) {
                assert!(
                    command.contains("--locked --path crates/kiln-cli")
                        && journey.contains("\"--locked\"")
                        && journey.contains("crates/kiln-cli"),
                    "{}: `{command}` is not what journey.rs runs",
                    doc.display()
                );
                continue;
            }
            let (_, stdout, _) = run(Command::new("bash")
                .arg("-c")
                .arg(format!("{{ {command}\n}} 2>&1"))
                .current_dir(dir.path())
                .env("PATH", &path)
                .env("HOME", dir.path())
                .env("GIT_AUTHOR_NAME", "A Reader")
                .env("GIT_AUTHOR_EMAIL", "reader@example.com")
                .env("GIT_COMMITTER_NAME", "A Reader")
                .env("GIT_COMMITTER_EMAIL", "reader@example.com")
                .env_remove("KILN")
                .env_remove("MAKEFLAGS")
                .env_remove("MAKELEVEL")
                .env_remove("MFLAGS")
                .env_remove("CARGO_TARGET_DIR"));
            ran += 1;
            let mut actual: Vec<&str> = stdout.lines().collect();
            while actual.last().is_some_and(|l| l.trim().is_empty()) {
                actual.pop();
            }
            // A blank line may separate one example from the next.
            let shown_lines = shown.len() - shown.iter().rev().take_while(|l| l.is_empty()).count();
            if !matches(&shown[..shown_lines], &actual) {
                failures.push(format!(
                    "{}: $ {command}\n--- shown\n{}\n--- printed\n{stdout}",
                    doc.display(),
                    shown.join("\n")
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(ran >= 10, "only {ran} console examples found");
}

/// Backticked text that names a path of this repository.
fn named_paths(text: &str) -> Vec<String> {
    const ROOTS: [&str; 11] = [
        "crates/",
        "tests/",
        "base/",
        "overlays/",
        "strategies/",
        "examples/",
        "docs/",
        "fuzz/",
        ".ci/",
        "out/",
        "kiln.yaml",
    ];
    let mut out = Vec::new();
    for (i, span) in text.split('`').enumerate() {
        let span = span.trim_end_matches(['/', ':', ',']);
        let plain = !span.contains(|c: char| c.is_whitespace() || "<>*{}…$|".contains(c));
        if i % 2 == 1 && plain && ROOTS.iter().any(|r| span.starts_with(r)) {
            out.push(span.to_string());
        }
    }
    out
}

/// Relative targets of markdown links, resolved from the document's directory.
fn linked_paths(doc: &Path, text: &str) -> Vec<String> {
    let dir = doc.parent().unwrap_or(Path::new(""));
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .map(|target| target.split('#').next().unwrap_or_default())
        .filter(|t| !t.is_empty() && !t.contains("://") && !t.starts_with("mailto:"))
        .map(|t| dir.join(t).to_string_lossy().into_owned())
        .collect()
}

#[test]
fn every_path_the_docs_name_exists() {
    let mut missing = Vec::new();
    let mut named = 0;
    for doc in documents() {
        let text = read(&doc);
        // A fence's commands may create paths of their own: prose and links are held to it.
        for path in named_paths(&prose(&text))
            .into_iter()
            .chain(linked_paths(&doc, &text))
        {
            named += 1;
            let normal = normalize(&path);
            if !repo_root().join(&normal).exists() {
                missing.push(format!("{}: {path}", doc.display()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "named but missing:\n{}",
        missing.join("\n")
    );
    assert!(named >= 50, "only {named} paths named");
}

/// The text outside code fences.
fn prose(text: &str) -> String {
    let mut out = String::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// `a/b/../c` as `a/c`.
fn normalize(path: &str) -> PathBuf {
    let mut out = PathBuf::new();
    for part in Path::new(path).components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Compares `rel` with `generated`, or writes it with `KILN_BLESS=1`.
fn generated(rel: &str, generated: &str) {
    let path = repo_root().join(rel);
    if std::env::var_os("KILN_BLESS").is_some() {
        std::fs::write(&path, generated).expect("write");
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == generated,
        "{rel} is stale: run `KILN_BLESS=1 cargo test -p kiln-cli --test docs` and commit it"
    );
}

#[test]
fn the_rule_reference_is_the_rule_table() {
    let mut text = String::from(
        "# The rules of `kiln check`\n\n\
         Generated from kiln's rule table (`kiln check --list-rules` prints the same); a test\n\
         fails when this page is stale. How findings are reported and suppressed: [Checks](../guide/checks.md).\n\n\
         | rule | severity | what must be true | how to fix a finding |\n|---|---|---|---|\n",
    );
    for rule in kiln::model::rules::RULES {
        let cell = |s: &str| s.replace('|', "\\|");
        text.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            rule.id,
            rule.severity.as_str(),
            cell(rule.summary),
            cell(rule.help)
        ));
    }
    generated("docs/reference/rules.md", &text);
}

fn help(args: &[&str]) -> String {
    let (ok, stdout, stderr) = run(Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(args)
        .arg("--help"));
    assert!(ok, "kiln {args:?} --help: {stderr}");
    stdout
}

/// The subcommands `kiln <args> --help` lists.
fn subcommands(help: &str) -> Vec<String> {
    help.split("\nCommands:\n")
        .nth(1)
        .map(|rest| {
            rest.lines()
                .take_while(|l| l.starts_with("  "))
                .filter_map(|l| l.split_whitespace().next())
                .filter(|c| *c != "help")
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_cli_reference_is_the_cli() {
    let mut text = String::from(
        "# The `kiln` command line\n\n\
         Generated from the CLI's own definitions (`kiln help`, `kiln man`); a test fails\n\
         when this page is stale. Completions, man pages, exit status and error messages:\n\
         [the command line guide](../guide/command-line.md).\n",
    );
    let mut queue = vec![Vec::<String>::new()];
    while let Some(path) = queue.pop() {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        let page = help(&args);
        let title = std::iter::once("kiln")
            .chain(args.iter().copied())
            .collect::<Vec<_>>()
            .join(" ");
        text.push_str(&format!(
            "\n## `{title}`\n\n```text\n{}\n```\n",
            page.trim_end()
        ));
        for sub in subcommands(&page).into_iter().rev() {
            let mut next = path.clone();
            next.push(sub);
            queue.push(next);
        }
    }
    generated("docs/reference/cli.md", &text);
}

/// Commands in a ` ```sh ` block are not run (they need a cluster, a gateway
/// or are the test suite itself): each such block says why, in a
/// `<!-- not run: … -->` line just before it.
#[test]
fn every_command_block_runs_or_says_why_not() {
    let mut unexplained = Vec::new();
    for doc in documents() {
        let text = read(&doc);
        let lines: Vec<&str> = text.lines().collect();
        let mut fenced = false;
        for (i, line) in lines.iter().enumerate() {
            let fence = line.trim_start();
            if !fence.starts_with("```") {
                continue;
            }
            if !fenced && matches!(fence, "```sh" | "```bash" | "```shell") {
                let said = i > 0 && lines[i - 1].starts_with("<!-- not run: ");
                if !said {
                    unexplained.push(format!("{}:{}", doc.display(), i + 1));
                }
            }
            fenced = !fenced;
        }
    }
    assert!(
        unexplained.is_empty(),
        "shell blocks that are neither `console` examples nor say why they are not run: {unexplained:?}"
    );
}

#[test]
fn the_example_matcher_honours_ellipses() {
    let shown = |s: &[&str]| s.iter().map(|l| l.to_string()).collect::<Vec<_>>();
    assert!(matches(&shown(&["a", "…", "d"]), &["a", "b", "c", "d"]));
    assert!(matches(&shown(&["a", "…"]), &["a"]));
    assert!(!matches(&shown(&["a", "d"]), &["a", "b", "d"]));
    assert!(!matches(&shown(&["a"]), &["a", "b"]));
    assert_eq!(
        named_paths("see `crates/kiln/src/lib.rs`, `out/<env>/` and `kiln render`"),
        ["crates/kiln/src/lib.rs"]
    );
}
