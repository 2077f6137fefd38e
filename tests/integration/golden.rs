//! Golden files for what out/ does not already hold: the reports and
//! diagnostics a person reads (reviewed with `cargo insta review`), and the
//! check that the committed out/ is exactly what kiln renders today.

use kiln::rules::{self, Manifest};
use kiln_tests::{copy_inputs, put, repo_root};

#[test]
fn committed_out_is_up_to_date() {
    let repo = kiln::Repo::open(repo_root()).expect("repo");
    let rendered = kiln::render_repo(&repo, &kiln::Selection::All).expect("renders");
    let differences = kiln::compare(&repo.out_dir(), &rendered).expect("check");
    assert!(
        differences.is_empty(),
        "out/ is stale, run `make render` and commit: {differences:?}"
    );
}

/// A hand-written Deployment with one defect of each family: Pod Security,
/// a dangling reference, an unpinned image and a misspelt field.
const DEFECTS: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      hostNetwork: true
      containers:
        - name: web
          image: nginx
          envFrom:
            - configMapRef: {name: web-config}
          resource: {}
";

#[test]
fn check_reports_read_as_reviewed() {
    let text = DEFECTS;
    let docs = kiln_tests::yaml_documents(text);
    let manifests: Vec<Manifest> = docs
        .into_iter()
        .map(|value| Manifest::read("k8s/web.yaml", 1, Some(text.to_string()), value))
        .collect();
    let findings = rules::check(&manifests);
    insta::assert_snapshot!(
        "check_text",
        rules::report::text(&findings, kiln::model::emit::Color::Plain)
    );
    insta::assert_snapshot!(
        "check_json",
        kiln::model::emit::json(&rules::report::json(&findings))
    );
}

#[test]
fn input_errors_read_as_reviewed() {
    let dir = copy_inputs(false);
    let root = dir.path();
    let error = |overlay: &str| -> String {
        put(root, "overlays/dev/overlay.yaml", overlay);
        let repo = kiln::Repo::open(root).expect("repo");
        let err = repo
            .environment("dev")
            .and_then(|env| kiln::render(&env))
            .expect_err("must fail");
        format!("{err}\nhelp: {}", miette_help(&err))
    };
    let cases = [
        ("misspelt_field", "set:\n  replics: 2\n"),
        ("wrong_type", "set:\n  replicas: many\n"),
        ("unknown_extends", "extends: prdo\n"),
        (
            "duplicate_key",
            "set:\n  logLevel: debug\n  logLevel: info\n",
        ),
        (
            "patch_target",
            "patches:\n  - target: { kind: Deploymnet }\n    merge: { spec: {} }\n",
        ),
    ];
    for (name, overlay) in cases {
        insta::assert_snapshot!(format!("input_error_{name}"), error(overlay));
    }
}

fn miette_help(err: &kiln::Error) -> String {
    use miette::Diagnostic;
    err.help().map(|h| h.to_string()).unwrap_or_default()
}
