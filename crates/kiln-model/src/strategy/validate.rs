//! Which configs kiln accepts: every config the gateway's own schema and
//! router accept, and fewer only by the rules docs/reference/strategies.md lists under
//! "Stricter than the gateway" — each marked `kiln:` below. An error is a
//! config the gateway would refuse or fail on; a warning one it would run in
//! a way that is almost certainly not meant.

use super::conditions;
use super::{Config, Mode, StrategySpec};
use crate::portkey::{PROVIDER_OPTIONS, PROVIDERS, custom_host_ok};
use crate::rules::Severity::{Error, Warning};
use crate::values::{Problem, push};
use serde_json::Value;
use std::collections::BTreeSet;

/// The fields [`Config`] types itself.
const TYPED_FIELDS: [&str; 29] = [
    "name",
    "strategy",
    "targets",
    "provider",
    "api_key",
    "weight",
    "on_status_codes",
    "retry",
    "override_params",
    "cache",
    "request_timeout",
    "custom_host",
    "forward_headers",
    "before_request_hooks",
    "after_request_hooks",
    "input_guardrails",
    "output_guardrails",
    "strict_open_ai_compliance",
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_region",
    "vertex_project_id",
    "vertex_region",
    "vertex_service_account_json",
    "openai_project",
    "openai_organization",
    "azure_model_name",
    "azure_auth_mode",
];

/// Checks `config` (and `raw`, the same config as written, for literal
/// credentials). `secret_env` is the environment's provider-key variables
/// (`secrets.keys[].env`), the only names an `api_key` reference may use;
/// `None` when no environment is known, which skips that one check.
pub fn validate(config: &Config, raw: &Value, secret_env: Option<&[String]>) -> Vec<Problem> {
    let mut out = Vec::new();
    // The gateway's request check: a config names a provider or has targets.
    if config.provider.is_none() && config.targets.is_none() {
        let hint = if config.options.contains_key("options") {
            "; `options` is Portkey's old config format: use `strategy` and `targets`"
        } else {
            ""
        };
        push(
            &mut out,
            Error,
            "",
            format!(
                "the gateway refuses a config without `provider` or `targets` (\"Either x-portkey-provider needs to be passed. Or the x-portkey-config header should have a valid config with provider details in it.\"){hint}"
            ),
        );
    }
    node(config, "", &mut out);
    nulls(raw, "", &mut out);
    literal_secrets(raw, String::new(), &mut out);
    if let Some(known) = secret_env {
        unknown_references(config, "", known, &mut out);
    }
    out.sort_by(|a, b| (a.severity, &a.pointer).cmp(&(b.severity, &b.pointer)));
    out
}

/// One config or target, and its targets.
fn node(c: &Config, at: &str, out: &mut Vec<Problem>) {
    fields(c, at, out);
    requirement(c, at, out);
    provider(c, at, out);
    destination(c, at, out);
    credentials(c, at, out);
    limits(c, at, out);
    if let Some(strategy) = &c.strategy {
        strategy_problems(strategy, c.targets(), at, out);
    }
    if c.strategy.is_none() && c.targets.is_some() {
        push(
            out,
            Warning,
            format!("{at}/targets"),
            "targets without a `strategy` are never used: the gateway treats this config as one target",
        );
    }
    for (i, t) in c.targets().iter().enumerate() {
        node(t, &format!("{at}/targets/{i}"), out);
    }
}

/// kiln: a field the gateway reads neither from its schema nor as a
/// provider option is refused (the gateway would silently ignore a typo).
fn fields(c: &Config, at: &str, out: &mut Vec<Problem>) {
    for key in c.options.keys() {
        if PROVIDER_OPTIONS.contains(&key.as_str()) {
            continue;
        }
        let message = if key == "options" {
            "`options` is Portkey's old config format, which the gateway refuses; use `strategy` and `targets`".to_string()
        } else {
            let known = TYPED_FIELDS.iter().chain(PROVIDER_OPTIONS).copied();
            let hint = crate::error::closest(key, known)
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_default();
            format!("`{key}` is not a field the gateway reads (it would ignore it){hint}")
        };
        push(out, Error, crate::pointer::join(at, key), message);
    }
}

