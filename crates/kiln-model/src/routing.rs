//! The routing simulator: where would Portkey send this request?
//!
//! Conditional routing is evaluated exactly as the gateway's conditional
//! router (Portkey gateway 1.15.2) does it, in JavaScript terms: conditions in
//! order, the first whose query matches names the target, else a non-empty
//! `default`; a query key reads `<root>.<key>` (two levels) of the request's
//! `metadata` (the `x-portkey-metadata` JSON), `params` (the body) or `url`
//! (`pathname`); plain values and `$eq`/`$ne`/`$in`/`$nin` compare with `===`,
//! `$gt`…`$lte` with `parseFloat`, `$regex` is `new RegExp(p).test(String(v))`;
//! the first `$and`/`$or` key decides its query. See [`crate::js`].
//!
//! A config whose [`crate::strategy::Strategy::findings`] hold an error is refused here too:
//! kiln never answers for a config that does not ship.

use crate::js;
use crate::rules::Severity;
use crate::strategy::{Config, Mode};
use serde_json::{Map, Value};
use std::fmt;

/// What is known of a request when routing it, as the gateway holds it
/// after `JSON.parse` (see [`js::parse`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Request {
    /// The `x-portkey-metadata` header's JSON object (values of any JSON type).
    pub metadata: js::Object,
    /// The request body's parameters (`model`, `max_tokens`, …).
    pub params: js::Object,
    /// The request path, e.g. `/v1/chat/completions`.
    pub path: String,
}

/// Where a request goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// A single provider target.
    Target {
        /// Its label (name or index, provider, model).
        label: String,
    },
    /// Load balancing: each target's share (0–1) of requests.
    LoadBalance(Vec<(f64, String, Decision)>),
    /// Fallback: targets in the order they are tried.
    Fallback {
        /// The status codes that move on to the next target: `None` any
        /// error, `Some([])` never.
        on_status_codes: Option<Vec<u16>>,
        /// The targets, first tried first.
        order: Vec<(String, Decision)>,
    },
    /// Conditional routing: which condition matched (none: `default`) and where it leads.
    Conditional {
        /// Index of the matching condition, or `None` when the default applied.
        matched: Option<usize>,
        /// Index of the chosen target in `targets`.
        target: usize,
        /// Label of the chosen target.
        chosen: String,
        /// The chosen target's own routing.
        next: Box<Decision>,
    },
}

/// Routes `request` through `config`; an error says why the gateway would
/// fail the request, or why kiln refuses the config.
///
/// ```
/// use kiln_model::routing::{route, Decision, Request};
/// let config: kiln_model::strategy::Config = serde_json::from_value(serde_json::json!({
///     "strategy": {"mode": "conditional", "default": "small",
///                  "conditions": [{"query": {"params.max_tokens": {"$gt": 4000}}, "then": "big"}]},
///     "targets": [{"name": "small", "provider": "openai", "api_key": "${OPENAI_API_KEY}"},
///                 {"name": "big", "provider": "anthropic", "api_key": "${ANTHROPIC_API_KEY}"}]
/// })).unwrap();
/// let mut request = Request::default();
/// request.params.insert("max_tokens".into(), "8000".into()); // parseFloat("8000")
/// match route(&config, &request).unwrap() {
///     Decision::Conditional { matched, chosen, .. } => {
///         assert_eq!(matched, Some(0));
///         assert_eq!(chosen, "big anthropic");
///     }
///     other => panic!("{other:?}"),
/// }
/// ```
pub fn route(config: &Config, request: &Request) -> Result<Decision, RouteError> {
    let raw = serde_json::to_value(RawConfig(config)).unwrap_or(Value::Null);
    if let Some(e) = crate::strategy::validate(config, &raw, None)
        .into_iter()
        .find(|p| p.severity == Severity::Error)
    {
        return Err(RouteError::Refused {
            pointer: e.pointer,
            message: e.message,
        });
    }
    decide(config, request).map_err(RouteError::Fails)
}

