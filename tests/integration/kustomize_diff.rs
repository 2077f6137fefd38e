//! Differential tests: every overlay operation kiln shares with kustomize is
//! applied by both to the same base, and the documents must be the same.
//!
//! For each case, kiln renders environment `case` of a copy of this
//! repository with the case's overlay. The same environment rendered without
//! its overlay's resource changes is kustomize's base; the equivalent
//! kustomization on top of it goes to `kubectl kustomize`. Documents are
//! compared after parsing, as a set keyed by kind and name.

use crate::kustomize_cases::{Case, cases};
use kiln_tests::*;
use serde_json::{Value, json};
use std::path::Path;

/// kustomize has no schema for these custom resources' references; kiln does.
/// Teaching kustomize the same references (its documented `configurations`)
/// makes the two comparable for renames.
const NAME_REFERENCES: &str = "\
nameReference:
  - kind: Service
    fieldSpecs:
      - {kind: HTTPRoute, path: spec/rules/backendRefs/name}
  - kind: ExternalSecret
    fieldSpecs:
      - {kind: Deployment, path: spec/template/spec/containers/env/valueFrom/secretKeyRef/name}
      - {kind: Deployment, path: spec/template/spec/initContainers/env/valueFrom/secretKeyRef/name}
      - {kind: Deployment, path: spec/template/spec/containers/envFrom/secretRef/name}
      - {kind: Deployment, path: spec/template/spec/initContainers/envFrom/secretRef/name}
      - {kind: Deployment, path: spec/template/spec/volumes/secret/secretName}
      - {kind: Deployment, path: spec/template/spec/volumes/projected/sources/secret/name}
      - {kind: Deployment, path: spec/template/spec/imagePullSecrets/name}
      - {kind: Ingress, path: spec/tls/secretName}
      - {kind: ExternalSecret, path: spec/target/name}
      - {kind: HTTPRouteFilter, path: spec/credentialInjection/credential/valueRef/name}
  - kind: HTTPRouteFilter
    fieldSpecs:
      - {kind: HTTPRoute, path: spec/rules/filters/extensionRef/name}
";

/// kiln also moves the ServiceMonitor's namespaceSelector with `namespace`
/// (kustomize has no schema for it); the comparison leaves that field out and
/// [`namespace_also_moves_the_service_monitor`] checks it.
const KILN_ONLY: (&str, &str) = ("ServiceMonitor", "/spec/namespaceSelector");

pub(crate) fn sorted(docs: Vec<Value>) -> Vec<Value> {
    let mut docs = docs;
    for doc in &mut docs {
        if doc["kind"] == KILN_ONLY.0
            && let Some(spec) = doc.pointer_mut("/spec").and_then(Value::as_object_mut)
        {
            spec.remove(KILN_ONLY.1.trim_start_matches("/spec/"));
        }
    }
    docs.sort_by_key(|d| (d["kind"].to_string(), d["metadata"]["name"].to_string()));
    docs
}

/// kiln's documents, or the error text. The shared operations are compared
/// before `kiln check`, a stage kustomize does not have: several cases make
/// pods that check refuses (a sidecar without limits, an image whose tag no
/// longer matches the version label), which is the point of check, not a
/// difference in patching.
pub(crate) fn with_kiln(repo: &Path, case: &Case) -> Result<(Vec<Value>, Vec<Value>), String> {
    let parent = repo.join("overlays/case-parent");
    if case.parent.is_null() {
        let _ = std::fs::remove_dir_all(&parent);
    } else {
        put(
            repo,
            "overlays/case-parent/overlay.yaml",
            &kiln::model::emit::yaml(&case.parent),
        );
    }
    put(
        repo,
        "overlays/case/overlay.yaml",
        &kiln::model::emit::yaml(&case.kiln),
    );
    let repo = kiln::Repo::open(repo).map_err(|e| e.to_string())?;
    let env = repo.environment("case").map_err(|e| e.to_string())?;
    let base_docs = kiln::build(&env).iter().map(|r| r.to_value()).collect();
    let patched = kiln::apply_overlays(&env, kiln::build(&env)).map_err(|e| format!("{e:?}"))?;
    Ok((base_docs, patched.iter().map(|r| r.to_value()).collect()))
}

/// Writes `dir/<level>/kustomization.yaml`: `fields` over the resources at
/// `from`, with the name references kiln also follows.
fn kustomization(dir: &Path, level: &str, fields: Value, from: &str) {
    let mut k = fields;
    k["resources"] = json!([from]);
    k["configurations"] = json!(["names.yaml"]);
    put(
        dir,
        &format!("{level}/kustomization.yaml"),
        &kiln::model::emit::yaml(&k),
    );
    put(dir, &format!("{level}/names.yaml"), NAME_REFERENCES);
}

