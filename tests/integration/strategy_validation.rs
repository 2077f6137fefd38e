//! Portkey strategies' validation: every rule with a failing and a passing
//! case, unknown fields with a suggestion, unreachable targets as warnings, and
//! render stopped by an invalid strategy naming file and pointer.

use kiln::model::rules::Severity;
use kiln::model::values::Problem;
use kiln_tests::{copy_inputs, edit, put};
use serde_json::{Value, json};

const SECRETS: [&str; 2] = ["OPENAI_API_KEY", "ANTHROPIC_API_KEY"];

/// `config` with `api_key: ${OPENAI_API_KEY}` on every node that names a
/// provider and no key: the gateway refuses a provider without one.
pub(crate) fn keyed(mut config: Value) -> Value {
    if let Some(node) = config.as_object_mut() {
        if node.contains_key("provider") && !node.contains_key("api_key") {
            node.insert("api_key".into(), json!("${OPENAI_API_KEY}"));
        }
        if let Some(Value::Array(targets)) = node.get_mut("targets") {
            for t in targets.iter_mut() {
                *t = keyed(t.take());
            }
        }
    }
    config
}

fn findings(config: Value) -> Vec<Problem> {
    let config = keyed(config);
    let secrets: Vec<String> = SECRETS.iter().map(|s| s.to_string()).collect();
    let path = std::path::Path::new("strategies/case.json");
    kiln::model::strategy::from_file(path, &config.to_string())
        .expect("a strategy")
        .findings(Some(&secrets))
}

fn errors(config: Value) -> Vec<String> {
    findings(config)
        .into_iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| format!("{} {}", f.pointer, f.message))
        .collect()
}

fn warnings(config: Value) -> Vec<String> {
    findings(config)
        .into_iter()
        .filter(|f| f.severity == Severity::Warning)
        .map(|f| format!("{} {}", f.pointer, f.message))
        .collect()
}

pub(crate) fn conditional(query: Value, then: &str, default: Option<&str>) -> Value {
    let mut strategy =
        json!({"mode": "conditional", "conditions": [{"query": query, "then": then}]});
    if let Some(d) = default {
        strategy["default"] = json!(d);
    }
    json!({"strategy": strategy, "targets": [
        {"name": "a", "provider": "openai"},
        {"name": "b", "provider": "anthropic"}
    ]})
}