fn truthy(s: &Option<String>) -> bool {
    s.as_deref().is_some_and(|s| !s.is_empty())
}

/// A target goes somewhere: a provider, or targets of its own. The schema
/// lets a target through on `request_timeout` or `cache` alone; the gateway
/// then answers 500 "Provider not found" to every request routed there.
fn destination(c: &Config, at: &str, out: &mut Vec<Problem>) {
    if at.contains("/targets/") && c.provider.is_none() && c.targets.is_none() {
        push(
            out,
            Error,
            at,
            "a target without `provider` or `targets` has nowhere to go: the gateway answers 500 (\"Provider not found\") to every request routed to it",
        );
    }
}

/// The gateway schema's rule for every config and target: something to do.
fn requirement(c: &Config, at: &str, out: &mut Vec<Problem>) {
    let p = c.provider.as_deref();
    let met = (c.provider.is_some() && c.api_key.is_some())
        || (c.strategy.is_some() && c.targets.is_some())
        || c.cache.is_some()
        || c.retry.is_some()
        || c.request_timeout.is_some_and(|t| t != 0.0)
        || matches!(p, Some("ollama" | "triton"))
        || (truthy(&c.aws_access_key_id) && truthy(&c.aws_secret_access_key))
        || (p == Some("vertex-ai")
            && truthy(&c.vertex_region)
            && (c.vertex_service_account_json.is_some() || truthy(&c.vertex_project_id)))
        || c.before_request_hooks.is_some()
        || c.after_request_hooks.is_some()
        || c.input_guardrails.is_some()
        || c.output_guardrails.is_some()
        || (p == Some("azure-openai") && truthy(&c.azure_auth_mode));
    if met {
        return;
    }
    let hint = if c.options.contains_key("virtual_key") {
        ": the open-source gateway has no vault for virtual keys; give `api_key: \"${ENV_NAME}\"`"
    } else if c.provider.is_some() {
        ": a provider needs an `api_key` (`${ENV_NAME}`)"
    } else {
        ""
    };
    push(
        out,
        Error,
        at,
        format!(
            "the gateway refuses this: it must have `provider` and `api_key`, or `strategy` and `targets`, or `cache`, `retry`, `request_timeout`, hooks or guardrails{hint}"
        ),
    );
}

fn provider(c: &Config, at: &str, out: &mut Vec<Problem>) {
    if let Some(p) = &c.provider {
        if !PROVIDERS.contains(&p.as_str()) {
            let hint = crate::error::closest(p, PROVIDERS.iter().copied())
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_default();
            push(
                out,
                Error,
                format!("{at}/provider"),
                format!("`{p}` is not a provider the gateway knows{hint}"),
            );
        }
        if p == "vertex-ai"
            && !(truthy(&c.vertex_region)
                && (truthy(&c.vertex_project_id) || c.vertex_service_account_json.is_some()))
        {
            push(
                out,
                Error,
                at,
                "provider `vertex-ai` needs `vertex_region` and `vertex_project_id` (or `vertex_service_account_json`)",
            );
        }
    }
    if let Some(host) = &c.custom_host
        && !custom_host_ok(host)
    {
        push(
            out,
            Error,
            format!("{at}/custom_host"),
            format!(
                "the gateway refuses `{host}` as a custom host: an http(s) URL without credentials, to a public host or localhost (private, cluster-local and metadata addresses are refused)"
            ),
        );
    }
}

/// kiln: credentials are references only.
fn credentials(c: &Config, at: &str, out: &mut Vec<Problem>) {
    if let Some(key) = &c.api_key {
        // A literal that looks like a key is reported by literal_secrets with more detail.
        if reference(key).is_none() && !crate::credential::looks_like_key(key) {
            push(
                out,
                Error,
                format!("{at}/api_key"),
                "credentials are only references: `${ENV_NAME}` naming a secrets.keys entry",
            );
        }
    }
}

