//! Portkey routing strategies: one gateway config per file in `strategies/`,
//! selected by clients with the `x-portkey-config` header.
//!
//! Each file is read into a typed model of Portkey's config ([`Config`]:
//! strategy modes, targets, weights, conditions, cache, retry, timeouts,
//! override params, credentials) with unknown fields rejected, then
//! validated ([`Strategy::findings`]): problems Portkey would only hit at request time are found at
//! render time, each naming the file and JSON pointer.

mod conditions;
pub mod template;
mod validate;

pub use crate::credential::looks_like_key;
pub use conditions::OPERATORS;
pub(crate) use validate::validate;

use crate::error::{InputError, Result};
use crate::parse;
use crate::rules::Severity;
use crate::values::Problem;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One strategy file, read once: its config as written, typed, as canonical
/// JSON and validated. The parts agree by construction, so they are read
/// through methods, never changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Strategy {
    /// The name clients use: the file name without `.json`.
    name: String,
    /// The file, relative to the repository root.
    file: PathBuf,
    /// The config as written (a JSON object).
    config: Value,
    /// `config` as canonical JSON, computed once: every environment mounts it.
    canonical: String,
    /// What validation finds without an environment, computed once at load.
    findings: Vec<Problem>,
    /// The same config, typed.
    parsed: Config,
}

impl Strategy {
    /// The name clients use: the file name without `.json`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file, relative to the repository root.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The config as written (a JSON object).
    pub fn config(&self) -> &Value {
        &self.config
    }

    /// The same config, typed.
    pub fn parsed(&self) -> &Config {
        &self.parsed
    }

    /// What kiln finds in this strategy (errors are what `kiln render`
    /// refuses); with `secret_env`, an environment's provider-key variables,
    /// also every `${VAR}` that is not one of them. By severity, then pointer.
    ///
    /// ```
    /// use kiln_model::strategy::from_file;
    /// let s = from_file(std::path::Path::new("strategies/x.json"),
    ///     r#"{"provider": "openai", "api_key": "${OPENAI_API_KEY}", "retry": {"attempts": 9}}"#).unwrap();
    /// assert_eq!(s.findings(None)[0].pointer, "/retry/attempts"); // a warning: above 5
    /// let keys = ["ANTHROPIC_API_KEY".to_string()];
    /// let found = s.findings(Some(&keys));
    /// assert!(found.iter().any(|f| f.pointer == "/api_key"));
    /// ```
    pub fn findings(&self, secret_env: Option<&[String]>) -> Vec<Problem> {
        let mut out = self.findings.clone();
        if let Some(known) = secret_env {
            validate::unknown_references(&self.parsed, "", known, &mut out);
            out.sort_by(|a, b| (a.severity, &a.pointer).cmp(&(b.severity, &b.pointer)));
        }
        out
    }

    /// The key in the strategies ConfigMap, and the file name under the mount path.
    pub fn file_name(&self) -> String {
        format!("{}.json", self.name)
    }

    /// The config as canonical JSON (sorted keys, two-space indent, trailing newline).
    pub fn canonical_json(&self) -> &str {
        &self.canonical
    }

    /// The header a client sends to use this strategy with the open-source
    /// gateway, which takes a config only as JSON in the request: the config
    /// on one line. Its `${NAME}` credential references are for the client
    /// to fill with its own provider keys (the gateway expands none). Any
    /// character beyond ASCII is escaped (see [`crate::js::header_json`]).
    pub fn header(&self) -> String {
        format!("x-portkey-config: {}", crate::js::header_json(&self.config))
    }

    /// The config as the template External Secrets fills in with the store's
    /// values of the references to `known` variables (see [`template`]), and
    /// the variables it reads.
    pub fn injection_template(&self, known: &[&str]) -> (String, Vec<String>) {
        template::injection(&self.config, known)
    }
}

