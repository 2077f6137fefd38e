//! Azure Container Apps is not Kubernetes: an environment with
//! `enterprise.cloud: aca` renders `out/<env>/terraform.tfvars.json`, the
//! variables of Portkey's published ACA Terraform module
//! (`github.com/Portkey-AI/portkey-gateway-infrastructure//terraform/aca`),
//! from the same description as the Kubernetes clouds. Only variables the
//! module declares are written ([`VARIABLES`]); secrets appear only as Key
//! Vault secret names.

use kiln_model::aca::{Aca, Scaling};
use kiln_model::description::Description;
use kiln_model::enterprise::{Enterprise, ServerMode};
use serde::Serialize;
use serde_json::{Value, json};
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

/// The module's variables kiln writes: each field is one of [`VARIABLES`],
/// under its own name; absent options are left out.
#[derive(Serialize)]
struct TfVars {
    project_name: String,
    environment: String,
    azure_region: String,
    resource_group_name: String,
    create_resource_group: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    tags: BTreeMap<String, String>,
    registry_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    acr_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    docker_credentials: Option<DockerCredentials>,
    network_mode: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    vnet_cidr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vnet_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aca_subnet_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    app_gateway_subnet_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    private_endpoint_subnet_id: Option<String>,
    ingress_type: String,
    public_ingress: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    app_gateway_config: Option<AppGateway>,
    server_mode: &'static str,
    gateway_image: Image,
    gateway_config: Size,
    #[serde(skip_serializing_if = "Option::is_none")]
    mcp_config: Option<Size>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mcp_gateway_base_url: Option<String>,
    redis_config: Redis,
    #[serde(skip_serializing_if = "Option::is_none")]
    redis_image: Option<Image>,
    #[serde(skip_serializing_if = "Option::is_none")]
    storage_config: Option<Storage>,
    environment_variables: ForGateway,
    secrets: ForGateway,
    secrets_key_vault: KeyVaultRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    control_plane_private_link: Option<PrivateLink>,
}

#[derive(Serialize)]
struct DockerCredentials {
    key_vault_name: String,
    key_vault_rg: String,
    username_secret: String,
    password_secret: String,
}

#[derive(Serialize)]
struct AppGateway {
    sku_name: &'static str,
    sku_tier: &'static str,
    capacity: u32,
    enable_waf: bool,
    public: bool,
    routing_mode: &'static str,
    gateway_host: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    mcp_host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ssl_cert_key_vault_secret_id: Option<String>,
}

/// An image as the module wants it: repository without the Docker Hub host, and tag.
#[derive(Serialize)]
struct Image {
    image: String,
    tag: String,
}

impl Image {
    fn of(reference: &str) -> Image {
        let image = kiln_model::image::ImageRef::parse(reference.trim_start_matches("docker.io/"));
        Image {
            image: image.name.to_string(),
            tag: image.tag.unwrap_or("latest").to_string(),
        }
    }
}

#[derive(Serialize)]
struct Size {
    cpu: Value,
    memory: String,
    min_replicas: u32,
    max_replicas: u32,
    port: u16,
    cpu_scale_threshold: u32,
    http_scale_concurrent_requests: u32,
}

/// The built-in Redis (`redis`, with its size) or Azure Cache for Redis.
#[derive(Serialize)]
struct Redis {
    redis_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cpu: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    memory: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mode: Option<&'static str>,
}

#[derive(Serialize)]
struct Storage {
    auth_mode: String,
    account_name: String,
    container_name: String,
    resource_group: String,
}