/// kiln: numbers the gateway would take but that cannot be meant.
fn limits(c: &Config, at: &str, out: &mut Vec<Problem>) {
    if let Some(retry) = &c.retry {
        let attempts = format!("{at}/retry/attempts");
        if retry.attempts == 0 {
            push(
                out,
                Warning,
                attempts,
                "0 attempts: the gateway never retries",
            );
        } else if retry.attempts > 5 {
            push(
                out,
                Warning,
                attempts,
                "Portkey documents at most 5 retries; the open-source gateway makes this many",
            );
        }
        status_codes(
            retry.on_status_codes.as_deref(),
            &format!("{at}/retry/on_status_codes"),
            out,
        );
    }
    if c.cache
        .as_ref()
        .and_then(|c| c.max_age)
        .is_some_and(|a| a < 0.0 || !a.is_finite())
    {
        push(
            out,
            Error,
            format!("{at}/cache/max_age"),
            "max_age is a number of seconds, 0 or more",
        );
    }
    if c.request_timeout.is_some_and(|t| t < 0.0) {
        push(
            out,
            Error,
            format!("{at}/request_timeout"),
            "a timeout must be a positive number of milliseconds",
        );
    } else if c.request_timeout == Some(0.0) {
        // Measured: the gateway serves it, without a timeout (0 is falsy in JavaScript).
        push(
            out,
            Warning,
            format!("{at}/request_timeout"),
            "request_timeout 0 sets no timeout at all: leave it out, or give milliseconds",
        );
    }
    status_codes(
        c.on_status_codes.as_deref(),
        &format!("{at}/on_status_codes"),
        out,
    );
}

fn status_codes(codes: Option<&[u16]>, at: &str, out: &mut Vec<Problem>) {
    for (i, c) in codes.unwrap_or_default().iter().enumerate() {
        if !(100..=599).contains(c) {
            push(
                out,
                Error,
                format!("{at}/{i}"),
                format!("{c} is not an HTTP status code"),
            );
        }
    }
}

fn strategy_problems(s: &StrategySpec, targets: &[Config], at: &str, out: &mut Vec<Problem>) {
    if targets.is_empty() {
        push(
            out,
            Error,
            format!("{at}/targets"),
            format!(
                "{} mode needs targets: the gateway fails every request without one",
                s.mode.as_str()
            ),
        );
    }
    unique_names(targets, at, out);
    match s.mode {
        Mode::Single if targets.len() > 1 => {
            push(
                out,
                Warning,
                format!("{at}/targets/1"),
                "single mode uses only the first target; the others are unreachable",
            );
        }
        Mode::Loadbalance => weights(targets, at, out),
        Mode::Fallback if targets.len() == 1 => {
            push(
                out,
                Warning,
                format!("{at}/targets"),
                "fallback with one target has nothing to fall back to",
            );
        }
        Mode::Conditional => conditions::conditional(s, targets, at, out),
        _ => {}
    }
    if s.mode != Mode::Conditional && (s.conditions.is_some() || s.default.is_some()) {
        push(
            out,
            Warning,
            format!("{at}/strategy"),
            "`conditions` and `default` belong to conditional mode; the gateway ignores them here",
        );
    }
    if s.mode != Mode::Fallback && s.on_status_codes.is_some() {
        push(
            out,
            Warning,
            format!("{at}/strategy/on_status_codes"),
            "on_status_codes only matters in fallback mode",
        );
    }
    if s.on_status_codes.as_ref().is_some_and(Vec::is_empty) && s.mode == Mode::Fallback {
        push(
            out,
            Warning,
            format!("{at}/strategy/on_status_codes"),
            "an empty list never falls back: the first target's answer is final (leave it out to fall back on any error)",
        );
    }
    status_codes(
        s.on_status_codes.as_deref(),
        &format!("{at}/strategy/on_status_codes"),
        out,
    );
}

/// kiln: target names are unique (the gateway would always pick the first).
fn unique_names(targets: &[Config], at: &str, out: &mut Vec<Problem>) {
    let mut names = BTreeSet::new();
    for (i, t) in targets.iter().enumerate() {
        if let Some(name) = &t.name
            && !names.insert(name.as_str())
        {
            push(
                out,
                Error,
                format!("{at}/targets/{i}/name"),
                format!("target name `{name}` is used twice"),
            );
        }
    }
}

