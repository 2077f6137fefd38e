//! Generated differential test: random overlays (fixed seed), each applied by
//! kiln and by `kubectl kustomize` to the same rendered environment.
//!
//! Each case is 1–4 operations — RFC 6902, strategic and merge patches on
//! every rendered kind, images, replicas, name prefix/suffix, labels (with and
//! without selectors), annotations, namespace — with targets by kind, name,
//! anchored regular expression or label selector. A case passes when both
//! tools give the same documents, both refuse it, or a divergence docs/reference/overlays.md
//! documents explains the difference (see [`Explained`]). A failure prints
//! the smallest subset of the case's operations that still fails.

use crate::kustomize_cases::Case;
use crate::kustomize_diff::{sorted, with_kiln, with_kustomize};
use crate::kustomize_operations::{Op, Rng, combine, operation, parent_level};
use kiln_tests::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// At least this many cases per `make test` run.
const CASES: usize = 640;
const SEED: u64 = 0x006b_696c_6e2d_3137;

/// Environments whose resources cover every kind kiln renders for the gateway.
const ENVIRONMENTS: [&str; 3] = ["prod", "eks", "dev"];

/// Why the two tools may differ on a case: each a divergence docs/reference/overlays.md lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Explained {
    /// kiln refuses a patch target, `images` or `replicas` entry that matches nothing.
    MatchesNothing,
    /// kiln reads each overlay's result back into its type and refuses what
    /// is not a valid object (confirmed below by the schema oracles).
    NotAValidObject,
    /// A strategic patch's port item leaves out `protocol`: kustomize v5.5
    /// drops or mismerges it (kubernetes-sigs/kustomize#4752, #3620).
    PartialCompoundKey,
    /// An item of a merged list says `$patch: replace`: Kubernetes' strategic
    /// merge (and kiln) replace that item, kustomize v5.5 ignores the item.
    ItemReplace,
    /// A JSON patch `test` of the whole `metadata` or `metadata.annotations`:
    /// kustomize keeps its own internal annotations there while it builds.
    TestOfAnnotations,
    /// A `$patch` directive in kiln's RFC 7386 `merge:` patch, which has no
    /// directives: kiln refuses it (kustomize reads every patch as strategic).
    MergeDirective,
    /// An RFC 6902 `replace`, `remove` or `test` of a path that does not exist:
    /// RFC 6902 makes it an error, as kiln does; kustomize v5.5 creates it.
    Rfc6902Strict,
    /// `null` in a label or annotation patch removes the key, as RFC 7386 and
    /// strategic merge say; kustomize v5.5 writes the string `"null"`.
    NullRemovesKey,
    /// A strategic patch names one list item twice: kiln changes it twice,
    /// the last value winning, as the API server's merge does; kustomize
    /// v5.5 keeps the first.
    DuplicateMergeKey,
    /// A reference a patch adds without its `name` (a `secretKeyRef` in a new
    /// container) is written with `name: ""` by kiln's typed read-back, absent
    /// by kustomize: the API server reads both alike.
    EmptyReferenceName,
}

enum Outcome {
    Same,
    BothRefuse,
    Explained(Explained, Option<(String, Vec<Value>)>),
    Differs(String),
}

/// The bodies of a case's strategic-merge patches, where the merge-key
/// divergences below can arise.
fn strategic_bodies(case: &Value) -> impl Iterator<Item = &Value> {
    let patches = case["patches"].as_array().into_iter().flatten();
    patches.filter_map(|p| p.get("strategic"))
}

fn leaves_out_protocol(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, v)| {
            (k == "ports"
                && v.as_array()
                    .is_some_and(|items| items.iter().any(|i| i.get("protocol").is_none())))
                || leaves_out_protocol(v)
        }),
        Value::Array(items) => items.iter().any(leaves_out_protocol),
        _ => false,
    }
}

/// Whether a list item in `v` says `$patch: replace` beside other fields.
fn replaces_an_item(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.values().any(replaces_an_item),
        Value::Array(items) => items.iter().any(|i| {
            i.as_object()
                .is_some_and(|m| m.len() > 1 && m.get("$patch") == Some(&json!("replace")))
                || replaces_an_item(i)
        }),
        _ => false,
    }
}

