//! The enterprise gateway of Portkey's GKE, EKS and AKS Helm guides (GKE, EKS, AKS): every option of
//! Portkey's Helm values as a typed, validated switch of the description,
//! rendered without Helm's hazards — credentials only from the secret store,
//! a hardened Redis, no random annotations.
//!
//! [`Enterprise::variables`] is the one list of what the gateway's
//! environment gets; the ConfigMap, the ExternalSecret, the clash check and
//! the docs all follow it.

use serde::{Deserialize, Serialize};

mod validate;
mod variables;

/// `enterprise:` in the description.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Enterprise {
    /// The cluster's cloud: decides which identity, cache and load balancer options apply.
    pub cloud: Cloud,
    /// Registry credentials of the enterprise image, from the secret store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_secret: Option<PullSecret>,
    /// `SERVICE_NAME`: how this gateway is named in Portkey's control plane.
    pub service_name: String,
    /// `ANALYTICS_STORE`.
    #[serde(default = "defaults::analytics_store")]
    pub analytics_store: String,
    /// Store key of the licence: `PORTKEY_CLIENT_AUTH`.
    pub client_auth_key: String,
    /// Store key of the organisation ID(s): `ORGANISATIONS_TO_SYNC`.
    pub organisations_key: String,
    /// The pods' cloud identity, as ServiceAccount annotations.
    #[serde(default, skip_serializing_if = "Identity::is_empty")]
    pub identity: Identity,
    /// Reach the control plane over a private link instead of the internet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_plane: Option<ControlPlane>,
    /// Where LLM logs are stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_store: Option<LogStore>,
    /// The cache of prompts, configs and providers.
    #[serde(default)]
    pub cache: Cache,
    /// `SERVER_MODE`: the AI gateway, the MCP gateway, or both.
    #[serde(default)]
    pub server_mode: ServerMode,
    /// The MCP gateway (server modes `mcp` and `all`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp: Option<Mcp>,
    /// External access through the cloud's load balancers instead of the
    /// shared Gateway API Gateway (`route.gateway`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expose: Option<Expose>,
    /// The Data Service (batches, fine-tuning, log exports) beside the gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_service: Option<DataService>,
    /// Azure Container Apps settings (cloud `aca`, Portkey's Azure Container Apps Terraform module).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aca: Option<super::aca::Aca>,
    /// The Helm release of Portkey's chart this environment takes over in
    /// place: the Deployments keep the chart's selector labels, which the API
    /// server never lets change, so `kubectl apply` and a GitOps sync succeed
    /// over the release's live objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopt_helm_release: Option<String>,
    /// Roll the pods when a Secret they read from the store changes, through
    /// Stakater Reloader's `secret.reloader.stakater.com/reload` annotation
    /// (Reloader runs in the cluster); the pods read those Secrets only at start.
    #[serde(default = "defaults::yes", skip_serializing_if = "defaults::is_yes")]
    pub roll_on_secret_change: bool,
}

impl Enterprise {
    /// What Portkey's chart names the release's objects (its `fullname`):
    /// the release's name where it holds the chart's (`gateway`), else
    /// `<release>-gateway`, at most 63 characters.
    pub fn chart_fullname(release: &str) -> String {
        let full = if release.contains("gateway") {
            release.to_string()
        } else {
            format!("{release}-gateway")
        };
        full.chars()
            .take(63)
            .collect::<String>()
            .trim_end_matches('-')
            .to_string()
    }
}

/// The optional Data Service, hardened like the gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DataService {
    /// Its image, pinned (`repository:tag`).
    #[serde(default = "defaults::data_service_image")]
    pub image: String,
    /// Its `SERVICE_NAME` [default: the gateway's service name + `-dataservice`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// Replicas.
    #[serde(default = "defaults::one")]
    pub replicas: i32,
    /// Requests and limits.
    #[serde(default = "defaults::data_service_resources")]
    pub resources: crate::description::Resources,
    /// Debug logging: `NODE_DEBUG=dataservice:*` (the chart's `DEBUG_ENABLED`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub debug: bool,
}

/// The Data Service's port (Portkey's chart).
pub const DATA_SERVICE_PORT: u16 = 8081;

/// What the gateway serves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServerMode {
    /// The AI gateway only (`SERVER_MODE` unset).
    #[default]
    Gateway,
    /// The MCP gateway only.
    Mcp,
    /// Both, on two ports and two host names.
    All,
}

impl ServerMode {
    /// Whether the AI gateway is served.
    pub fn gateway(self) -> bool {
        self != ServerMode::Mcp
    }

    /// Whether the MCP gateway is served.
    pub fn mcp(self) -> bool {
        self != ServerMode::Gateway
    }
}

