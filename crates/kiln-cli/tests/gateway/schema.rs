//! kiln's strategy validation against the gateway's own: each config below is
//! sent to the real gateway, and what it does (serves, refuses with 400,
//! fails) is asserted as cited; kiln accepts what the gateway serves, refuses
//! what it refuses or fails on, and refuses more only by the rules docs/reference/strategies.md lists.
//! The lists kiln keeps of the gateway's providers and provider options are
//! read back from its code.

use crate::documented::STRICTER;
use crate::harness::{Client, Gateway, Mock, bundle, fill, point_at};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

/// What the gateway does with a request carrying a config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Does {
    /// A target served it.
    Serves,
    /// 400 before any target: its config check.
    Refuses,
    /// Any other failure, before or after a target was called.
    Fails,
}
use Does::*;

const K: &str = "${OPENAI_API_KEY}";

/// (what, config, what the gateway does, kiln: `None` accepts, `Some(fragment)` refuses)
fn cases() -> Vec<(&'static str, Value, Does, Option<&'static str>)> {
    let fallback = |targets: Value| json!({"strategy": {"mode": "fallback"}, "targets": targets});
    vec![
        // The schema's other ways to be a valid node (its refine(): provider and api_key,
        // or strategy and targets, or cache, retry, request_timeout, hooks, guardrails, …).
        (
            "before_request_hooks without api_key",
            json!({"provider": "openai", "before_request_hooks": [{"id": "h1"}]}),
            Serves,
            None,
        ),
        (
            "after_request_hooks without api_key",
            json!({"provider": "openai", "after_request_hooks": [{"id": "h1"}]}),
            Serves,
            None,
        ),
        (
            "input_guardrails by id",
            json!({"provider": "openai", "input_guardrails": ["g1"]}),
            Serves,
            None,
        ),
        (
            "output_guardrails by id",
            json!({"provider": "openai", "output_guardrails": ["g1"]}),
            Serves,
            None,
        ),
        (
            "cache without api_key",
            json!({"provider": "openai", "cache": {"mode": "simple", "max_age": 60}}),
            Serves,
            None,
        ),
        (
            "retry without api_key",
            json!({"provider": "openai", "retry": {"attempts": 2, "on_status_codes": [429]}}),
            Serves,
            None,
        ),
        (
            "request_timeout without api_key",
            json!({"provider": "openai", "request_timeout": 30000}),
            Serves,
            None,
        ),
        (
            "a fractional max_age (the gateway keeps the whole part)",
            json!({"provider": "openai", "api_key": K, "cache": {"mode": "semantic", "max_age": 1.5}}),
            Serves,
            None,
        ),
        (
            "more retries than Portkey documents",
            json!({"provider": "openai", "api_key": K, "retry": {"attempts": 8}}),
            Serves,
            None,
        ),
        (
            "typed fields of the schema",
            json!({"provider": "openai", "api_key": K, "forward_headers": ["x-team"], "strict_open_ai_compliance": false, "openai_project": "p", "openai_organization": "o", "weight": 2}),
            Serves,
            None,
        ),
        (
            "provider options",
            json!({"provider": "openai", "api_key": K, "openai_beta": "assistants=v2", "override_params": {"model": "gpt-4o", "max_tokens": 10}}),
            Serves,
            None,
        ),
        (
            "a null name (outside the schema)",
            json!({"provider": "openai", "api_key": K, "name": null}),
            Serves,
            None,
        ),
        (
            "targets without api_key where the target retries",
            fallback(
                json!([{"provider": "openai", "retry": {"attempts": 1}}, {"provider": "openai", "api_key": K}]),
            ),
            Serves,
            None,
        ),
        // What the gateway refuses, and kiln with it.
        (
            "cache alone (no provider)",
            json!({"cache": {"mode": "simple"}}),
            Refuses,
            Some("without `provider` or `targets`"),
        ),
        (
            "a provider without api_key or anything else",
            json!({"provider": "openai"}),
            Refuses,
            Some("must have `provider` and `api_key`"),
        ),
        (
            "an unknown provider",
            json!({"provider": "opnai", "api_key": K}),
            Refuses,
            Some("not a provider the gateway knows"),
        ),
        (
            "an unknown mode",
            json!({"strategy": {"mode": "random"}, "targets": [{"provider": "openai", "api_key": K}]}),
            Refuses,
            Some("unknown variant"),
        ),
        (
            "an unknown cache mode",
            json!({"provider": "openai", "api_key": K, "cache": {"mode": "fuzzy"}}),
            Refuses,
            Some("unknown variant"),
        ),
        (
            "retry without attempts",
            json!({"provider": "openai", "api_key": K, "retry": {}}),
            Refuses,
            Some("missing field `attempts`"),
        ),
        (
            "guardrails mixing ids and objects",
            json!({"provider": "openai", "input_guardrails": ["g1", {"id": "g2"}]}),
            Refuses,
            Some("matches none of the accepted forms"),
        ),
        (
            "a null api_key",
            json!({"provider": "openai", "api_key": null, "retry": {"attempts": 1}}),
            Refuses,
            Some("refuses `null`"),
        ),
        (
            "a null cache",
            json!({"provider": "openai", "api_key": K, "cache": null}),
            Refuses,
            Some("refuses `null`"),
        ),
        (
            "a null default",
            json!({"strategy": {"mode": "fallback", "on_status_codes": null}, "targets": [{"provider": "openai", "api_key": K}]}),
            Refuses,
            Some("refuses `null`"),
        ),
        (
            "a weight that is a string",
            json!({"provider": "openai", "api_key": K, "weight": "2"}),
            Refuses,
            Some("invalid type"),
        ),
        (
            "a private custom_host",
            json!({"provider": "openai", "api_key": K, "custom_host": "http://10.0.0.7/v1"}),
            Refuses,
            Some("as a custom host"),
        ),
        (
            "a metadata-service custom_host",
            json!({"provider": "openai", "api_key": K, "custom_host": "http://169.254.169.254/latest"}),
            Refuses,
            Some("as a custom host"),
        ),
        (
            "Portkey's old `options` format",
            json!({"options": [{"provider": "openai", "api_key": K}]}),
            Refuses,
            Some("old config format"),
        ),
        (
            "vertex-ai without a region",
            json!({"provider": "vertex-ai", "api_key": K}),
            Refuses,
            Some("needs `vertex_region`"),
        ),
        // What the gateway fails on at request time, refused by kiln up front.
        (
            "a strategy with no targets",
            json!({"strategy": {"mode": "loadbalance"}, "targets": []}),
            Fails,
            Some("needs targets"),
        ),
        (
            "a negative weight",
            json!({"strategy": {"mode": "loadbalance"}, "targets": [{"provider": "openai", "api_key": K, "weight": -1}, {"provider": "openai", "api_key": K}]}),
            Fails,
            Some("must be 0 or more"),
        ),
        (
            "all weights 0",
            json!({"strategy": {"mode": "loadbalance"}, "targets": [{"provider": "openai", "api_key": K, "weight": 0}]}),
            Fails,
            Some("positive weight"),
        ),
        (
            "weights that add up past a JavaScript number",
            json!({"strategy": {"mode": "loadbalance"}, "targets": [{"provider": "openai", "api_key": K, "weight": 1e308}, {"provider": "openai", "api_key": K, "weight": 1e308}]}),
            Fails,
            Some("Infinity"),
        ),
        (
            "a target with nowhere to go (500 \"Provider not found\")",
            json!({"strategy": {"mode": "single"}, "targets": [{"request_timeout": 30000}]}),
            Fails,
            Some("nowhere to go"),
        ),
        // The validator's other claims, measured.
        (
            "request_timeout 0",
            json!({"provider": "openai", "api_key": K, "request_timeout": 0}),
            Serves,
            None,
        ),
        (
            "cache max_age -1",
            json!({"provider": "openai", "api_key": K, "cache": {"mode": "simple", "max_age": -1}}),
            Serves,
            Some("max_age is a number of seconds"),
        ),
        (
            "override_params as a string",
            json!({"provider": "openai", "api_key": K, "override_params": "gpt-4o"}),
            Serves,
            Some("invalid type"),
        ),
        (
            "a negative request_timeout",
            json!({"provider": "openai", "api_key": K, "request_timeout": -5}),
            Fails,
            Some("positive number of milliseconds"),
        ),
        (
            "conditional without conditions (400 \"No conditions passed in the query router\")",
            json!({"strategy": {"mode": "conditional", "default": "a"}, "targets": [{"name": "a", "provider": "openai", "api_key": K}]}),
            Refuses,
            Some("needs `conditions`"),
        ),
        // What the gateway runs and kiln refuses, by the rules docs/reference/strategies.md lists.
        (
            "a misspelt field",
            json!({"provider": "openai", "api_key": K, "overide_params": {"model": "x"}}),
            Serves,
            Some("is not a field the gateway reads"),
        ),
        (
            "a field the gateway ignores in a condition",
            json!({"strategy": {"mode": "conditional", "default": "a", "conditions": [{"query": {"metadata.a": "1"}, "then": "a", "when": 1}]}, "targets": [{"name": "a", "provider": "openai", "api_key": K}]}),
            Serves,
            Some("unknown field"),
        ),
        (
            "a literal key",
            json!({"provider": "openai", "api_key": "sk-proj-abcdefghijklmnopqrstuvwx123456"}),
            Serves,
            Some("looks like a literal credential"),
        ),
        (
            "a key that is not a reference",
            json!({"provider": "openai", "api_key": "hunter2"}),
            Serves,
            Some("credentials are only references"),
        ),
        (
            "two targets with one name",
            fallback(
                json!([{"name": "x", "provider": "openai", "api_key": K}, {"name": "x", "provider": "openai", "api_key": K}]),
            ),
            Serves,
            Some("is used twice"),
        ),
        (
            "a status code that does not exist",
            json!({"strategy": {"mode": "fallback", "on_status_codes": [429, 999]}, "targets": [{"provider": "openai", "api_key": K}, {"provider": "openai", "api_key": K}]}),
            Serves,
            Some("is not an HTTP status code"),
        ),
    ]
}