/// Why [`route`] has no decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// kiln refuses the config (as `kiln render` does), at this JSON pointer.
    Refused {
        /// Where in the config.
        pointer: String,
        /// What is wrong.
        message: String,
    },
    /// The gateway would fail the request, for this reason.
    Fails(String),
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteError::Refused { pointer, message } => {
                write!(f, "kiln refuses this config at {pointer}: {message}")
            }
            RouteError::Fails(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for RouteError {}

/// A config as JSON again, for the literal-credential check of [`route`].
struct RawConfig<'a>(&'a Config);

impl serde::Serialize for RawConfig<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Only strings matter to that check; the typed fields hold none a key could hide in.
        self.0.options.serialize(s)
    }
}

fn decide(config: &Config, request: &Request) -> Result<Decision, String> {
    let Some(strategy) = &config.strategy else {
        return Ok(Decision::Target {
            label: config.label(0),
        });
    };
    let targets = config.targets();
    let branch = |i: usize| -> Result<(String, Decision), String> {
        let t = &targets[i];
        Ok((t.label(i), decide(t, request)?))
    };
    match strategy.mode {
        Mode::Single => match targets.first() {
            Some(_) => branch(0).map(|(_, d)| d),
            None => Err("single mode without targets".into()),
        },
        Mode::Loadbalance => {
            let weights: Vec<f64> = targets.iter().map(|t| t.weight.unwrap_or(1.0)).collect();
            let total: f64 = weights.iter().sum();
            let mut shares = Vec::new();
            for (i, w) in weights.iter().enumerate() {
                let (label, decision) = branch(i)?;
                shares.push((w / total, label, decision));
            }
            Ok(Decision::LoadBalance(shares))
        }
        Mode::Fallback => Ok(Decision::Fallback {
            on_status_codes: strategy.on_status_codes.clone(),
            order: (0..targets.len()).map(branch).collect::<Result<_, _>>()?,
        }),
        Mode::Conditional => {
            let conditions = strategy
                .conditions
                .as_ref()
                .ok_or("no conditions: Portkey fails the request")?;
            let context = Context::of(request);
            let mut matched = None;
            for (i, condition) in conditions.iter().enumerate() {
                if context.query(&condition.query)? {
                    matched = Some((i, condition.then.as_str()));
                    break;
                }
            }
            let (index, name) = match (matched, strategy.default.as_deref()) {
                (Some((i, name)), _) => (Some(i), name),
                // An empty default is falsy in JavaScript.
                (None, Some(default)) if !default.is_empty() => (None, default),
                (None, _) => {
                    return Err("no condition matched and there is no default: Portkey answers with an error".into());
                }
            };
            let i = targets
                .iter()
                .position(|t| t.name.as_deref() == Some(name))
                .ok_or_else(|| {
                    format!("no target is named `{name}`: Portkey answers with an error")
                })?;
            let (chosen, next) = branch(i)?;
            Ok(Decision::Conditional {
                matched: index,
                target: i,
                chosen,
                next: Box::new(next),
            })
        }
    }
}

/// Whether a fallback moves on from a target that answered `status`: with
/// `on_status_codes` when the list has it, without one when the answer is
/// not 2xx (the gateway's `!response.ok`). An empty list never moves on.
///
/// ```
/// use kiln_model::routing::falls_back;
/// assert!(falls_back(None, 503));
/// assert!(!falls_back(None, 200));
/// assert!(!falls_back(Some(&[429]), 503));
/// assert!(!falls_back(Some(&[]), 500));
/// ```
pub fn falls_back(on_status_codes: Option<&[u16]>, status: u16) -> bool {
    match on_status_codes {
        Some(codes) => codes.contains(&status),
        None => !(200..300).contains(&status),
    }
}

/// What a query reads: `{metadata, params, url: {pathname}}`.
struct Context<'r> {
    metadata: &'r js::Object,
    params: &'r js::Object,
    pathname: js::Value,
}

