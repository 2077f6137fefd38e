//! Custom resources checked against their published CRD schemas (OpenAPI v3
//! structural schemas, embedded from `crates/kiln/schemas/`: minified copies
//! of the datree CRDs catalog that `../shared/schemas` carries, MIT licence).
//!
//! The validator covers what a structural schema says about shape: `type`
//! (with `nullable`, `x-kubernetes-int-or-string`), `properties` (strictly:
//! an object schema that lists its properties rejects any other one, as
//! `kubeconform -strict` does), `additionalProperties`, `required`, `items`,
//! `enum`, lengths, bounds, `pattern`, and `allOf`/`anyOf`/`oneOf`. CEL rules
//! (`x-kubernetes-validations`) and `format` are the API server's business.

use serde_json::Value;
use std::sync::OnceLock;

macro_rules! schemas {
    ($( $api_version:literal $kind:literal => $file:literal ),* $(,)?) => {
        /// The CRD schema of `apiVersion`/`kind`, parsed on first use.
        pub(crate) fn schema(api_version: &str, kind: &str) -> Option<&'static Value> {
            $( if api_version == $api_version && kind == $kind {
                static SCHEMA: OnceLock<Value> = OnceLock::new();
                return Some(SCHEMA.get_or_init(|| {
                    serde_json::from_str(include_str!(concat!("../schemas/", $file)))
                        .unwrap_or(Value::Null)
                }));
            } )*
            None
        }
    };
}

schemas! {
    "gateway.networking.k8s.io/v1" "HTTPRoute" => "gateway.networking.k8s.io/httproute_v1.json",
    "gateway.networking.k8s.io/v1" "Gateway" => "gateway.networking.k8s.io/gateway_v1.json",
    "monitoring.coreos.com/v1" "ServiceMonitor" => "monitoring.coreos.com/servicemonitor_v1.json",
    "external-secrets.io/v1" "ExternalSecret" => "external-secrets.io/externalsecret_v1.json",
    "external-secrets.io/v1" "ClusterSecretStore" => "external-secrets.io/clustersecretstore_v1.json",
    "argoproj.io/v1alpha1" "Application" => "argoproj.io/application_v1alpha1.json",
    "kustomize.toolkit.fluxcd.io/v1" "Kustomization" => "kustomize.toolkit.fluxcd.io/kustomization_v1.json",
    "source.toolkit.fluxcd.io/v1" "GitRepository" => "source.toolkit.fluxcd.io/gitrepository_v1.json",
}

/// The first violation of `schema` by `value`: JSON pointer and message.
pub(crate) fn validate(schema: &Value, value: &Value, at: &str) -> Option<(String, String)> {
    let s = schema.as_object()?;
    if value.is_null() && s.get("nullable") == Some(&Value::Bool(true)) {
        return None;
    }
    let int_or_string = s.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
    if int_or_string {
        if !(value.is_string() || value.is_i64() || value.is_u64()) {
            return Some((here(at), "expected an integer or a string".into()));
        }
    } else if let Some(t) = s.get("type").and_then(Value::as_str) {
        if !has_type(value, t) {
            return Some((
                here(at),
                format!("expected {t}, found {}", type_name(value)),
            ));
        }
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array) {
        if !e.contains(value) {
            let allowed: Vec<String> = e.iter().map(Value::to_string).collect();
            return Some((here(at), format!("must be one of {}", allowed.join(", "))));
        }
    }
    for combinator in ["allOf", "anyOf", "oneOf"] {
        let Some(subs) = s.get(combinator).and_then(Value::as_array) else {
            continue;
        };
        let failures: Vec<_> = subs
            .iter()
            .filter_map(|sub| validate(sub, value, at))
            .collect();
        let passed = subs.len() - failures.len();
        let ok = match combinator {
            "allOf" => failures.is_empty(),
            "anyOf" => passed >= 1,
            _ => passed == 1,
        };
        if !ok {
            return failures.into_iter().next().or_else(|| {
                Some((
                    here(at),
                    "matches more than one of the alternatives (oneOf)".into(),
                ))
            });
        }
    }
    match value {
        Value::Object(map) => {
            for key in s
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !map.contains_key(key) {
                    return Some((here(at), format!("missing required field `{key}`")));
                }
            }
            let properties = s.get("properties").and_then(Value::as_object);
            let preserve =
                s.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
            for (key, v) in map {
                let pointer = super::pointer_join(at, key);
                let problem = match (
                    properties.and_then(|p| p.get(key)),
                    s.get("additionalProperties"),
                ) {
                    (Some(sub), _) => validate(sub, v, &pointer),
                    (None, Some(sub @ Value::Object(_))) => validate(sub, v, &pointer),
                    (None, Some(Value::Bool(true))) => None,
                    (None, _) if preserve || properties.is_none() => None,
                    (None, _) => {
                        let known = properties
                            .into_iter()
                            .flat_map(|p| p.keys().map(String::as_str));
                        let help = kiln_model::closest(key, known)
                            .map_or(String::new(), |c| format!("; did you mean `{c}`?"));
                        Some((pointer, format!("`{key}` is not a field here{help}")))
                    }
                };
                if problem.is_some() {
                    return problem;
                }
            }
            None
        }
        Value::Array(items) => {
            if let Some(problem) = bounds(s, "minItems", "maxItems", items.len(), "items", at) {
                return Some(problem);
            }
            let sub = s.get("items")?;
            items
                .iter()
                .enumerate()
                .find_map(|(i, v)| validate(sub, v, &format!("{at}/{i}")))
        }
        Value::String(text) => {
            if let Some(problem) = bounds(
                s,
                "minLength",
                "maxLength",
                text.chars().count(),
                "characters",
                at,
            ) {
                return Some(problem);
            }
            let pattern = s.get("pattern").and_then(Value::as_str)?;
            // A pattern regex-lite cannot read is skipped, not failed.
            (!matches(pattern, text)?)
                .then(|| (here(at), format!("`{text}` does not match `{pattern}`")))
        }
        Value::Number(n) => {
            let n = n.as_f64()?;
            if s.get("minimum")
                .and_then(Value::as_f64)
                .is_some_and(|min| n < min)
            {
                return Some((
                    here(at),
                    format!("{n} is below the minimum {}", s["minimum"]),
                ));
            }
            if s.get("maximum")
                .and_then(Value::as_f64)
                .is_some_and(|max| n > max)
            {
                return Some((
                    here(at),
                    format!("{n} is above the maximum {}", s["maximum"]),
                ));
            }
            None
        }
        _ => None,
    }
}

