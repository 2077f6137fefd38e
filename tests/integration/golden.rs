//! Golden files: every rendered environment, reviewed with `cargo insta review`,
//! and the committed out/ must be exactly what kiln renders today.

use crate::render_env;
use kiln_tests::repo_root;

#[test]
fn every_environment_matches_the_reviewed_golden_files() {
    let repo = kiln::Repo::open(repo_root()).expect("repo");
    assert_eq!(repo.environments(), ["dev", "homelab", "prod", "staging"]);
    for env in repo.environments() {
        for file in render_env(&repo_root(), env).files {
            insta::assert_snapshot!(format!("{env}__{}", file.name), file.contents);
        }
    }
}

#[test]
fn committed_out_is_up_to_date() {
    let repo = kiln::Repo::open(repo_root()).expect("repo");
    let rendered: Vec<kiln::Rendered> = repo
        .environments()
        .iter()
        .map(|e| kiln::render(&repo.environment(e).expect("env")).expect("renders"))
        .collect();
    let differences = kiln::compare(&repo.out_dir(), &rendered, kiln::Prune::Stale).expect("check");
    assert!(
        differences.is_empty(),
        "out/ is stale, run `make render` and commit: {differences:?}"
    );
}
