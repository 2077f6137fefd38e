//! The patch operations against hand-picked cases (the generated differential
//! against kubectl kustomize is in tests/integration/).

use super::*;
use proptest::prelude::*;
use serde_json::json;

/// Keys by the list's last field, as the Kubernetes definitions give them.
fn keys(path: &[&str]) -> Option<ListMerge> {
    let (keys, order): (&'static [&'static str], _) = match *path.last()? {
        "env" | "containers" => (&["name"], Order::PatchFirst),
        "ports" => (&["port", "protocol"], Order::NewFirst),
        _ => return None,
    };
    Some(ListMerge { keys, order })
}

fn smp(target: Value, patch: Value) -> Value {
    let mut t = target;
    strategic_merge(&mut t, &patch, &keys).expect("merge");
    t
}

#[test]
fn lists_merge_by_key_patch_items_first() {
    let target = json!({"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]});
    let out = smp(
        target,
        json!({"env": [{"name": "C", "value": "3"}, {"name": "B", "value": "9"}]}),
    );
    assert_eq!(
        out,
        json!({"env": [{"name": "C", "value": "3"}, {"name": "B", "value": "9"}, {"name": "A", "value": "1"}]})
    );
}

#[test]
fn service_ports_put_new_items_first() {
    let target = json!({"spec": {"ports": [{"port": 1}, {"port": 2}]}});
    let out = smp(
        target,
        json!({"spec": {"ports": [{"port": 2, "name": "b"}, {"port": 3}]}}),
    );
    assert_eq!(
        out["spec"]["ports"],
        json!([{"port": 3}, {"port": 1}, {"port": 2, "name": "b"}])
    );
}

#[test]
fn an_item_without_its_key_matches_nothing() {
    // A port without `port` (an earlier RFC 6902 remove) is no port 80:
    // the patch's port is a new item, and the keyless one stays to be refused.
    let target = json!({"spec": {"ports": [{"name": "a", "protocol": "TCP"}]}});
    let out = smp(
        target,
        json!({"spec": {"ports": [{"port": 80, "name": "b"}]}}),
    );
    assert_eq!(
        out["spec"]["ports"],
        json!([{"port": 80, "name": "b"}, {"name": "a", "protocol": "TCP"}])
    );
}

#[test]
fn compound_keys_tell_protocols_apart() {
    let tcp = json!({"port": 53, "protocol": "TCP", "name": "dns"});
    let target = json!({"spec": {"ports": [tcp.clone()]}});
    // A UDP port beside the TCP one is a new item, not a change to it.
    let udp = json!({"port": 53, "protocol": "UDP", "name": "dns-udp"});
    let out = smp(target.clone(), json!({"spec": {"ports": [udp.clone()]}}));
    assert_eq!(out["spec"]["ports"], json!([udp.clone(), tcp.clone()]));
    // Leaving out the protocol matches the one port 53 there is...
    let out = smp(
        target,
        json!({"spec": {"ports": [{"port": 53, "$patch": "delete"}]}}),
    );
    assert_eq!(out["spec"]["ports"], json!([]));
    // ...and is ambiguous when there are two.
    let mut both = json!({"spec": {"ports": [udp, tcp]}});
    let err = strategic_merge(
        &mut both,
        &json!({"spec": {"ports": [{"port": 53, "name": "x"}]}}),
        &keys,
    )
    .expect_err("ambiguous")
    .to_string();
    assert!(
        err.starts_with("/spec/ports/0: matches more than one item"),
        "{err}"
    );
}

#[test]
fn directives_delete_and_replace() {
    let target = json!({"env": [{"name": "A"}, {"name": "B"}], "m": {"x": 1, "y": 2}});
    let out = smp(
        target.clone(),
        json!({"env": [{"name": "A", "$patch": "delete"}], "m": {"$patch": "replace", "z": 3}}),
    );
    assert_eq!(out, json!({"env": [{"name": "B"}], "m": {"z": 3}}));
    let out = smp(
        target.clone(),
        json!({"env": [{"$patch": "replace"}, {"name": "Z"}]}),
    );
    assert_eq!(out["env"], json!([{"name": "Z"}]));
    let out = smp(target, json!({"m": {"$patch": "delete"}, "env": null}));
    assert_eq!(out, json!({}));
}

#[test]
fn lists_without_a_key_are_replaced() {
    let out = smp(json!({"args": ["a", "b"]}), json!({"args": ["c"]}));
    assert_eq!(out, json!({"args": ["c"]}));
}

#[test]
fn bad_items_and_directives_are_errors_with_pointers() {
    let mut t = json!({"spec": {"containers": [{"name": "a"}]}});
    let err = strategic_merge(
        &mut t,
        &json!({"spec": {"containers": [{"image": "x"}]}}),
        &keys,
    )
    .expect_err("no key")
    .to_string();
    assert!(
        err.starts_with("/spec/containers/0: missing `name`"),
        "{err}"
    );
    let err = strategic_merge(&mut t, &json!({"spec": {"$patch": "explode"}}), &keys)
        .expect_err("bad directive")
        .to_string();
    assert!(err.contains("explode"), "{err}");
}

#[test]
fn targets_select_by_every_field() {
    let doc = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "gw", "namespace": "p", "labels": {"tier": "web", "team": "ai"}}});
    let t = |json: Value| {
        serde_json::from_value::<Target>(json)
            .expect("target")
            .selector()
            .expect("compiles")
            .matches(&doc)
    };
    assert!(t(json!({})));
    assert!(t(
        json!({"group": "apps", "version": "v1", "kind": "Deployment", "name": "gw", "namespace": "p"})
    ));
    assert!(
        t(json!({"group": ""})),
        "empty matches everything, as in kustomize"
    );
    assert!(!t(json!({"group": "core"})));
    assert!(t(json!({"labelSelector": "tier=web,team==ai,!other"})));
    assert!(!t(json!({"labelSelector": "tier!=web"})));
    assert!(!t(json!({"labelSelector": "missing"})));
}

