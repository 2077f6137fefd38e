//! The Secrets and ConfigMaps pods read (env, envFrom, volumes, image pull
//! Secrets) and Envoy Gateway's credential injections: each must resolve to
//! one rendered, or materialized by an ExternalSecret, with the key named.

use super::Findings;
use super::object::{Object, Pod};
use kiln_model::rules::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// An Envoy Gateway credential injection reads the key `credential` of a
/// Secret in its namespace (rendered, or the target of an ExternalSecret).
pub(super) fn credential_injection(o: &Object, store: &Store, out: &mut Findings) {
    let at = "/spec/credentialInjection/credential/valueRef/name";
    let Some(name) = o.at(at).and_then(Value::as_str) else {
        return;
    };
    match store.secrets.get(&(o.namespace, name.to_string())) {
        None => out.push(
            &NAME_REF,
            o,
            at,
            format!(
                "no Secret `{name}` in this namespace (rendered or the target of an ExternalSecret)"
            ),
        ),
        Some(Some(keys)) if !keys.contains("credential") => out.push(
            &NAME_REF,
            o,
            at,
            format!("Secret `{name}` has no key `credential`, the one the filter injects"),
        ),
        Some(_) => {}
    }
}

/// The Secrets (rendered or materialized by an ExternalSecret) and ConfigMaps
/// of each namespace, with their keys (None: any key, e.g. `dataFrom`).
#[derive(Default)]
pub(super) struct Store<'a> {
    secrets: BTreeMap<(&'a str, String), Option<BTreeSet<String>>>,
    config_maps: BTreeMap<(&'a str, String), Option<BTreeSet<String>>>,
}

impl<'a> Store<'a> {
    pub(super) fn new(objects: &'a [Object<'a>]) -> Store<'a> {
        let keys = |o: &Object, fields: &[&str]| -> BTreeSet<String> {
            fields
                .iter()
                .filter_map(|f| o.at(f)?.as_object())
                .flat_map(|m| m.keys().cloned())
                .collect()
        };
        let mut store = Store::default();
        for o in objects {
            let ns = o.namespace;
            match (o.api_version, o.kind) {
                ("v1", "Secret") => {
                    store.secrets.insert(
                        (ns, o.name.to_string()),
                        Some(keys(o, &["/data", "/stringData"])),
                    );
                }
                ("v1", "ConfigMap") => {
                    store.config_maps.insert(
                        (ns, o.name.to_string()),
                        Some(keys(o, &["/data", "/binaryData"])),
                    );
                }
                ("external-secrets.io/v1", "ExternalSecret") => {
                    let target = o
                        .at("/spec/target/name")
                        .and_then(Value::as_str)
                        .unwrap_or(o.name);
                    let templated = o.at("/spec/target/template").is_some();
                    let from_all = o
                        .at("/spec/dataFrom")
                        .and_then(Value::as_array)
                        .is_some_and(|a| !a.is_empty());
                    let data: BTreeSet<String> = o
                        .at("/spec/data")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|d| Some(d.get("secretKey")?.as_str()?.to_string()))
                        .collect();
                    store.secrets.insert(
                        (ns, target.to_string()),
                        (!templated && !from_all).then_some(data),
                    );
                }
                _ => {}
            }
        }
        store
    }
}

/// One reference from a pod to a Secret or ConfigMap.
struct Reference<'a> {
    secret: bool,
    name: &'a str,
    key: Option<&'a str>,
    optional: bool,
    /// Pointer of the name field.
    name_at: String,
    /// Pointer of the key field (for references to one key).
    key_at: String,
}

impl<'a> Reference<'a> {
    /// A reference at `at` (an object with `name` and maybe `key`).
    fn at(
        secret: bool,
        name: &'a str,
        key: Option<&'a str>,
        optional: Option<bool>,
        at: String,
    ) -> Reference<'a> {
        Reference {
            secret,
            name,
            key,
            optional: optional == Some(true),
            name_at: format!("{at}/name"),
            key_at: format!("{at}/key"),
        }
    }
}

pub(super) fn config_references(o: &Object, pod: &Pod, store: &Store, out: &mut Findings) {
    let mut refs = container_references(pod);
    refs.extend(volume_references(pod));
    let sp = pod.spec_pointer();
    for (i, s) in pod.spec.image_pull_secrets.iter().flatten().enumerate() {
        refs.push(Reference::at(
            true,
            &s.name,
            None,
            None,
            format!("{sp}/imagePullSecrets/{i}"),
        ));
    }
    resolve(o, refs, store, out);
}

