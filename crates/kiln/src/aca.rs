//! Azure Container Apps (seed 004) is not Kubernetes: an environment with
//! `enterprise.cloud: aca` renders `out/<env>/terraform.tfvars.json`, the
//! variables of Portkey's published ACA Terraform module
//! (`github.com/Portkey-AI/portkey-gateway-infrastructure//terraform/aca`),
//! from the same description as the Kubernetes clouds. Only variables the
//! module declares are written ([`VARIABLES`]); secrets appear only as Key
//! Vault secret names.

use kiln_model::aca::{Aca, Scaling};
use kiln_model::enterprise::{Enterprise, ServerMode};
use kiln_model::spec::Description;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The file an ACA environment renders.
pub const TFVARS: &str = "terraform.tfvars.json";

/// Every variable the module's `variables.tf` declares (module v1.1.x); the
/// only names kiln writes.
pub const VARIABLES: [&str; 34] = [
    "project_name",
    "environment",
    "azure_region",
    "subscription_id",
    "resource_group_name",
    "create_resource_group",
    "tags",
    "environment_variables_file_path",
    "secrets_file_path",
    "environment_variables",
    "secrets",
    "gateway_secret_volume_mounts",
    "network_mode",
    "vnet_cidr",
    "vnet_id",
    "aca_subnet_id",
    "app_gateway_subnet_id",
    "private_endpoint_subnet_id",
    "registry_type",
    "acr_id",
    "docker_credentials",
    "gateway_image",
    "gateway_config",
    "mcp_config",
    "server_mode",
    "mcp_gateway_base_url",
    "redis_config",
    "redis_image",
    "storage_config",
    "ingress_type",
    "public_ingress",
    "app_gateway_config",
    "secrets_key_vault",
    "control_plane_private_link",
];

/// `2Gi` as the module wants memory; `1` / `500m` CPU as a number of cores.
fn cores(cpu: &str) -> Value {
    match cpu.strip_suffix('m') {
        Some(milli) => milli
            .parse::<f64>()
            .map_or(json!(cpu), |m| json!(m / 1000.0)),
        None => cpu.parse::<f64>().map_or(json!(cpu), |c| json!(c)),
    }
}

/// The image's repository without the Docker Hub host, and its tag.
fn image(reference: &str) -> Value {
    let reference = reference.trim_start_matches("docker.io/");
    let image = kiln_model::image::ImageRef::parse(reference);
    json!({"image": image.name, "tag": image.tag.unwrap_or("latest")})
}