/// Whether an `env` list in `v` names one variable twice.
fn names_an_env_item_twice(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, v)| {
            let twice = k == "env"
                && v.as_array().is_some_and(|items| {
                    let names: Vec<&Value> = items.iter().map(|i| &i["name"]).collect();
                    names
                        .iter()
                        .enumerate()
                        .any(|(i, n)| names[i + 1..].contains(n))
                });
            twice || names_an_env_item_twice(v)
        }),
        Value::Array(items) => items.iter().any(names_an_env_item_twice),
        _ => false,
    }
}

/// `docs` without any `name: ""` (a reference's name left empty).
fn without_empty_names(docs: &[Value]) -> Vec<Value> {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.retain(|k, v| !(k == "name" && v == ""));
                m.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut docs = docs.to_vec();
    docs.iter_mut().for_each(strip);
    docs
}

/// Whether a strategic or merge patch sets a label or annotation to `null`.
fn patches_null_metadata(case: &Value) -> bool {
    fn null_under_metadata(v: &Value, in_map: bool) -> bool {
        match v {
            Value::Object(m) => m.iter().any(|(k, v)| {
                let map = matches!(k.as_str(), "labels" | "annotations");
                (in_map && v.is_null()) || null_under_metadata(v, map)
            }),
            Value::Array(items) => items.iter().any(|i| null_under_metadata(i, false)),
            _ => false,
        }
    }
    let patches = case["patches"].as_array().into_iter().flatten();
    patches
        .filter_map(|p| p.get("strategic").or_else(|| p.get("merge")))
        .any(|body| null_under_metadata(body, false))
}

fn tests_annotations(case: &Value) -> bool {
    let patches = case["patches"].as_array().into_iter().flatten();
    let mut ops = patches.flat_map(|p| p["json"].as_array().into_iter().flatten());
    ops.any(|op| {
        op["op"] == "test"
            && matches!(
                op["path"].as_str(),
                Some("/metadata" | "/metadata/annotations")
            )
    })
}

fn outcome(repo: &std::path::Path, base: &[Value], case: &Case) -> Outcome {
    let ours = with_kiln(repo, case).map(|(_, docs)| sorted(docs));
    // Compared sorted (without the field only kiln moves); checked by the oracles as written.
    let theirs = with_kustomize(base, case);
    let written = theirs.clone().unwrap_or_default();
    match (ours, theirs.map(sorted)) {
        (Ok(a), Ok(b)) if a == b => Outcome::Same,
        (Err(_), Err(_)) => Outcome::BothRefuse,
        (Err(e), Ok(_))
            if e.contains("matches no resource")
                || e.contains("no container uses an image named") =>
        {
            Outcome::Explained(Explained::MatchesNothing, None)
        }
        (Err(e), Ok(_)) if e.contains("failed: path is invalid") => {
            Outcome::Explained(Explained::Rfc6902Strict, None)
        }
        (Ok(_), Ok(_)) if strategic_bodies(&case.kiln).any(names_an_env_item_twice) => {
            Outcome::Explained(Explained::DuplicateMergeKey, None)
        }
        (Ok(a), Ok(b)) if without_empty_names(&a) == without_empty_names(&b) => {
            Outcome::Explained(Explained::EmptyReferenceName, None)
        }
        (Ok(_), Ok(_)) if patches_null_metadata(&case.kiln) => {
            Outcome::Explained(Explained::NullRemovesKey, None)
        }
        (Err(e), Ok(_)) if e.contains("a `merge:` patch is RFC 7386") => {
            Outcome::Explained(Explained::MergeDirective, None)
        }
        // The item an item-level `$patch: replace` leaves may lack a required field.
        (Err(e), Ok(_))
            if e.contains("after this overlay")
                && strategic_bodies(&case.kiln).any(replaces_an_item) =>
        {
            Outcome::Explained(Explained::ItemReplace, None)
        }
        (Err(e), Ok(_)) if e.contains("after this overlay") => {
            let overlay = kiln::model::emit::yaml(&case.kiln);
            Outcome::Explained(
                Explained::NotAValidObject,
                Some((format!("{e}\nwith this overlay:\n{overlay}"), written)),
            )
        }
        (Ok(_), Ok(_)) if strategic_bodies(&case.kiln).any(leaves_out_protocol) => {
            Outcome::Explained(Explained::PartialCompoundKey, None)
        }
        (Ok(_), Ok(_)) if strategic_bodies(&case.kiln).any(replaces_an_item) => {
            Outcome::Explained(Explained::ItemReplace, None)
        }
        (Ok(_), Err(e)) if tests_annotations(&case.kiln) && e.contains("test failed") => {
            Outcome::Explained(Explained::TestOfAnnotations, None)
        }
        (a, b) => Outcome::Differs(format!(
            "kiln: {}\nkustomize: {}",
            match &a {
                Ok(d) => kiln::model::emit::yaml(&Value::Array(d.clone())),
                Err(e) => e.clone(),
            },
            match &b {
                Ok(d) => kiln::model::emit::yaml(&Value::Array(d.clone())),
                Err(e) => e.clone(),
            },
        )),
    }
}

