//! Every strategy a booted pod mounts, used the way the strategies guide tells
//! clients to use it, each target pointed at the mock provider: the target that
//! serves is the one `kiln route` predicts, and loadbalance shares are kiln's.

use crate::boot::Pod;
use crate::harness::{Client, Mock, fill, point_at, stringify};
use kiln::model::routing::{Decision, Request, falls_back, route};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Loadbalance draws per strategy.
const DRAWS: usize = 800;

/// How far an observed share may stray from kiln's, in standard deviations
/// of a binomial draw: a false alarm about once in 150,000 targets checked.
const SIGMAS: f64 = 4.5;

/// Where requests go when every target answers 200: leaf id → share.
fn leaves(d: &Decision, id: &str, share: f64, out: &mut BTreeMap<String, f64>) {
    match d {
        Decision::Target { .. } => *out.entry(id.to_string()).or_default() += share,
        Decision::LoadBalance(shares) => {
            for (i, (s, _, next)) in shares.iter().enumerate() {
                leaves(next, &format!("{id}.{i}"), share * s, out);
            }
        }
        Decision::Fallback { order, .. } => leaves(&order[0].1, &format!("{id}.0"), share, out),
        Decision::Conditional { target, next, .. } => {
            leaves(next, &format!("{id}.{target}"), share, out)
        }
    }
}

/// Requests that exercise a config's conditions: none, and each value a
/// query compares with (numbers also one above and below, and as strings).
fn requests(config: &kiln::model::strategy::Config) -> Vec<Request> {
    fn fields(query: &Map<String, Value>, out: &mut Vec<(String, Value)>) {
        for (key, value) in query {
            match value {
                Value::Array(subs) => subs
                    .iter()
                    .filter_map(Value::as_object)
                    .for_each(|q| fields(q, out)),
                Value::Object(ops) => ops.values().for_each(|operand| match operand {
                    Value::Array(items) => items
                        .iter()
                        .for_each(|v| out.push((key.clone(), v.clone()))),
                    v => out.push((key.clone(), v.clone())),
                }),
                v => out.push((key.clone(), v.clone())),
            }
        }
    }
    let mut pairs = Vec::new();
    for c in config
        .strategy
        .iter()
        .flat_map(|s| s.conditions.iter().flatten())
    {
        fields(&c.query, &mut pairs);
    }
    let mut out = vec![Request::default()];
    for (key, value) in pairs {
        let mut values = vec![value.clone()];
        if let Some(n) = value.as_f64() {
            values.extend([json!(n + 1.0), json!(n - 1.0), json!((n + 1.0).to_string())]);
        }
        for v in values {
            let mut r = Request {
                path: "/v1/chat/completions".into(),
                ..Request::default()
            };
            match key.split_once('.') {
                Some(("metadata", k)) => r.metadata.insert(k.into(), (&v).into()),
                Some(("params", k)) => r.params.insert(k.into(), (&v).into()),
                _ => None,
            };
            out.push(r);
        }
    }
    out
}

/// Sends `request` through the gateway with `config` and checks that the
/// targets the mock sees are the ones kiln predicts.
fn check_request(
    client: &Client,
    port: u16,
    mock: &Mock,
    (name, config, typed): (&str, &Value, &kiln::model::strategy::Config),
    request: &Request,
    draw: bool,
) {
    let metadata = (!request.metadata.is_empty())
        .then(|| stringify(&kiln::model::js::Value::Object(request.metadata.clone())));
    let send = || client.chat(port, config, metadata.as_deref(), &request.params);
    let decision = match route(typed, request) {
        Ok(d) => d,
        Err(why) => {
            let reply = send();
            assert!(
                reply.status >= 400 && mock.take_hits().is_empty(),
                "{name}: kiln says the request fails ({why}), the gateway answered {} {}",
                reply.status,
                reply.body
            );
            return;
        }
    };
    let mut expected = BTreeMap::new();
    leaves(&decision, "t", 1.0, &mut expected);
    if expected.len() == 1 || !draw {
        let reply = send();
        let hits = mock.take_hits();
        assert_eq!(reply.status, 200, "{name}: {}", reply.body);
        assert!(
            hits.len() == 1 && expected.contains_key(&hits[0]),
            "{name} with {request:?}: kiln predicts {expected:?}, the gateway sent it to {hits:?}"
        );
    } else {
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for _ in 0..DRAWS {
            assert_eq!(send().status, 200, "{name}");
            for hit in mock.take_hits() {
                *seen.entry(hit).or_default() += 1;
            }
        }
        let n = DRAWS as f64;
        for (leaf, p) in &expected {
            let observed = seen.get(leaf).copied().unwrap_or(0) as f64 / n;
            let tolerance = SIGMAS * (p * (1.0 - p) / n).sqrt() + 1.0 / n;
            assert!(
                (observed - p).abs() <= tolerance,
                "{name}: target {leaf} served {observed:.3} of {DRAWS} requests, kiln predicts {p:.3} (±{tolerance:.3}); all: {seen:?}"
            );
        }
        let unexpected: BTreeSet<_> = seen.keys().filter(|k| !expected.contains_key(*k)).collect();
        assert!(
            unexpected.is_empty(),
            "{name}: unexpected targets {unexpected:?}"
        );
    }
    if let Decision::Fallback {
        on_status_codes,
        order,
    } = &decision
    {
        check_fallback(send, mock, name, on_status_codes.as_deref(), order.len());
    }
}