/// The module's variables for environment `env` of `d`.
pub fn tfvars(env: &str, d: &Description, e: &Enterprise, a: &Aca) -> Value {
    let size = |scaling: &Scaling, port: u16| {
        json!({
            "cpu": cores(&d.resources.limits.cpu),
            "memory": d.resources.limits.memory,
            "min_replicas": scaling.min_replicas,
            "max_replicas": scaling.max_replicas,
            "port": port,
            "cpu_scale_threshold": scaling.cpu_threshold,
            "http_scale_concurrent_requests": scaling.concurrent_requests,
        })
    };
    // The module sets the cache, log store, port and MCP variables itself; kiln passes the rest.
    let mut env_vars: BTreeMap<String, String> = d.config.clone();
    env_vars.insert("NODE_ENV".into(), "production".into());
    env_vars.insert("LOG_LEVEL".into(), d.log_level.as_str().into());
    env_vars.insert("SERVICE_NAME".into(), e.service_name.clone());
    env_vars.insert("ANALYTICS_STORE".into(), e.analytics_store.clone());
    if let Some(f) = e.log_store.as_ref().and_then(|l| l.path_format.clone()) {
        env_vars.insert("LOG_STORE_FILE_PATH_FORMAT".into(), f);
    }
    let mut secrets: BTreeMap<String, String> = d
        .secrets
        .keys
        .iter()
        .map(|k| (k.env.clone(), k.remote_key.clone()))
        .collect();
    secrets.insert("PORTKEY_CLIENT_AUTH".into(), e.client_auth_key.clone());
    secrets.insert("ORGANISATIONS_TO_SYNC".into(), e.organisations_key.clone());
    if let Some(k) = e
        .cache
        .managed
        .as_ref()
        .and_then(|m| m.password_key.clone())
    {
        secrets.insert("REDIS_PASSWORD".into(), k);
    }
    let mut v = Map::new();
    let mut set = |name: &'static str, value: Value| {
        debug_assert!(
            VARIABLES.contains(&name),
            "{name} is not a variable of the module"
        );
        v.insert(name.to_string(), value);
    };
    set(
        "project_name",
        json!(a.project.clone().unwrap_or_else(|| d.name.clone())),
    );
    set(
        "environment",
        json!(a.environment.clone().unwrap_or_else(|| env.to_string())),
    );
    set("azure_region", json!(a.region));
    set("resource_group_name", json!(a.resource_group));
    set("create_resource_group", json!(a.create_resource_group));
    if !a.tags.is_empty() {
        set("tags", json!(a.tags));
    }
    set("registry_type", json!(a.registry));
    match (&e.pull_secret, &a.acr_id) {
        (_, Some(acr)) if a.registry == "acr" => set("acr_id", json!(acr)),
        (Some(p), _) => set(
            "docker_credentials",
            json!({
                "key_vault_name": a.key_vault.name,
                "key_vault_rg": a.key_vault.resource_group,
                "username_secret": p.username_key,
                "password_secret": p.password_key,
            }),
        ),
        _ => {}
    }
    set("network_mode", json!(a.network.mode));
    for (name, value) in [
        ("vnet_cidr", &a.network.vnet_cidr),
        ("vnet_id", &a.network.vnet_id),
        ("aca_subnet_id", &a.network.aca_subnet_id),
        ("app_gateway_subnet_id", &a.network.app_gateway_subnet_id),
        (
            "private_endpoint_subnet_id",
            &a.network.private_endpoint_subnet_id,
        ),
    ] {
        if let Some(value) = value {
            set(name, json!(value));
        }
    }
    set("ingress_type", json!(a.ingress.r#type));
    set("public_ingress", json!(a.ingress.public));
    if a.ingress.r#type == "application_gateway" {
        let mut gw = json!({
            "sku_name": if a.ingress.waf { "WAF_v2" } else { "Standard_v2" },
            "sku_tier": if a.ingress.waf { "WAF_v2" } else { "Standard_v2" },
            "capacity": 2,
            "enable_waf": a.ingress.waf,
            "public": a.ingress.public,
            "routing_mode": "host",
            "gateway_host": d.route.hosts.first().cloned().unwrap_or_default(),
        });
        if let Some(host) = e.mcp.as_ref().and_then(|m| m.host.clone()) {
            gw["mcp_host"] = json!(host);
        }
        if let Some(cert) = &a.ingress.ssl_cert_secret_id {
            gw["ssl_cert_key_vault_secret_id"] = json!(cert);
        }
        set("app_gateway_config", gw);
    }
    set(
        "server_mode",
        json!(match e.server_mode {
            ServerMode::Gateway => "gateway",
            ServerMode::Mcp => "mcp",
            ServerMode::All => "all",
        }),
    );
    set("gateway_image", image(&d.image.reference()));
    set("gateway_config", size(&a.scaling, d.port));
    if e.server_mode.mcp() {
        let mcp = e.mcp.clone().unwrap_or_default();
        set("mcp_config", size(&a.scaling, mcp.port));
        if let Some(url) = mcp.base_url {
            set("mcp_gateway_base_url", json!(url));
        }
    }
    match &e.cache.managed {
        None => {
            set(
                "redis_config",
                json!({"redis_type": "redis", "cpu": 0.5, "memory": "1Gi"}),
            );
            set("redis_image", image(&e.cache.redis_image));
        }
        Some(m) => {
            let endpoint = m
                .url
                .split_once("://")
                .map_or(m.url.as_str(), |(_, rest)| rest);
            set(
                "redis_config",
                json!({
                    "redis_type": "azure-redis",
                    "endpoint": endpoint,
                    "tls": m.tls,
                    "mode": if m.cluster { "cluster" } else { "standalone" },
                }),
            );
        }
    }
    if let Some(z) = e.log_store.as_ref().and_then(|l| l.azure.as_ref()) {
        set(
            "storage_config",
            json!({"auth_mode": z.auth, "account_name": z.account, "container_name": z.container, "resource_group": a.resource_group}),
        );
    }
    set("environment_variables", json!({"gateway": env_vars}));
    set("secrets", json!({"gateway": secrets}));
    set(
        "secrets_key_vault",
        json!({"name": a.key_vault.name, "resource_group": a.key_vault.resource_group}),
    );
    if e.control_plane.is_some() {
        set("control_plane_private_link", json!({"outbound": true}));
    }
    Value::Object(v)
}
