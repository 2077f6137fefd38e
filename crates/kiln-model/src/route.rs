//! The routing simulator: where would Portkey send this request?
//!
//! Conditional routing is evaluated as the gateway's conditional router does
//! it: conditions in order, the first whose query matches names the target,
//! else `default`; a query's fields are `metadata.<key>`, `params.<key>` or
//! `url.pathname`; plain values compare with strict equality, `$gt`…`$lte`
//! parse numbers the way JavaScript's `parseFloat` does, `$regex` tests the
//! value as a string. Load balancing reports each target's share of traffic,
//! fallback the order targets are tried in.

use crate::strategy::{Config, Mode};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// What is known of a request when routing it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Request {
    /// `x-portkey-metadata` entries (always strings).
    pub metadata: BTreeMap<String, String>,
    /// Request body parameters (`model`, `max_tokens`, …).
    pub params: Map<String, Value>,
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
        /// The status codes that move on to the next target (empty: any non-2xx).
        on_status_codes: Vec<u16>,
        /// The targets, first tried first.
        order: Vec<(String, Decision)>,
    },
    /// Conditional routing: which condition matched (none: `default`) and where it leads.
    Conditional {
        /// Index of the matching condition, or `None` when the default applied.
        matched: Option<usize>,
        /// Label of the chosen target.
        chosen: String,
        /// The chosen target's own routing.
        next: Box<Decision>,
    },
}

/// Routes `request` through `config`.
///
/// ```
/// use kiln_model::route::{route, Decision, Request};
/// let config: kiln_model::strategy::Config = serde_json::from_value(serde_json::json!({
///     "strategy": {"mode": "conditional", "default": "small",
///                  "conditions": [{"query": {"params.max_tokens": {"$gt": 4000}}, "then": "big"}]},
///     "targets": [{"name": "small", "provider": "openai"}, {"name": "big", "provider": "anthropic"}]
/// })).unwrap();
/// let mut request = Request::default();
/// request.params.insert("max_tokens".into(), 8000.into());
/// match route(&config, &request).unwrap() {
///     Decision::Conditional { matched, chosen, .. } => {
///         assert_eq!(matched, Some(0));
///         assert_eq!(chosen, "big anthropic");
///     }
///     other => panic!("{other:?}"),
/// }
/// ```
pub fn route(config: &Config, request: &Request) -> Result<Decision, String> {
    let Some(strategy) = &config.strategy else {
        return Ok(Decision::Target {
            label: config.label(0),
        });
    };
    let targets = &config.targets;
    let branch = |i: usize| -> Result<(String, Decision), String> {
        let t = &targets[i];
        Ok((t.label(i), route(t, request)?))
    };
    match strategy.mode {
        Mode::Single => match targets.first() {
            Some(_) => branch(0).map(|(_, d)| d),
            None => Err("single mode without targets".into()),
        },
        Mode::Loadbalance => {
            let weights: Vec<f64> = targets
                .iter()
                .map(|t| t.weight.unwrap_or(1.0).max(0.0))
                .collect();
            let total: f64 = weights.iter().sum();
            if total <= 0.0 {
                return Err("no target has a positive weight".into());
            }
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
            let mut matched = None;
            for (i, condition) in strategy.conditions.iter().enumerate() {
                if query_matches(&condition.query, request)? {
                    matched = Some((i, condition.then.as_str()));
                    break;
                }
            }
            let (index, name) = match (matched, &strategy.default) {
                (Some((i, name)), _) => (Some(i), name),
                (None, Some(default)) => (None, default.as_str()),
                (None, None) => {
                    return Err("no condition matched and there is no default: Portkey answers with an error".into());
                }
            };
            let i = targets
                .iter()
                .position(|t| t.name.as_deref() == Some(name))
                .ok_or_else(|| format!("no target is named `{name}`"))?;
            let (chosen, next) = branch(i)?;
            Ok(Decision::Conditional {
                matched: index,
                chosen,
                next: Box::new(next),
            })
        }
    }
}

/// The request field a query key names (`None`: JavaScript's `undefined`).
fn context(key: &str, request: &Request) -> Option<Value> {
    let (root, field) = key.split_once('.')?;
    match root {
        "metadata" => request.metadata.get(field).map(|v| Value::from(v.as_str())),
        "params" => request.params.get(field).cloned(),
        "url" if field == "pathname" => Some(Value::from(request.path.as_str())),
        _ => None,
    }
}