/// A fallback whose first target fails: with a status the strategy lists the
/// next target is tried, with one it does not the failure is the answer.
fn check_fallback(
    send: impl Fn() -> crate::harness::Reply,
    mock: &Mock,
    name: &str,
    codes: Option<&[u16]>,
    targets: usize,
) {
    let listed = codes.and_then(|c| c.first().copied()).unwrap_or(503);
    for status in [listed, 400] {
        mock.answer_with("t.0", status);
        let reply = send();
        let expected: Vec<String> = if falls_back(codes, status) && targets > 1 {
            vec!["t.0".into(), "t.1".into()]
        } else {
            vec!["t.0".into()]
        };
        let hits = mock.take_hits();
        assert_eq!(
            hits, expected,
            "{name}: first target answering {status}; the gateway answered {}",
            reply.status
        );
    }
}

/// `kiln strategies --env ENV --header NAME`, as a client runs it.
fn header(repo: &Path, env: &str, name: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .arg("--repo")
        .arg(repo)
        .args(["strategies", "--env", env, "--header", name])
        .output()
        .expect("kiln runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .trim_end()
        .to_string()
}

/// What the fake store holds under `remote_key`: quotes, backslashes, a
/// slash and template braces, which the injected JSON must carry intact.
fn store_value(remote_key: &str) -> String {
    format!("sk-{remote_key}-\"quoted\"\\back/slash{{{{x}}}}")
}

/// External Secrets' engine on a kiln template: `{{ .VAR | toJson }}` is
/// the store's value of the key VAR reads as a JSON string, `{{"{{"}}`
/// prints `{{`; kiln writes no other action (a panic here says otherwise).
fn render_template(template: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let end = start + rest[start..].find("}}").expect("a closed action") + 2;
        let action = &rest[start..end];
        if action == "{{\"{{\"}}" {
            out.push_str("{{");
        } else {
            let var = action
                .strip_prefix("{{ .")
                .and_then(|a| a.strip_suffix(" | toJson }}"))
                .unwrap_or_else(|| panic!("not a plain lookup: {action}"));
            out.push_str(&Value::from(values[var].as_str()).to_string());
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// What Envoy Gateway puts into `x-portkey-config` for a request carrying
/// only `name`: the rule matching the name exactly, its ExtensionRef
/// filter's credential Secret, made by an ExternalSecret from the fake
/// store; `None` where the environment does not serve strategies by name.
fn injected(objects: &[Value], name: &str) -> Option<String> {
    let find = |kind: &str, name: &str| {
        objects
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
    };
    let rules = objects
        .iter()
        .filter(|o| o["kind"] == "HTTPRoute")
        .flat_map(|o| o["spec"]["rules"].as_array().cloned().unwrap_or_default());
    let rule = rules.into_iter().find(|r| {
        r["matches"].as_array().into_iter().flatten().any(|m| {
            m["headers"].as_array().into_iter().flatten().any(|h| {
                h["name"] == "x-portkey-config" && h["type"] == "Exact" && h["value"] == name
            })
        })
    })?;
    let filter_name = rule["filters"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["type"] == "ExtensionRef")
        .and_then(|f| f["extensionRef"]["name"].as_str())
        .expect("the rule injects with a filter");
    let filter = find("HTTPRouteFilter", filter_name).expect("the filter is rendered");
    let injection = &filter["spec"]["credentialInjection"];
    assert_eq!(injection["header"], "x-portkey-config");
    assert_eq!(
        injection["overwrite"], true,
        "a client's own header is replaced"
    );
    let secret = injection["credential"]["valueRef"]["name"]
        .as_str()
        .expect("a Secret");
    let es = objects
        .iter()
        .find(|o| o["kind"] == "ExternalSecret" && o["spec"]["target"]["name"] == secret)
        .expect("an ExternalSecret makes the Secret");
    let values: BTreeMap<String, String> = es["spec"]["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            let key = d["secretKey"].as_str().expect("secretKey").to_string();
            (
                key,
                store_value(d["remoteRef"]["key"].as_str().expect("remote key")),
            )
        })
        .collect();
    let template = es["spec"]["target"]["template"]["data"]["credential"]
        .as_str()
        .expect("the template writes `credential`");
    Some(render_template(template, &values))
}

/// The provider key each target of `config` sends (its filled `api_key`), by
/// the mock's ids (see [`point_at`]).
fn keys_by_target(config: &Value, id: &str, out: &mut BTreeMap<String, String>) {
    if let Some(key) = config["api_key"]
        .as_str()
        .filter(|_| config.get("provider").is_some())
    {
        out.insert(id.to_string(), key.to_string());
    }
    for (i, t) in config["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        keys_by_target(t, &format!("{id}.{i}"), out);
    }
}

/// Uses every strategy `pod` mounts through the running gateway on `port`:
/// by name where the environment serves them so (the config Envoy would
/// inject), else as the strategies guide tells clients (the whole config, their keys).
pub(crate) fn route_strategies(
    repo: &Path,
    pod: &Pod,
    objects: &[Value],
    port: u16,
    drawn: &mut BTreeSet<String>,
) -> usize {
    let mock = Mock::start();
    let client = Client::new(Duration::from_secs(30));
    let env = kiln::Repo::open(repo)
        .expect("repo")
        .environment(&pod.env)
        .expect("env");
    let remote: BTreeMap<String, String> = env
        .description()
        .secrets
        .keys
        .iter()
        .map(|k| (k.env.clone(), k.remote_key.clone()))
        .collect();
    let mut by_name = 0;
    for (file, content) in &pod.strategies {
        let name = file.strip_suffix(".json").expect("a .json file");
        let mounted: Value = serde_json::from_str(content).expect("JSON");
        let filled = match injected(objects, name) {
            Some(filled) => {
                by_name += 1;
                // The strategy with each reference replaced by the store's value.
                let expected = fill(&mounted.to_string(), |var| {
                    let value = Value::from(store_value(&remote[var])).to_string();
                    value[1..value.len() - 1].to_string()
                });
                assert_eq!(
                    serde_json::from_str::<Value>(&filled).expect("the injected value is JSON"),
                    serde_json::from_str::<Value>(&expected).expect("JSON"),
                    "{name}"
                );
                filled
            }
            None => {
                let line = header(repo, &pod.env, name);
                let json = line
                    .strip_prefix("x-portkey-config: ")
                    .unwrap_or_else(|| panic!("not a header: {line}"));
                // The header carries exactly the config the pod mounts.
                assert_eq!(serde_json::from_str::<Value>(json).expect("JSON"), mounted);
                // The client fills the references with its own keys.
                fill(json, |name| format!("client-key-{name}"))
            }
        };
        let mut config: Value = serde_json::from_str(&filled).expect("JSON");
        let mut keys = BTreeMap::new();
        keys_by_target(&config, "t", &mut keys);
        point_at(&mut config, &mock, "t");
        let typed = kiln::model::strategy::from_file(Path::new(file), content)
            .expect("a valid strategy")
            .parsed()
            .clone();
        let draw = drawn.insert(content.clone());
        for request in requests(&typed) {
            check_request(
                &client,
                port,
                &mock,
                (name, &config, &typed),
                &request,
                draw,
            );
        }
        // Each target received its own key, and nothing else.
        let received = mock.take_keys();
        assert!(!received.is_empty(), "{name}: no provider key arrived");
        for (id, got) in received {
            assert_eq!(
                got,
                BTreeSet::from([keys[&id].clone()]),
                "{name}: target {id} received the wrong key"
            );
        }
    }
    by_name
}
