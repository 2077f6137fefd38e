//! `kiln import helm` with Portkey's chart beside the values: the chart is
//! rendered by the Helm `make test` installs (on PATH, as a user has it) and
//! compared with kiln's render resource by resource, breaking changes first;
//! `--release` keeps the release's selectors, so nothing breaks; no
//! credential of the values reaches the report; without Helm, a clear error.

use kiln_tests::{copy_inputs, helm, repo_root};
use std::process::Command;

const CHART: &str = "tests/fixtures/chart/portkey-gateway-1.7.7";
const VALUES: &str = "tests/fixtures/import/helm/eks.yaml";
/// The made-up credentials of the values file, plain and as Helm writes them (base64).
const CREDENTIALS: [&str; 6] = [
    "dckr_pat_0123456789abcdefghij",
    "pk-client-auth-0123456789abcdef",
    "9f8e7d6c-5b4a-3210-fedc-ba9876543210",
    "ZGNrcl9wYXRf",
    "cGstY2xpZW50LWF1dGgt",
    "OWY4ZTdkNmMt",
];

fn import(
    path: &str,
    release: Option<&str>,
    report: &std::path::Path,
) -> (Option<i32>, String, String) {
    let repo = copy_inputs(false);
    let mut c = Command::new(env!("CARGO_BIN_EXE_kiln"));
    c.args(["import", "helm"])
        .arg(repo_root().join(VALUES))
        .arg("--into")
        .arg(repo.path())
        .args(["--env", "taken", "--dry-run", "--chart"])
        .arg(repo_root().join(CHART))
        .arg("--report")
        .arg(report)
        .env("PATH", path);
    if let Some(r) = release {
        c.args(["--release", r]);
    }
    let out = c.output().expect("kiln runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn with_helm() -> String {
    let dir = helm().parent().expect("dir").to_path_buf();
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[test]
fn the_chart_is_compared_resource_by_resource_breaking_first() {
    let tmp = tempfile::tempdir().expect("tmp");
    let report = tmp.path().join("report.md");
    let (status, out, err) = import(&with_helm(), None, &report);
    assert_eq!(status, Some(0), "{out}\n{err}");
    let sections: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("Differences: "))
        .collect();
    assert!(
        sections[0].starts_with("Differences: BREAKING"),
        "{sections:?}"
    );
    // The chart's Deployments, paired by name: their selectors would change.
    for name in ["portkey-gateway", "portkey-gateway-dataservice"] {
        assert!(
            out.lines()
                .any(|l| l.contains(&format!("Deployment/{name} /spec/selector"))
                    && l.contains("--release")),
            "{name}: {out}"
        );
    }
    let markdown = std::fs::read_to_string(&report).expect("report");
    for secret in CREDENTIALS {
        assert!(
            !out.contains(secret) && !err.contains(secret) && !markdown.contains(secret),
            "{secret} shown"
        );
    }
}

#[test]
fn with_the_release_nothing_breaks() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (status, out, err) = import(
        &with_helm(),
        Some("portkey-gateway"),
        &tmp.path().join("r.md"),
    );
    assert_eq!(status, Some(0), "{out}\n{err}");
    assert!(out.contains("Differences: hardening"), "{out}");
    assert!(!out.contains("BREAKING"), "{out}");
}

#[test]
fn without_helm_the_error_says_what_to_install() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (status, out, err) = import(
        tmp.path().to_str().expect("utf-8"),
        None,
        &tmp.path().join("r.md"),
    );
    assert_eq!(status, Some(2), "{out}\n{err}");
    assert!(err.contains("install helm"), "{err}");
    assert!(!tmp.path().join("r.md").exists());
}
