//! Azure Container Apps (seed 004) is not Kubernetes: an environment with
//! `enterprise.cloud: aca` renders `out/<env>/terraform.tfvars.json`, the
//! variables of Portkey's published ACA Terraform module
//! (`github.com/Portkey-AI/portkey-gateway-infrastructure//terraform/aca`),
//! from the same description as the Kubernetes clouds. Only variables the
//! module declares are written ([`VARIABLES`]); secrets appear only as Key
//! Vault secret names.

use crate::enterprise::{Enterprise, ServerMode};
use crate::spec::Description;
use serde::{Deserialize, Serialize};
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

/// `enterprise.aca`: what only Azure Container Apps needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Aca {
    /// `project_name` [default: the description's name].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// `environment` [default: the environment's name].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// `azure_region`.
    pub region: String,
    /// `resource_group_name`.
    pub resource_group: String,
    /// `create_resource_group`.
    #[serde(default)]
    pub create_resource_group: bool,
    /// The Key Vault holding every secret (store keys are its secret names).
    pub key_vault: KeyVault,
    /// `registry_type`: `dockerhub` (credentials from `enterprise.pullSecret`) or `acr`.
    #[serde(default = "defaults::registry")]
    pub registry: String,
    /// `acr_id` (registry `acr`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr_id: Option<String>,
    /// Networking.
    #[serde(default)]
    pub network: Network,
    /// How clients reach the apps.
    #[serde(default)]
    pub ingress: AcaIngress,
    /// Replicas and scaling rules of the gateway (and MCP) apps.
    #[serde(default)]
    pub scaling: Scaling,
    /// `tags` on every resource.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// A Key Vault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KeyVault {
    /// Its name.
    pub name: String,
    /// Its resource group.
    pub resource_group: String,
}

/// `network_mode` and its subnets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Network {
    /// `none`, `new` or `existing`.
    #[serde(default = "defaults::network_mode")]
    pub mode: String,
    /// `vnet_cidr` (mode `new`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vnet_cidr: Option<String>,
    /// `vnet_id` (mode `existing`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vnet_id: Option<String>,
    /// `aca_subnet_id` (mode `existing`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aca_subnet_id: Option<String>,
    /// `app_gateway_subnet_id` (mode `existing` with an Application Gateway).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_gateway_subnet_id: Option<String>,
    /// `private_endpoint_subnet_id` (mode `existing`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_endpoint_subnet_id: Option<String>,
}

impl Default for Network {
    fn default() -> Network {
        Network {
            mode: defaults::network_mode(),
            vnet_cidr: None,
            vnet_id: None,
            aca_subnet_id: None,
            app_gateway_subnet_id: None,
            private_endpoint_subnet_id: None,
        }
    }
}

/// `ingress_type`, `public_ingress` and the Application Gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AcaIngress {
    /// `aca` (built-in) or `application_gateway`.
    #[serde(default = "defaults::ingress_type")]
    pub r#type: String,
    /// Reachable from the internet.
    #[serde(default = "defaults::yes")]
    pub public: bool,
    /// Application Gateway with the WAF on (type `application_gateway`).
    #[serde(default)]
    pub waf: bool,
    /// Key Vault secret ID of the TLS certificate (type `application_gateway`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_cert_secret_id: Option<String>,
}

impl Default for AcaIngress {
    fn default() -> AcaIngress {
        AcaIngress {
            r#type: defaults::ingress_type(),
            public: true,
            waf: false,
            ssl_cert_secret_id: None,
        }
    }
}

/// Scaling rules of a Container App.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Scaling {
    /// Fewest replicas.
    #[serde(default = "defaults::min_replicas")]
    pub min_replicas: u32,
    /// Most replicas.
    #[serde(default = "defaults::max_replicas")]
    pub max_replicas: u32,
    /// Scale out above this CPU percentage.
    #[serde(default = "defaults::cpu_threshold")]
    pub cpu_threshold: u32,
    /// Scale out above this many concurrent requests per replica.
    #[serde(default = "defaults::concurrent_requests")]
    pub concurrent_requests: u32,
}

impl Default for Scaling {
    fn default() -> Scaling {
        Scaling {
            min_replicas: defaults::min_replicas(),
            max_replicas: defaults::max_replicas(),
            cpu_threshold: defaults::cpu_threshold(),
            concurrent_requests: defaults::concurrent_requests(),
        }
    }
}

mod defaults {
    pub fn registry() -> String {
        "dockerhub".into()
    }
    pub fn network_mode() -> String {
        "none".into()
    }
    pub fn ingress_type() -> String {
        "aca".into()
    }
    pub fn yes() -> bool {
        true
    }
    pub fn min_replicas() -> u32 {
        1
    }
    pub fn max_replicas() -> u32 {
        3
    }
    pub fn cpu_threshold() -> u32 {
        70
    }
    pub fn concurrent_requests() -> u32 {
        100
    }
}

