//! Portkey routing strategies: one gateway config per file in `strategies/`,
//! selected by clients with the `x-portkey-config` header.
//!
//! Each file is read into a typed model of Portkey's config ([`Config`]:
//! strategy modes, targets, weights, conditions, cache, retry, timeouts,
//! override params, credentials) with unknown fields rejected, then
//! [`validate`]d: problems Portkey would only hit at request time are found at
//! render time, each naming the file and JSON pointer.

use crate::error::{InputError, Result};
use crate::parse;
use crate::rules::Severity;
use crate::values::Problem;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// One strategy file.
#[derive(Debug, Clone, PartialEq)]
pub struct Strategy {
    /// The name clients use: the file name without `.json`.
    pub name: String,
    /// The file, relative to the repository root.
    pub file: PathBuf,
    /// The config as written (a JSON object).
    pub config: Value,
    /// `config` as canonical JSON, computed once: every environment mounts it.
    canonical: String,
    /// What [`validate`] finds without an environment, computed once at load.
    findings: Vec<Problem>,
    /// The same config, typed.
    pub parsed: Config,
}

impl Strategy {
    /// The key in the strategies ConfigMap, and the file name under the mount path.
    pub fn file_name(&self) -> String {
        format!("{}.json", self.name)
    }

    /// The config as canonical JSON (sorted keys, two-space indent, trailing newline).
    pub fn canonical_json(&self) -> &str {
        &self.canonical
    }

    /// The header a client sends to use this strategy.
    pub fn header(&self) -> String {
        format!("x-portkey-config: {}", self.name)
    }
}

/// A Portkey config, and equally one of its targets: targets nest.
/// Field names are Portkey's (snake_case); see the README for the list.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Config {
    /// Name of a target, for conditional `then`/`default`.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub strategy: Option<StrategySpec>,
    #[serde(default)]
    pub targets: Vec<Config>,
    #[serde(default)]
    pub provider: Option<String>,
    /// A Portkey virtual key: a reference to a key kept in Portkey's vault.
    #[serde(default)]
    pub virtual_key: Option<String>,
    /// Only as a reference `${ENV_NAME}` to one of the environment's `secrets.keys`.
    #[serde(default)]
    pub api_key: Option<String>,
    /// Load-balancing weight (default 1).
    #[serde(default)]
    pub weight: Option<f64>,
    #[serde(default)]
    pub retry: Option<Retry>,
    /// Request parameters this target overrides (`model`, `max_tokens`, …).
    #[serde(default)]
    pub override_params: Option<Map<String, Value>>,
    #[serde(default)]
    pub cache: Option<Cache>,
    /// Milliseconds before the request is abandoned.
    #[serde(default)]
    pub request_timeout: Option<u64>,
    #[serde(default)]
    pub custom_host: Option<String>,
    #[serde(default)]
    pub forward_headers: Vec<String>,
    #[serde(default)]
    pub resource_name: Option<String>,
    #[serde(default)]
    pub deployment_id: Option<String>,
    #[serde(default)]
    pub api_version: Option<String>,
    #[serde(default)]
    pub azure_auth_mode: Option<String>,
    #[serde(default)]
    pub azure_model_name: Option<String>,
    #[serde(default)]
    pub aws_region: Option<String>,
    #[serde(default)]
    pub vertex_region: Option<String>,
    #[serde(default)]
    pub vertex_project_id: Option<String>,
}

impl Config {
    /// The model this target asks for (`override_params.model`), if any.
    pub fn model(&self) -> Option<&str> {
        self.override_params.as_ref()?.get("model")?.as_str()
    }

    /// The routing mode: the strategy's, or `single` for a plain target.
    pub fn mode(&self) -> Mode {
        self.strategy.as_ref().map_or(Mode::Single, |s| s.mode)
    }

    /// A short label: `name` or `#index`, provider and model.
    pub fn label(&self, index: usize) -> String {
        let mut parts = vec![self.name.clone().unwrap_or_else(|| format!("#{index}"))];
        if let Some(p) = &self.provider {
            parts.push(p.clone());
        }
        if let Some(m) = self.model().or(self.deployment_id.as_deref()) {
            parts.push(m.to_string());
        }
        if self.strategy.is_some() {
            parts.push(format!("({})", self.mode().as_str()));
        }
        parts.join(" ")
    }
}

