//! Portkey strategies: every validation rule with a failing and a passing
//! case, the routing simulator on the reference strategies and on hand-made
//! conditional trees, and canonical emission.

use kiln::model::routing::{Decision, Request, route};
use kiln::model::rules::Severity;
use kiln::model::strategy::Config;
use kiln::model::values::Problem;
use kiln_tests::{copy_inputs, edit, put, repo_root};
use serde_json::{Value, json};

const SECRETS: [&str; 2] = ["OPENAI_API_KEY", "ANTHROPIC_API_KEY"];

/// `config` with `api_key: ${OPENAI_API_KEY}` on every node that names a
/// provider and no key: the gateway refuses a provider without one.
fn keyed(mut config: Value) -> Value {
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

fn conditional(query: Value, then: &str, default: Option<&str>) -> Value {
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

fn reference(name: &str) -> kiln::model::strategy::Strategy {
    let repo = kiln::Repo::open(repo_root()).expect("repo");
    repo.strategies()
        .iter()
        .find(|s| s.name() == name)
        .map(|s| (**s).clone())
        .expect("strategy")
}

#[test]
fn the_reference_strategies_validate_clean_and_do_what_the_seed_says() {
    let repo = kiln::Repo::open(repo_root()).expect("repo");
    for s in repo.strategies() {
        let env = repo.environment("homelab").expect("env");
        let secrets: Vec<String> = env
            .description()
            .secrets
            .keys
            .iter()
            .map(|k| k.env.clone())
            .collect();
        assert_eq!(s.findings(Some(&secrets)), vec![], "{}", s.name());
    }
    let shares =
        |name: &str| match route(reference(name).parsed(), &Request::default()).expect("routes") {
            Decision::LoadBalance(shares) => shares,
            other => panic!("{name}: {other:?}"),
        };
    // azure-models: eight Azure OpenAI variants, evenly.
    let azure = shares("azure-models");
    assert_eq!(azure.len(), 8);
    assert!(azure.iter().all(|(share, label, _)| (share - 0.125).abs() < 1e-9 && label.contains("azure-openai")));
    // claude-models: the three Claude tiers.
    let claude = shares("claude-models");
    let tiers: Vec<bool> = ["opus", "sonnet", "haiku"]
        .iter()
        .map(|t| claude.iter().any(|(_, l, _)| l.contains(t)))
        .collect();
    assert_eq!(tiers, [true, true, true]);
    // openai-models: three direct OpenAI models.
    let openai = shares("openai-models");
    assert_eq!(openai.len(), 3);
    assert!(openai.iter().all(|(_, l, _)| l.contains(" openai ")));
    // all-models: Azure, Anthropic, OpenAI and Cerebras, with semantic caching.
    let all = shares("all-models");
    for provider in ["azure-openai", "anthropic", "openai", "cerebras"] {
        assert!(
            all.iter().any(|(_, l, _)| l.contains(provider)),
            "{provider}"
        );
    }
    let cache = reference("all-models")
        .parsed()
        .cache
        .clone()
        .expect("cache");
    assert_eq!(cache.mode, kiln::model::strategy::CacheMode::Semantic);
}

fn chosen(config: &Config, request: &Request) -> (Option<usize>, String) {
    match route(config, request).expect("routes") {
        Decision::Conditional {
            matched, chosen, ..
        } => (matched, chosen),
        other => panic!("{other:?}"),
    }
}

#[test]
fn cost_optimized_branches_on_request_size() {
    let config = reference("cost-optimized").parsed().clone();
    let with_tokens = |n: Value| {
        let mut r = Request::default();
        r.params.insert("max_tokens".into(), n.into());
        r
    };
    let (matched, label) = chosen(&config, &with_tokens(json!(8000)));
    assert_eq!(matched, Some(0));
    assert!(label.starts_with("premium"), "{label}");
    let (matched, label) = chosen(&config, &with_tokens(json!(500)));
    assert_eq!(matched, None);
    assert!(label.starts_with("budget"), "{label}");
    // 4000 is not more than 4000; a numeric string is compared as a number, as parseFloat does.
    assert!(
        chosen(&config, &with_tokens(json!(4000)))
            .1
            .starts_with("budget")
    );
    assert!(
        chosen(&config, &with_tokens(json!("4001")))
            .1
            .starts_with("premium")
    );
    assert!(chosen(&config, &Request::default()).1.starts_with("budget"));
}

#[test]
fn hand_made_conditional_trees() {
    let config: Config = serde_json::from_value(keyed(json!({
        "strategy": {"mode": "conditional", "default": "basic", "conditions": [
            {"query": {"$and": [{"metadata.tier": "pro"}, {"$or": [{"params.model": {"$in": ["gpt-4o", "gpt-4.1"]}}, {"params.stream": true}]}]}, "then": "fast"},
            {"query": {"metadata.region": {"$regex": "^eu-"}}, "then": "eu"},
            {"query": {"params.max_tokens": {"$gte": 3000}}, "then": "long"},
            {"query": {"url.pathname": "/v1/embeddings"}, "then": "embed"}
        ]},
        "targets": [
            {"name": "fast", "strategy": {"mode": "fallback"}, "targets": [{"provider": "openai"}, {"provider": "azure-openai"}]},
            {"name": "eu", "provider": "azure-openai"},
            {"name": "long", "provider": "anthropic"},
            {"name": "embed", "provider": "openai"},
            {"name": "basic", "provider": "cerebras"}
        ]
    })))
    .expect("config");
    let req = |metadata: &[(&str, &str)], params: Value, path: &str| Request {
        metadata: metadata
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect(),
        params: params
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str().into(), v.into()))
            .collect(),
        path: path.into(),
    };
    let chat = "/v1/chat/completions";
    assert_eq!(
        chosen(
            &config,
            &req(&[("tier", "pro")], json!({"model": "gpt-4o"}), chat)
        )
        .0,
        Some(0)
    );
    assert_eq!(
        chosen(
            &config,
            &req(
                &[("tier", "pro")],
                json!({"model": "o3", "stream": true}),
                chat
            )
        )
        .0,
        Some(0)
    );
    // $and fails on the nested $or: on to the next conditions.
    assert_eq!(
        chosen(
            &config,
            &req(&[("tier", "pro")], json!({"model": "o3"}), chat)
        )
        .0,
        None
    );
    assert_eq!(
        chosen(
            &config,
            &req(&[("tier", "free"), ("region", "eu-west")], json!({}), chat)
        )
        .0,
        Some(1)
    );
    assert_eq!(
        chosen(&config, &req(&[], json!({"max_tokens": "3000"}), chat)).0,
        Some(2)
    );
    assert_eq!(
        chosen(&config, &req(&[], json!({"max_tokens": 2999}), chat)).0,
        None
    );
    assert_eq!(
        chosen(&config, &req(&[], json!({}), "/v1/embeddings")).0,
        Some(3)
    );
    // Metadata values keep their JSON type, compared with `===`: "1" is not 1.
    let strict: Config =
        serde_json::from_value(keyed(conditional(json!({"metadata.a": 1}), "b", Some("a"))))
            .expect("c");
    assert_eq!(
        chosen(&strict, &req(&[("a", "1")], json!({}), chat)).0,
        None
    );
    let mut typed = req(&[], json!({}), chat);
    typed.metadata.insert("a".into(), json!(1).into());
    assert_eq!(chosen(&strict, &typed).0, Some(0));

    // The chosen target's own routing is part of the answer.
    match route(
        &config,
        &req(&[("tier", "pro")], json!({"model": "gpt-4o"}), chat),
    )
    .expect("routes")
    {
        Decision::Conditional { next, .. } => {
            assert!(matches!(*next, Decision::Fallback { ref order, .. } if order.len() == 2))
        }
        other => panic!("{other:?}"),
    }
    // No match and no default: Portkey fails the request, and so does the simulator.
    let no_default: Config =
        serde_json::from_value(keyed(conditional(json!({"metadata.a": "x"}), "b", None)))
            .expect("c");
    assert!(route(&no_default, &Request::default()).is_err());
}

