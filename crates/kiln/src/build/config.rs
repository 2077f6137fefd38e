//! The gateway's configuration: the env and strategies ConfigMaps (named by
//! their content hash, so a change rolls the pods), the ExternalSecrets of
//! provider keys, registry credentials and the cache's CA, the ServiceAccount.

use super::{Names, hashed_name};
use crate::resolve::Environment;
use k8s_openapi::api::core::v1::{
    ConfigMap, EnvVar, EnvVarSource, SecretKeySelector, SecretVolumeSource, ServiceAccount, Volume,
    VolumeMount,
};
use kiln_k8s::crds::*;
use kiln_model::description::Description;
use std::collections::BTreeMap;

/// The managed cache's CA certificate volume, and its file in the Secret.
pub(crate) const REDIS_CA_VOLUME: &str = "redis-ca";

pub(crate) const CA_FILE: &str = "server-ca.pem";

pub(crate) fn config_map(d: &Description, names: &Names) -> ConfigMap {
    let mut data = d.config.clone();
    for v in d.enterprise.iter().flat_map(|e| e.variables(&names.name)) {
        if let kiln_model::enterprise::Value::Literal(value) = v.value {
            data.insert(v.name.into(), value);
        }
    }
    data.insert("NODE_ENV".into(), "production".into());
    data.insert("PORT".into(), d.port.to_string());
    data.insert("HEALTH_CHECK_PATH".into(), d.health_path().to_string());
    data.insert("LOG_LEVEL".into(), d.log_level.as_str().into());
    ConfigMap {
        metadata: names.meta(hashed_name(&format!("{}-env", names.name), &data)),
        data: Some(data),
        ..Default::default()
    }
}

pub(crate) fn strategies_config_map(env: &Environment, names: &Names) -> ConfigMap {
    let data: BTreeMap<String, String> = env
        .strategies
        .iter()
        .map(|s| (s.file_name(), s.canonical_json().to_string()))
        .collect();
    ConfigMap {
        metadata: names.meta(hashed_name(&format!("{}-strategies", names.name), &data)),
        data: Some(data),
        immutable: Some(true),
        ..Default::default()
    }
}

/// The provider keys from the secret store: `(variable, store key)`, sorted.
fn provider_env(d: &Description) -> Vec<(String, String)> {
    let mut keys: Vec<(String, String)> = d
        .secrets
        .keys
        .iter()
        .map(|k| (k.env.clone(), k.remote_key.clone()))
        .collect();
    keys.sort();
    keys
}

/// The enterprise gateway's own secrets (licence, organisation, cache and
/// log-store credentials): `(variable, store key)`, sorted.
pub(crate) fn enterprise_env(d: &Description) -> Vec<(String, String)> {
    let mut keys: Vec<(String, String)> = d
        .enterprise
        .iter()
        .flat_map(|e| e.variables(""))
        .filter_map(|v| match v.value {
            kiln_model::enterprise::Value::Secret(key) => Some((v.name.to_string(), key)),
            kiln_model::enterprise::Value::Literal(_) => None,
        })
        .collect();
    keys.sort();
    keys
}

fn secret_ref(name: String, secret: &str, optional: bool) -> EnvVar {
    EnvVar {
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.to_string(),
                key: name.clone(),
                optional: Some(optional),
            }),
            ..Default::default()
        }),
        name,
        ..Default::default()
    }
}

/// The provider keys as env entries of the enterprise gateway, each optional
/// (it runs on its licence: a key missing from the store must not keep every
/// pod from starting). The open-source gateway reads no provider key from
/// its environment (clients send theirs), so its pods get none.
pub(crate) fn provider_env_vars(d: &Description, names: &Names) -> Vec<EnvVar> {
    if d.enterprise.is_none() {
        return Vec::new();
    }
    provider_env(d)
        .into_iter()
        .map(|(env, _)| secret_ref(env, &names.secret, true))
        .collect()
}

/// The enterprise secrets as env entries reading their own Secret.
pub(crate) fn enterprise_env_vars(d: &Description, names: &Names) -> Vec<EnvVar> {
    enterprise_env(d)
        .into_iter()
        .map(|(env, _)| secret_ref(env, &names.enterprise_secret(), false))
        .collect()
}

/// The managed cache's CA certificate: the volume and its mount at the path Portkey's GKE Helm guide uses.
pub(crate) fn ca_volume(d: &Description, names: &Names) -> Option<(Volume, VolumeMount)> {
    enterprise_ca(d)?;
    Some((
        Volume {
            name: REDIS_CA_VOLUME.into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(names.redis_ca()),
                default_mode: Some(0o444),
                ..Default::default()
            }),
            ..Default::default()
        },
        VolumeMount {
            name: REDIS_CA_VOLUME.into(),
            mount_path: kiln_model::enterprise::CA_PATH.into(),
            sub_path: Some(CA_FILE.into()),
            read_only: Some(true),
            ..Default::default()
        },
    ))
}