/// How a config routes between its targets.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct StrategySpec {
    pub mode: Mode,
    /// Fallback: the status codes that move on to the next target (default: any non-2xx).
    #[serde(default)]
    pub on_status_codes: Vec<u16>,
    /// Conditional: tried in order; the first whose query matches names the target.
    #[serde(default)]
    pub conditions: Vec<RoutingCondition>,
    /// Conditional: the target when no condition matches.
    #[serde(default)]
    pub default: Option<String>,
}

/// Portkey's strategy modes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum Mode {
    #[default]
    Single,
    Loadbalance,
    Fallback,
    Conditional,
}

impl Mode {
    /// Portkey's name for the mode.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Single => "single",
            Mode::Loadbalance => "loadbalance",
            Mode::Fallback => "fallback",
            Mode::Conditional => "conditional",
        }
    }
}

/// One conditional-routing rule.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingCondition {
    /// `{ "metadata.tier": "pro" }`, `{ "params.max_tokens": { "$gt": 4000 } }`, `$and`/`$or` lists.
    pub query: Map<String, Value>,
    /// The target name to route to.
    pub then: String,
}

/// Retries of a target.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Retry {
    pub attempts: u32,
    #[serde(default)]
    pub on_status_codes: Vec<u16>,
    #[serde(default)]
    pub use_retry_after_header: Option<bool>,
}

/// Response cache.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cache {
    /// `simple` (exact match) or `semantic` (similar prompts).
    pub mode: CacheMode,
    /// Seconds an entry lives.
    #[serde(default)]
    pub max_age: Option<u64>,
}

/// Cache modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum CacheMode {
    Simple,
    Semantic,
}

/// Operators Portkey's conditional router understands.
pub const OPERATORS: [&str; 10] = [
    "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$regex", "$length",
];

/// Request fields a condition can test: `<root>.<key>`.
pub const CONTEXT_ROOTS: [&str; 3] = ["metadata", "params", "url"];

/// Checks `config` (and `raw`, the same config as written, for literal
/// credentials). `secret_env` is the environment's provider-key variables
/// (`secrets.keys[].env`), the only names an `api_key` reference may use;
/// `None` when no environment is known, which skips that one check.
pub fn validate(config: &Config, raw: &Value, secret_env: Option<&[String]>) -> Vec<Problem> {
    let mut findings = Vec::new();
    check_node(config, "", &mut findings, true);
    literal_secrets(raw, String::new(), &mut findings);
    if let Some(known) = secret_env {
        unknown_references(config, "", known, &mut findings);
    }
    findings.sort_by(|a, b| (a.severity, &a.pointer).cmp(&(b.severity, &b.pointer)));
    findings
}

fn push(findings: &mut Vec<Problem>, severity: Severity, pointer: String, message: String) {
    findings.push(Problem {
        severity,
        pointer,
        message,
    });
}