type Finding = (String, String);

/// The first bad ACA value or combination.
pub(crate) fn problem(e: &Enterprise) -> Option<Finding> {
    let at = |p: &str| format!("/enterprise{p}");
    let fail = |p: &str, m: &str| Some((at(p), m.to_string()));
    let Some(a) = &e.aca else {
        return fail(
            "/aca",
            "cloud `aca` needs the `aca` settings (region, resourceGroup, keyVault)",
        );
    };
    let one_of = |p: &str, v: &str, allowed: &[&str]| {
        (!allowed.contains(&v))
            .then(|| (at(p), format!("`{v}` is not one of {}", allowed.join(", "))))
    };
    if let Some(p) = one_of("/aca/registry", &a.registry, &["dockerhub", "acr"])
        .or_else(|| {
            one_of(
                "/aca/network/mode",
                &a.network.mode,
                &["none", "new", "existing"],
            )
        })
        .or_else(|| {
            one_of(
                "/aca/ingress/type",
                &a.ingress.r#type,
                &["aca", "application_gateway"],
            )
        })
    {
        return Some(p);
    }
    match a.registry.as_str() {
        "dockerhub" if e.pull_secret.is_none() => {
            return fail(
                "/pullSecret",
                "registry `dockerhub` needs the Docker credentials' Key Vault secret names in pullSecret",
            );
        }
        "acr" if a.acr_id.is_none() => return fail("/aca/acrId", "registry `acr` needs acrId"),
        _ => {}
    }
    let n = &a.network;
    if n.mode == "existing"
        && (n.vnet_id.is_none()
            || n.aca_subnet_id.is_none()
            || n.private_endpoint_subnet_id.is_none())
    {
        return fail(
            "/aca/network",
            "mode `existing` needs vnetId, acaSubnetId and privateEndpointSubnetId",
        );
    }
    if n.mode == "existing"
        && a.ingress.r#type == "application_gateway"
        && n.app_gateway_subnet_id.is_none()
    {
        return fail(
            "/aca/network/appGatewaySubnetId",
            "an Application Gateway in an existing network needs its subnet",
        );
    }
    if n.vnet_cidr
        .as_deref()
        .is_some_and(|c| !crate::enterprise::is_cidr(c))
    {
        return fail("/aca/network/vnetCidr", "not an IPv4 CIDR like 10.0.0.0/16");
    }
    if a.ingress.r#type == "application_gateway" && n.mode == "none" {
        return fail(
            "/aca/ingress/type",
            "an Application Gateway needs a virtual network (network.mode `new` or `existing`)",
        );
    }
    if a.scaling.min_replicas > a.scaling.max_replicas || a.scaling.max_replicas == 0 {
        return fail(
            "/aca/scaling",
            "minReplicas must be at most maxReplicas, and maxReplicas at least 1",
        );
    }
    if a.scaling.cpu_threshold == 0 || a.scaling.cpu_threshold > 100 {
        return fail("/aca/scaling/cpuThreshold", "must be a percentage (1-100)");
    }
    // What the module does itself, or does not have.
    let id = &e.identity;
    if id.aws_role_arn.is_some()
        || id.aws_pod_identity
        || id.gcp_service_account.is_some()
        || id.azure_client_id.is_some()
    {
        return fail(
            "/identity",
            "the module gives the apps a user-assigned managed identity of its own",
        );
    }
    if e.expose.is_some() {
        return fail("/expose", "Container Apps are exposed by aca.ingress");
    }
    if e.data_service.is_some() {
        return fail(
            "/dataService",
            "the module does not run the Data Service on Container Apps",
        );
    }
    if let Some(ls) = &e.log_store {
        if ls.s3.is_some() || ls.gcs.is_some() {
            return fail(
                "/logStore",
                "on Container Apps logs go to Azure Blob Storage (logStore.azure)",
            );
        }
        if ls.azure.as_ref().is_some_and(|z| z.auth != "managed") {
            return fail(
                "/logStore/azure/auth",
                "the module authenticates to Blob Storage with its managed identity only (`managed`)",
            );
        }
    }
    if let Some(m) = &e.cache.managed {
        if m.workload_auth || m.ca_key.is_some() {
            return fail(
                "/cache/managed",
                "Azure Cache for Redis on Container Apps takes a URL, tls, cluster and passwordKey only",
            );
        }
    }
    None
}

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
    let tag = crate::check::image_tag(reference).unwrap_or("latest");
    let repository = reference
        .strip_suffix(&format!(":{tag}"))
        .unwrap_or(reference);
    json!({"image": repository, "tag": tag})
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