/// The managed cache's CA store key, if it has one.
pub(crate) fn enterprise_ca(d: &Description) -> Option<&str> {
    d.enterprise
        .as_ref()
        .and_then(|e| e.cache.managed.as_ref())
        .and_then(|m| m.ca_key.as_deref())
}

/// An ExternalSecret `name` of `d`'s store with `data` (secret key → store
/// key), writing a Secret of the same name (templated if `template`).
pub(crate) fn external_secret_named(
    d: &Description,
    names: &Names,
    name: &str,
    data: Vec<(String, String)>,
    template: Option<ExternalSecretTemplate>,
) -> ExternalSecret {
    ExternalSecret {
        metadata: names.meta(name),
        spec: Some(ExternalSecretSpec {
            refresh_interval: Some(d.secrets.refresh_interval.clone()),
            secret_store_ref: Some(SecretStoreRef {
                kind: Some("ClusterSecretStore".into()),
                name: Some(d.secrets.store.clone()),
                ..Default::default()
            }),
            target: Some(ExternalSecretTarget {
                name: Some(name.to_string()),
                creation_policy: Some("Owner".into()),
                deletion_policy: Some("Retain".into()),
                template,
                ..Default::default()
            }),
            data: Some(
                data.into_iter()
                    .map(|(secret_key, key)| ExternalSecretData {
                        secret_key,
                        remote_ref: RemoteRef {
                            key,
                            ..Default::default()
                        },
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The provider keys' ExternalSecret.
pub(crate) fn external_secret(d: &Description, names: &Names) -> ExternalSecret {
    let mut secret = external_secret_named(d, names, &names.secret, provider_env(d), None);
    key_properties(d, &mut secret);
    secret
}

/// The field of the store's secret each provider key reads, where its
/// `secrets.keys` entry names one.
pub(crate) fn key_properties(d: &Description, secret: &mut ExternalSecret) {
    let items = secret
        .spec
        .iter_mut()
        .flat_map(|s| s.data.iter_mut().flatten());
    for item in items {
        item.remote_ref.property = d
            .secrets
            .keys
            .iter()
            .find(|k| k.env == item.secret_key)
            .and_then(|k| k.property.clone());
    }
}

/// The enterprise secrets' ExternalSecret: apart from the provider keys, so
/// that a provider key missing from the store cannot withhold the licence.
pub(crate) fn enterprise_secret(d: &Description, names: &Names) -> ExternalSecret {
    external_secret_named(
        d,
        names,
        &names.enterprise_secret(),
        enterprise_env(d),
        None,
    )
}

/// The enterprise image's pull credentials: a `kubernetes.io/dockerconfigjson`
/// Secret that External Secrets assembles from the store, never a literal.
pub(crate) fn registry_secret(
    d: &Description,
    p: &kiln_model::enterprise::PullSecret,
    names: &Names,
) -> ExternalSecret {
    // External Secrets' template engine v2 (Go templates with sprig): the values
    // never pass through Git, and toJson quotes them whatever they contain.
    let registry = serde_json::Value::from(p.registry.as_str());
    let config = format!(
        r#"{{"auths":{{{registry}:{{"username":{{{{ .username | toJson }}}},"password":{{{{ .password | toJson }}}},"auth":"{{{{ printf "%s:%s" .username .password | b64enc }}}}"}}}}}}"#
    );
    external_secret_named(
        d,
        names,
        &names.registry(),
        vec![
            ("password".into(), p.password_key.clone()),
            ("username".into(), p.username_key.clone()),
        ],
        Some(ExternalSecretTemplate {
            type_: Some("kubernetes.io/dockerconfigjson".into()),
            engine_version: Some("v2".into()),
            data: Some(BTreeMap::from([(".dockerconfigjson".to_string(), config)])),
            ..Default::default()
        }),
    )
}

/// The gateway's ServiceAccount, carrying the cloud identity's annotations.
pub(crate) fn service_account(
    e: &kiln_model::enterprise::Enterprise,
    names: &Names,
) -> ServiceAccount {
    let mut metadata = names.meta(&names.name);
    let identity = e.identity.annotations();
    if !identity.is_empty() {
        let annotations = metadata.annotations.get_or_insert_with(BTreeMap::new);
        annotations.extend(identity.into_iter().map(|(k, v)| (k.to_string(), v)));
    }
    ServiceAccount {
        metadata,
        // Cloud identity tokens are projected by the clouds' webhooks; the API token is not needed.
        automount_service_account_token: Some(false),
        ..Default::default()
    }
}