fn check_node(node: &Config, at: &str, out: &mut Vec<Problem>, top: bool) {
    use Severity::*;
    let Some(strategy) = &node.strategy else {
        if !node.targets.is_empty() {
            push(
                out,
                Error,
                format!("{at}/targets"),
                "targets need a `strategy` that says how to choose between them".into(),
            );
        } else if node.provider.is_none() && node.virtual_key.is_none() {
            let what = if top { "a config" } else { "a target" };
            push(
                out,
                Error,
                at.to_string(),
                format!(
                    "{what} needs a `provider` (or a `virtual_key`), or a `strategy` with `targets`"
                ),
            );
        }
        check_target(node, at, out);
        return;
    };
    let targets = &node.targets;
    let mut names = BTreeSet::new();
    for (i, t) in targets.iter().enumerate() {
        if let Some(name) = &t.name {
            if !names.insert(name.as_str()) {
                push(
                    out,
                    Error,
                    format!("{at}/targets/{i}/name"),
                    format!("target name `{name}` is used twice"),
                );
            }
        }
    }
    match strategy.mode {
        Mode::Single if targets.len() > 1 => {
            push(
                out,
                Warning,
                format!("{at}/targets/1"),
                "single mode uses only the first target; the others are unreachable".into(),
            );
        }
        Mode::Loadbalance => {
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
                        "weight 0: this target never receives traffic".into(),
                    );
                }
            }
            if !weights.iter().any(|w| *w > 0.0) {
                push(
                    out,
                    Error,
                    format!("{at}/targets"),
                    "loadbalance needs at least one target with a positive weight".into(),
                );
            }
        }
        Mode::Fallback if targets.len() < 2 => {
            push(
                out,
                Error,
                format!("{at}/targets"),
                "fallback needs at least 2 targets to fall back between".into(),
            );
        }
        Mode::Conditional => check_conditional(strategy, targets, at, out),
        _ => {}
    }
    if targets.is_empty() {
        push(
            out,
            Error,
            format!("{at}/targets"),
            format!("{} mode needs targets", strategy.mode.as_str()),
        );
    }
    if strategy.mode != Mode::Conditional
        && (!strategy.conditions.is_empty() || strategy.default.is_some())
    {
        push(
            out,
            Error,
            format!("{at}/strategy"),
            "`conditions` and `default` belong to conditional mode".into(),
        );
    }
    if strategy.mode != Mode::Fallback && !strategy.on_status_codes.is_empty() {
        push(
            out,
            Warning,
            format!("{at}/strategy/on_status_codes"),
            "on_status_codes only matters in fallback mode".into(),
        );
    }
    status_codes(
        &strategy.on_status_codes,
        &format!("{at}/strategy/on_status_codes"),
        out,
    );
    check_target(node, at, out);
    for (i, t) in targets.iter().enumerate() {
        check_node(t, &format!("{at}/targets/{i}"), out, false);
    }
}

fn check_conditional(
    strategy: &StrategySpec,
    targets: &[Config],
    at: &str,
    out: &mut Vec<Problem>,
) {
    use Severity::*;
    let names: Vec<&str> = targets.iter().filter_map(|t| t.name.as_deref()).collect();
    if strategy.conditions.is_empty() {
        push(
            out,
            Error,
            format!("{at}/strategy/conditions"),
            "conditional mode needs at least one condition".into(),
        );
    }
    let mut reached = BTreeSet::new();
    let mut named = |name: &str, pointer: String, out: &mut Vec<Problem>| {
        if names.contains(&name) {
            reached.insert(name.to_string());
        } else {
            let hint = crate::error::closest(name, names.iter().copied())
                .map(|c| format!(" (did you mean `{c}`?)"))
                .unwrap_or_default();
            push(
                out,
                Error,
                pointer,
                format!(
                    "no target is named `{name}`{hint}; targets: {}",
                    names.join(", ")
                ),
            );
        }
    };
    for (i, c) in strategy.conditions.iter().enumerate() {
        named(&c.then, format!("{at}/strategy/conditions/{i}/then"), out);
        check_query(
            &c.query,
            &format!("{at}/strategy/conditions/{i}/query"),
            out,
        );
    }
    match &strategy.default {
        Some(d) => named(d, format!("{at}/strategy/default"), out),
        None => push(
            out,
            Warning,
            format!("{at}/strategy"),
            "no `default`: a request that matches no condition fails".into(),
        ),
    }
    for (i, t) in targets.iter().enumerate() {
        match &t.name {
            None => push(
                out,
                Warning,
                format!("{at}/targets/{i}"),
                "a target without `name` cannot be chosen by a condition".into(),
            ),
            Some(n) if !reached.contains(n) => push(
                out,
                Warning,
                format!("{at}/targets/{i}"),
                format!("target `{n}` is named by no condition nor the default: unreachable"),
            ),
            _ => {}
        }
    }
}

