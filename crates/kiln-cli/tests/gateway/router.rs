//! The routing simulator against the gateway's own router, on generated cases
//! (fixed seed): conditional configs with nested `$and`/`$or`, every
//! operator and some it does not have, numeric strings, arrays, JSON-typed
//! metadata, ECMAScript-only and Rust-only regular expressions, missing and
//! prototype keys, empty defaults; and fallback chains whose targets answer
//! assorted statuses. Every case agrees with the gateway, or kiln refuses the
//! config for a reason docs/reference/strategies.md lists under "Stricter than the gateway".

use crate::documented::STRICTER;
use crate::harness::{Client, Gateway, Mock, stringify};
use kiln::model::routing::{Decision, Request, RouteError, falls_back, route};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

/// Generated conditional cases.
const CONDITIONAL_CASES: usize = 1500;
/// Generated fallback cases.
const FALLBACK_CASES: usize = 150;

/// A runner whose cases are the same on every run.
fn runner() -> TestRunner {
    TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[42; 32]),
    )
}

fn generate<T: std::fmt::Debug>(strategy: &impl Strategy<Value = T>, runner: &mut TestRunner) -> T {
    strategy.new_tree(runner).expect("a case").current()
}

/// Values as they appear in requests and queries: few enough that a request
/// often holds exactly what a query compares with.
fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::from),
        3 => prop::sample::select(vec![-1i64, 0, 1, 2, 3, 4000, 4001]).prop_map(Value::from),
        1 => prop::sample::select(vec![0.5, 1.0, -0.0, 4000.5, 1e21, 2.5e-7]).prop_map(Value::from),
        4 => prop::sample::select(vec![
            "pro", "free", "", "0", "1", "1.0", " 2 ", "3", "4000", "4001", "4000abc", "-0",
            "inf", "Infinity", "0x10", "1e3", "1e21", ".5", "-", "gpt-4o", "GPT-4o",
            "gpt-4o-mini", "claude", "é", "a.b", "null", "undefined", "true", "false",
            "/v1/chat/completions",
        ])
        .prop_map(Value::from),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => scalar(),
        1 => prop::collection::vec(scalar(), 0..3).prop_map(Value::from),
        1 => Just(json!({})),
    ]
}

/// Regular expressions: plain, ECMAScript-only, Rust-only and invalid.
fn pattern() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => prop::sample::select(vec![
            "^gpt", "^gpt-4o$", "4o", "^\\d+$", "^1,2$", "^$", "^undefined$", "^null$",
            "^true$", "^\\[object Object\\]$", "(?<=gpt-)4", "\\p{L}+", "\\p{L}", "p{L}",
            "(a)\\1", "(p)r\\1?o", "r(?=o)", "(?<n>pro)\\k<n>", "[^]", "\\cJ", "\\0", "[\\d-z]",
            "a{,5}", "^(?:pro|team)$", ".", "^\\s*2\\s*$", "^1$", "\\u{1F600}", "\\u00e9",
            "(?i)gpt", "(?i:pro)", "x*+", "gpt-(4", "[z-a]", "\\", "(?P<n>x)", "\\A", "\\z",
        ])
        .prop_map(Value::from),
        1 => scalar(),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        40 => prop::sample::select(vec![
            "metadata.tier", "metadata.level", "metadata.region", "metadata.missing",
            "params.max_tokens", "params.model", "params.user", "params.temperature",
            "url.pathname",
        ]),
        1 => prop::sample::select(vec![
            "metadata.constructor", "metadata.toString", "metadata.__proto__", "params",
            "metadata", "metadata.tier.x", "url.host", "body.model", "metadata.",
        ]),
    ]
    .prop_map(str::to_string)
}

fn operators() -> impl Strategy<Value = Value> {
    let op = prop_oneof![
        40 => prop::sample::select(vec![
            "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$regex",
        ]),
        1 => prop::sample::select(vec!["$length", "$exists"]),
    ];
    let pair = op.prop_flat_map(|op| {
        let operand = match op {
            "$regex" => pattern().boxed(),
            "$in" | "$nin" => prop_oneof![
                4 => prop::collection::vec(scalar(), 0..4).prop_map(Value::from),
                1 => scalar(),
            ]
            .boxed(),
            _ => value().boxed(),
        };
        (Just(op.to_string()), operand)
    });
    let pairs = prop_oneof![
        4 => prop::collection::vec(pair.clone(), 1..2),
        1 => prop::collection::vec(pair, 0..3),
    ];
    pairs.prop_map(|pairs| Value::Object(pairs.into_iter().collect()))
}

