//! Strategies served by name (`route.strategiesByName`): clients send
//! `x-portkey-config: <name>` and the Gateway puts the strategy there, its
//! provider keys filled in from the store, so they never hold a key.
//!
//! Per strategy: an ExternalSecret whose template writes the key
//! `credential` (the strategy's JSON, each `${VAR}` replaced by the store's
//! value as a JSON string), an Envoy Gateway HTTPRouteFilter that injects
//! that Secret into the header (`credentialInjection`, overwriting what the
//! client sent), and an HTTPRoute rule matching the name exactly. Gateway API
//! allows 16 rules per HTTPRoute: more strategies, more routes.

use super::Names;
use super::config::{external_secret_named, key_properties};
use super::network::gateway_route;
use kiln_k8s::Resource;
use kiln_k8s::crds::{
    CredentialInjection, EnvoyRouteFilter, EnvoyRouteFilterSpec, ExtensionRef,
    ExternalSecretTemplate, HeaderMatch, HttpRoute, HttpRouteFilter, InjectedCredential, SecretRef,
};
use kiln_model::description::{ByName, Description, Route};
use kiln_model::strategy::Strategy;
use std::sync::Arc;

/// The header Portkey's gateway reads a config from.
pub const CONFIG_HEADER: &str = "x-portkey-config";
/// Gateway API's limit of rules per HTTPRoute.
pub const RULES_PER_ROUTE: usize = 16;

/// The Secret, ExternalSecret and HTTPRouteFilter of `strategy`.
fn strategy_object_name(names: &Names, strategy: &str) -> String {
    format!("{}-strategy-{strategy}", names.name)
}

/// Every object that serves the strategies by name, routes included.
pub(crate) fn resources(
    d: &Description,
    route: &Route,
    by_name: &ByName,
    names: &Names,
    strategies: &[Arc<Strategy>],
) -> Vec<Resource> {
    let mut out = Vec::new();
    for s in strategies {
        out.push(Resource::ExternalSecret(strategy_secret(d, names, s)));
        out.push(Resource::EnvoyRouteFilter(injection(names, s)));
    }
    // The route kiln renders without names: its one rule is every rule's pattern.
    let plain = gateway_route(d, route, names);
    out.extend(routes(plain, by_name.default.as_deref(), names, strategies));
    out
}

/// The ExternalSecret writing `credential`: the strategy with its keys.
fn strategy_secret(d: &Description, names: &Names, s: &Strategy) -> kiln_k8s::crds::ExternalSecret {
    let known: Vec<&str> = d.secrets.keys.iter().map(|k| k.env.as_str()).collect();
    let (template, used) = s.injection_template(&known);
    let data = used
        .iter()
        .filter_map(|var| d.secrets.keys.iter().find(|k| k.env == *var))
        .map(|k| (k.env.clone(), k.remote_key.clone()))
        .collect();
    let name = strategy_object_name(names, s.name());
    let mut secret = external_secret_named(
        d,
        names,
        &name,
        data,
        Some(ExternalSecretTemplate {
            engine_version: Some("v2".into()),
            data: Some([("credential".to_string(), template)].into()),
            ..Default::default()
        }),
    );
    key_properties(d, &mut secret);
    secret
}

/// The filter that puts the strategy's Secret into the config header.
fn injection(names: &Names, s: &Strategy) -> EnvoyRouteFilter {
    let name = strategy_object_name(names, s.name());
    EnvoyRouteFilter {
        metadata: names.meta(&name),
        spec: EnvoyRouteFilterSpec {
            credential_injection: Some(CredentialInjection {
                header: Some(CONFIG_HEADER.into()),
                overwrite: Some(true),
                credential: InjectedCredential {
                    value_ref: SecretRef {
                        name,
                        ..Default::default()
                    },
                    ..Default::default()
                },
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// One rule per strategy (its name in the header, exactly), and for the
/// default strategy one for every other request; at most 16 to a route.
fn routes(
    template: HttpRoute,
    default: Option<&str>,
    names: &Names,
    strategies: &[Arc<Strategy>],
) -> Vec<Resource> {
    let Some(rule) = template
        .spec
        .rules
        .as_ref()
        .and_then(|r| r.first())
        .cloned()
    else {
        return Vec::new();
    };
    let filter_of = |strategy: &str| HttpRouteFilter {
        type_: "ExtensionRef".into(),
        extension_ref: Some(ExtensionRef {
            group: "gateway.envoyproxy.io".into(),
            kind: "HTTPRouteFilter".into(),
            name: strategy_object_name(names, strategy),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut rules = Vec::new();
    for s in strategies {
        let mut r = rule.clone();
        for m in r.matches.iter_mut().flatten() {
            m.headers = Some(vec![HeaderMatch {
                type_: Some("Exact".into()),
                name: CONFIG_HEADER.into(),
                value: s.name().to_string(),
                ..Default::default()
            }]);
        }
        r.filters
            .get_or_insert_with(Vec::new)
            .insert(0, filter_of(s.name()));
        rules.push(r);
    }
    if let Some(default) = default {
        let mut r = rule.clone();
        r.filters
            .get_or_insert_with(Vec::new)
            .insert(0, filter_of(default));
        rules.push(r);
    }
    rules
        .chunks(RULES_PER_ROUTE)
        .enumerate()
        .map(|(i, chunk)| {
            let mut r: HttpRoute = template.clone();
            if i > 0 {
                let name = format!("{}-{}", names.name, i + 1);
                r.metadata.name = Some(name);
            }
            r.spec.rules = Some(chunk.to_vec());
            Resource::HttpRoute(r)
        })
        .collect()
}