fn check_query(query: &Map<String, Value>, at: &str, out: &mut Vec<Problem>) {
    use Severity::*;
    if query.is_empty() {
        push(
            out,
            Error,
            at.to_string(),
            "an empty query matches every request; use `default` instead".into(),
        );
    }
    // Portkey decides a query at its first `$and`/`$or` key; other keys beside it are
    // checked or ignored depending on their order in the file, so kiln refuses the mix.
    if query.len() > 1 && (query.contains_key("$and") || query.contains_key("$or")) {
        push(out, Error, at.to_string(), "`$and`/`$or` must be the only key of its query (Portkey ignores the keys after it); nest the other fields inside it".into());
    }
    for (key, value) in query {
        let here = crate::pointer::join(at, key);
        if key == "$and" || key == "$or" {
            match value.as_array() {
                Some(items) if !items.is_empty() => {
                    for (i, item) in items.iter().enumerate() {
                        match item.as_object() {
                            Some(q) => check_query(q, &format!("{here}/{i}"), out),
                            None => push(
                                out,
                                Error,
                                format!("{here}/{i}"),
                                "expected a query object".into(),
                            ),
                        }
                    }
                }
                _ => push(
                    out,
                    Error,
                    here,
                    format!("`{key}` takes a non-empty list of queries"),
                ),
            }
            continue;
        }
        if key.starts_with('$') {
            push(
                out,
                Error,
                here,
                format!(
                    "`{key}` is not a logical operator; use `$and` or `$or`, or a field such as `params.model`"
                ),
            );
            continue;
        }
        let (root, field) = key.split_once('.').unwrap_or((key, ""));
        // Portkey reads exactly two levels: `metadata.tier`, `params.max_tokens`, `url.pathname`.
        let root_ok = CONTEXT_ROOTS.contains(&root) && !field.is_empty() && !field.contains('.');
        if !root_ok || (root == "url" && field != "pathname") {
            push(
                out,
                Error,
                here.clone(),
                format!(
                    "`{key}` is not a field Portkey can test: use metadata.<key>, params.<key> or url.pathname"
                ),
            );
        }
        match value {
            Value::Object(ops) => check_operators(ops, &here, out),
            Value::Array(_) => push(
                out,
                Error,
                here,
                "a list never equals a request value; use `{\"$in\": [...]}`".into(),
            ),
            _ => {}
        }
    }
}

fn check_operators(ops: &Map<String, Value>, at: &str, out: &mut Vec<Problem>) {
    use Severity::*;
    if ops.is_empty() {
        push(
            out,
            Error,
            at.to_string(),
            "an empty operator object always matches".into(),
        );
    }
    if ops.len() > 1 && ops.contains_key("$regex") {
        push(
            out,
            Error,
            at.to_string(),
            "`$regex` must stand alone (Portkey returns its result and skips the other operators)"
                .into(),
        );
    }
    for (op, operand) in ops {
        let here = format!("{at}/{op}");
        match op.as_str() {
            "$gt" | "$gte" | "$lt" | "$lte" if !operand.is_number() => {
                push(
                    out,
                    Error,
                    here,
                    format!("`{op}` compares numbers; got {operand}"),
                );
            }
            "$in" | "$nin" if !operand.is_array() => {
                push(
                    out,
                    Error,
                    here,
                    format!("`{op}` takes a list of values; got {operand}"),
                );
            }
            "$regex" => match operand.as_str() {
                Some(re) if regex_lite::Regex::new(re).is_err() => {
                    push(
                        out,
                        Error,
                        here,
                        format!("`{re}` is not a valid regular expression"),
                    );
                }
                Some(_) => {}
                None => push(out, Error, here, "`$regex` takes a pattern string".into()),
            },
            "$length" => match operand {
                Value::Number(_) => {}
                Value::Object(inner) => check_operators(inner, &here, out),
                _ => push(
                    out,
                    Error,
                    here,
                    "`$length` takes a number or an operator object".into(),
                ),
            },
            o if OPERATORS.contains(&o) => {}
            o => {
                let hint = crate::error::closest(o, OPERATORS)
                    .map(|c| format!(" (did you mean `{c}`?)"))
                    .unwrap_or_default();
                push(
                    out,
                    Error,
                    here,
                    format!("`{o}` is not an operator Portkey understands{hint}"),
                );
            }
        }
    }
}

fn status_codes(codes: &[u16], at: &str, out: &mut Vec<Problem>) {
    for (i, c) in codes.iter().enumerate() {
        if !(100..=599).contains(c) {
            push(
                out,
                Severity::Error,
                format!("{at}/{i}"),
                format!("{c} is not an HTTP status code"),
            );
        }
    }
}