/// A query: mostly one field (a value or operators), sometimes `$and`/`$or`
/// of queries, sometimes a field beside a logical key.
fn query() -> impl Strategy<Value = Map<String, Value>> {
    let direct = prop_oneof![12 => scalar(), 1 => value()];
    let field = (key(), prop_oneof![2 => direct, 5 => operators()])
        .prop_map(|(k, v)| Map::from_iter([(k, v)]));
    field.prop_recursive(2, 8, 3, |inner| {
        let subs = prop_oneof![
            30 => prop::collection::vec(inner.clone().prop_map(Value::Object), 1..4)
                .prop_map(Value::from),
            1 => prop::collection::vec(inner.clone().prop_map(Value::Object), 0..1)
                .prop_map(Value::from),
            1 => prop::sample::select(vec![json!([1]), json!("x"), json!({})]),
        ];
        prop_oneof![
            4 => (prop::sample::select(vec!["$and", "$or"]), subs)
                .prop_map(|(k, subs)| Map::from_iter([(k.to_string(), subs)])),
            1 => (inner.clone(), inner).prop_map(|(mut a, b)| {
                a.extend(b);
                a
            }),
        ]
    })
}

/// A conditional config over targets `a`, `b` and `c`.
fn conditional() -> impl Strategy<Value = Value> {
    let then = prop_oneof![
        20 => prop::sample::select(vec!["a", "b", "c"]),
        1 => Just("zz"),
    ];
    let condition = (query(), then).prop_map(|(q, t)| json!({"query": q, "then": t}));
    let default = prop_oneof![
        20 => prop::sample::select(vec![Some("a"), Some("c"), Some(""), None]),
        1 => Just(Some("zz")),
    ];
    (prop::collection::vec(condition, 1..4), default).prop_map(|(conditions, default)| {
        let mut strategy = json!({"mode": "conditional", "conditions": conditions});
        if let Some(d) = default {
            strategy["default"] = json!(d);
        }
        let target = |name: &str| json!({"name": name, "provider": "openai", "api_key": "${OPENAI_API_KEY}"});
        json!({"strategy": strategy, "targets": [target("a"), target("b"), target("c")]})
    })
}

/// A request: JSON-typed metadata and body parameters.
fn request() -> impl Strategy<Value = Request> {
    let metadata = prop::collection::btree_map(
        prop::sample::select(vec!["tier", "level", "region", "constructor"]),
        value(),
        0..3,
    );
    let params = prop::collection::btree_map(
        prop::sample::select(vec!["max_tokens", "model", "user", "temperature"]),
        scalar(),
        0..3,
    );
    (metadata, params).prop_map(|(m, p)| Request {
        metadata: m.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
        params: p.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
        path: "/v1/chat/completions".into(),
    })
}

/// Every (field, value) a config's queries compare with: operands, the items
/// of lists, and numbers one either side and as strings.
fn compared(query: &Map<String, Value>, out: &mut Vec<(String, Value)>) {
    for (key, expected) in query {
        let operands: Vec<&Value> = match expected {
            Value::Array(subs) => {
                subs.iter()
                    .filter_map(Value::as_object)
                    .for_each(|q| compared(q, out));
                continue;
            }
            Value::Object(ops) => ops.values().collect(),
            v => vec![v],
        };
        for operand in operands {
            let items = operand
                .as_array()
                .map_or(vec![operand], |a| a.iter().collect());
            for v in items {
                out.push((key.clone(), v.clone()));
                if let Some(n) = v.as_f64() {
                    out.extend(
                        [json!(n + 1.0), json!(n - 1.0), json!(n.to_string())]
                            .map(|n| (key.clone(), n)),
                    );
                }
            }
        }
    }
}

/// `request` with one field set to a value the config compares with (most
/// random requests hold nothing a query tests).
fn informed(config: &Value, mut request: Request, pick: prop::sample::Index) -> Request {
    let mut pairs = Vec::new();
    for c in config["strategy"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(q) = c["query"].as_object() {
            compared(q, &mut pairs);
        }
    }
    if pairs.is_empty() {
        return request;
    }
    let (key, value) = pick.get(&pairs).clone();
    match key.split_once('.') {
        Some(("metadata", k)) => request.metadata.insert(k.into(), value.into()),
        Some(("params", k)) if k != "messages" => request.params.insert(k.into(), value.into()),
        _ => None,
    };
    request
}