/// kustomize's documents over `base`, or its error text.
pub(crate) fn with_kustomize(base: &[Value], case: &Case) -> Result<Vec<Value>, String> {
    let dir = tempfile::tempdir().expect("tmp");
    let mut names = Vec::new();
    for (i, doc) in base.iter().enumerate() {
        let name = format!("{i:02}.yaml");
        put(
            dir.path(),
            &format!("base/{name}"),
            &kiln::model::emit::yaml(doc),
        );
        names.push(name);
    }
    put(
        dir.path(),
        "base/kustomization.yaml",
        &kiln::model::emit::yaml(&json!({"resources": names})),
    );
    let mut from = "../base";
    if !case.parent.is_null() {
        let mut parent = case.parent.clone();
        parent.as_object_mut().map(|p| p.remove("extends"));
        kustomization(dir.path(), "parent", parent, from);
        from = "../parent";
    }
    kustomization(dir.path(), "overlay", case.kustomize.clone(), from);
    let (ok, stdout, stderr) = run(kubectl().arg("kustomize").arg(dir.path().join("overlay")));
    if ok {
        Ok(yaml_documents(&stdout))
    } else {
        Err(stderr)
    }
}

#[test]
fn kiln_and_kustomize_agree_on_every_shared_operation() {
    let repo = copy_inputs(false);
    let cases = cases();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut failures = Vec::new();
    let mut refused = Vec::new();
    for case in &cases {
        let extends = case.kiln.get("extends").filter(|_| case.parent.is_null());
        let base = match with_kiln(
            repo.path(),
            &Case {
                name: case.name,
                kiln: extends.map_or(json!({}), |e| json!({"extends": e})),
                kustomize: json!({}),
                ..Default::default()
            },
        ) {
            Ok((base, _)) => base,
            Err(e) => panic!("{}: the base does not render: {e}", case.name),
        };
        let ours = with_kiln(repo.path(), case).map(|(_, docs)| sorted(docs));
        let theirs = with_kustomize(&base, case).map(sorted);
        match (ours, theirs) {
            (Ok(a), Ok(b)) if a == b => {}
            (Err(_), Err(_)) => refused.push(case.name), // both refuse (e.g. a failing `test` op)
            (a, b) => failures.push(format!(
                "{}:\n  kiln:      {}\n  kustomize: {}",
                case.name,
                first_mismatch(&a, &b),
                match &b {
                    Ok(_) => "ok".into(),
                    Err(e) => e.clone(),
                }
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    // Only the cases meant to fail may be refused: a case both tools refuse
    // by accident (a typo in the case itself) would otherwise pass silently.
    assert_eq!(refused, REFUSED_BY_BOTH, "cases refused by both tools");
}

/// The cases that are invalid on purpose, which both tools must refuse.
const REFUSED_BY_BOTH: [&str; 2] = ["6902 failing test", "6902 missing path"];

fn first_mismatch(a: &Result<Vec<Value>, String>, b: &Result<Vec<Value>, String>) -> String {
    match (a, b) {
        (Err(e), _) => format!("error {e}"),
        (Ok(_), Err(_)) => "ok".into(),
        (Ok(a), Ok(b)) => {
            for (x, y) in a.iter().zip(b) {
                if x != y {
                    return format!(
                        "differs on {} {}:\n    kiln {}\n    kust {}",
                        x["kind"], x["metadata"]["name"], x, y
                    );
                }
            }
            format!("{} documents vs {}", a.len(), b.len())
        }
    }
}

#[test]
fn both_tools_refuse_a_failing_test_operation() {
    let repo = copy_inputs(false);
    let case = cases()
        .into_iter()
        .find(|c| c.name == "6902 failing test")
        .expect("case");
    let (base, _) = with_kiln(
        repo.path(),
        &Case {
            name: "",
            kiln: json!({}),
            kustomize: json!({}),
            ..Default::default()
        },
    )
    .expect("base");
    let ours = with_kiln(repo.path(), &case).expect_err("kiln refuses");
    assert!(ours.contains("/patches/0/json/0"), "{ours}");
    assert!(with_kustomize(&base, &case).is_err());
}

#[test]
fn namespace_also_moves_the_service_monitor() {
    let repo = copy_inputs(false);
    let mut case = cases()
        .into_iter()
        .find(|c| c.name == "namespace")
        .expect("case");
    // An environment whose image serves metrics has a ServiceMonitor.
    case.kiln["extends"] = json!("gke");
    let (_, docs) = with_kiln(repo.path(), &case).expect("renders");
    let monitor = docs
        .iter()
        .find(|d| d["kind"] == "ServiceMonitor")
        .expect("monitor");
    assert_eq!(monitor["metadata"]["namespace"], "ai-gateway");
    assert_eq!(
        monitor["spec"]["namespaceSelector"]["matchNames"],
        json!(["ai-gateway"])
    );
}