/// A Portkey config, and equally one of its targets: targets nest. The
/// fields the gateway's config schema types are typed here; the provider
/// options it also reads (`resource_name`, `deployment_id`, …, see
/// [`crate::portkey::PROVIDER_OPTIONS`]) are kept as given in `options`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[allow(missing_docs)]
pub struct Config {
    /// Name of a target, for conditional `then`/`default`.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub strategy: Option<StrategySpec>,
    #[serde(default)]
    pub targets: Option<Vec<Config>>,
    #[serde(default)]
    pub provider: Option<String>,
    /// Only as a reference `${ENV_NAME}` to one of the environment's `secrets.keys`.
    #[serde(default)]
    pub api_key: Option<String>,
    /// Load-balancing weight (default 1).
    #[serde(default)]
    pub weight: Option<f64>,
    #[serde(default)]
    pub on_status_codes: Option<Vec<u16>>,
    #[serde(default)]
    pub retry: Option<Retry>,
    /// Request parameters this target overrides (`model`, `max_tokens`, …).
    #[serde(default)]
    pub override_params: Option<Map<String, Value>>,
    #[serde(default)]
    pub cache: Option<Cache>,
    /// Milliseconds before the request is abandoned.
    #[serde(default)]
    pub request_timeout: Option<f64>,
    #[serde(default)]
    pub custom_host: Option<String>,
    #[serde(default)]
    pub forward_headers: Option<Vec<String>>,
    #[serde(default)]
    pub before_request_hooks: Option<Vec<Map<String, Value>>>,
    #[serde(default)]
    pub after_request_hooks: Option<Vec<Map<String, Value>>>,
    #[serde(default)]
    pub input_guardrails: Option<Guardrails>,
    #[serde(default)]
    pub output_guardrails: Option<Guardrails>,
    #[serde(default)]
    pub strict_open_ai_compliance: Option<bool>,
    #[serde(default)]
    pub aws_access_key_id: Option<String>,
    #[serde(default)]
    pub aws_secret_access_key: Option<String>,
    #[serde(default)]
    pub aws_session_token: Option<String>,
    #[serde(default)]
    pub aws_region: Option<String>,
    #[serde(default)]
    pub vertex_project_id: Option<String>,
    #[serde(default)]
    pub vertex_region: Option<String>,
    #[serde(default)]
    pub vertex_service_account_json: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub openai_project: Option<String>,
    #[serde(default)]
    pub openai_organization: Option<String>,
    #[serde(default)]
    pub azure_model_name: Option<String>,
    #[serde(default)]
    pub azure_auth_mode: Option<String>,
    /// Provider options the gateway reads by name; any other key is refused.
    #[serde(flatten)]
    pub options: BTreeMap<String, Value>,
}

/// Guardrails: IDs of guardrails, or guardrail objects.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
#[allow(missing_docs)]
pub enum Guardrails {
    Ids(Vec<String>),
    Objects(Vec<Map<String, Value>>),
}

impl Config {
    /// The model this target asks for (`override_params.model`), if any.
    pub fn model(&self) -> Option<&str> {
        self.override_params.as_ref()?.get("model")?.as_str()
    }

    /// The targets (none for a plain target).
    pub fn targets(&self) -> &[Config] {
        self.targets.as_deref().unwrap_or_default()
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
        let deployment = self.options.get("deployment_id").and_then(Value::as_str);
        if let Some(m) = self.model().or(deployment) {
            parts.push(m.to_string());
        }
        if self.strategy.is_some() {
            parts.push(format!("({})", self.mode().as_str()));
        }
        crate::emit::printable(&parts.join(" ")).into_owned()
    }
}

/// How a config routes between its targets.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct StrategySpec {
    pub mode: Mode,
    /// Fallback: the status codes that move on to the next target. Absent:
    /// any response that is not 2xx; `[]`: never (the first target answers).
    #[serde(default)]
    pub on_status_codes: Option<Vec<u16>>,
    /// Conditional: tried in order; the first whose query matches names the target.
    #[serde(default)]
    pub conditions: Option<Vec<RoutingCondition>>,
    /// Conditional: the target when no condition matches (an empty name is none).
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
    pub on_status_codes: Option<Vec<u16>>,
    #[serde(default)]
    pub use_retry_after_header: Option<bool>,
}

/// Response cache.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cache {
    /// `simple` (exact match) or `semantic` (similar prompts).
    pub mode: CacheMode,
    /// Seconds an entry lives (the gateway keeps the whole part).
    #[serde(default)]
    pub max_age: Option<f64>,
}

/// Cache modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum CacheMode {
    Simple,
    Semantic,
}

/// Validates `strategies` for an environment whose secrets are `secret_env`:
/// the first error becomes an [`InputError`] naming file and pointer; warnings are returned.
pub fn check_all(
    strategies: &[std::sync::Arc<Strategy>],
    secret_env: &[String],
) -> Result<Vec<(PathBuf, Problem)>> {
    let mut warnings = Vec::new();
    for s in strategies {
        for f in s.findings(Some(secret_env)) {
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