/// The config as a client sends it: its key filled in, every target at the mock.
fn as_sent(config: &Value, mock: &Mock) -> Value {
    let mut sent = config.clone();
    crate::harness::point_at(&mut sent, mock, "t");
    let text = crate::harness::fill(&sent.to_string(), |name| format!("client-key-{name}"));
    serde_json::from_str(&text).expect("JSON")
}

/// What happened to one case.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    /// Served by the target kiln named.
    Agreed,
    /// Both say the request fails.
    BothFail,
    /// kiln refuses the config, for the documented reason number `usize`.
    Refused(usize),
}

/// The outcomes of generated cases, and the cases where kiln and the gateway disagree.
#[derive(Default)]
struct Tally {
    outcomes: BTreeMap<Outcome, usize>,
    disagreements: Vec<String>,
}

impl Tally {
    fn record(&mut self, judged: Result<Outcome, String>) {
        match judged {
            Ok(outcome) => *self.outcomes.entry(outcome).or_default() += 1,
            Err(e) => self.disagreements.push(e),
        }
    }

    fn count(&self, outcome: Outcome) -> usize {
        self.outcomes.get(&outcome).copied().unwrap_or(0)
    }

    /// Fails with the first disagreement, if any.
    fn assert_no_disagreement(&self, cases: usize, what: &str) {
        eprintln!("{cases} {what}: {:?}", self.outcomes);
        assert!(
            self.disagreements.is_empty(),
            "{} of {cases} {what} disagree; the first:\n{}",
            self.disagreements.len(),
            self.disagreements[0]
        );
    }
}

/// A request as the client writes it: the metadata header's text (what the
/// gateway's JSON.parse reads) and the body's parameters.
struct Written<'r> {
    metadata: &'r str,
    params: &'r kiln::model::js::Object,
}

impl<'r> Written<'r> {
    fn of(request: &'r Request, metadata: &'r mut String) -> Written<'r> {
        *metadata = stringify(&kiln::model::js::Value::Object(request.metadata.clone()));
        Written {
            metadata,
            params: &request.params,
        }
    }
}

fn sent_to(
    client: &Client,
    gateway: &Gateway,
    mock: &Mock,
    config: &Value,
    r: &Written,
) -> (u16, Vec<String>) {
    let reply = client.chat(
        gateway.port,
        &as_sent(config, mock),
        Some(r.metadata),
        r.params,
    );
    (reply.status, mock.take_hits())
}

/// Judges one conditional case: kiln's answer against the gateway's.
fn conditional_case(
    client: &Client,
    gateway: &Gateway,
    mock: &Mock,
    config: &Value,
    request: &Request,
    written: &Written,
) -> Result<Outcome, String> {
    let typed: kiln::model::strategy::Config =
        serde_json::from_value(config.clone()).map_err(|e| e.to_string())?;
    let predicted = route(&typed, request);
    let (status, hits) = sent_to(client, gateway, mock, config, written);
    let case = || {
        format!(
            "config {config}\nmetadata {}\nrequest {request:?}",
            written.metadata
        )
    };
    match predicted {
        Ok(Decision::Conditional { target, .. }) => {
            let expected = format!("t.{target}");
            if status == 200 && hits == [expected.clone()] {
                Ok(Outcome::Agreed)
            } else {
                Err(format!(
                    "kiln: {expected}; gateway: {status} {hits:?}\n{}",
                    case()
                ))
            }
        }
        Ok(other) => Err(format!("not a conditional decision: {other:?}")),
        Err(why @ RouteError::Refused { .. }) => STRICTER
            .iter()
            .position(|(fragment, _)| why.to_string().contains(fragment))
            .map(Outcome::Refused)
            .ok_or_else(|| {
                format!(
                    "refused for a reason docs/reference/strategies.md does not list: {why}\n{}",
                    case()
                )
            }),
        Err(why) => {
            if status >= 400 && hits.is_empty() {
                Ok(Outcome::BothFail)
            } else {
                Err(format!(
                    "kiln: fails ({why}); gateway: {status} {hits:?}\n{}",
                    case()
                ))
            }
        }
    }
}