/// (rule, failing config, what the error says and where, passing config)
fn rules() -> Vec<(&'static str, Value, &'static str, Value)> {
    let q = |k: &str, v: Value| json!({k: v});
    vec![
        (
            "then names a target",
            conditional(q("params.model", json!("x")), "c", Some("a")),
            "/strategy/conditions/0/then no target is named `c`",
            conditional(q("params.model", json!("x")), "b", Some("a")),
        ),
        (
            "default names a target",
            conditional(q("params.model", json!("x")), "b", Some("z")),
            "/strategy/default no target is named `z`",
            conditional(q("params.model", json!("x")), "b", Some("a")),
        ),
        (
            "condition keys",
            conditional(q("body.model", json!("x")), "b", Some("a")),
            "/strategy/conditions/0/query/body.model `body.model` is not a field",
            conditional(q("metadata.tier", json!("pro")), "b", Some("a")),
        ),
        (
            "url has only pathname",
            conditional(q("url.host", json!("x")), "b", Some("a")),
            "url.host",
            conditional(q("url.pathname", json!("/v1/embeddings")), "b", Some("a")),
        ),
        (
            "three-level keys",
            conditional(q("params.a.b", json!(1)), "b", Some("a")),
            "params.a.b",
            conditional(q("params.a", json!(1)), "b", Some("a")),
        ),
        (
            "operators",
            conditional(q("params.max_tokens", json!({"$gtt": 5})), "b", Some("a")),
            "`$gtt` is not an operator Portkey understands (did you mean `$gt`?)",
            conditional(q("params.max_tokens", json!({"$gt": 5})), "b", Some("a")),
        ),
        (
            "$regex compiles as JavaScript",
            conditional(
                q("params.model", json!({"$regex": "gpt-(4"})),
                "b",
                Some("a"),
            ),
            "is not a valid JavaScript regular expression",
            // Lookbehind and \\p{L} are ECMAScript; the gateway runs them.
            conditional(
                q("params.model", json!({"$regex": "(?<=gpt-)\\p{L}"})),
                "b",
                Some("a"),
            ),
        ),
        (
            "Rust-only regex syntax",
            conditional(
                q("params.model", json!({"$regex": "(?i)^gpt"})),
                "b",
                Some("a"),
            ),
            "is not a valid JavaScript regular expression",
            conditional(
                q("params.model", json!({"$regex": "^[Gg][Pp][Tt]"})),
                "b",
                Some("a"),
            ),
        ),
        (
            "prototype keys",
            conditional(q("metadata.constructor", json!("x")), "b", Some("a")),
            "`constructor` is a property of every JavaScript object",
            conditional(q("metadata.builder", json!("x")), "b", Some("a")),
        ),
        (
            "$regex stands alone",
            conditional(
                q("params.model", json!({"$regex": "^gpt", "$ne": "gpt-4"})),
                "b",
                Some("a"),
            ),
            "`$regex` must stand alone",
            conditional(q("params.model", json!({"$regex": "^gpt"})), "b", Some("a")),
        ),
        (
            "$and/$or alone",
            conditional(
                json!({"$or": [{"metadata.a": "1"}], "params.model": "x"}),
                "b",
                Some("a"),
            ),
            "must be the only key",
            conditional(
                json!({"$or": [{"metadata.a": "1"}, {"params.model": "x"}]}),
                "b",
                Some("a"),
            ),
        ),
        (
            "logical operators",
            conditional(json!({"$not": [{"metadata.a": "1"}]}), "b", Some("a")),
            "`$not` is not a field Portkey can test",
            conditional(json!({"$and": [{"metadata.a": "1"}]}), "b", Some("a")),
        ),
        (
            "list values",
            conditional(q("metadata.tier", json!(["a", "b"])), "b", Some("a")),
            "use `{\"$in\"",
            conditional(q("metadata.tier", json!("a")), "b", Some("a")),
        ),
        (
            "weights non-negative",
            json!({"strategy": {"mode": "loadbalance"}, "targets": [{"provider": "openai", "weight": -1}, {"provider": "anthropic", "weight": 1}]}),
            "/targets/0/weight weight -1 must be 0 or more",
            json!({"strategy": {"mode": "loadbalance"}, "targets": [{"provider": "openai", "weight": 0.3}, {"provider": "anthropic", "weight": 0.7}]}),
        ),
        (
            "one positive weight",
            json!({"strategy": {"mode": "loadbalance"}, "targets": [{"provider": "openai", "weight": 0}, {"provider": "anthropic", "weight": 0}]}),
            "/targets loadbalance needs at least one target with a positive weight",
            json!({"strategy": {"mode": "loadbalance"}, "targets": [{"provider": "openai", "weight": 0}, {"provider": "anthropic"}]}),
        ),
        (
            "a strategy has targets",
            json!({"strategy": {"mode": "fallback"}, "targets": []}),
            "/targets fallback mode needs targets",
            json!({"strategy": {"mode": "fallback"}, "targets": [{"provider": "openai"}, {"provider": "anthropic"}]}),
        ),
        (
            "duplicate names",
            json!({"strategy": {"mode": "fallback"}, "targets": [{"name": "x", "provider": "openai"}, {"name": "x", "provider": "anthropic"}]}),
            "/targets/1/name target name `x` is used twice",
            json!({"strategy": {"mode": "fallback"}, "targets": [{"name": "x", "provider": "openai"}, {"name": "y", "provider": "anthropic"}]}),
        ),
        (
            "a config has a provider or targets",
            json!({"retry": {"attempts": 2}}),
            "the gateway refuses a config without `provider` or `targets`",
            json!({"retry": {"attempts": 2}, "provider": "openai"}),
        ),
        (
            "a target has something to do",
            json!({"strategy": {"mode": "fallback"}, "targets": [{"provider": "openai"}, {"weight": 1}]}),
            "/targets/1 the gateway refuses this: it must have `provider` and `api_key`",
            json!({"strategy": {"mode": "fallback"}, "targets": [{"provider": "openai"}, {"weight": 1, "retry": {"attempts": 2}, "provider": "anthropic"}]}),
        ),
        (
            "virtual keys need Portkey's vault",
            json!({"provider": "anthropic", "api_key": null, "virtual_key": "anthropic-prod"}),
            "the open-source gateway has no vault for virtual keys",
            json!({"provider": "anthropic", "api_key": "${ANTHROPIC_API_KEY}"}),
        ),
        (
            "providers the gateway knows",
            json!({"provider": "opnai"}),
            "/provider `opnai` is not a provider the gateway knows; did you mean `openai`?",
            json!({"provider": "openai"}),
        ),
        (
            "vertex needs a region and project",
            json!({"provider": "vertex-ai"}),
            "provider `vertex-ai` needs `vertex_region`",
            json!({"provider": "vertex-ai", "vertex_region": "europe-west4", "vertex_project_id": "p"}),
        ),
        (
            "custom hosts the gateway allows",
            json!({"provider": "openai", "custom_host": "http://10.0.0.7:8080/v1"}),
            "/custom_host the gateway refuses `http://10.0.0.7:8080/v1` as a custom host",
            json!({"provider": "openai", "custom_host": "https://llm.example.com/v1"}),
        ),
        (
            "status codes",
            json!({"strategy": {"mode": "fallback", "on_status_codes": [429, 999]}, "targets": [{"provider": "openai"}, {"provider": "anthropic"}]}),
            "/strategy/on_status_codes/1 999 is not an HTTP status code",
            json!({"strategy": {"mode": "fallback", "on_status_codes": [429, 503]}, "targets": [{"provider": "openai"}, {"provider": "anthropic"}]}),
        ),
        (
            "cache lifetimes",
            json!({"provider": "openai", "cache": {"mode": "simple", "max_age": -1}}),
            "/cache/max_age max_age is a number of seconds",
            json!({"provider": "openai", "cache": {"mode": "simple", "max_age": 1.5}}),
        ),
        (
            "timeouts",
            json!({"provider": "openai", "request_timeout": -1}),
            "/request_timeout",
            json!({"provider": "openai", "request_timeout": 30000}),
        ),
        (
            "a target with nowhere to go",
            json!({"strategy": {"mode": "single"}, "targets": [{"request_timeout": 30000}]}),
            "/targets/0",
            json!({"strategy": {"mode": "single"}, "targets": [{"provider": "openai", "api_key": "${OPENAI_API_KEY}", "request_timeout": 30000}]}),
        ),
        (
            "weights past a JavaScript number",
            json!({"strategy": {"mode": "loadbalance"}, "targets": [{"provider": "openai", "api_key": "${OPENAI_API_KEY}", "weight": 1e308}, {"provider": "openai", "api_key": "${OPENAI_API_KEY}", "weight": 1e308}]}),
            "/targets",
            json!({"strategy": {"mode": "loadbalance"}, "targets": [{"provider": "openai", "api_key": "${OPENAI_API_KEY}", "weight": 1e300}, {"provider": "openai", "api_key": "${OPENAI_API_KEY}", "weight": 1e300}]}),
        ),
        (
            "literal keys refused",
            json!({"provider": "openai", "api_key": "sk-proj-abcdefghijklmnopqrstuvwx123456"}),
            "/api_key this looks like a literal credential",
            json!({"provider": "openai", "api_key": "${OPENAI_API_KEY}"}),
        ),
        (
            "anthropic keys refused",
            json!({"provider": "anthropic", "api_key": "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123"}),
            "/api_key this looks like a literal credential",
            json!({"provider": "anthropic", "api_key": "${ANTHROPIC_API_KEY}"}),
        ),
        (
            "keys hidden elsewhere",
            json!({"provider": "openai", "override_params": {"user": "sk-abcdefghijklmnopqrstuvwxyz012345"}}),
            "/override_params/user this looks like a literal credential",
            json!({"provider": "openai", "override_params": {"user": "team-ai"}}),
        ),
        (
            "references name a secret",
            json!({"provider": "openai", "api_key": "${GROQ_API_KEY}"}),
            "/api_key `${GROQ_API_KEY}` is not one of the environment's secrets.keys",
            json!({"provider": "openai", "api_key": "${OPENAI_API_KEY}"}),
        ),
        (
            "credentials are references",
            json!({"provider": "openai", "api_key": "hunter2"}),
            "/api_key credentials are only references",
            json!({"provider": "openai"}),
        ),
    ]
}