/// kiln's verdict on `config` as a strategy file: its first error, if any.
fn kiln_refusal(config: &Value) -> Option<String> {
    let text = serde_json::to_string_pretty(config).expect("JSON");
    match kiln::model::strategy::from_file(Path::new("strategies/case.json"), &text) {
        Err(e) => Some(e.to_string()),
        Ok(s) => s
            .findings(None)
            .into_iter()
            .find(|p| p.severity == kiln::model::rules::Severity::Error)
            .map(|p| format!("{}: {}", p.pointer, p.message)),
    }
}

/// What the gateway does with `config`, every provider node at the mock.
fn gateway_verdict(
    client: &Client,
    gateway: &Gateway,
    mock: &Mock,
    config: &Value,
) -> (Does, String) {
    let mut sent = config.clone();
    // A negative timeout fires at once; a mock that answers at once could
    // still win the race on a busy machine, so it takes its time there.
    let negative = config["request_timeout"].as_f64().is_some_and(|t| t < 0.0);
    if config.get("custom_host").is_none() {
        point_at(&mut sent, mock, if negative { "slow" } else { "t" });
    }
    let sent: Value = serde_json::from_str(&fill(&sent.to_string(), |n| format!("client-key-{n}")))
        .expect("JSON");
    let reply = client.chat(
        gateway.port,
        &sent,
        None,
        &crate::harness::object(&json!({"model": "gpt-4o"})),
    );
    let hits = mock.take_hits();
    let verdict = match reply.status {
        200..=299 if !hits.is_empty() => Serves,
        400 if hits.is_empty() => Refuses,
        _ => Fails,
    };
    (verdict, format!("{} {}", reply.status, reply.body))
}