/// Whether `text` matches `pattern`; None if regex-lite cannot compile it.
/// Compiled patterns are kept: a schema has a few dozen, checked thousands of times.
fn matches(pattern: &str, text: &str) -> Option<bool> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<String, Option<regex_lite::Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    let mut cache = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let re = cache
        .entry(pattern.to_string())
        .or_insert_with(|| regex_lite::Regex::new(pattern).ok());
    re.as_ref().map(|re| re.is_match(text))
}

fn here(at: &str) -> String {
    if at.is_empty() { "/".into() } else { at.into() }
}

fn has_type(value: &Value, t: &str) -> bool {
    match t {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "integer" => {
            value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        "number" => value.is_number(),
        _ => true,
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// `min`/`max` of a length or count.
fn bounds(
    s: &serde_json::Map<String, Value>,
    min: &str,
    max: &str,
    n: usize,
    unit: &str,
    at: &str,
) -> Option<(String, String)> {
    let limit = |k: &str| s.get(k).and_then(Value::as_u64).map(|v| v as usize);
    if limit(min).is_some_and(|m| n < m) {
        return Some((
            here(at),
            format!(
                "has {n} {unit}, fewer than {}",
                limit(min).unwrap_or_default()
            ),
        ));
    }
    if limit(max).is_some_and(|m| n > m) {
        return Some((
            here(at),
            format!(
                "has {n} {unit}, more than {}",
                limit(max).unwrap_or_default()
            ),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{schema, validate};
    use serde_json::json;

    fn route(spec: serde_json::Value) -> Option<(String, String)> {
        let s = schema("gateway.networking.k8s.io/v1", "HTTPRoute").expect("schema");
        validate(
            s,
            &json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "r"}, "spec": spec}),
            "",
        )
    }

    #[test]
    fn a_valid_route_passes() {
        assert_eq!(
            route(
                json!({"parentRefs": [{"name": "gw"}], "rules": [{"backendRefs": [{"name": "svc", "port": 80}]}]})
            ),
            None
        );
    }

    #[test]
    fn unknown_fields_types_patterns_and_bounds_fail() {
        let misspelt =
            route(json!({"parentRefs": [{"name": "gw"}], "rules": [{"backendRef": []}]}))
                .expect("unknown field");
        assert_eq!(misspelt.0, "/spec/rules/0/backendRef");
        assert!(
            misspelt.1.contains("did you mean `backendRefs`"),
            "{}",
            misspelt.1
        );
        let wrong_type = route(json!({"parentRefs": [{"name": "gw"}], "rules": [{"backendRefs": [{"name": "svc", "port": "80"}]}]})).expect("type");
        assert_eq!(wrong_type.0, "/spec/rules/0/backendRefs/0/port");
        let pattern = route(json!({"parentRefs": [{"name": "gw"}], "hostnames": ["Not_A_Host"]}))
            .expect("pattern");
        assert_eq!(pattern.0, "/spec/hostnames/0");
        let range = route(json!({"parentRefs": [{"name": "gw"}], "rules": [{"backendRefs": [{"name": "svc", "port": 70000}]}]})).expect("maximum");
        assert!(range.1.contains("maximum"), "{}", range.1);
    }

    #[test]
    fn every_embedded_schema_parses() {
        for (api_version, kind) in [
            ("gateway.networking.k8s.io/v1", "HTTPRoute"),
            ("gateway.networking.k8s.io/v1", "Gateway"),
            ("monitoring.coreos.com/v1", "ServiceMonitor"),
            ("external-secrets.io/v1", "ExternalSecret"),
            ("external-secrets.io/v1", "ClusterSecretStore"),
            ("argoproj.io/v1alpha1", "Application"),
            ("kustomize.toolkit.fluxcd.io/v1", "Kustomization"),
            ("source.toolkit.fluxcd.io/v1", "GitRepository"),
        ] {
            assert!(
                schema(api_version, kind).is_some_and(|s| s.get("properties").is_some()),
                "{kind}"
            );
        }
    }
}
