//! `kiln check`: every rule fails on a fixture broken for it and passes on the
//! fixture it was broken from; the JSON and SARIF reports validate against
//! their schemas; render refuses error findings unless a suppression with a
//! reason covers them.

use crate::check_cases::{C, Case, D, GOOD, P, add, apply, cases, findings, good, replace};
use kiln::rules::{self, Finding, RULES};
use kiln_tests::{copy_inputs, edit, put, repo_root, run, venv_bin};
use serde_json::{Value, json};
use std::process::Command;

#[test]
fn the_good_fixture_passes_every_rule() {
    let found = findings(&good());
    assert!(
        found.is_empty(),
        "{}",
        rules::report::text(&found, kiln::model::emit::Color::Plain)
    );
}

#[test]
fn every_rule_fails_on_its_broken_fixture_at_the_right_place() {
    for c in cases() {
        let found = findings(&apply(&c));
        assert!(
            found
                .iter()
                .any(|f| f.rule.id == c.rule && f.pointer == c.pointer),
            "{} at {}: not found in\n{}",
            c.rule,
            c.pointer,
            rules::report::text(&found, kiln::model::emit::Color::Plain)
        );
    }
}

#[test]
fn every_rule_has_a_failing_case() {
    // environment-collision compares environments of a repository: its cases
    // are in tests/integration/first_day.rs.
    let mut covered: Vec<&str> = cases().iter().map(|c| c.rule).collect();
    covered.push("environment-collision");
    for rule in RULES {
        assert!(
            covered.contains(&rule.id),
            "rule {} has no failing fixture",
            rule.id
        );
    }
}

#[test]
fn legitimate_variants_pass() {
    let sc = format!("{C}/securityContext");
    for (what, target, ops) in [
        (
            "seccomp on the container instead of the pod",
            D,
            json!([
                {"op": "remove", "path": format!("{P}/securityContext/seccompProfile")},
                {"op": "add", "path": format!("{sc}/seccompProfile"), "value": {"type": "RuntimeDefault"}},
            ]),
        ),
        (
            "NET_BIND_SERVICE added",
            D,
            add(
                format!("{sc}/capabilities/add"),
                json!(["NET_BIND_SERVICE"]),
            ),
        ),
        (
            "an optional reference to a missing Secret",
            D,
            add(
                format!("{C}/env/-"),
                json!({"name": "X", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "x", "optional": true}}}),
            ),
        ),
        (
            "a numeric targetPort of a declared port",
            ("Service", "web"),
            replace("/spec/ports/0/targetPort".into(), json!(8080)),
        ),
        (
            "AppArmor RuntimeDefault",
            D,
            add(
                format!("{P}/securityContext/appArmorProfile"),
                json!({"type": "RuntimeDefault"}),
            ),
        ),
        (
            "a safe sysctl",
            D,
            add(
                format!("{P}/securityContext/sysctls"),
                json!([{"name": "net.ipv4.tcp_syncookies", "value": "1"}]),
            ),
        ),
        (
            "a matchExpressions selector",
            D,
            add(
                "/spec/selector/matchExpressions".into(),
                json!([{"key": "app.kubernetes.io/name", "operator": "In", "values": ["web"]}]),
            ),
        ),
        (
            "a ServiceMonitor selecting Services in any namespace",
            ("ServiceMonitor", "web"),
            add("/spec/namespaceSelector".into(), json!({"any": true})),
        ),
        (
            "cpu as a number",
            D,
            replace(format!("{C}/resources/limits/cpu"), json!(1)),
        ),
        (
            "a disruption budget as a percentage that leaves one replica to evict",
            ("PodDisruptionBudget", "web"),
            replace("/spec/minAvailable".into(), json!("50%")),
        ),
        (
            "a disruption budget by maxUnavailable",
            ("PodDisruptionBudget", "web"),
            json!([
                {"op": "remove", "path": "/spec/minAvailable"},
                {"op": "add", "path": "/spec/maxUnavailable", "value": 1},
            ]),
        ),
        (
            "a disruption budget of another app",
            ("PodDisruptionBudget", "web"),
            replace(
                "/spec/selector/matchLabels/app.kubernetes.io~1name".into(),
                json!("db"),
            ),
        ),
        (
            "an explicit null",
            D,
            add("/metadata/creationTimestamp".into(), Value::Null),
        ),
    ] {
        let found = findings(&apply(&Case {
            rule: what,
            target,
            ops,
            extra: None,
            pointer: "",
        }));
        assert!(
            found.is_empty(),
            "{what}:\n{}",
            rules::report::text(&found, kiln::model::emit::Color::Plain)
        );
    }
}

