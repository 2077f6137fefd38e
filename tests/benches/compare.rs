//! kiln against `kubectl kustomize` and the disk, whole processes, side by side.
//!
//! For N environments it generates a kiln repository (a git repository whose
//! last commit changes one line of a routing strategy, which every
//! environment's gateway config carries) and the equivalent kustomize tree
//! (the same base; per environment the same namespace, name prefix,
//! annotations, replicas and JSON patch), then times, in alternating rounds:
//! the pull-request preview (`kiln diff` of the two commits, and of the first
//! against the working tree), `kiln render` into a fresh out/ next to `cp -r`
//! of that out/ (the disk's floor for creating those files) and into an
//! unchanged out/, `kiln render --check` of all N environments (build
//! everything, write nothing: the same work as `kubectl kustomize`, which
//! prints), and `kubectl kustomize` of each environment and of all of them in
//! one kustomization (the 4,000-resource case of kubernetes-sigs/kustomize#5084).
//! Run with `make bench`; it prints two markdown tables of medians.
//! Benchmarks are not tests: nothing here asserts a time.

use kiln_tests::{git, git_commit_all, repo_root, synthetic_kustomize_tree, synthetic_repo};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

const ROUNDS: usize = 3;

/// kustomize's single build of everything grows quadratically (51 s for 3,600
/// resources here); beyond the 4,000-resource case of kustomize#5084 it is skipped.
const ALL_IN_ONE_MAX_RESOURCES: usize = 4_500;

fn kiln_binary() -> PathBuf {
    kiln_tests::installed(
        "KILN_BIN",
        repo_root().join("target/release/kiln"),
        "`make bench` builds it first",
    )
}

fn timed(command: &mut Command) -> Duration {
    timed_exiting(command, &[0])
}

/// Times a command that must exit with one of `codes` (`kiln diff` exits 1 on a change).
fn timed_exiting(command: &mut Command, codes: &[i32]) -> Duration {
    let start = Instant::now();
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    let elapsed = start.elapsed();
    assert!(
        output.status.code().is_some_and(|c| codes.contains(&c)),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    elapsed
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

/// Peak resident memory of a command in MiB, from GNU time where the machine has it.
fn peak_mib(kiln: &Path, repo: &Path, args: &[&str]) -> Option<f64> {
    let output = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(kiln)
        .arg("--repo")
        .arg(repo)
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stderr);
    let kib: f64 = text.lines().last()?.trim().parse().ok()?;
    Some(kib / 1024.0)
}

fn mtimes(dir: &Path) -> Vec<(PathBuf, SystemTime)> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            all.extend(mtimes(&path));
        } else {
            all.push((
                path.clone(),
                entry.metadata().and_then(|m| m.modified()).expect("mtime"),
            ));
        }
    }
    all.sort();
    all
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// Every timing of one repository size, a sample per round.
#[derive(Default)]
struct Samples {
    check: Vec<Duration>,
    fresh: Vec<Duration>,
    copy: Vec<Duration>,
    unchanged: Vec<Duration>,
    diff_refs: Vec<Duration>,
    diff_tree: Vec<Duration>,
    per_env: Vec<Duration>,
    all_in_one: Vec<Duration>,
    /// Files whose modification time an unchanged render changed.
    rewritten: usize,
}

fn kiln_at(kiln: &Path, repo: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(kiln);
    command.arg("--repo").arg(repo).args(args);
    command
}

/// Commits the repository, then a one-line strategy change on top (HEAD~1 → HEAD),
/// the pull request every environment's preview shows.
fn commit_one_line_strategy_change(repo: &Path) {
    git_commit_all(repo, "synthetic environments");
    kiln_tests::edit(
        repo,
        "strategies/claude-models.json",
        "\"weight\": 1",
        "\"weight\": 3",
    );
    git(repo, &["commit", "-qam", "one-line strategy change"]);
}

const DIFF_REFS: &[&str] = &[
    "diff", "--base", "HEAD~1", "--head", "HEAD", "--format", "markdown",
];
const DIFF_TREE: &[&str] = &["diff", "--base", "HEAD~1", "--format", "markdown"];

/// Drops written data from the page cache's dirty list, so one timing does not
/// pay for the previous one's writeback.
fn settle() {
    let _ = Command::new("sync").status();
}

