//! Golden files: every rendered environment and the GitOps wiring of both
//! engines, reviewed with `cargo insta review`, and the committed out/ must be
//! exactly what kiln renders today.

use kiln_tests::repo_root;

#[test]
fn every_environment_and_engine_matches_the_reviewed_golden_files() {
    let repo = kiln::Repo::open(repo_root()).expect("repo");
    let rendered = kiln::render_repo(&repo).expect("renders");
    let dirs: Vec<&str> = rendered.iter().map(|r| r.env.as_str()).collect();
    assert_eq!(
        dirs,
        [
            "aca", "aks", "dev", "eks", "gke", "homelab", "prod", "staging", "argocd", "flux"
        ]
    );
    for r in rendered {
        for file in r.files {
            insta::assert_snapshot!(format!("{}__{}", r.env, file.name), file.contents);
        }
    }
}

#[test]
fn committed_out_is_up_to_date() {
    let repo = kiln::Repo::open(repo_root()).expect("repo");
    let rendered = kiln::render_repo(&repo).expect("renders");
    let differences = kiln::compare(&repo.out_dir(), &rendered, kiln::Prune::Stale).expect("check");
    assert!(
        differences.is_empty(),
        "out/ is stale, run `make render` and commit: {differences:?}"
    );
}