/// The MCP gateway's port, public URL and host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Mcp {
    /// `MCP_PORT`: the container and Service port.
    #[serde(default = "defaults::mcp_port")]
    pub port: u16,
    /// `MCP_GATEWAY_BASE_URL`: where clients reach it (may be added after the first deploy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Its host name; with server mode `all` the AI gateway keeps `route.hosts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

impl Default for Mcp {
    fn default() -> Mcp {
        Mcp {
            port: defaults::mcp_port(),
            base_url: None,
            host: None,
        }
    }
}

/// The cloud load balancer in front of the gateway: exactly one of the two.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Expose {
    /// An Ingress: ALB (EKS), GCE (GKE) or NGINX (AKS application routing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<IngressExpose>,
    /// The Service as a LoadBalancer: NLB (EKS), L4 (GKE) or Azure LB (AKS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<LoadBalancerExpose>,
}

impl Expose {
    /// Whether the rendered load balancer serves HTTPS (only an ALB with a certificate does).
    pub fn has_https_listener(&self) -> bool {
        self.ingress
            .as_ref()
            .is_some_and(|i| i.certificate_arn.is_some())
    }
}

/// Ingress options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IngressExpose {
    /// Reachable from the internet, or only inside the network.
    #[serde(default)]
    pub internal: bool,
    /// ingressClassName [default: `alb`, `gce` / `gce-internal`, `nginx-static` / `nginx-internal`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_name: Option<String>,
    /// Client CIDRs allowed in [default: anywhere].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_ranges: Vec<String>,
    /// EKS: the ACM certificate of an HTTPS listener on the ALB (HTTP then redirects to it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_arn: Option<String>,
}

/// LoadBalancer Service options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LoadBalancerExpose {
    /// Internal (private IP) or internet-facing.
    #[serde(default)]
    pub internal: bool,
    /// Client CIDRs allowed in (`loadBalancerSourceRanges`) [default: anywhere].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_ranges: Vec<String>,
}

/// A Kubernetes cloud of Portkey's enterprise guides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cloud {
    /// Google Kubernetes Engine (Portkey's GKE Helm guide).
    Gke,
    /// Amazon Elastic Kubernetes Service (Portkey's EKS Helm guide).
    Eks,
    /// Azure Kubernetes Service (Portkey's AKS Helm guide).
    Aks,
    /// Azure Container Apps through Portkey's Terraform module.
    Aca,
}

impl Cloud {
    fn as_str(self) -> &'static str {
        match self {
            Cloud::Gke => "gke",
            Cloud::Eks => "eks",
            Cloud::Aks => "aks",
            Cloud::Aca => "aca",
        }
    }
}

/// A `kubernetes.io/dockerconfigjson` Secret, materialized by an ExternalSecret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PullSecret {
    /// Registry the credentials are for.
    #[serde(default = "defaults::registry")]
    pub registry: String,
    /// Store key of the user name.
    pub username_key: String,
    /// Store key of the password.
    pub password_key: String,
}

/// Cloud identity of the gateway's ServiceAccount.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Identity {
    /// EKS IRSA: the IAM role (`eks.amazonaws.com/role-arn`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_role_arn: Option<String>,
    /// EKS Pod Identity: the association is made in AWS; nothing to annotate.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub aws_pod_identity: bool,
    /// GKE Workload Identity: the Google service account (`iam.gke.io/gcp-service-account`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcp_service_account: Option<String>,
    /// AKS Workload Identity: the managed identity's client ID (`azure.workload.identity/client-id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_client_id: Option<String>,
}

impl Identity {
    fn is_empty(&self) -> bool {
        *self == Identity::default()
    }

    /// The ServiceAccount's annotations.
    pub fn annotations(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(arn) = &self.aws_role_arn {
            out.push(("eks.amazonaws.com/role-arn", arn.clone()));
        }
        if let Some(gsa) = &self.gcp_service_account {
            out.push(("iam.gke.io/gcp-service-account", gsa.clone()));
        }
        if let Some(id) = &self.azure_client_id {
            out.push(("azure.workload.identity/client-id", id.clone()));
        }
        out
    }
}

/// The control plane over a private link: its base URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ControlPlane {
    /// e.g. `https://aws-cp.portkey.ai` (EKS) or `https://privatelink-az.portkey.ai` (AKS).
    pub private_link: String,
}

/// Where LLM logs go: exactly one of `s3`, `gcs`, `azure`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LogStore {
    /// Amazon S3 through the pods' AWS identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<Bucket>,
    /// Google Cloud Storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcs: Option<GcsBucket>,
    /// Azure Blob Storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure: Option<AzureContainer>,
    /// `LOG_STORE_FILE_PATH_FORMAT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_format: Option<String>,
}

/// A bucket and its region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Bucket {
    /// Bucket name.
    pub bucket: String,
    /// Region of the bucket.
    pub region: String,
}