#[test]
fn every_validation_rule_fails_and_passes() {
    for (rule, bad, expected, good) in rules() {
        let found = errors(bad);
        assert!(
            found.iter().any(|e| e.contains(expected)),
            "{rule}: expected {expected:?} in {found:?}"
        );
        assert_eq!(
            errors(good),
            Vec::<String>::new(),
            "{rule}: the good config has errors"
        );
    }
}

#[test]
fn unknown_fields_are_rejected_with_a_suggestion() {
    let dir = copy_inputs(false);
    put(
        dir.path(),
        "strategies/typo.json",
        "{\n  \"provider\": \"openai\",\n  \"api_key\": \"${OPENAI_API_KEY}\",\n  \"overide_params\": {}\n}\n",
    );
    let repo = kiln::Repo::open(dir.path()).expect("repo");
    let err = repo.environment("homelab").expect_err("unknown field");
    let kiln::Error::Input(e) = err else {
        panic!("{err}")
    };
    assert_eq!(e.file(), std::path::Path::new("strategies/typo.json"));
    assert_eq!(e.pointer(), Some("/overide_params"));
    assert!(
        e.message().ends_with(
            "is not a field the gateway reads (it would ignore it); did you mean `override_params`?"
        ),
        "{}",
        e.message()
    );
}