/// One round over a size: every measurement once, in a fixed order.
fn round(kiln: &Path, repo: &Path, tree: &Path, names: &[String], all: bool, s: &mut Samples) {
    let out = repo.join("out");
    let copy = tree.join("copy-of-out");
    let _ = std::fs::remove_dir_all(&out);
    settle();
    s.fresh
        .push(timed(&mut kiln_at(kiln, repo, &["render", "-q"])));
    let _ = std::fs::remove_dir_all(&copy);
    settle();
    s.copy
        .push(timed(Command::new("cp").arg("-r").arg(&out).arg(&copy)));
    let before = mtimes(&out);
    settle();
    s.unchanged
        .push(timed(&mut kiln_at(kiln, repo, &["render", "-q"])));
    s.rewritten += before
        .iter()
        .zip(&mtimes(&out))
        .filter(|(a, b)| a != b)
        .count();
    s.diff_refs
        .push(timed_exiting(&mut kiln_at(kiln, repo, DIFF_REFS), &[1]));
    s.diff_tree
        .push(timed_exiting(&mut kiln_at(kiln, repo, DIFF_TREE), &[1]));
    s.check.push(timed(&mut kiln_at(
        kiln,
        repo,
        &["render", "--check", "-q"],
    )));
    let start = Instant::now();
    for name in names {
        timed(
            Command::new("kubectl")
                .arg("kustomize")
                .arg(tree.join("envs").join(name)),
        );
    }
    s.per_env.push(start.elapsed());
    if all {
        s.all_in_one.push(timed(
            Command::new("kubectl")
                .arg("kustomize")
                .arg(tree.join("all")),
        ));
    }
}

fn base_files() -> Vec<(String, String)> {
    let repo = kiln::Repo::open(repo_root()).expect("repo");
    let rendered = kiln::render(&repo.environment("homelab").expect("env")).expect("render");
    rendered
        .files()
        .iter()
        .map(|f| (f.name().to_string(), f.contents().to_string()))
        .collect()
}

fn resources(repo: &Path, names: &[String]) -> usize {
    let r = kiln::Repo::open(repo).expect("repo");
    kiln::render_repo(&r, &kiln::Selection::of(names))
        .expect("render")
        .environments()
        .iter()
        .map(|x| x.resources().len())
        .sum()
}

fn markdown_chars(kiln: &Path, repo: &Path) -> usize {
    let output = kiln_at(kiln, repo, DIFF_REFS).output().expect("diff");
    String::from_utf8_lossy(&output.stdout).chars().count()
}

fn main() {
    let kiln = kiln_binary();
    let base_files = base_files();
    let sizes: Vec<usize> = std::env::var("KILN_BENCH_ENVS")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 10, 100, 400, 1000]);

    let mut daily = vec![
        "| envs | `kiln diff` ref to ref, one-line strategy change (ms) | markdown comment (chars) | `kiln diff` against the working tree (ms) | `kiln render`, unchanged (ms) | `kiln render`, fresh out/ (ms) | `cp -r` of that out/ (ms) | fresh ÷ `cp -r` | `kubectl kustomize`, one run per env (ms) |".to_string(),
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|".to_string(),
    ];
    let mut builds = vec![
        "| envs | resources | kiln: build all, write nothing (ms) | kustomize, one run per env (ms) | kustomize ÷ kiln | kustomize, all envs in one run (ms) | files rewritten when unchanged | kiln peak memory, build all / diff (MiB) |".to_string(),
        "|---:|---:|---:|---:|---:|---:|---:|---:|".to_string(),
    ];
    for n in sizes {
        let work = tempfile::tempdir().expect("tmp");
        let repo = work.path().join("kiln");
        let names = synthetic_repo(&repo, n);
        commit_one_line_strategy_change(&repo);
        let tree = work.path().join("kustomize");
        synthetic_kustomize_tree(&tree, &base_files, n);
        let resources = resources(&repo, &names);
        let all = resources <= ALL_IN_ONE_MAX_RESOURCES;

        let mut s = Samples::default();
        for _ in 0..ROUNDS {
            round(&kiln, &repo, &tree, &names, all, &mut s);
        }
        let (fresh, copy, check, per_env) = (
            median(s.fresh),
            median(s.copy),
            median(s.check),
            median(s.per_env),
        );
        daily.push(format!(
            "| {n} | {} | {} | {} | {} | {} | {} | {:.2} | {} |",
            ms(median(s.diff_refs)),
            markdown_chars(&kiln, &repo),
            ms(median(s.diff_tree)),
            ms(median(s.unchanged)),
            ms(fresh),
            ms(copy),
            fresh.as_secs_f64() / copy.as_secs_f64(),
            ms(per_env),
        ));
        // The same work as kustomize: build every environment, write nothing (compare with out/).
        let all_in_one = if all {
            ms(median(s.all_in_one))
        } else {
            "skipped".to_string()
        };
        let memory = |args: &[&str]| {
            peak_mib(&kiln, &repo, args).map_or("n/a".into(), |m| format!("{m:.0}"))
        };
        builds.push(format!(
            "| {n} | {resources} | {} | {} | {:.0}× | {all_in_one} | {} | {} / {} |",
            ms(check),
            ms(per_env),
            per_env.as_secs_f64() / check.as_secs_f64(),
            s.rewritten,
            memory(&["render", "--check", "-q"]),
            memory(DIFF_REFS),
        ));
    }
    println!("{}\n\n{}", daily.join("\n"), builds.join("\n"));
}