#[test]
fn weights_give_shares_and_fallback_keeps_order() {
    let config: Config = serde_json::from_value(keyed(json!({"strategy": {"mode": "loadbalance"}, "targets": [
        {"provider": "openai", "weight": 5}, {"provider": "anthropic", "weight": 3}, {"provider": "cerebras", "weight": 1}]}))).expect("c");
    let Decision::LoadBalance(shares) = route(&config, &Request::default()).expect("routes") else {
        panic!()
    };
    let got: Vec<f64> = shares.iter().map(|(s, _, _)| (s * 900.0).round()).collect();
    assert_eq!(got, [500.0, 300.0, 100.0]);
    let text = route(&config, &Request::default())
        .expect("routes")
        .to_string();
    assert!(text.contains("55.6%  #0 openai"), "{text}");
}

#[test]
fn emitted_json_is_canonical() {
    let dir = copy_inputs(false);
    put(
        dir.path(),
        "strategies/messy.json",
        "{\"targets\":[{\"provider\":\"openai\",\"weight\":1}],\n\n   \"strategy\" : {\"mode\":\"loadbalance\"}}",
    );
    let repo = kiln::Repo::open(dir.path()).expect("repo");
    let messy = repo
        .strategies()
        .iter()
        .find(|s| s.name() == "messy")
        .expect("messy")
        .canonical_json()
        .to_string();
    assert_eq!(
        messy,
        "{\n  \"strategy\": {\n    \"mode\": \"loadbalance\"\n  },\n  \"targets\": [\n    {\n      \"provider\": \"openai\",\n      \"weight\": 1\n    }\n  ]\n}\n"
    );
}