fn check_target(node: &Config, at: &str, out: &mut Vec<Problem>) {
    use Severity::*;
    if let Some(retry) = &node.retry {
        if retry.attempts == 0 || retry.attempts > 5 {
            push(
                out,
                Error,
                format!("{at}/retry/attempts"),
                "retry attempts must be 1-5".into(),
            );
        }
        status_codes(
            &retry.on_status_codes,
            &format!("{at}/retry/on_status_codes"),
            out,
        );
    }
    if node.request_timeout == Some(0) {
        push(
            out,
            Error,
            format!("{at}/request_timeout"),
            "a timeout of 0 ms fails every request".into(),
        );
    }
    if let Some(key) = &node.api_key {
        // A literal that looks like a key is reported by literal_secrets with more detail.
        if reference(key).is_none() && !looks_like_key(key) {
            push(out, Error, format!("{at}/api_key"), "credentials are only references: `${ENV_NAME}` of a secrets.keys entry, or a virtual_key".into());
        }
    }
}

/// The variable named by an `api_key` reference `${NAME}`.
fn reference(key: &str) -> Option<&str> {
    key.strip_prefix("${")
        .and_then(|k| k.strip_suffix('}'))
        .filter(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

/// `api_key` references to variables the environment's secrets do not provide.
fn unknown_references(node: &Config, at: &str, known: &[String], out: &mut Vec<Problem>) {
    if let Some(var) = node.api_key.as_deref().and_then(reference) {
        if !known.iter().any(|e| e == var) {
            push(
                out,
                Severity::Error,
                format!("{at}/api_key"),
                format!(
                    "`${{{var}}}` is not one of the environment's secrets.keys ({})",
                    known.join(", ")
                ),
            );
        }
    }
    for (i, t) in node.targets.iter().enumerate() {
        unknown_references(t, &format!("{at}/targets/{i}"), known, out);
    }
}

/// Strings shaped like real provider credentials.
pub fn looks_like_key(s: &str) -> bool {
    let s = s.trim();
    let prefixed = ["sk-", "sk_", "pk-", "AIza", "xai-", "gsk_", "csk-", "hf_"]
        .iter()
        .any(|p| s.starts_with(p) && s.len() >= p.len() + 16);
    let tokenish = s.len() >= 32
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && s.chars().any(|c| c.is_ascii_digit())
        && s.chars().any(|c| c.is_ascii_alphabetic());
    prefixed || tokenish
}

fn literal_secrets(value: &Value, at: String, out: &mut Vec<Problem>) {
    match value {
        Value::String(s) if looks_like_key(s) => push(
            out,
            Severity::Error,
            at,
            "this looks like a literal credential; keys never go into Git: reference one with `${ENV_NAME}` or use a virtual_key".into(),
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

/// Validates `strategies` for an environment whose secrets are `secret_env`:
/// the first error becomes an [`InputError`] naming file and pointer; warnings are returned.
pub fn check_all(
    strategies: &[std::sync::Arc<Strategy>],
    secret_env: &[String],
) -> Result<Vec<(PathBuf, Problem)>> {
    let mut warnings = Vec::new();
    for s in strategies {
        let mut references = Vec::new();
        unknown_references(&s.parsed, "", secret_env, &mut references);
        for f in s.findings.iter().cloned().chain(references) {
            if f.severity == Severity::Error {
                return Err(InputError::new(&s.file, f.message).at(f.pointer).into());
            }
            warnings.push((s.file.clone(), f));
        }
    }
    Ok(warnings)
}

/// Reads one strategy file (`file` relative to the repository root); its name is the file name without `.json`.
pub fn from_file(file: &Path, text: &str) -> Result<Strategy> {
    let file_name = file.file_name().unwrap_or_default().to_string_lossy();
    let Some(name) = file_name.strip_suffix(".json") else {
        return Err(
            InputError::new(file, "a strategy is a Portkey config named <strategy>.json").into(),
        );
    };
    if !valid_name(name) {
        return Err(InputError::new(
            file,
            format!(
                "`{name}` is not a valid strategy name: use lower-case letters, digits, '-' and '_'"
            ),
        )
        .into());
    }
    let config: Value = parse::json(file, text)?;
    if !config.is_object() {
        return Err(InputError::new(file, "a Portkey config must be a JSON object").into());
    }
    let parsed: Config = parse::json(file, text)?;
    Ok(Strategy {
        name: name.to_string(),
        file: file.to_path_buf(),
        canonical: crate::emit::json(&config),
        findings: validate(&parsed, &config, None),
        config,
        parsed,
    })
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}