#[test]
fn unreachable_targets_are_warnings() {
    let w = warnings(conditional(json!({"metadata.tier": "pro"}), "b", None));
    assert!(w.iter().any(|w| w.contains("no `default`")), "{w:?}");
    assert!(
        w.iter()
            .any(|w| w.contains("target `a` is named by no condition")),
        "{w:?}"
    );
    let w = warnings(
        json!({"strategy": {"mode": "loadbalance"}, "targets": [{"provider": "openai", "weight": 0}, {"provider": "anthropic"}]}),
    );
    assert!(
        w.iter().any(|w| w.contains("never receives traffic")),
        "{w:?}"
    );
    let w = warnings(
        json!({"strategy": {"mode": "single"}, "targets": [{"provider": "openai"}, {"provider": "anthropic"}]}),
    );
    assert!(w.iter().any(|w| w.contains("unreachable")), "{w:?}");
    // Never true, but the gateway runs it: a warning.
    let w = warnings(conditional(
        json!({"params.max_tokens": {"$lt": "many"}}),
        "b",
        Some("a"),
    ));
    assert!(
        w.iter().any(|w| w.contains("`$lt` compares numbers")),
        "{w:?}"
    );
    let w = warnings(json!({"targets": [{"provider": "openai"}], "provider": "openai"}));
    assert!(
        w.iter()
            .any(|w| w.contains("targets without a `strategy` are never used")),
        "{w:?}"
    );
    assert!(warnings(conditional(json!({"metadata.tier": "pro"}), "b", Some("a"))).is_empty());
}

#[test]
fn an_invalid_strategy_stops_render_and_names_file_and_pointer() {
    let dir = copy_inputs(false);
    edit(
        dir.path(),
        "strategies/cost-optimized.json",
        "\"then\": \"premium\"",
        "\"then\": \"premum\"",
    );
    let repo = kiln::Repo::open(dir.path()).expect("repo");
    let err = repo.environment("homelab").expect_err("invalid strategy");
    let kiln::Error::Input(e) = err else {
        panic!("{err}")
    };
    assert_eq!(
        e.file(),
        std::path::Path::new("strategies/cost-optimized.json")
    );
    assert_eq!(e.pointer(), Some("/strategy/conditions/0/then"));
    assert!(
        e.message().contains("did you mean `premium`?"),
        "{}",
        e.message()
    );
}
