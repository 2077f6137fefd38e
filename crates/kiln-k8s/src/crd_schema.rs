//! Custom resources checked against their published CRD schemas (OpenAPI v3
//! structural schemas, embedded from `crates/kiln-k8s/schemas/`: minified
//! copies from the datree CRDs catalog (MIT licence) and Envoy Gateway's
//! chart (Apache-2.0; see `schemas/PROVENANCE.md`)), validated by the `jsonschema` crate as JSON Schema draft 4,
//! which structural schemas follow.
//!
//! Kubernetes' own extensions are translated once, when a schema is first
//! used: `nullable` admits null, `x-kubernetes-int-or-string` an integer or a
//! string, and an object schema (`type: object`) that lists its properties
//! rejects any other one (as `kubeconform -strict` does) unless it says
//! `x-kubernetes-preserve-unknown-fields`. CEL rules
//! (`x-kubernetes-validations`) and `format` are the API server's business.

use serde_json::{Map, Value};
use std::sync::OnceLock;

/// A CRD's schema as published, and compiled for validation.
pub struct CrdSchema {
    schema: Value,
    validator: Option<jsonschema::Validator>,
}

macro_rules! schemas {
    ($( $api_version:literal $kind:literal => $file:literal ),* $(,)?) => {
        /// The CRD schema of `apiVersion`/`kind`, compiled on first use.
        pub fn schema(api_version: &str, kind: &str) -> Option<&'static CrdSchema> {
            $( if api_version == $api_version && kind == $kind {
                static CRD: OnceLock<CrdSchema> = OnceLock::new();
                return Some(CRD.get_or_init(|| {
                    compile(include_str!(concat!("../schemas/", $file)))
                }));
            } )*
            None
        }
    };
}

schemas! {
    "gateway.networking.k8s.io/v1" "HTTPRoute" => "gateway.networking.k8s.io/httproute_v1.json",
    "gateway.networking.k8s.io/v1" "Gateway" => "gateway.networking.k8s.io/gateway_v1.json",
    "gateway.envoyproxy.io/v1alpha1" "HTTPRouteFilter" => "gateway.envoyproxy.io/httproutefilter_v1alpha1.json",
    "monitoring.coreos.com/v1" "ServiceMonitor" => "monitoring.coreos.com/servicemonitor_v1.json",
    "external-secrets.io/v1" "ExternalSecret" => "external-secrets.io/externalsecret_v1.json",
    "external-secrets.io/v1" "ClusterSecretStore" => "external-secrets.io/clustersecretstore_v1.json",
    "argoproj.io/v1alpha1" "Application" => "argoproj.io/application_v1alpha1.json",
    "kustomize.toolkit.fluxcd.io/v1" "Kustomization" => "kustomize.toolkit.fluxcd.io/kustomization_v1.json",
    "source.toolkit.fluxcd.io/v1" "GitRepository" => "source.toolkit.fluxcd.io/gitrepository_v1.json",
}

fn compile(text: &str) -> CrdSchema {
    let schema: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let mut translated = schema.clone();
    translate(&mut translated);
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(false)
        .build(&translated)
        .ok();
    CrdSchema { schema, validator }
}

/// Rewrites Kubernetes' structural-schema extensions as plain JSON Schema.
fn translate(schema: &mut Value) {
    let Some(s) = schema.as_object_mut() else {
        return;
    };
    let flag = |s: &Map<String, Value>, key: &str| s.get(key) == Some(&Value::Bool(true));
    if flag(s, "x-kubernetes-int-or-string") {
        s.remove("type");
        s.insert(
            "anyOf".into(),
            serde_json::json!([{"type": "integer"}, {"type": "string"}]),
        );
    }
    if flag(s, "nullable")
        && let Some(Value::String(t)) = s.get("type").cloned()
    {
        s.insert("type".into(), serde_json::json!([t, "null"]));
    }
    // Only the structural node itself (`type: object`), not the partial
    // schemas of allOf/anyOf/oneOf branches, which list a subset of its fields.
    if s.get("type") == Some(&Value::String("object".into()))
        && s.contains_key("properties")
        && !s.contains_key("additionalProperties")
        && !flag(s, "x-kubernetes-preserve-unknown-fields")
    {
        s.insert("additionalProperties".into(), Value::Bool(false));
    }
    for value in s.values_mut() {
        match value {
            Value::Object(_) => translate(value),
            Value::Array(items) => items.iter_mut().for_each(translate),
            _ => {}
        }
    }
}

impl CrdSchema {
    /// The first violation of the schema by `value`: JSON pointer and a
    /// message that names the rule, never the value (which may be a secret).
    pub fn violation(&self, value: &Value) -> Option<(String, String)> {
        violation(self, value)
    }
}