#[test]
fn target_fields_are_anchored_regular_expressions() {
    let doc =
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "portkey-gateway"}});
    let t = |json: Value| {
        serde_json::from_value::<Target>(json)
            .expect("target")
            .selector()
    };
    let matches = |json: Value| t(json).expect("compiles").matches(&doc);
    assert!(matches(json!({"name": "portkey-.*"})));
    assert!(matches(json!({"name": "redis|portkey-gateway"})));
    assert!(
        !matches(json!({"name": "gateway"})),
        "anchored: no partial match"
    );
    assert!(!matches(json!({"name": "portkey"})));
    assert!(matches(json!({"kind": "Serv.*", "version": "v."})));
    let err = t(json!({"name": "("})).expect_err("does not compile");
    assert_eq!(err.field, "name");
    assert!(err.message.contains("not a regular expression"), "{err}");
}

fn arb_doc() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<i8>().prop_map(|n| json!(n)),
        "[a-c]{0,2}".prop_map(|s| json!(s))
    ];
    leaf.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            prop::collection::btree_map("[a-c]", inner.clone(), 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            prop::collection::vec(inner, 0..3).prop_map(Value::Array),
        ]
    })
}

proptest! {
    /// Without merge keys or `$patch` directives, kiln's strategic merge
    /// is RFC 7386: the same result as the json-patch crate's merge patch.
    #[test]
    fn strategic_merge_without_keys_is_a_merge_patch(doc in arb_doc(), patch in arb_doc()) {
        let mut theirs = doc.clone();
        json_patch::merge(&mut theirs, &patch);
        let mut ours = doc;
        strategic_merge(&mut ours, &patch, &|_: &[&str]| None).expect("no directives");
        prop_assert_eq!(ours, theirs);
    }

    /// Strategic merge of a keyed list is idempotent too.
    #[test]
    fn strategic_merge_is_idempotent(names in prop::collection::vec("[a-d]", 0..4), patch in prop::collection::vec(("[a-f]", "[x-z]"), 0..4)) {
        let target = json!({"env": names.iter().map(|n| json!({"name": n})).collect::<Vec<_>>()});
        let mut seen = std::collections::BTreeSet::new();
        let patch: Vec<Value> = patch.into_iter().filter(|(n, _)| seen.insert(n.clone()))
            .map(|(n, v)| json!({"name": n, "value": v})).collect();
        let patch = json!({"env": patch});
        let once = smp(target, patch.clone());
        prop_assert_eq!(smp(once.clone(), patch), once);
    }
}