#[test]
fn kiln_accepts_what_the_gateway_serves_and_refuses_what_it_refuses() {
    let mut gateway = Gateway::start();
    let mock = Mock::start();
    let client = Client::new(Duration::from_secs(30));
    for (what, config, cited, expected) in cases() {
        let (verdict, reply) = gateway_verdict(&client, &gateway, &mock, &config);
        assert_eq!(verdict, cited, "{what}: the gateway answered {reply}");
        let refusal = kiln_refusal(&config);
        match (expected, &refusal) {
            (None, None) => {}
            (Some(fragment), Some(r)) if r.contains(fragment) => {}
            _ => panic!(
                "{what}: expected kiln to {}, it says {refusal:?}",
                expected.map_or("accept".into(), |f| format!("refuse with {f:?}"))
            ),
        }
        if verdict == Serves
            && let Some(r) = &refusal
        {
            assert!(
                STRICTER.iter().any(|(fragment, _)| r.contains(fragment)),
                "{what}: kiln refuses a config the gateway serves, for a reason docs/reference/strategies.md does not list: {r}"
            );
        }
    }
    gateway.assert_running();
}

#[test]
fn the_shipped_strategies_pass_the_gateways_validation() {
    let mut gateway = Gateway::start();
    let mock = Mock::start();
    let client = Client::new(Duration::from_secs(30));
    let repo = kiln::Repo::open(kiln_tests::repo_root()).expect("repo");
    let mut checked = 0;
    for env in repo.environments() {
        for s in repo.environment(env).expect("environment").strategies() {
            let (verdict, reply) = gateway_verdict(&client, &gateway, &mock, s.config());
            assert_eq!(verdict, Serves, "{} in {env}: {reply}", s.file().display());
            checked += 1;
        }
    }
    assert!(checked >= 5);
    gateway.assert_running();
}

