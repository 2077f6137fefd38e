//! Same inputs, same bytes: whatever the order files were created in, however
//! often kiln runs. (Time zone and locale: see the CLI tests, which run the binary.)

use crate::render_env;
use kiln_tests::{copy_inputs, edit, put, repo_root};

#[test]
fn rendering_twice_gives_identical_bytes() {
    let root = repo_root();
    assert_eq!(render_env(&root, "homelab"), render_env(&root, "homelab"));
}

#[test]
fn file_creation_order_does_not_matter() {
    let forward = copy_inputs(false);
    let backward = copy_inputs(true);
    let a = render_env(forward.path(), "homelab");
    let b = render_env(backward.path(), "homelab");
    assert_eq!(a.files(), b.files());
    assert_eq!(a.files(), render_env(&repo_root(), "homelab").files());
}

#[test]
fn a_strategy_change_rolls_the_pods_and_nothing_else_touches_that_hash() {
    let dir = copy_inputs(false);
    let before = render_env(dir.path(), "homelab");
    let strategies_name = |r: &kiln::EnvironmentOutput| {
        r.resources()
            .iter()
            .find(|x| x.kind() == "ConfigMap" && x.name().contains("-strategies-"))
            .map(|x| x.name().to_string())
            .expect("strategies ConfigMap")
    };
    let mounted = |r: &kiln::EnvironmentOutput| {
        r.resources()
            .iter()
            .find(|x| x.kind() == "Deployment")
            .map(|x| x.to_value()["spec"]["template"]["spec"]["volumes"].to_string())
            .expect("deployment")
    };

    // A description change that is not a strategy keeps the strategies name.
    edit(
        dir.path(),
        "base/service.yaml",
        "replicas: 1",
        "replicas: 3",
    );
    let scaled = render_env(dir.path(), "homelab");
    assert_eq!(strategies_name(&before), strategies_name(&scaled));

    // Reformatting a strategy file (same JSON) changes nothing either.
    let file = dir.path().join("strategies/claude-models.json");
    let text = std::fs::read_to_string(&file).expect("strategy");
    let value: serde_json::Value = serde_json::from_str(&text).expect("json");
    put(
        dir.path(),
        "strategies/claude-models.json",
        &value.to_string(),
    );
    assert_eq!(
        strategies_name(&scaled),
        strategies_name(&render_env(dir.path(), "homelab"))
    );

    // A real change renames the ConfigMap, and the pod template follows it.
    put(
        dir.path(),
        "strategies/claude-models.json",
        &text.replace("\"weight\": 1", "\"weight\": 2"),
    );
    let changed = render_env(dir.path(), "homelab");
    assert_ne!(strategies_name(&scaled), strategies_name(&changed));
    assert!(mounted(&changed).contains(&strategies_name(&changed)));
    assert_ne!(mounted(&scaled), mounted(&changed));
}