#[derive(Serialize)]
struct ForGateway {
    gateway: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct KeyVaultRef {
    name: String,
    resource_group: String,
}

#[derive(Serialize)]
struct PrivateLink {
    outbound: bool,
}

/// The module's variables for environment `env` of `d`.
pub fn tfvars(env: &str, d: &Description, e: &Enterprise, a: &Aca) -> Value {
    let network = &a.network;
    let vars = TfVars {
        project_name: a.project.clone().unwrap_or_else(|| d.name.clone()),
        environment: a.environment.clone().unwrap_or_else(|| env.to_string()),
        azure_region: a.region.clone(),
        resource_group_name: a.resource_group.clone(),
        create_resource_group: a.create_resource_group,
        tags: a.tags.clone(),
        registry_type: a.registry.clone(),
        acr_id: a.acr_id.clone().filter(|_| a.registry == "acr"),
        docker_credentials: docker_credentials(e, a),
        network_mode: network.mode.clone(),
        vnet_cidr: network.vnet_cidr.clone(),
        vnet_id: network.vnet_id.clone(),
        aca_subnet_id: network.aca_subnet_id.clone(),
        app_gateway_subnet_id: network.app_gateway_subnet_id.clone(),
        private_endpoint_subnet_id: network.private_endpoint_subnet_id.clone(),
        ingress_type: a.ingress.r#type.clone(),
        public_ingress: a.ingress.public,
        app_gateway_config: app_gateway(d, e, a),
        server_mode: match e.server_mode {
            ServerMode::Gateway => "gateway",
            ServerMode::Mcp => "mcp",
            ServerMode::All => "all",
        },
        gateway_image: Image::of(&d.image.reference()),
        gateway_config: size(d, a, d.port),
        mcp_config: e.server_mode.mcp().then(|| size(d, a, e.mcp_port())),
        mcp_gateway_base_url: e
            .mcp
            .as_ref()
            .filter(|_| e.server_mode.mcp())
            .and_then(|m| m.base_url.clone()),
        redis_config: redis(e),
        redis_image: e
            .cache
            .managed
            .is_none()
            .then(|| Image::of(&e.cache.redis_image)),
        storage_config: e
            .log_store
            .as_ref()
            .and_then(|l| l.azure.as_ref())
            .map(|z| Storage {
                auth_mode: z.auth.clone(),
                account_name: z.account.clone(),
                container_name: z.container.clone(),
                resource_group: a.resource_group.clone(),
            }),
        environment_variables: ForGateway {
            gateway: environment_variables(d, e),
        },
        secrets: ForGateway {
            gateway: secrets(d, e),
        },
        secrets_key_vault: KeyVaultRef {
            name: a.key_vault.name.clone(),
            resource_group: a.key_vault.resource_group.clone(),
        },
        control_plane_private_link: e
            .control_plane
            .is_some()
            .then_some(PrivateLink { outbound: true }),
    };
    serde_json::to_value(vars).unwrap_or(Value::Null)
}

/// Registry credentials as Key Vault secret names (ACR pulls by identity instead).
fn docker_credentials(e: &Enterprise, a: &Aca) -> Option<DockerCredentials> {
    if a.registry == "acr" && a.acr_id.is_some() {
        return None;
    }
    e.pull_secret.as_ref().map(|p| DockerCredentials {
        key_vault_name: a.key_vault.name.clone(),
        key_vault_rg: a.key_vault.resource_group.clone(),
        username_secret: p.username_key.clone(),
        password_secret: p.password_key.clone(),
    })
}

fn app_gateway(d: &Description, e: &Enterprise, a: &Aca) -> Option<AppGateway> {
    let sku = if a.ingress.waf {
        "WAF_v2"
    } else {
        "Standard_v2"
    };
    (a.ingress.r#type == "application_gateway").then(|| AppGateway {
        sku_name: sku,
        sku_tier: sku,
        capacity: 2,
        enable_waf: a.ingress.waf,
        public: a.ingress.public,
        routing_mode: "host",
        gateway_host: d.hosts().first().cloned().unwrap_or_default(),
        mcp_host: e.mcp.as_ref().and_then(|m| m.host.clone()),
        ssl_cert_key_vault_secret_id: a.ingress.ssl_cert_secret_id.clone(),
    })
}

fn size(d: &Description, a: &Aca, port: u16) -> Size {
    let scaling: &Scaling = &a.scaling;
    Size {
        cpu: cores(&d.resources.limits.cpu),
        memory: d.resources.limits.memory.clone(),
        min_replicas: scaling.min_replicas,
        max_replicas: scaling.max_replicas,
        port,
        cpu_scale_threshold: scaling.cpu_threshold,
        http_scale_concurrent_requests: scaling.concurrent_requests,
    }
}

fn redis(e: &Enterprise) -> Redis {
    let built_in = Redis {
        redis_type: "redis",
        cpu: Some(0.5),
        memory: Some("1Gi"),
        endpoint: None,
        tls: None,
        mode: None,
    };
    let Some(m) = &e.cache.managed else {
        return built_in;
    };
    Redis {
        redis_type: "azure-redis",
        cpu: None,
        memory: None,
        endpoint: Some(
            m.url
                .split_once("://")
                .map_or(m.url.as_str(), |(_, rest)| rest)
                .to_string(),
        ),
        tls: Some(m.tls),
        mode: Some(if m.cluster { "cluster" } else { "standalone" }),
    }
}

/// The gateway's plain variables; the module sets the cache, log store, port
/// and MCP variables itself, kiln passes the rest.
fn environment_variables(d: &Description, e: &Enterprise) -> BTreeMap<String, String> {
    let mut vars = d.config.clone();
    vars.insert("NODE_ENV".into(), "production".into());
    vars.insert("LOG_LEVEL".into(), d.log_level.as_str().into());
    vars.insert("SERVICE_NAME".into(), e.service_name.clone());
    vars.insert("ANALYTICS_STORE".into(), e.analytics_store.clone());
    if let Some(f) = e.log_store.as_ref().and_then(|l| l.path_format.clone()) {
        vars.insert("LOG_STORE_FILE_PATH_FORMAT".into(), f);
    }
    vars
}

/// Variable → Key Vault secret name: the provider keys and the enterprise secrets.
fn secrets(d: &Description, e: &Enterprise) -> BTreeMap<String, String> {
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
    secrets
}