fn violation(crd: &CrdSchema, value: &Value) -> Option<(String, String)> {
    use jsonschema::error::ValidationErrorKind as Kind;
    let error = crd.validator.as_ref()?.iter_errors(value).next()?;
    let at = error.instance_path().as_str().to_string();
    let here = if at.is_empty() {
        "/".to_string()
    } else {
        at.clone()
    };
    Some(match error.kind() {
        Kind::AdditionalProperties { unexpected } => {
            let key = unexpected.first().cloned().unwrap_or_default();
            // The schema that has `additionalProperties: false` lists what is allowed here.
            let parent = error
                .schema_path()
                .as_str()
                .trim_end_matches("/additionalProperties")
                .to_string();
            let known: Vec<&str> = crd
                .schema
                .pointer(&parent)
                .and_then(|s| s.get("properties"))
                .and_then(Value::as_object)
                .map(|p| p.keys().map(String::as_str).collect())
                .unwrap_or_default();
            let help = kiln_model::closest(&key, known)
                .map_or(String::new(), |c| format!("; did you mean `{c}`?"));
            (
                kiln_model::pointer::join(&at, &key),
                format!("`{key}` is not a field here{help}"),
            )
        }
        Kind::Required { property } => (
            here,
            format!(
                "missing required field `{}`",
                property.as_str().unwrap_or_default()
            ),
        ),
        Kind::Pattern { pattern } => (here, format!("does not match `{pattern}`")),
        _ => (here, error.masked_with("the value").to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::{compile, schema, violation as validate};
    use serde_json::{Value, json};

    fn check(api_version: &str, kind: &str, spec: Value) -> Option<(String, String)> {
        let crd = schema(api_version, kind).expect("schema");
        validate(
            crd,
            &json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}, "spec": spec}),
        )
    }

    fn route(spec: Value) -> Option<(String, String)> {
        check("gateway.networking.k8s.io/v1", "HTTPRoute", spec)
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
        assert!(
            !pattern.1.contains("Not_A_Host"),
            "values are never quoted: {}",
            pattern.1
        );
        let range = route(json!({"parentRefs": [{"name": "gw"}], "rules": [{"backendRefs": [{"name": "svc", "port": 70000}]}]})).expect("maximum");
        assert!(range.1.contains("65535"), "{}", range.1);
    }

    #[test]
    fn min_and_max_properties_of_the_external_secrets_schemas_hold() {
        let store = |provider: Value| {
            check(
                "external-secrets.io/v1",
                "ClusterSecretStore",
                json!({"provider": provider}),
            )
        };
        let bitwarden = json!({"bitwardensecretsmanager": {"auth": {"secretRef": {"credentials": {"key": "token", "name": "bw"}}}, "organizationID": "o", "projectID": "p"}});
        assert_eq!(store(bitwarden.clone()), None);
        let none = store(json!({})).expect("a provider is needed");
        assert_eq!(none.0, "/spec/provider");
        let mut two = bitwarden;
        two["fake"] = json!({"data": []});
        assert_eq!(store(two).expect("one provider only").0, "/spec/provider");
        let empty_ref = check(
            "external-secrets.io/v1",
            "ExternalSecret",
            json!({"secretStoreRef": {"name": "s", "kind": "ClusterSecretStore"}, "data": [{"secretKey": "k", "remoteRef": {"key": "r"}, "sourceRef": {}}]}),
        )
        .expect("sourceRef needs a property");
        assert_eq!(empty_ref.0, "/spec/data/0/sourceRef");
    }

    #[test]
    fn not_of_the_gateway_schema_holds() {
        let gateway = |address: Value| {
            check(
                "gateway.networking.k8s.io/v1",
                "Gateway",
                json!({"gatewayClassName": "c", "listeners": [{"name": "l", "port": 80, "protocol": "HTTP"}], "addresses": [address]}),
            )
        };
        // An address matches one of two oneOf branches: type IPAddress, or a type
        // that is `not` IPAddress. Without `not` an IPAddress would match both.
        assert_eq!(
            gateway(json!({"type": "IPAddress", "value": "10.0.0.1"})),
            None
        );
        assert_eq!(
            gateway(json!({"type": "Hostname", "value": "gw.example.com"})),
            None
        );
    }

    #[test]
    fn the_translated_extensions_and_the_remaining_keywords_hold() {
        let crd = compile(
            &json!({"type": "object", "properties": {
                "port": {"x-kubernetes-int-or-string": true},
                "note": {"type": "string", "nullable": true},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true, "properties": {"a": {"type": "string"}}},
                "tags": {"type": "array", "uniqueItems": true, "items": {"type": "string"}},
                "step": {"type": "integer", "multipleOf": 5},
                "mode": {"type": "string", "not": {"enum": ["off"]}},
                "labels": {"type": "object", "minProperties": 1, "maxProperties": 2, "additionalProperties": {"type": "string"}}
            }})
            .to_string(),
        );
        let ok = json!({"port": "http", "note": null, "free": {"a": "x", "b": 1}, "tags": ["a", "b"], "step": 10, "mode": "on", "labels": {"a": "b"}});
        assert_eq!(validate(&crd, &ok), None);
        for (bad, at) in [
            (json!({"port": 1.5}), "/port"),
            (json!({"port": true}), "/port"),
            (json!({"note": 3}), "/note"),
            (json!({"tags": ["a", "a"]}), "/tags"),
            (json!({"step": 7}), "/step"),
            (json!({"mode": "off"}), "/mode"),
            (json!({"labels": {}}), "/labels"),
            (json!({"labels": {"a": "1", "b": "2", "c": "3"}}), "/labels"),
            (json!({"extra": 1}), "/extra"),
        ] {
            let found = validate(&crd, &bad).unwrap_or_else(|| panic!("{bad} must fail"));
            assert_eq!(found.0, at, "{bad}: {}", found.1);
        }
    }

    #[test]
    fn every_embedded_schema_compiles() {
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
            let crd = schema(api_version, kind).expect("embedded");
            assert!(crd.validator.is_some(), "{kind} compiles");
        }
    }
}