fn query_matches(query: &Map<String, Value>, request: &Request) -> Result<bool, String> {
    for (key, expected) in query {
        if let ("$or" | "$and", Value::Array(subs)) = (key.as_str(), expected) {
            let mut results = Vec::new();
            for sub in subs {
                let sub = sub
                    .as_object()
                    .ok_or("`$and`/`$or` items must be queries")?;
                results.push(query_matches(sub, request)?);
            }
            // Portkey decides the whole query at the first `$and`/`$or` it meets.
            return Ok(if key == "$or" {
                results.iter().any(|r| *r)
            } else {
                results.iter().all(|r| *r)
            });
        }
        let actual = context(key, request);
        let ok = match expected {
            Value::Object(ops) => operators_match(ops, actual.as_ref())?,
            scalar => strict_eq(actual.as_ref(), scalar),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn operators_match(ops: &Map<String, Value>, actual: Option<&Value>) -> Result<bool, String> {
    for (op, operand) in ops {
        let ok = match op.as_str() {
            "$eq" => strict_eq(actual, operand),
            "$ne" => !strict_eq(actual, operand),
            "$gt" => compare(actual, operand, |a, b| a > b),
            "$gte" => compare(actual, operand, |a, b| a >= b),
            "$lt" => compare(actual, operand, |a, b| a < b),
            "$lte" => compare(actual, operand, |a, b| a <= b),
            "$in" => operand
                .as_array()
                .is_some_and(|list| list.iter().any(|v| strict_eq(actual, v))),
            "$nin" => operand
                .as_array()
                .is_some_and(|list| !list.iter().any(|v| strict_eq(actual, v))),
            "$regex" => {
                // Portkey returns the regex result at once, ignoring operators after it.
                let pattern = operand.as_str().unwrap_or_default();
                let re = regex_lite::Regex::new(pattern)
                    .map_err(|e| format!("`{pattern}` is not a valid regular expression: {e}"))?;
                return Ok(re.is_match(&js_string(actual)));
            }
            "$length" => match actual.and_then(Value::as_array) {
                None => false,
                Some(items) => {
                    let len = Value::from(items.len());
                    match operand {
                        Value::Object(inner) => operators_match(inner, Some(&len))?,
                        n => strict_eq(Some(&len), n),
                    }
                }
            },
            other => return Err(format!("unsupported operator `{other}`")),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// JavaScript `===` between a request value (maybe undefined) and a config value.
fn strict_eq(actual: Option<&Value>, expected: &Value) -> bool {
    match (actual, expected) {
        (Some(Value::Number(a)), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Some(a @ (Value::String(_) | Value::Bool(_) | Value::Null)), b) => a == b,
        // Objects and arrays are never === to a value parsed separately.
        _ => false,
    }
}

fn compare(actual: Option<&Value>, operand: &Value, op: fn(f64, f64) -> bool) -> bool {
    let (a, b) = (parse_float(actual), parse_float(Some(operand)));
    !a.is_nan() && !b.is_nan() && op(a, b)
}

/// JavaScript's `parseFloat`: numbers as they are, strings by their longest numeric prefix, else NaN.
fn parse_float(v: Option<&Value>) -> f64 {
    match v {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
        Some(Value::String(s)) => {
            let s = s.trim_start();
            let end = (1..=s.len())
                .rev()
                .find(|&n| {
                    s.is_char_boundary(n)
                        && s[..n].parse::<f64>().is_ok()
                        && !s[..n].ends_with(['e', 'E', '+', '-'])
                })
                .unwrap_or(0);
            s[..end].parse().unwrap_or(f64::NAN)
        }
        _ => f64::NAN,
    }
}

/// JavaScript's string conversion, as `RegExp.test` applies it.
fn js_string(v: Option<&Value>) -> String {
    match v {
        None => "undefined".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| js_string(Some(i)))
            .collect::<Vec<_>>()
            .join(","),
        Some(Value::Object(_)) => "[object Object]".into(),
        Some(other) => other.to_string(),
    }
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
            let on = if on_status_codes.is_empty() {
                "any error".to_string()
            } else {
                on_status_codes
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            writeln!(f, "{pad}fallback (next target on {on}):")?;
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

    #[test]
    fn parse_float_follows_javascript() {
        let pf = |v: Value| parse_float(Some(&v));
        assert_eq!(pf(json!(4000)), 4000.0);
        assert_eq!(pf(json!("4000")), 4000.0);
        assert_eq!(pf(json!(" 12abc")), 12.0);
        assert_eq!(pf(json!("1e3x")), 1000.0);
        assert!(pf(json!("abc")).is_nan());
        assert!(pf(json!(true)).is_nan());
        assert!(parse_float(None).is_nan());
    }

    #[test]
    fn strict_equality_does_not_coerce() {
        assert!(strict_eq(Some(&json!("pro")), &json!("pro")));
        assert!(!strict_eq(Some(&json!("1")), &json!(1)));
        assert!(strict_eq(Some(&json!(1)), &json!(1.0)));
        assert!(!strict_eq(None, &json!(null)));
    }

    #[test]
    fn regex_tests_the_string_form() {
        let ops = json!({"$regex": "^undefined$"});
        assert!(operators_match(ops.as_object().unwrap(), None).unwrap());
        let ops = json!({"$regex": "^gpt-4"});
        assert!(operators_match(ops.as_object().unwrap(), Some(&json!("gpt-4o"))).unwrap());
    }
}