/// The fewest operations of `ops` that still differ unexplained.
fn minimal(
    repo: &std::path::Path,
    env: &str,
    parent: &Value,
    base: &[Value],
    ops: Vec<Op>,
) -> (Vec<Op>, String) {
    let mut ops = ops;
    let mut i = 0;
    while i < ops.len() && ops.len() > 1 {
        let mut fewer = ops.clone();
        fewer.remove(i);
        if matches!(
            outcome(repo, base, &combine(env, parent, &fewer)),
            Outcome::Differs(_)
        ) {
            ops = fewer;
        } else {
            i += 1;
        }
    }
    let why = match outcome(repo, base, &combine(env, parent, &ops)) {
        Outcome::Differs(why) => why,
        _ => String::new(),
    };
    (ops, why)
}

#[test]
fn generated_overlays_give_kustomizes_documents() {
    let repo = copy_inputs(false);
    let mut rng = Rng(SEED);
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut invalid_by_kiln: Vec<(String, Vec<Value>)> = Vec::new();
    let mut patched = std::collections::BTreeSet::new();
    let bases: Vec<(&str, Vec<Value>)> = ENVIRONMENTS
        .iter()
        .map(|env| {
            let (_, docs) = with_kiln(repo.path(), &combine(env, &Value::Null, &[]))
                .expect("the environment renders");
            (*env, docs)
        })
        .collect();
    for n in 0..CASES {
        let (env, base) = &bases[n % bases.len()];
        let parent = parent_level(&mut rng);
        let ops: Vec<Op> = (0..=rng.below(4))
            .map(|_| operation(&mut rng, base))
            .collect();
        for op in &ops {
            let targets = op.kiln["patches"].as_array().into_iter().flatten();
            let kinds = targets.filter_map(|p| p["target"]["kind"].as_str());
            patched.extend(kinds.map(|k| k.trim_end_matches("|Nothing").to_string()));
        }
        let label = match outcome(repo.path(), base, &combine(env, &parent, &ops)) {
            Outcome::Same => "same".to_string(),
            Outcome::BothRefuse => "refused by both".to_string(),
            Outcome::Explained(why, docs) => {
                invalid_by_kiln.extend(docs);
                format!("{why:?}")
            }
            Outcome::Differs(_) => {
                let (ops, why) = minimal(repo.path(), env, &parent, base, ops);
                let overlay = kiln::model::emit::yaml(&combine(env, &parent, &ops).kiln);
                let parent = kiln::model::emit::yaml(&parent);
                failures.push(format!(
                    "case {n} on {env}; smallest overlay that differs:\n{overlay}over the parent level {parent}{why}"
                ));
                "differs".to_string()
            }
        };
        if !parent.is_null() {
            *counts
                .entry(format!("{label} after a parent's rename"))
                .or_default() += 1;
        }
        *counts.entry(label).or_default() += 1;
    }
    eprintln!("{CASES} generated cases: {counts:?}");
    assert!(
        failures.is_empty(),
        "{} of {CASES} cases differ:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(
        counts.get("same").copied().unwrap_or_default() > CASES / 3,
        "{counts:?}"
    );
    let renamed = counts.get("same after a parent's rename").copied();
    assert!(renamed.unwrap_or_default() > CASES / 20, "{counts:?}");
    // Every kind the environments render was the target of some patch.
    for (env, base) in &bases {
        for doc in base {
            let kind = doc["kind"].as_str().unwrap_or_default();
            assert!(patched.contains(kind), "no case patched {kind} (of {env})");
        }
    }
    crate::oracles::assert_refused_by_oracles(&invalid_by_kiln);
}