/// The gateway's provider list (`Fe = [I, N, …, "milvus", …]` in its bundle,
/// names bound to string constants before it), resolved.
fn bundle_providers(bundle: &str) -> Vec<String> {
    let check = bundle
        .find("Invalid 'provider' value")
        .expect("the provider check");
    let list = bundle[..check]
        .rsplit("refine((e=>")
        .next()
        .and_then(|r| r.split(".includes").next())
        .expect("the list the check uses");
    let definition = format!("{list}=[");
    let start = bundle.find(&definition).expect("the provider list") + definition.len();
    let end = start + bundle[start..].find(']').expect("end of list");
    let resolve = |item: &str| -> String {
        if let Some(literal) = item.strip_prefix('"') {
            return literal.trim_end_matches('"').to_string();
        }
        let at = [",", " ", ";", "{"]
            .iter()
            .filter_map(|before| bundle[..start].rfind(&format!("{before}{item}=\"")))
            .max()
            .unwrap_or_else(|| panic!("no constant {item}"));
        let value = &bundle[at..][item.len() + 3..];
        value[..value.find('"').expect("end of string")].to_string()
    };
    bundle[start..end]
        .split(',')
        .map(|i| resolve(i.trim()))
        .collect()
}

#[test]
fn kilns_facts_are_the_installed_gateways() {
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(crate::harness::package_dir().join("package.json"))
            .expect("package.json"),
    )
    .expect("JSON");
    assert_eq!(manifest["version"], kiln::model::portkey::GATEWAY_VERSION);
    let bundle = bundle();
    // Every provider kiln accepts is in the gateway's list, and the other way round.
    let mut providers = bundle_providers(&bundle);
    providers.sort();
    let mut kilns: Vec<String> = kiln::model::portkey::PROVIDERS
        .iter()
        .map(|p| p.to_string())
        .collect();
    kilns.sort();
    assert_eq!(kilns, providers);
    // Every provider option kiln accepts is a key the gateway reads from configs.
    for option in kiln::model::portkey::PROVIDER_OPTIONS {
        let camel = option
            .split('_')
            .enumerate()
            .map(|(i, w)| {
                if i == 0 {
                    w.to_string()
                } else {
                    w[..1].to_uppercase() + &w[1..]
                }
            })
            .collect::<String>();
        assert!(
            bundle.contains(&camel),
            "{option} ({camel}) is not in the gateway"
        );
    }
}
