//! kiln against `kubectl kustomize`, whole processes, side by side.
//!
//! For N environments it generates a kiln repository and the equivalent
//! kustomize tree (the same base; per environment the same namespace, name
//! prefix, annotations, replicas and JSON patch), then times, alternating
//! rounds: `kiln render --check` of all N environments (build everything,
//! write nothing: the same work as `kubectl kustomize`, which prints), `kiln
//! render` into a fresh and an unchanged out/, against `kubectl kustomize` of
//! each environment, and of all of them in one kustomization (the
//! 4,000-resource case of kubernetes-sigs/kustomize#5084).
//! Run with `make bench`; it prints a markdown table. Benchmarks are not
//! tests: nothing here asserts a time.

use kiln_tests::{repo_root, synthetic_kustomize_tree, synthetic_repo};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

const ROUNDS: usize = 3;

/// kustomize's single build of everything grows quadratically (51 s for 3,600
/// resources here); beyond the 4,000-resource case of kustomize#5084 it is skipped.
const ALL_IN_ONE_MAX_RESOURCES: usize = 4_500;

fn kiln_binary() -> PathBuf {
    let path = std::env::var_os("KILN_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/release/kiln"));
    assert!(
        path.exists(),
        "{} missing: `make bench` builds it first",
        path.display()
    );
    path
}

fn timed(command: &mut Command) -> Duration {
    let start = Instant::now();
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    let elapsed = start.elapsed();
    assert!(
        output.status.success(),
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
fn peak_mib(kiln: &Path, repo: &Path) -> Option<f64> {
    let output = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(kiln)
        .arg("--repo")
        .arg(repo)
        .args(["render", "--check", "-q"])
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

fn main() {
    let kiln = kiln_binary();
    let base_files: Vec<(String, String)> = {
        let repo = kiln::Repo::open(repo_root()).expect("repo");
        let rendered = kiln::render(&repo.environment("homelab").expect("env")).expect("render");
        rendered
            .files
            .into_iter()
            .map(|f| (f.name, f.contents))
            .collect()
    };
    let sizes: Vec<usize> = std::env::var("KILN_BENCH_ENVS")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 10, 100, 445, 1000]);

    println!(
        "| envs | resources | kiln: build all, write nothing (ms) | kiln render, fresh out/ (ms) | kiln render, unchanged (ms) | files rewritten when unchanged | kustomize, one run per env (ms) | kustomize ÷ kiln | kustomize, all envs in one run (ms) | kiln peak memory (MiB) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for n in sizes {
        let work = tempfile::tempdir().expect("tmp");
        let repo = work.path().join("kiln");
        let names = synthetic_repo(&repo, n);
        let tree = work.path().join("kustomize");
        synthetic_kustomize_tree(&tree, &base_files, n);
        let resources: usize = {
            let r = kiln::Repo::open(&repo).expect("repo");
            kiln::render_all(&r, &names)
                .expect("render")
                .environments()
                .iter()
                .map(|x| x.resources.len())
                .sum()
        };

        let (mut fresh, mut unchanged, mut per_env, mut all_in_one, mut check) =
            (vec![], vec![], vec![], vec![], vec![]);
        let mut rewritten = 0;
        for _ in 0..ROUNDS {
            let _ = std::fs::remove_dir_all(repo.join("out"));
            fresh.push(timed(
                Command::new(&kiln)
                    .arg("--repo")
                    .arg(&repo)
                    .args(["render", "-q"]),
            ));
            let before = mtimes(&repo.join("out"));
            unchanged.push(timed(
                Command::new(&kiln)
                    .arg("--repo")
                    .arg(&repo)
                    .args(["render", "-q"]),
            ));
            let after = mtimes(&repo.join("out"));
            rewritten += before.iter().zip(&after).filter(|(a, b)| a != b).count();

            let start = Instant::now();
            for name in &names {
                timed(
                    Command::new("kubectl")
                        .arg("kustomize")
                        .arg(tree.join("envs").join(name)),
                );
            }
            per_env.push(start.elapsed());
            if resources <= ALL_IN_ONE_MAX_RESOURCES {
                all_in_one.push(timed(
                    Command::new("kubectl")
                        .arg("kustomize")
                        .arg(tree.join("all")),
                ));
            }
            check.push(timed(
                Command::new(&kiln)
                    .arg("--repo")
                    .arg(&repo)
                    .args(["render", "--check", "-q"]),
            ));
        }
        let all_in_one = if all_in_one.is_empty() {
            "skipped".to_string()
        } else {
            ms(median(all_in_one))
        };
        let (fresh, unchanged, per_env, check) = (
            median(fresh),
            median(unchanged),
            median(per_env),
            median(check),
        );
        // The same work as kustomize: build every environment, write nothing (compare with out/).
        let ratio = per_env.as_secs_f64() / check.as_secs_f64();
        let memory = peak_mib(&kiln, &repo).map_or("n/a".into(), |m| format!("{m:.0}"));
        println!(
            "| {n} | {resources} | {} | {} | {} | {rewritten} | {} | {ratio:.0}× | {all_in_one} | {memory} |",
            ms(check),
            ms(fresh),
            ms(unchanged),
            ms(per_env),
        );
    }
}