impl<'r> Context<'r> {
    fn of(request: &'r Request) -> Context<'r> {
        Context {
            metadata: &request.metadata,
            params: &request.params,
            pathname: js::Value::from(request.path.as_str()),
        }
    }

    /// `context[a]?.[b]` for a key `a.b…` (JavaScript's `split('.')`, first two parts).
    fn value(&self, key: &str) -> Option<&js::Value> {
        let mut parts = key.split('.');
        let root = parts.next()?;
        // A missing second part indexes the property "undefined".
        let field = parts.next().unwrap_or("undefined");
        match root {
            "metadata" => self.metadata.get(&field.into()),
            "params" => self.params.get(&field.into()),
            "url" if field == "pathname" => Some(&self.pathname),
            _ => None,
        }
    }

    /// `evaluateQuery`: every key must hold; the first `$and`/`$or` decides.
    fn query(&self, query: &Map<String, Value>) -> Result<bool, String> {
        for (key, expected) in query {
            if let ("$or" | "$and", Value::Array(subs)) = (key.as_str(), expected) {
                let mut results = subs.iter().map(|sub| match sub.as_object() {
                    Some(q) => self.query(q),
                    None => Err("`$and`/`$or` items must be queries".to_string()),
                });
                return if key == "$or" {
                    results.try_fold(false, |any, r| Ok(any || r?))
                } else {
                    results.try_fold(true, |all, r| Ok(all && r?))
                };
            }
            let actual = self.value(key);
            let ok = match expected {
                Value::Object(ops) => operators(ops, actual)?,
                Value::Array(_) => {
                    return Err("a list as a query value: Portkey fails the request".into());
                }
                scalar => js::strict_eq(actual, Some(&scalar.into())),
            };
            if !ok {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// `evaluateOperator`: every operator must hold; `$regex` decides at once.
fn operators(ops: &Map<String, Value>, actual: Option<&js::Value>) -> Result<bool, String> {
    let number = |v: Option<&js::Value>| js::parse_float(v);
    for (op, operand) in ops {
        let operand = js::Value::from(operand);
        let has = |list: &Vec<js::Value>| list.iter().any(|v| js::strict_eq(actual, Some(v)));
        let ok = match op.as_str() {
            "$eq" => js::strict_eq(actual, Some(&operand)),
            "$ne" => !js::strict_eq(actual, Some(&operand)),
            "$gt" => number(actual) > number(Some(&operand)),
            "$gte" => number(actual) >= number(Some(&operand)),
            "$lt" => number(actual) < number(Some(&operand)),
            "$lte" => number(actual) <= number(Some(&operand)),
            // `Array.prototype.includes` (SameValueZero) is `===` here: no JSON value is NaN.
            "$in" => matches!(&operand, js::Value::Array(list) if has(list)),
            "$nin" => matches!(&operand, js::Value::Array(list) if !has(list)),
            "$regex" => {
                // A strategy's text is UTF-8, so its pattern has no lone surrogate to lose.
                let pattern = js::to_string(Some(&operand)).to_string_lossy();
                return Ok(js::regex_test(&pattern, &js::to_string(actual)).unwrap_or(false));
            }
            other => {
                return Err(format!(
                    "unsupported operator `{other}`: Portkey fails the request"
                ));
            }
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_decision(self, f, 0)
    }
}

fn write_decision(d: &Decision, f: &mut fmt::Formatter<'_>, depth: usize) -> fmt::Result {
    let pad = "  ".repeat(depth);
    match d {
        Decision::Target { label } => writeln!(f, "{pad}→ {label}"),
        Decision::LoadBalance(shares) => {
            writeln!(f, "{pad}loadbalance:")?;
            for (share, label, next) in shares {
                writeln!(f, "{pad}  {:>5.1}%  {label}", share * 100.0)?;
                if !matches!(next, Decision::Target { .. }) {
                    write_decision(next, f, depth + 2)?;
                }
            }
            Ok(())
        }
        Decision::Fallback {
            on_status_codes,
            order,
        } => {
            let on = match on_status_codes {
                None => "next target on any error".to_string(),
                Some(codes) if codes.is_empty() => "never: the first answer is final".to_string(),
                Some(codes) => format!(
                    "next target on {}",
                    codes
                        .iter()
                        .map(u16::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            writeln!(f, "{pad}fallback ({on}):")?;
            for (i, (label, next)) in order.iter().enumerate() {
                writeln!(f, "{pad}  {}. {label}", i + 1)?;
                if !matches!(next, Decision::Target { .. }) {
                    write_decision(next, f, depth + 2)?;
                }
            }
            Ok(())
        }
        Decision::Conditional {
            matched,
            chosen,
            next,
            ..
        } => {
            match matched {
                Some(i) => writeln!(f, "{pad}conditional: condition {i} matched → {chosen}")?,
                None => writeln!(
                    f,
                    "{pad}conditional: no condition matched, default → {chosen}"
                )?,
            }
            if !matches!(**next, Decision::Target { .. }) {
                write_decision(next, f, depth + 1)?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(strategy: Value) -> Config {
        serde_json::from_value(json!({
            "strategy": strategy,
            "targets": [{"name": "a", "provider": "openai", "api_key": "${K}"},
                        {"name": "b", "provider": "openai", "api_key": "${K}"}]
        }))
        .expect("config")
    }

    fn chosen(strategy: Value, request: &Request) -> Result<String, String> {
        match route(&config(strategy), request).map_err(|e| e.to_string())? {
            Decision::Conditional { chosen, .. } => Ok(chosen),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn regex_tests_the_string_form_of_any_value() {
        let ops = json!({"$regex": "^undefined$"});
        assert_eq!(operators(ops.as_object().unwrap(), None), Ok(true));
        let ops = json!({"$regex": "^1,2$"});
        assert_eq!(
            operators(ops.as_object().unwrap(), Some(&json!([1, 2]).into())),
            Ok(true)
        );
        let ops = json!({"$regex": "^Infinity$"});
        let infinity = js::parse("1e400").expect("JSON");
        assert_eq!(
            operators(ops.as_object().unwrap(), Some(&infinity)),
            Ok(true)
        );
    }

    #[test]
    fn the_first_logical_key_decides_its_query() {
        let request = Request::default();
        let context = Context::of(&request);
        // Keys are in sorted order here; `$and` comes first and decides alone.
        let q = json!({"$and": [{}], "params.x": 1});
        assert_eq!(context.query(q.as_object().unwrap()), Ok(true));
    }

    #[test]
    fn an_empty_default_is_no_default() {
        let strategy = json!({"mode": "conditional", "default": "", "conditions": [
            {"query": {"metadata.tier": "pro"}, "then": "b"}]});
        let err = chosen(strategy, &Request::default()).expect_err("no default");
        assert!(err.contains("no default"), "{err}");
    }

    #[test]
    fn metadata_values_keep_their_json_type() {
        let strategy = json!({"mode": "conditional", "default": "a", "conditions": [
            {"query": {"metadata.level": {"$eq": 3}}, "then": "b"}]});
        let mut request = Request::default();
        request.metadata.insert("level".into(), "3".into());
        assert_eq!(
            chosen(strategy.clone(), &request).as_deref(),
            Ok("a openai")
        );
        request
            .metadata
            .insert("level".into(), js::Value::Number(3.0));
        assert_eq!(chosen(strategy, &request).as_deref(), Ok("b openai"));
    }

    #[test]
    fn a_config_kiln_refuses_is_not_routed() {
        let strategy = json!({"mode": "conditional", "default": "a", "conditions": [
            {"query": {"metadata.x": {"$regex": "("}}, "then": "b"}]});
        let err = chosen(strategy, &Request::default()).expect_err("refused");
        assert!(err.contains("regular expression"), "{err}");
    }

    #[test]
    fn an_empty_status_code_list_never_falls_back() {
        let c = config(json!({"mode": "fallback", "on_status_codes": []}));
        let d = route(&c, &Request::default()).expect("routes");
        assert!(d.to_string().contains("never"), "{d}");
    }
}
