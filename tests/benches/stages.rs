//! Criterion benchmarks of kiln's stages: load, resolve, build, patch, check, emit,
//! write, for one environment and for N synthetic environments. `make bench`.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use kiln::Repo;
use kiln_tests::{repo_root, synthetic_repo};
use std::hint::black_box;

fn one_environment(c: &mut Criterion) {
    let root = repo_root();
    let repo = Repo::open(&root).expect("repo");
    let env = repo.environment("prod").expect("prod");
    let built = kiln::build(&env);
    let patched = kiln::apply_overlays(&env, built.clone()).expect("patch");
    let manifests = kiln::manifests_of(env.name(), &patched);
    let rendered = kiln::render(&env).expect("render");
    let mut g = c.benchmark_group("one environment (prod)");
    g.bench_function("load", |b| {
        b.iter(|| Repo::open(black_box(&root)).expect("repo"))
    });
    g.bench_function("resolve", |b| {
        b.iter(|| repo.environment(black_box("prod")).expect("env"))
    });
    g.bench_function("build", |b| b.iter(|| kiln::build(black_box(&env))));
    g.bench_function("patch", |b| {
        b.iter_batched(
            || built.clone(),
            |r| kiln::apply_overlays(&env, r).expect("patch"),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("check", |b| {
        b.iter(|| kiln::rules::check(black_box(&manifests)))
    });
    g.bench_function("emit", |b| {
        b.iter(|| {
            let manifests = kiln::manifests_of(env.name(), black_box(&patched));
            kiln::emit_files(&env, &manifests).expect("emit")
        })
    });
    let one = kiln::RenderOutput::from(rendered.clone());
    g.bench_function("write (fresh)", |b| {
        b.iter_batched(
            || tempfile::tempdir().expect("tmp"),
            |dir| kiln::write(dir.path(), &one).expect("write"),
            BatchSize::PerIteration,
        )
    });
    let out = tempfile::tempdir().expect("tmp");
    kiln::write(out.path(), &one).expect("write");
    g.bench_function("write (unchanged)", |b| {
        b.iter(|| kiln::write(out.path(), &one).expect("write"))
    });
    g.finish();
}

fn many_environments(c: &mut Criterion) {
    let mut g = c.benchmark_group("N environments");
    g.sample_size(10);
    for n in [10, 100, 400] {
        let dir = tempfile::tempdir().expect("tmp");
        let names = synthetic_repo(dir.path(), n);
        let repo = Repo::open(dir.path()).expect("repo");
        let rendered = kiln::render_repo(&repo, &kiln::Selection::of(&names)).expect("render");
        let resources: usize = rendered
            .environments()
            .iter()
            .map(|r| r.resources().len())
            .sum();
        g.bench_function(format!("render {n} envs ({resources} resources)"), |b| {
            b.iter(|| {
                kiln::render_repo(&repo, &kiln::Selection::of(black_box(&names))).expect("render")
            })
        });
        let out = tempfile::tempdir().expect("tmp");
        kiln::write(out.path(), &rendered).expect("write");
        g.bench_function(format!("write {n} envs unchanged"), |b| {
            b.iter(|| kiln::write(out.path(), &rendered).expect("write"))
        });
    }
    g.finish();
}

criterion_group!(benches, one_environment, many_environments);
criterion_main!(benches);