#[test]
fn conditional_routing_agrees_with_the_gateway_on_generated_cases() {
    let mut gateway = Gateway::start();
    let mock = Mock::start();
    let client = Client::new(Duration::from_secs(30));
    let mut runner = runner();
    let (configs, requests) = (conditional(), request());
    let mut tally = Tally::default();
    for _ in 0..CONDITIONAL_CASES {
        let config = generate(&configs, &mut runner);
        let request = generate(&requests, &mut runner);
        let request = match generate(&(0..4u8, any::<prop::sample::Index>()), &mut runner) {
            (0, _) => request,
            (_, pick) => informed(&config, request, pick),
        };
        let mut text = String::new();
        let written = Written::of(&request, &mut text);
        tally.record(conditional_case(
            &client, &gateway, &mock, &config, &request, &written,
        ));
    }
    gateway.assert_running();
    tally.assert_no_disagreement(CONDITIONAL_CASES, "conditional cases");
    // The generator must reach the router, not only kiln's refusals.
    let outcomes = &tally.outcomes;
    let (agreed, failed) = (tally.count(Outcome::Agreed), tally.count(Outcome::BothFail));
    assert!(
        agreed >= CONDITIONAL_CASES / 3 && failed > 0,
        "{outcomes:?}"
    );
    assert!(agreed + failed >= CONDITIONAL_CASES / 2, "{outcomes:?}");
}

/// Generated cases on the edges of JSON.parse.
const EDGE_CASES: usize = 400;

/// JSON value texts where JavaScript and a strict JSON reader part ways:
/// numbers beyond a double, negative zero, lone surrogates, escapes.
fn edge_text() -> impl Strategy<Value = String> {
    let atom = prop::sample::select(vec![
        "1e400",
        "-1e400",
        "1e-400",
        "-0",
        "0.0",
        "1E2",
        "100",
        "4000.0000000000001",
        "9007199254740993",
        "1.7976931348623157e308",
        "1.7976931348623159e308",
        "5e-324",
        r#""\ud800""#,
        r#""\udc00x""#,
        r#""a\ud83d""#,
        r#""\ud83d\ude00""#,
        r#""\u00e9""#,
        r#""Infinity""#,
        r#""\u0000""#,
        r#""a\/b""#,
        r#""\"""#,
        r#""pro""#,
        "null",
        "true",
    ])
    .prop_map(str::to_string);
    prop_oneof![
        6 => atom.clone(),
        1 => prop::collection::vec(atom, 0..3).prop_map(|items| format!("[{}]", items.join(","))),
    ]
}

/// The metadata header: fields `n` and `s` with edge values, sometimes
/// repeated (the last one counts), with JSON's own white space around.
fn edge_metadata() -> impl Strategy<Value = String> {
    let field = (prop::sample::select(vec!["n", "s", "\\u006e"]), edge_text())
        .prop_map(|(k, v)| format!("\"{k}\" :\t{v}"));
    prop::collection::vec(field, 1..4).prop_map(|fields| format!(" {{{}}}\t", fields.join(",")))
}

/// Operators whose answer turns on those edges.
fn edge_query() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(vec!["metadata.n", "metadata.s", "params.max_tokens"]);
    let test = prop::sample::select(vec![
        json!("Infinity"),
        json!(0),
        json!(-0.0),
        json!(100),
        json!(9007199254740992u64),
        json!({"$eq": 1.7976931348623157e308}),
        json!({"$gt": 1.7976931348623157e308}),
        json!({"$lt": -1e308}),
        json!({"$gte": 0}),
        json!({"$lte": 5e-324}),
        json!({"$in": [0, 100, "\u{e9}"]}),
        json!({"$nin": ["pro"]}),
        json!({"$ne": "\u{e9}"}),
        json!({"$regex": "^Infinity$"}),
        json!({"$regex": "^-?Infinity$"}),
        json!({"$regex": "^0$"}),
        json!({"$regex": "^.$"}),
        json!({"$regex": "^..$"}),
        json!({"$regex": "\\ud800"}),
        json!({"$regex": "^[\\ud800-\\udbff]"}),
        json!({"$regex": "\\udc00"}),
        json!({"$regex": "^\u{e9}$"}),
        json!({"$regex": "^a/b$"}),
        json!({"$regex": "\\u0000"}),
        json!({"$regex": "1e"}),
        json!({"$regex": "^\\d+$"}),
        json!({"$regex": ","}),
        json!({"$regex": "^\"$"}),
    ]);
    (key, test).prop_map(|(k, t)| json!({ k: t }))
}

fn edge_config() -> impl Strategy<Value = Value> {
    let condition = (edge_query(), prop::sample::select(vec!["b", "c"]))
        .prop_map(|(q, then)| json!({"query": q, "then": then}));
    prop::collection::vec(condition, 2..4).prop_map(|conditions| {
        let target = |name: &str| json!({"name": name, "provider": "openai", "api_key": "${OPENAI_API_KEY}"});
        json!({
            "strategy": {"mode": "conditional", "default": "a", "conditions": conditions},
            "targets": [target("a"), target("b"), target("c")]
        })
    })
}