/// A GCS bucket: Workload Identity, or HMAC keys from the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GcsBucket {
    /// Bucket name.
    pub bucket: String,
    /// Region of the bucket.
    pub region: String,
    /// `workload` (Workload Identity) or `hmac`.
    #[serde(default = "defaults::gcs_auth")]
    pub auth: String,
    /// Store key of the HMAC access key (auth `hmac`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_key: Option<String>,
    /// Store key of the HMAC secret (auth `hmac`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key_key: Option<String>,
}

/// An Azure Blob container, reached by managed identity or Entra ID.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AzureContainer {
    /// Storage account.
    pub account: String,
    /// Blob container.
    pub container: String,
    /// `managed` (the pods' workload identity) or `entra` (an Entra ID app).
    #[serde(default = "defaults::azure_auth")]
    pub auth: String,
    /// Entra ID: the app's client ID (`AZURE_ENTRA_CLIENT_ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entra_client_id: Option<String>,
    /// Entra ID: the tenant (`AZURE_ENTRA_TENANT_ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entra_tenant_id: Option<String>,
    /// Entra ID: store key of the app's client secret (`AZURE_ENTRA_CLIENT_SECRET`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entra_secret_key: Option<String>,
}

/// The cache: the built-in Redis (default) or the cloud's managed Redis/Valkey.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Cache {
    /// A managed Redis/Valkey; without it kiln renders a hardened Redis beside the gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed: Option<ManagedCache>,
    /// Image of the built-in Redis.
    #[serde(default = "defaults::redis_image")]
    pub redis_image: String,
}

impl Default for Cache {
    fn default() -> Cache {
        Cache {
            managed: None,
            redis_image: defaults::redis_image(),
        }
    }
}

/// Memorystore (GKE), ElastiCache (EKS) or Azure Cache for Redis (AKS).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ManagedCache {
    /// `redis://host:port` (or `rediss://`).
    pub url: String,
    /// TLS to the cache (`REDIS_TLS_ENABLED`).
    #[serde(default)]
    pub tls: bool,
    /// Store key of the server CA certificate (required with TLS on Memorystore,
    /// whose certificate is self-signed); mounted at [`CA_PATH`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_key: Option<String>,
    /// Cluster mode (`REDIS_MODE=cluster`).
    #[serde(default)]
    pub cluster: bool,
    /// Store key of the password or auth string (`REDIS_PASSWORD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_key: Option<String>,
    /// Memorystore IAM authentication through Workload Identity (`GCP_REDIS_AUTH_MODE=workload`).
    #[serde(default)]
    pub workload_auth: bool,
}

/// Where the managed cache's CA certificate is mounted (Portkey's GKE Helm guide).
pub const CA_PATH: &str = "/etc/ssl/certs/server-ca.pem";
/// The built-in Redis's port.
pub const REDIS_PORT: u16 = 6379;

mod defaults {
    pub fn analytics_store() -> String {
        "control_plane".into()
    }
    pub fn registry() -> String {
        "https://index.docker.io/v1/".into()
    }
    pub fn gcs_auth() -> String {
        "workload".into()
    }
    pub fn azure_auth() -> String {
        "managed".into()
    }
    pub fn redis_image() -> String {
        "docker.io/redis:7.2-alpine".into()
    }
    pub fn mcp_port() -> u16 {
        8788
    }
    pub fn data_service_image() -> String {
        "docker.io/portkeyai/data-service:1.9.0".into()
    }
    pub fn one() -> i32 {
        1
    }
    pub fn yes() -> bool {
        true
    }
    pub fn is_yes(v: &bool) -> bool {
        *v
    }
    pub fn data_service_resources() -> crate::description::Resources {
        crate::description::Resources::sized(("250m", "512Mi"), ("1", "1Gi"))
    }
}

/// The value of one variable of the gateway's environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Written into the env ConfigMap.
    Literal(String),
    /// Read from the secret store (this key) through the ExternalSecret.
    Secret(String),
}

/// One variable: name, the description field that sets it, its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvSetting {
    /// Environment variable name.
    pub name: &'static str,
    /// JSON pointer of the field in the description.
    pub at: String,
    /// Its value or secret.
    pub value: Value,
}

/// The port of a `redis://[user@]host:port[/db]` URL.
pub fn redis_port(url: &str) -> Option<u16> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    let host_port = authority.rsplit('@').next()?;
    let (host, port) = host_port.rsplit_once(':')?;
    (!host.is_empty()).then_some(())?;
    port.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::redis_port;

    #[test]
    fn redis_ports() {
        assert_eq!(redis_port("redis://10.0.0.3:6379"), Some(6379));
        assert_eq!(
            redis_port("rediss://default@cache.example.com:6380/0"),
            Some(6380)
        );
        assert_eq!(redis_port("redis://cache.example.com"), None);
        assert_eq!(redis_port("redis://:6379"), None);
    }
}