/// Strategies served by name: one rule per strategy, at most 16 to an
/// HTTPRoute (Gateway API's limit), each object valid against its CRD
/// schema (kiln reads every rendered object back through it); a default
/// strategy adds a rule for every other request; what cannot work is refused.
#[test]
fn strategies_by_name_split_routes_take_a_default_and_refuse_what_cannot_work() {
    let dir = copy_inputs(false);
    let one =
        std::fs::read_to_string(repo_root().join("strategies/openai-models.json")).expect("read");
    for i in 0..20 {
        put(dir.path(), &format!("strategies/extra-{i:02}.json"), &one);
    }
    put(
        dir.path(),
        "overlays/named/overlay.yaml",
        "set:\n  route:\n    strategiesByName: { implementation: envoy-gateway, default: all-models }\n",
    );
    let rendered = crate::render_env(dir.path(), "named");
    let routes: Vec<Value> = rendered
        .resources()
        .iter()
        .filter(|r| r.kind() == "HTTPRoute")
        .map(|r| r.to_value())
        .collect();
    let rules: Vec<usize> = routes
        .iter()
        .map(|r| r["spec"]["rules"].as_array().map_or(0, Vec::len))
        .collect();
    // 25 strategies and the default's rule.
    assert_eq!(rules, [16, 10]);
    assert_eq!(routes[1]["metadata"]["name"], "portkey-gateway-2");
    let last = routes[1]["spec"]["rules"]
        .as_array()
        .and_then(|r| r.last())
        .expect("a rule");
    assert!(
        last["matches"][0].get("headers").is_none(),
        "the default matches every request"
    );
    assert_eq!(
        last["filters"][0]["extensionRef"]["name"],
        "portkey-gateway-strategy-all-models"
    );
    let filters = rendered
        .resources()
        .iter()
        .filter(|r| r.kind() == "HTTPRouteFilter")
        .count();
    let secrets = rendered
        .resources()
        .iter()
        .filter(|r| r.kind() == "ExternalSecret")
        .count();
    assert_eq!((filters, secrets), (25, 25));
    assert!(!kiln::rules::has_errors(
        &kiln::check_repo(
            &kiln::Repo::open(dir.path()).expect("repo"),
            &kiln::Selection::of(&["named".to_string()])
        )
        .expect("checks")
    ));

    let refused = |overlay: &str| {
        put(dir.path(), "overlays/named/overlay.yaml", overlay);
        kiln::Repo::open(dir.path())
            .expect("repo")
            .environment("named")
            .map(|_| ())
            .expect_err("refused")
            .to_string()
    };
    let e = refused(
        "set:\n  route:\n    strategiesByName: { implementation: envoy-gateway, default: all-model }\n",
    );
    assert!(e.contains("did you mean `all-models`"), "{e}");
    let e = refused(
        "extends: gke\nset:\n  route:\n    hosts: [a.example.com]\n    strategiesByName: { implementation: envoy-gateway }\n",
    );
    assert!(e.contains("control plane"), "{e}");
    let e = refused("set:\n  route:\n    strategiesByName: { implementation: traefik }\n");
    assert!(e.contains("envoy-gateway"), "{e}");
    put(dir.path(), "strategies/under_score.json", &one);
    let e = refused("set:\n  route:\n    strategiesByName: { implementation: envoy-gateway }\n");
    assert!(e.contains("under_score"), "{e}");
}
