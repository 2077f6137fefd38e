//! Portkey strategies: the routing simulator on the reference strategies and
//! on hand-made conditional trees, canonical emission, and strategies served
//! by name (validation: strategy_validation.rs).

use crate::strategy_validation::{conditional, keyed};
use kiln::model::routing::{Decision, Request, route};
use kiln::model::strategy::Config;
use kiln_tests::{copy_inputs, put, repo_root};
use serde_json::{Value, json};

fn reference(name: &str) -> kiln::model::strategy::Strategy {
    let repo = kiln::Repo::open(repo_root()).expect("repo");
    repo.strategies()
        .iter()
        .find(|s| s.name() == name)
        .map(|s| (**s).clone())
        .expect("strategy")
}

#[test]
fn the_reference_strategies_validate_clean_and_do_what_the_homelab_guide_says() {
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