/// `env` and `envFrom` of every container.
fn container_references(pod: &Pod) -> Vec<Reference<'_>> {
    let mut refs = Vec::new();
    for c in pod.containers() {
        for (i, env) in c.env.iter().enumerate() {
            let source = env.value_from.as_ref();
            if let Some(s) = source.and_then(|s| s.secret_key_ref.as_ref()) {
                refs.push(Reference::at(
                    true,
                    &s.name,
                    Some(&s.key),
                    s.optional,
                    format!("{}/env/{i}/valueFrom/secretKeyRef", c.pointer),
                ));
            }
            if let Some(s) = source.and_then(|s| s.config_map_key_ref.as_ref()) {
                refs.push(Reference::at(
                    false,
                    &s.name,
                    Some(&s.key),
                    s.optional,
                    format!("{}/env/{i}/valueFrom/configMapKeyRef", c.pointer),
                ));
            }
        }
        for (i, from) in c.env_from.iter().enumerate() {
            if let Some(s) = &from.secret_ref {
                refs.push(Reference::at(
                    true,
                    &s.name,
                    None,
                    s.optional,
                    format!("{}/envFrom/{i}/secretRef", c.pointer),
                ));
            }
            if let Some(s) = &from.config_map_ref {
                refs.push(Reference::at(
                    false,
                    &s.name,
                    None,
                    s.optional,
                    format!("{}/envFrom/{i}/configMapRef", c.pointer),
                ));
            }
        }
    }
    refs
}

/// Secret, ConfigMap and projected volumes.
fn volume_references(pod: &Pod) -> Vec<Reference<'_>> {
    let mut refs = Vec::new();
    let sp = pod.spec_pointer();
    for (i, v) in pod.spec.volumes.iter().flatten().enumerate() {
        let at = format!("{sp}/volumes/{i}");
        if let Some(s) = &v.secret {
            let name = s.secret_name.as_deref().unwrap_or_default();
            items(
                &mut refs,
                true,
                name,
                s.items.as_deref(),
                s.optional,
                format!("{at}/secret"),
                "secretName",
            );
        }
        if let Some(s) = &v.config_map {
            items(
                &mut refs,
                false,
                &s.name,
                s.items.as_deref(),
                s.optional,
                format!("{at}/configMap"),
                "name",
            );
        }
        let sources = v
            .projected
            .as_ref()
            .and_then(|p| p.sources.as_deref())
            .unwrap_or_default();
        for (j, source) in sources.iter().enumerate() {
            if let Some(s) = &source.secret {
                items(
                    &mut refs,
                    true,
                    &s.name,
                    s.items.as_deref(),
                    s.optional,
                    format!("{at}/projected/sources/{j}/secret"),
                    "name",
                );
            }
            if let Some(s) = &source.config_map {
                items(
                    &mut refs,
                    false,
                    &s.name,
                    s.items.as_deref(),
                    s.optional,
                    format!("{at}/projected/sources/{j}/configMap"),
                    "name",
                );
            }
        }
    }
    refs
}

/// Each reference that is not optional must name an object (and key) of its namespace.
fn resolve(o: &Object, refs: Vec<Reference>, store: &Store, out: &mut Findings) {
    for r in refs.into_iter().filter(|r| !r.optional) {
        let (rule, what, map) = if r.secret {
            (&SECRET_REF, "Secret", &store.secrets)
        } else {
            (&CONFIG_MAP_REF, "ConfigMap", &store.config_maps)
        };
        match map.get(&(o.namespace, r.name.to_string())) {
            None => {
                let from = if r.secret {
                    " (rendered or the target of an ExternalSecret)"
                } else {
                    ""
                };
                out.push(
                    rule,
                    o,
                    r.name_at,
                    format!("no {what} `{}`{from} in this namespace", r.name),
                );
            }
            Some(Some(keys)) => {
                if let Some(key) = r.key.filter(|k| !keys.contains(*k)) {
                    let known: Vec<&str> = keys.iter().map(String::as_str).collect();
                    out.push(
                        rule,
                        o,
                        r.key_at,
                        format!(
                            "{what} `{}` has no key `{key}` (it has: {})",
                            r.name,
                            known.join(", ")
                        ),
                    );
                }
            }
            Some(None) => {}
        }
    }
}

/// A Secret or ConfigMap volume: one reference for the object, one per listed key.
fn items<'a>(
    refs: &mut Vec<Reference<'a>>,
    secret: bool,
    name: &'a str,
    items: Option<&'a [k8s_openapi::api::core::v1::KeyToPath]>,
    optional: Option<bool>,
    at: String,
    name_field: &str,
) {
    let name_at = format!("{at}/{name_field}");
    let optional = optional == Some(true);
    let listed = items.unwrap_or_default();
    refs.extend(listed.iter().enumerate().map(|(k, item)| Reference {
        secret,
        name,
        key: Some(&item.key),
        optional,
        name_at: name_at.clone(),
        key_at: format!("{at}/items/{k}/key"),
    }));
    if listed.is_empty() {
        refs.push(Reference {
            secret,
            name,
            key: None,
            optional,
            key_at: String::new(),
            name_at,
        });
    }
}
