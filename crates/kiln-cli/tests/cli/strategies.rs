//! `kiln strategies` and `kiln route`: what a strategy does and where a request goes.

use crate::harness::{code, kiln};
use kiln_tests::{copy_inputs, put, repo_root};

#[test]
fn strategies_lists_mode_targets_and_header() {
    let (status, stdout, stderr) = code(kiln(&repo_root()).arg("strategies"));
    assert_eq!(status, 0, "{stderr}");
    assert!(stdout.contains("cost-optimized  (conditional)"), "{stdout}");
    assert!(
        stdout.contains("header:  kiln strategies --header cost-optimized"),
        "{stdout}"
    );
    assert!(
        stdout.contains("target:  premium azure-openai gpt-4o"),
        "{stdout}"
    );
    let (status, stdout, _) = code(kiln(&repo_root()).args(["strategies", "--env", "dev"]));
    assert_eq!(status, 0);
    assert!(stdout.contains("small-models  (fallback)"), "{stdout}");
    assert!(
        stdout.contains("header:  kiln strategies --env dev --header small-models"),
        "{stdout}"
    );

    // The header: the config on one line, credentials as references for the client to fill.
    let (status, stdout, _) =
        code(kiln(&repo_root()).args(["strategies", "--env", "dev", "--header", "small-models"]));
    assert_eq!(status, 0);
    let json = stdout
        .strip_prefix("x-portkey-config: ")
        .and_then(|s| s.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("{stdout}"));
    let file =
        std::fs::read_to_string(repo_root().join("overlays/dev/strategies/small-models.json"))
            .expect("strategy");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(json).expect("JSON"),
        serde_json::from_str::<serde_json::Value>(&file).expect("JSON")
    );
    assert!(!json.contains('\n') && json.contains("${OPENAI_API_KEY}"));
    let (status, _, stderr) =
        code(kiln(&repo_root()).args(["strategies", "--header", "smal-models"]));
    assert_eq!(status, 2);
    assert!(stderr.contains("no strategy `smal-models`"), "{stderr}");

    let dir = copy_inputs(false);
    put(
        dir.path(),
        "strategies/bad.json",
        "{\"strategy\": {\"mode\": \"fallback\"}, \"targets\": [{\"provider\": \"openai\"}]}",
    );
    let (status, _, stderr) = code(kiln(dir.path()).arg("render"));
    assert_eq!(status, 2);
    assert!(
        stderr.contains("strategies/bad.json:1:1 at /targets/0: the gateway refuses this")
            && !stderr.contains("errors"),
        "{stderr}"
    );
    assert!(!dir.path().join("out").exists());
}

#[test]
fn route_shows_where_a_request_goes() {
    let route = |args: &[&str]| code(kiln(&repo_root()).arg("route").args(args));
    let (status, stdout, _) =
        route(&["--strategy", "cost-optimized", "--param", "max_tokens=8000"]);
    assert_eq!(status, 0);
    assert!(
        stdout.contains("condition 0 matched → premium azure-openai gpt-4o"),
        "{stdout}"
    );
    let (_, stdout, _) = route(&["-s", "cost-optimized", "--param", "max_tokens=100"]);
    assert!(stdout.contains("default → budget"), "{stdout}");
    let (_, stdout, _) = route(&["-s", "claude-models"]);
    assert!(
        stdout.contains(" 33.3%  #0 anthropic claude-opus"),
        "{stdout}"
    );
    let (_, stdout, _) = route(&["-s", "small-models", "--env", "dev"]);
    assert!(
        stdout.contains("fallback (next target on 429, 500, 502, 503):"),
        "{stdout}"
    );
    assert!(stdout.contains("1. #0 openai gpt-4o-mini"), "{stdout}");
    let (status, _, stderr) = route(&["-s", "nope"]);
    assert_eq!(status, 2);
    assert!(stderr.contains("there are: all-models"), "{stderr}");
    let (status, _, _) = route(&["-s", "cost-optimized", "--param", "novalue"]);
    assert_eq!(status, 2);
}

#[test]
fn route_reads_metadata_as_the_gateways_json_parse() {
    let dir = copy_inputs(false);
    let strategy = serde_json::json!({
        "strategy": {"mode": "conditional", "default": "a", "conditions": [
            {"query": {"metadata.level": {"$regex": "^Infinity$"}}, "then": "b"},
            {"query": {"metadata.level": {"$regex": "^[\\ud800-\\udbff]$"}}, "then": "b"}]},
        "targets": [{"name": "a", "provider": "openai", "api_key": "${OPENAI_API_KEY}"},
                    {"name": "b", "provider": "anthropic", "api_key": "${ANTHROPIC_API_KEY}"}]
    });
    std::fs::write(
        dir.path().join("strategies/edge.json"),
        strategy.to_string(),
    )
    .expect("write");
    let route =
        |json: &str| code(kiln(dir.path()).args(["route", "-s", "edge", "--metadata-json", json]));
    // JavaScript reads 1e400 as Infinity and keeps a lone surrogate; a strict reader refuses both.
    let (status, stdout, stderr) = route(r#"{"level": 1e400}"#);
    assert_eq!(status, 0, "{stderr}");
    assert!(
        stdout.contains("condition 0 matched → b anthropic"),
        "{stdout}"
    );
    let (_, stdout, _) = route(r#"{"level": "\ud800"}"#);
    assert!(
        stdout.contains("condition 1 matched → b anthropic"),
        "{stdout}"
    );
    let (_, stdout, _) = route(r#"{"level": "\ud83d\ude00"}"#);
    assert!(stdout.contains("default → a openai"), "{stdout}");
    let (status, _, stderr) = route(r#"{"level": 1e400,}"#);
    assert_eq!(status, 2);
    assert!(
        stderr.contains("not JSON at position 16: expected a key in double quotes"),
        "{stderr}"
    );
    let (status, _, stderr) = route("[1]");
    assert_eq!(status, 2);
    assert!(stderr.contains("expected a JSON object"), "{stderr}");
}