#[test]
fn metadata_is_read_as_the_gateways_json_parse_reads_it() {
    let mut gateway = Gateway::start();
    let mock = Mock::start();
    let client = Client::new(Duration::from_secs(30));
    let mut runner = runner();
    let cases = (edge_config(), edge_metadata(), edge_text());
    let mut tally = Tally::default();
    let mut by_condition = 0;
    for _ in 0..EDGE_CASES {
        let (config, metadata, max_tokens) = generate(&cases, &mut runner);
        let Ok(kiln::model::js::Value::Object(parsed)) = kiln::model::js::parse(&metadata) else {
            panic!("kiln cannot read the metadata {metadata}");
        };
        let max_tokens = kiln::model::js::parse(&max_tokens).expect("a JSON value");
        let request = Request {
            metadata: parsed,
            params: [("max_tokens".into(), max_tokens)].into_iter().collect(),
            path: "/v1/chat/completions".into(),
        };
        let written = Written {
            metadata: &metadata,
            params: &request.params,
        };
        let typed: kiln::model::strategy::Config =
            serde_json::from_value(config.clone()).expect("typed");
        if let Ok(Decision::Conditional {
            matched: Some(_), ..
        }) = route(&typed, &request)
        {
            by_condition += 1;
        }
        tally.record(conditional_case(
            &client, &gateway, &mock, &config, &request, &written,
        ));
    }
    gateway.assert_running();
    tally.assert_no_disagreement(EDGE_CASES, "edge cases");
    // Both ways out must be taken often: a condition and the default.
    let agreed = tally.count(Outcome::Agreed);
    assert!(agreed >= EDGE_CASES * 9 / 10, "{:?}", tally.outcomes);
    assert!(
        by_condition >= EDGE_CASES / 4 && agreed - by_condition >= EDGE_CASES / 4,
        "{by_condition} of {agreed} by a condition"
    );
}

/// A fallback over 2–4 targets, with or without `on_status_codes`, and the
/// status each target answers.
fn fallback() -> impl Strategy<Value = (Value, Vec<u16>)> {
    let codes = prop_oneof![
        Just(None),
        Just(Some(vec![])),
        prop::collection::vec(prop::sample::select(vec![400u16, 429, 500, 502, 503]), 1..3)
            .prop_map(Some),
    ];
    let statuses = prop::collection::vec(
        prop::sample::select(vec![200u16, 400, 401, 429, 500, 502, 503]),
        2..5,
    );
    (codes, statuses).prop_map(|(codes, statuses)| {
        let mut strategy = json!({"mode": "fallback"});
        if let Some(c) = codes {
            strategy["on_status_codes"] = json!(c);
        }
        let targets: Vec<Value> = (0..statuses.len())
            .map(|_| json!({"provider": "openai", "api_key": "${OPENAI_API_KEY}"}))
            .collect();
        (json!({"strategy": strategy, "targets": targets}), statuses)
    })
}

#[test]
fn fallback_order_agrees_with_the_gateway_on_generated_cases() {
    let mut gateway = Gateway::start();
    let mock = Mock::start();
    let client = Client::new(Duration::from_secs(30));
    let mut runner = runner();
    let cases = fallback();
    for _ in 0..FALLBACK_CASES {
        let (config, statuses) = generate(&cases, &mut runner);
        let typed: kiln::model::strategy::Config =
            serde_json::from_value(config.clone()).expect("typed");
        let Ok(Decision::Fallback {
            on_status_codes,
            order,
        }) = route(&typed, &Request::default())
        else {
            panic!("not routed as a fallback: {config}");
        };
        // kiln's prediction: targets in order until one does not fall back.
        let mut expected = Vec::new();
        for (i, status) in statuses.iter().enumerate().take(order.len()) {
            expected.push(format!("t.{i}"));
            if !falls_back(on_status_codes.as_deref(), *status) {
                break;
            }
        }
        for (i, status) in statuses.iter().enumerate() {
            mock.answer_with(&format!("t.{i}"), *status);
        }
        let (status, hits) = sent_to(
            &client,
            &gateway,
            &mock,
            &config,
            &Written::of(&Request::default(), &mut String::new()),
        );
        assert_eq!(
            hits, expected,
            "{config} with statuses {statuses:?}: the gateway answered {status}"
        );
        let last = statuses[expected.len() - 1];
        assert_eq!(status, last, "{config}: the answer is the last target's");
    }
    gateway.assert_running();
}