#[test]
fn a_finding_points_at_its_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let text = std::fs::read_to_string(repo_root().join(GOOD))
        .expect("fixture")
        .replace(
            "        - name: web\n          image: registry.example.com/shop/web:2.4.1",
            "        - name: web\n          image: registry.example.com/shop/web:latest",
        );
    std::fs::write(dir.path().join("app.yaml"), &text).expect("write");
    let manifests = kiln::manifests::load(&[dir.path().to_path_buf()]).expect("loads");
    let found = rules::check(&manifests);
    let line = text
        .lines()
        .position(|l| l.contains("shop/web:latest"))
        .expect("line")
        + 1;
    assert_eq!(
        found.len(),
        1,
        "{}",
        rules::report::text(&found, kiln::model::emit::Color::Plain)
    );
    assert_eq!((found[0].rule.id, found[0].line), ("image-tag", line));
    assert_eq!(found[0].file, dir.path().join("app.yaml"));
}

/// Validates `value` against the JSON schema at `schema` with Python's jsonschema.
fn validates(schema: &std::path::Path, value: &Value) -> (bool, String) {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("doc.json");
    std::fs::write(&file, kiln::model::emit::json(value)).expect("write");
    let (ok, out, err) = run(Command::new(venv_bin("python"))
        .arg(repo_root().join("tests/oracle/json_validate.py"))
        .arg(schema)
        .arg(&file));
    (ok, format!("{out}{err}"))
}

fn sarif_schema() -> std::path::PathBuf {
    venv_bin("python")
        .parent()
        .and_then(|bin| bin.parent())
        .expect("venv")
        .join("sarif-schema-2.1.0.json")
}

fn some_findings() -> Vec<Finding> {
    let mut found = findings(&apply(&cases()[2]));
    found.extend(findings(&apply(&cases()[cases().len() - 2])));
    assert!(
        found
            .iter()
            .any(|f| f.rule.severity == rules::Severity::Note)
    );
    found[0].suppressed = Some("accepted for the test".into());
    found
}

#[test]
fn sarif_output_validates_against_the_sarif_2_1_0_schema() {
    let found = some_findings();
    let (ok, out) = validates(&sarif_schema(), &rules::report::sarif(&found, &repo_root()));
    assert!(ok, "{out}");
    // Negative control: a result without a message is not SARIF.
    let mut broken = rules::report::sarif(&found, &repo_root());
    broken["runs"][0]["results"][0]["message"] = json!("text");
    assert!(!validates(&sarif_schema(), &broken).0);
}

#[test]
fn json_output_validates_against_its_documented_schema() {
    let schema = repo_root().join("tests/oracle/kiln.check.v1.schema.json");
    let report = rules::report::json(&some_findings());
    let (ok, out) = validates(&schema, &report);
    assert!(ok, "{out}");
    assert_eq!(report["summary"]["suppressed"], 1);
    let mut broken = report.clone();
    broken["findings"][0]["severity"] = json!("fatal");
    assert!(!validates(&schema, &broken).0);
}

#[test]
fn render_refuses_error_findings_and_writes_nothing() {
    let repo = copy_inputs(false);
    put(
        repo.path(),
        "overlays/homelab/overlay.yaml",
        "patches:\n  - target: { kind: Deployment }\n    strategic:\n      spec:\n        template:\n          spec:\n            hostNetwork: true\n",
    );
    let r = kiln::Repo::open(repo.path()).expect("repo");
    let err = kiln::render(&r.environment("homelab").expect("env")).expect_err("refused");
    let text = err.to_string();
    assert!(
        text.contains("pss-host-namespaces")
            && text.contains("out/homelab/deployment-portkey-gateway.yaml"),
        "{text}"
    );
    assert!(kiln::render_repo(&r, &kiln::Selection::of(r.environments())).is_err());
    assert!(!repo.path().join("out/homelab").exists());
}

#[test]
fn a_suppression_with_a_reason_lets_it_through_and_shows() {
    let repo = copy_inputs(false);
    put(
        repo.path(),
        "overlays/homelab/overlay.yaml",
        "patches:\n  - target: { kind: Deployment }\n    strategic:\n      spec:\n        template:\n          spec:\n            hostNetwork: true\nsuppress:\n  - rule: pss-host-namespaces\n    resource: Deployment/portkey-gateway\n    reason: the homelab node has one NIC and the gateway must see client IPs\n",
    );
    let r = kiln::Repo::open(repo.path()).expect("repo");
    let rendered = kiln::render(&r.environment("homelab").expect("env")).expect("renders");
    let suppressed: Vec<&Finding> = rendered
        .findings()
        .iter()
        .filter(|f| f.suppressed.is_some())
        .collect();
    assert_eq!(suppressed.len(), 1);
    assert_eq!(suppressed[0].rule.id, "pss-host-namespaces");
    assert!(
        rules::report::text(rendered.findings(), kiln::model::emit::Color::Plain)
            .contains("reason: the homelab node has one NIC")
    );
    // Other environments do not inherit the suppression (and have nothing to suppress).
    assert!(
        kiln::render(&r.environment("prod").expect("env"))
            .expect("prod")
            .findings()
            .is_empty()
    );
}