/// kiln: weights are 0 or more, and some are positive (the gateway's draw
/// misbehaves on negative weights and fails when all are 0).
fn weights(targets: &[Config], at: &str, out: &mut Vec<Problem>) {
    let weights: Vec<f64> = targets.iter().map(|t| t.weight.unwrap_or(1.0)).collect();
    for (i, w) in weights.iter().enumerate() {
        if *w < 0.0 || !w.is_finite() {
            push(
                out,
                Error,
                format!("{at}/targets/{i}/weight"),
                format!("weight {w} must be 0 or more"),
            );
        } else if *w == 0.0 {
            push(
                out,
                Warning,
                format!("{at}/targets/{i}/weight"),
                "weight 0: this target never receives traffic",
            );
        }
    }
    // JavaScript adds the weights up: past f64's range the draw fails.
    let sum: f64 = weights.iter().filter(|w| w.is_finite() && **w > 0.0).sum();
    if sum.is_infinite() {
        push(
            out,
            Error,
            format!("{at}/targets"),
            "the weights add up to more than a JavaScript number holds (Infinity): the gateway answers 500 to every request; scale them down",
        );
    }
    if !targets.is_empty() && !weights.iter().any(|w| *w > 0.0) {
        push(
            out,
            Error,
            format!("{at}/targets"),
            "loadbalance needs at least one target with a positive weight",
        );
    }
}

/// The variable named by an `api_key` reference `${NAME}`.
pub(super) fn reference(key: &str) -> Option<&str> {
    key.strip_prefix("${")
        .and_then(|k| k.strip_suffix('}'))
        .filter(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

/// `api_key` references to variables the environment's secrets do not provide.
pub(super) fn unknown_references(
    node: &Config,
    at: &str,
    known: &[String],
    out: &mut Vec<Problem>,
) {
    if let Some(var) = node.api_key.as_deref().and_then(reference)
        && !known.iter().any(|e| e == var)
    {
        push(
            out,
            Error,
            format!("{at}/api_key"),
            format!(
                "`${{{var}}}` is not one of the environment's secrets.keys ({})",
                known.join(", ")
            ),
        );
    }
    for (i, t) in node.targets().iter().enumerate() {
        unknown_references(t, &format!("{at}/targets/{i}"), known, out);
    }
}

/// The gateway's schema takes no `null` for a field it types (kiln reads
/// one as absent, so it must look at the config as written).
fn nulls(node: &Value, at: &str, out: &mut Vec<Problem>) {
    let Some(map) = node.as_object() else {
        return;
    };
    for (key, value) in map {
        let here = crate::pointer::join(at, key);
        match (key.as_str(), value) {
            // `name` and `override_params` are outside the gateway's schema.
            (k, Value::Null)
                if TYPED_FIELDS.contains(&k) && k != "name" && k != "override_params" =>
            {
                push(
                    out,
                    Error,
                    here,
                    "the gateway refuses `null` here: leave the field out",
                )
            }
            ("targets", Value::Array(targets)) => {
                for (i, t) in targets.iter().enumerate() {
                    nulls(t, &format!("{here}/{i}"), out);
                }
            }
            ("strategy" | "retry" | "cache", Value::Object(fields)) => {
                for k in fields.iter().filter(|(_, v)| v.is_null()).map(|(k, _)| k) {
                    push(
                        out,
                        Error,
                        crate::pointer::join(&here, k),
                        "the gateway refuses `null` here: leave the field out",
                    );
                }
            }
            _ => {}
        }
    }
}

fn literal_secrets(value: &Value, at: String, out: &mut Vec<Problem>) {
    match value {
        Value::String(s) if crate::credential::contains(s) => push(
            out,
            Error,
            at,
            "this looks like a literal credential; keys never go into Git: reference one with `${ENV_NAME}`",
        ),
        Value::Object(map) => {
            for (k, v) in map {
                literal_secrets(v, crate::pointer::join(&at, k), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                literal_secrets(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}