#[test]
fn bad_suppressions_are_input_errors_naming_the_place() {
    let repo = copy_inputs(false);
    let r = || kiln::Repo::open(repo.path()).expect("repo");
    for (suppress, pointer, expected) in [
        (
            "{ rule: pss-host-namespace, resource: Deployment/portkey-gateway, reason: because it must be so }",
            "/suppress/0/rule",
            "did you mean `pss-host-namespaces`?",
        ),
        (
            "{ rule: pss-privileged, resource: Deployment/portkey-gateway, reason: ok }",
            "/suppress/0/reason",
            "needs a reason",
        ),
        (
            "{ rule: pss-privileged, resource: portkey-gateway, reason: because it must be so }",
            "/suppress/0/resource",
            "`Kind/name`",
        ),
        (
            "{ rule: CKV_K8S_X, resource: Deployment/portkey-gateway, reason: because it must be so }",
            "/suppress/0/rule",
            "checkov check ID",
        ),
        (
            "{ rule: pss-privileged, resource: Deployment/api, reason: because it must be so }",
            "/suppress/0/resource",
            "not a resource of environment",
        ),
        (
            "{ rule: pss-privileged, resource: Deployment/portkey-gateway, reason: because it must be so }",
            "/suppress/0",
            "finds nothing to suppress",
        ),
    ] {
        put(
            repo.path(),
            "overlays/homelab/overlay.yaml",
            &format!("suppress:\n  - {suppress}\n"),
        );
        let err = r()
            .environment("homelab")
            .and_then(|e| kiln::render(&e))
            .expect_err(expected);
        let kiln::Error::Input(e) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(
            e.file(),
            std::path::Path::new("overlays/homelab/overlay.yaml")
        );
        assert_eq!(e.pointer(), Some(pointer), "{err}");
        assert!(
            format!("{err} {:?}", e.suggestion()).contains(expected),
            "{err} {:?}",
            e.suggestion()
        );
    }
}

#[test]
fn a_checkov_suppression_becomes_a_skip_annotation_with_its_reason() {
    let repo = copy_inputs(false);
    edit(
        repo.path(),
        "base/service.yaml",
        "  - rule: CKV_K8S_40\n",
        "  - rule: CKV_K8S_31\n",
    );
    let rendered = crate::render_env(repo.path(), "homelab");
    let deployment = rendered
        .resources()
        .iter()
        .find(|r| r.kind() == "Deployment")
        .expect("deployment");
    let annotations = deployment
        .metadata()
        .annotations
        .clone()
        .unwrap_or_default();
    assert!(
        annotations
            .get("checkov.io/skip3")
            .is_some_and(|v| v.starts_with("CKV_K8S_31=the image's node user")),
        "{annotations:?}"
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Every JSON pointer of `v`.
    fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    pointers(x, kiln::model::pointer::join(&at, k), out);
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    pointers(x, format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
        out.push(at);
    }

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[a-zA-Z0-9:/@._-]{0,12}".prop_map(Value::from),
            Just(json!([])),
            Just(json!({})),
            Just(json!([{"name": "x"}])),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any value anywhere in a valid set of manifests: findings, never a panic,
        /// and every finding's pointer and line are well formed.
        #[test]
        fn arbitrary_manifests_never_panic(picks in proptest::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>(), scalar()), 1..6)) {
            let mut docs = good();
            for (doc, place, value) in picks {
                let d = doc.index(docs.len());
                let mut all = Vec::new();
                pointers(&docs[d], String::new(), &mut all);
                let target = place.get(&all).clone();
                if target.is_empty() {
                    docs[d] = value;
                } else if let Some(slot) = docs[d].pointer_mut(&target) {
                    *slot = value;
                }
            }
            let text = docs.iter().map(kiln::model::emit::yaml).collect::<Vec<_>>().join("---\n");
            let dir = tempfile::tempdir().expect("tmp");
            std::fs::write(dir.path().join("m.yaml"), &text).expect("write");
            // kiln's own YAML always loads: a case that did not would test nothing.
            let manifests = kiln::manifests::load(&[dir.path().to_path_buf()]);
            prop_assert!(manifests.is_ok(), "{:?}", manifests.err());
            for f in rules::check(&manifests.unwrap_or_default()) {
                prop_assert!(f.line >= 1 && f.line <= text.lines().count().max(1));
                prop_assert!(f.pointer.is_empty() || f.pointer.starts_with('/'));
            }
        }
    }
}
