//! The enterprise gateway of Portkey's GKE, EKS and AKS Helm guides (GKE, EKS, AKS): every option of
//! Portkey's Helm values as a typed, validated switch of the description,
//! rendered without Helm's hazards — credentials only from the secret store,
//! a hardened Redis, no random annotations.
//!
//! [`Enterprise::variables`] is the one list of what the gateway's
//! environment gets; the ConfigMap, the ExternalSecret, the clash check and
//! the docs all follow it.

use crate::values::{Problem, is_cidr};
use serde::{Deserialize, Serialize};

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
    pub resources: crate::spec::Resources,
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
    pub fn data_service_resources() -> crate::spec::Resources {
        crate::spec::Resources::sized(("250m", "512Mi"), ("1", "1Gi"))
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

impl Enterprise {
    /// The cache's store name: `redis` (built-in) or the cloud's managed one.
    pub fn cache_store(&self) -> &'static str {
        match (&self.cache.managed, self.cloud) {
            (None, _) => "redis",
            (Some(_), Cloud::Gke) => "memory-store",
            (Some(_), Cloud::Eks) => "aws-elastic-cache",
            (Some(_), Cloud::Aks | Cloud::Aca) => "azure-redis",
        }
    }

    /// Every variable the enterprise options give the gateway; `name` is the
    /// service's name, which the built-in Redis and the Data Service are named after.
    pub fn variables(&self, name: &str) -> Vec<EnvSetting> {
        let mut v = EnvSettings::default();
        v.literal("SERVICE_NAME", "/serviceName", &self.service_name);
        v.literal("ANALYTICS_STORE", "/analyticsStore", &self.analytics_store);
        v.secret(
            "PORTKEY_CLIENT_AUTH",
            "/clientAuthKey",
            &self.client_auth_key,
        );
        v.secret(
            "ORGANISATIONS_TO_SYNC",
            "/organisationsKey",
            &self.organisations_key,
        );
        self.control_plane_variables(&mut v);
        self.server_mode_variables(&mut v);
        if self.data_service.is_some() {
            let url = format!("http://{name}-dataservice:{DATA_SERVICE_PORT}");
            v.literal("DATASERVICE_BASEPATH", "/dataService", &url);
        }
        self.cache_variables(name, &mut v);
        if let Some(ls) = &self.log_store {
            log_store_variables(ls, &mut v);
        }
        self.azure_identity_variables(&mut v);
        v.0
    }

    /// Where the Data Service reaches the control plane (`ALBUS_ENDPOINT`):
    /// the private link's albus path, else Portkey's public one (as the chart derives it).
    pub fn albus_endpoint(&self) -> String {
        match &self.control_plane {
            Some(cp) => format!("{}/albus", cp.private_link.trim_end_matches('/')),
            None => "https://albus.portkey.ai".into(),
        }
    }

    /// A private link moves every control-plane URL to it.
    fn control_plane_variables(&self, v: &mut EnvSettings) {
        let Some(cp) = &self.control_plane else {
            return;
        };
        let base = cp.private_link.trim_end_matches('/');
        for (name, path) in [
            ("ALBUS_BASEPATH", "/albus"),
            ("CONTROL_PLANE_BASEPATH", "/api/v1"),
            ("SOURCE_SYNC_API_BASEPATH", "/api/v1/sync"),
            ("CONFIG_READER_PATH", "/api/model-configs"),
        ] {
            v.literal(name, "/controlPlane/privateLink", &format!("{base}{path}"));
        }
    }

    /// Whether logs go to Azure Blob with a managed identity (tokens from IMDS).
    pub fn managed_blob_logs(&self) -> bool {
        self.log_store
            .as_ref()
            .and_then(|ls| ls.azure.as_ref())
            .is_some_and(|a| a.auth == "managed")
    }

    /// `MCP_PORT`: the MCP gateway's port, configured or the default.
    pub fn mcp_port(&self) -> u16 {
        self.mcp
            .as_ref()
            .map_or_else(defaults::mcp_port, |m| m.port)
    }

    /// Managed identity reads tokens from IMDS; naming the client ID picks
    /// this identity instead of whichever the node has (the kubelet's).
    fn azure_identity_variables(&self, v: &mut EnvSettings) {
        if let (true, Some(id), Cloud::Aks) = (
            self.managed_blob_logs(),
            &self.identity.azure_client_id,
            self.cloud,
        ) {
            v.literal("AZURE_MANAGED_CLIENT_ID", "/identity/azureClientId", id);
        }
    }

    fn server_mode_variables(&self, v: &mut EnvSettings) {
        let mode = match self.server_mode {
            ServerMode::Gateway => return,
            ServerMode::Mcp => "mcp",
            ServerMode::All => "all",
        };
        let mcp = self.mcp.clone().unwrap_or_default();
        v.literal("SERVER_MODE", "/serverMode", mode);
        v.literal("MCP_PORT", "/mcp/port", &mcp.port.to_string());
        if let Some(url) = &mcp.base_url {
            v.literal("MCP_GATEWAY_BASE_URL", "/mcp/baseUrl", url);
        }
    }

    fn cache_variables(&self, name: &str, v: &mut EnvSettings) {
        v.literal("CACHE_STORE", "/cache", self.cache_store());
        let Some(m) = &self.cache.managed else {
            v.literal(
                "REDIS_URL",
                "/cache",
                &format!("redis://{name}-redis:{REDIS_PORT}"),
            );
            v.literal("REDIS_TLS_ENABLED", "/cache", "false");
            return;
        };
        v.literal("REDIS_URL", "/cache/managed/url", &m.url);
        v.literal(
            "REDIS_TLS_ENABLED",
            "/cache/managed/tls",
            &m.tls.to_string(),
        );
        if m.ca_key.is_some() {
            v.literal("REDIS_TLS_CERTS", "/cache/managed/caKey", CA_PATH);
        }
        if m.cluster {
            v.literal("REDIS_MODE", "/cache/managed/cluster", "cluster");
        }
        if m.workload_auth {
            v.literal(
                "GCP_REDIS_AUTH_MODE",
                "/cache/managed/workloadAuth",
                "workload",
            );
        }
        if let Some(key) = &m.password_key {
            v.secret("REDIS_PASSWORD", "/cache/managed/passwordKey", key);
        }
        // Azure's Redis client needs its auth mode named (chart docs/Redis.md).
        if self.cloud == Cloud::Aks {
            let (mode, at) = match &m.password_key {
                Some(_) => ("password", "/cache/managed/passwordKey"),
                None => ("workload", "/identity/azureClientId"),
            };
            v.literal("AZURE_REDIS_AUTH_MODE", at, mode);
        }
    }

    /// The first bad option or combination, at its JSON pointer.
    pub(crate) fn problem(&self) -> Option<Problem> {
        self.aca_problem()
            .or_else(|| self.identity_problem())
            .or_else(|| self.required_problem())
            .or_else(|| self.log_store_problem())
            .or_else(|| self.mcp_problem())
            .or_else(|| self.expose_problem())
            .or_else(|| self.data_service_problem())
            .or_else(|| self.cache_problem())
    }

    /// ACA settings only for cloud `aca`, and theirs checked.
    fn aca_problem(&self) -> Option<Problem> {
        match (self.cloud, &self.aca) {
            (Cloud::Aca, None) => Some(Problem::new(
                "/enterprise/aca",
                "cloud `aca` needs the `aca` settings (region, resourceGroup, keyVault)",
            )),
            (Cloud::Aca, Some(a)) => a
                .problem(self.pull_secret.is_some())
                .or_else(|| self.aca_unsupported_problem()),
            (_, Some(_)) => Some(Problem::new(
                "/enterprise/aca",
                "`aca` settings are for cloud `aca`",
            )),
            (_, None) => None,
        }
    }

    /// What the module does itself (identity, ingress) or does not have (Data
    /// Service, other clouds' log stores, IAM auth to the cache).
    fn aca_unsupported_problem(&self) -> Option<Problem> {
        let fail = |p: &str, m: &str| Some(Problem::new(format!("/enterprise{p}"), m.to_string()));
        let id = &self.identity;
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
        if self.expose.is_some() {
            return fail("/expose", "Container Apps are exposed by aca.ingress");
        }
        if self.data_service.is_some() {
            return fail(
                "/dataService",
                "the module does not run the Data Service on Container Apps",
            );
        }
        if let Some(ls) = &self.log_store {
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
        if let Some(m) = &self.cache.managed
            && (m.workload_auth || m.ca_key.is_some())
        {
            return fail(
                "/cache/managed",
                "Azure Cache for Redis on Container Apps takes a URL, tls, cluster and passwordKey only",
            );
        }
        None
    }

    /// Identities belong to their cloud, and each is well formed.
    fn identity_problem(&self) -> Option<Problem> {
        let cloud = self.cloud.as_str();
        let fail = |p: &str, m: String| Some(Problem::new(format!("/enterprise{p}"), m));
        let id = &self.identity;
        for (field, set, only) in [
            ("awsRoleArn", id.aws_role_arn.is_some(), Cloud::Eks),
            ("awsPodIdentity", id.aws_pod_identity, Cloud::Eks),
            (
                "gcpServiceAccount",
                id.gcp_service_account.is_some(),
                Cloud::Gke,
            ),
            ("azureClientId", id.azure_client_id.is_some(), Cloud::Aks),
        ] {
            if set && self.cloud != only {
                return fail(
                    &format!("/identity/{field}"),
                    format!(
                        "`{field}` is an identity of {}, not of {cloud}",
                        only.as_str()
                    ),
                );
            }
        }
        if id.aws_role_arn.is_some() && id.aws_pod_identity {
            return fail(
                "/identity",
                "give either awsRoleArn (IRSA) or awsPodIdentity, not both".into(),
            );
        }
        if let Some(arn) = &id.aws_role_arn
            && !(arn.starts_with("arn:aws") && arn.contains(":iam::") && arn.contains(":role/"))
        {
            return fail(
                "/identity/awsRoleArn",
                format!("`{arn}` is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)"),
            );
        }
        if let Some(gsa) = &id.gcp_service_account
            && (!gsa.ends_with(".iam.gserviceaccount.com") || !gsa.contains('@'))
        {
            return fail(
                "/identity/gcpServiceAccount",
                format!(
                    "`{gsa}` is not a Google service account (<name>@<project>.iam.gserviceaccount.com)"
                ),
            );
        }
        if let Some(client) = &id.azure_client_id
            && !crate::values::is_uuid(client)
        {
            return fail(
                "/identity/azureClientId",
                format!("`{client}` is not a client ID (a UUID)"),
            );
        }
        None
    }

    /// Names and store keys that must not be empty, and the registry and control-plane URLs.
    fn required_problem(&self) -> Option<Problem> {
        let fail = |p: &str, m: String| Some(Problem::new(format!("/enterprise{p}"), m));
        for (field, value) in [
            ("serviceName", &self.service_name),
            ("analyticsStore", &self.analytics_store),
            ("clientAuthKey", &self.client_auth_key),
            ("organisationsKey", &self.organisations_key),
        ] {
            if value.trim().is_empty() {
                return fail(&format!("/{field}"), "must not be empty".into());
            }
        }
        if let Some(p) = &self.pull_secret
            && !p.registry.starts_with("https://")
            && p.registry.contains("://")
        {
            return fail(
                "/pullSecret/registry",
                format!("`{}` is not a registry host or https URL", p.registry),
            );
        }
        if let Some(cp) = &self.control_plane
            && !cp.private_link.starts_with("https://")
        {
            return fail(
                "/controlPlane/privateLink",
                format!("`{}` must be an https:// URL", cp.private_link),
            );
        }
        None
    }

    /// Exactly one log store, reachable with this cloud's identity.
    fn log_store_problem(&self) -> Option<Problem> {
        let cloud = self.cloud.as_str();
        let fail = |p: &str, m: String| Some(Problem::new(format!("/enterprise{p}"), m));
        let id = &self.identity;
        if let Some(ls) = &self.log_store {
            let given = [ls.s3.is_some(), ls.gcs.is_some(), ls.azure.is_some()]
                .iter()
                .filter(|g| **g)
                .count();
            if given != 1 {
                return fail(
                    "/logStore",
                    "give exactly one of `s3`, `gcs`, `azure`".into(),
                );
            }
            if ls.s3.is_some() && self.cloud != Cloud::Eks {
                return fail(
                    "/logStore/s3",
                    format!("S3 through the pods' AWS identity needs eks, not {cloud}"),
                );
            }
            if ls.s3.is_some() && id.aws_role_arn.is_none() && !id.aws_pod_identity {
                return fail(
                    "/logStore/s3",
                    "s3_assume needs identity.awsRoleArn (IRSA) or identity.awsPodIdentity".into(),
                );
            }
            if let Some(g) = &ls.gcs {
                return self.gcs_problem(g);
            }
            if let Some(a) = &ls.azure {
                return self.azure_problem(a);
            }
        }
        None
    }

    /// GCS by Workload Identity (GKE) or HMAC keys.
    fn gcs_problem(&self, g: &GcsBucket) -> Option<Problem> {
        let cloud = self.cloud.as_str();
        let fail = |p: &str, m: String| Some(Problem::new(format!("/enterprise{p}"), m));
        let id = &self.identity;
        match g.auth.as_str() {
            "workload" if self.cloud != Cloud::Gke => {
                return fail(
                    "/logStore/gcs/auth",
                    format!("Workload Identity to GCS needs gke, not {cloud}; use `hmac`"),
                );
            }
            "workload" if id.gcp_service_account.is_none() => {
                return fail(
                    "/logStore/gcs/auth",
                    "Workload Identity needs identity.gcpServiceAccount".into(),
                );
            }
            "workload" if g.access_key_key.is_some() || g.secret_key_key.is_some() => {
                return fail("/logStore/gcs", "HMAC keys are for auth `hmac`".into());
            }
            "hmac" if g.access_key_key.is_none() || g.secret_key_key.is_none() => {
                return fail(
                    "/logStore/gcs",
                    "auth `hmac` needs accessKeyKey and secretKeyKey (store keys)".into(),
                );
            }
            "workload" | "hmac" => {}
            other => {
                return fail(
                    "/logStore/gcs/auth",
                    format!("`{other}` is not `workload` or `hmac`"),
                );
            }
        }
        None
    }

    /// Azure Blob by managed identity (workload identity on AKS) or Entra ID.
    fn azure_problem(&self, a: &AzureContainer) -> Option<Problem> {
        let cloud = self.cloud.as_str();
        let fail = |p: &str, m: String| Some(Problem::new(format!("/enterprise{p}"), m));
        let id = &self.identity;
        if !matches!(a.auth.as_str(), "managed" | "entra") {
            return fail(
                "/logStore/azure/auth",
                format!("`{}` is not `managed` or `entra`", a.auth),
            );
        }
        if self.cloud != Cloud::Aks && self.cloud != Cloud::Aca {
            return fail(
                "/logStore/azure",
                format!("Azure Blob through the pods' identity needs aks, not {cloud}"),
            );
        }
        let entra = [&a.entra_client_id, &a.entra_tenant_id, &a.entra_secret_key];
        if a.auth == "entra" && entra.iter().any(|f| f.is_none()) {
            return fail(
                "/logStore/azure",
                "auth `entra` needs entraClientId, entraTenantId and entraSecretKey (a store key)"
                    .into(),
            );
        }
        if a.auth == "managed" && entra.iter().any(|f| f.is_some()) {
            return fail(
                "/logStore/azure",
                "the entra* fields are for auth `entra`".into(),
            );
        }
        if a.auth == "managed" && id.azure_client_id.is_none() && self.cloud == Cloud::Aks {
            return fail(
                    "/logStore/azure",
                    "Azure Blob with a managed identity needs identity.azureClientId (workload identity)".into(),
                );
        }
        None
    }

    /// MCP options fit the server mode.
    fn mcp_problem(&self) -> Option<Problem> {
        let fail = |p: &str, m: String| Some(Problem::new(format!("/enterprise{p}"), m));
        match (&self.mcp, self.server_mode) {
            (Some(_), ServerMode::Gateway) => return fail("/mcp", "MCP options need serverMode `mcp` or `all`".into()),
            (None, ServerMode::All) => return fail("/mcp/host", "serverMode `all` needs two host names: route.hosts for the AI gateway and mcp.host for MCP".into()),
            (Some(m), mode) => {
                if mode == ServerMode::All && m.host.is_none() {
                    return fail("/mcp/host", "serverMode `all` needs two host names: route.hosts for the AI gateway and mcp.host for MCP".into());
                }
                if m.port == 0 {
                    return fail("/mcp/port", "must be 1-65535".into());
                }
                if let Some(url) = &m.base_url {
                    if !(url.starts_with("https://") || url.starts_with("http://")) {
                        return fail("/mcp/baseUrl", format!("`{url}` is not an http(s) URL"));
                    }
                    if url.starts_with("https://") && self.expose.as_ref().is_some_and(|x| !x.has_https_listener()) {
                        return fail("/mcp/baseUrl", format!("`{url}` is https, but the load balancer kiln renders has no HTTPS listener; give expose.ingress.certificateArn (eks), or use http://"));
                    }
                }
            }
            (None, _) => {}
        }
        None
    }

    /// One way in, with source ranges the cloud can enforce.
    fn expose_problem(&self) -> Option<Problem> {
        let fail = |p: &str, m: String| Some(Problem::new(format!("/enterprise{p}"), m));
        if let Some(x) = &self.expose {
            if x.ingress.is_some() == x.load_balancer.is_some() {
                return fail(
                    "/expose",
                    "give exactly one of `ingress`, `loadBalancer`".into(),
                );
            }
            if x.ingress
                .as_ref()
                .is_some_and(|i| !i.source_ranges.is_empty())
                && self.cloud == Cloud::Gke
            {
                return fail("/expose/ingress/sourceRanges", "GCE Ingress has no source-range setting; restrict clients with a Cloud Armor policy, or use loadBalancer".into());
            }
            if let Some(arn) = x.ingress.as_ref().and_then(|i| i.certificate_arn.as_ref()) {
                if self.cloud != Cloud::Eks {
                    return fail(
                        "/expose/ingress/certificateArn",
                        format!(
                            "an ACM certificate is for eks's ALB, not {}",
                            self.cloud.as_str()
                        ),
                    );
                }
                if !(arn.starts_with("arn:aws")
                    && arn.contains(":acm:")
                    && arn.contains(":certificate/"))
                {
                    return fail(
                        "/expose/ingress/certificateArn",
                        format!(
                            "`{arn}` is not an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)"
                        ),
                    );
                }
            }
            let ranges = x
                .ingress
                .as_ref()
                .map(|i| &i.source_ranges)
                .or(x.load_balancer.as_ref().map(|l| &l.source_ranges));
            for (i, cidr) in ranges.into_iter().flatten().enumerate() {
                if !is_cidr(cidr) {
                    let field = if x.ingress.is_some() {
                        "ingress"
                    } else {
                        "loadBalancer"
                    };
                    return fail(
                        &format!("/expose/{field}/sourceRanges/{i}"),
                        format!("`{cidr}` is not an IPv4 CIDR like 10.0.0.0/8"),
                    );
                }
            }
        }
        None
    }

    /// The Data Service is pinned and runs at least once.
    fn data_service_problem(&self) -> Option<Problem> {
        let fail = |p: &str, m: String| Some(Problem::new(format!("/enterprise{p}"), m));
        if let Some(ds) = &self.data_service {
            match crate::image::ImageRef::parse(&ds.image).tag {
                None | Some("latest") => {
                    return fail(
                        "/dataService/image",
                        format!("`{}` must be pinned to a version tag", ds.image),
                    );
                }
                Some(_) => {}
            }
            if ds.replicas < 1 {
                return fail("/dataService/replicas", "must be 1 or more".into());
            }
        }
        None
    }

    /// A managed cache URL, TLS and auth that work together.
    fn cache_problem(&self) -> Option<Problem> {
        let fail = |p: &str, m: String| Some(Problem::new(format!("/enterprise{p}"), m));
        let id = &self.identity;
        if let Some(m) = &self.cache.managed {
            let scheme_ok = m.url.starts_with("redis://") || m.url.starts_with("rediss://");
            if !scheme_ok || redis_port(&m.url).is_none() {
                return fail(
                    "/cache/managed/url",
                    format!("`{}` is not redis://host:port", m.url),
                );
            }
            if m.url.starts_with("rediss://") && !m.tls {
                return fail(
                    "/cache/managed/tls",
                    "a rediss:// URL needs tls: true".into(),
                );
            }
            if m.tls && m.ca_key.is_none() && self.cloud == Cloud::Gke {
                return fail("/cache/managed/caKey", "TLS to Memorystore needs its server CA (a store key): the certificate is self-signed".into());
            }
            if m.ca_key.is_some() && !m.tls {
                return fail(
                    "/cache/managed/caKey",
                    "a CA certificate without tls: true would never be used".into(),
                );
            }
            if m.workload_auth && (self.cloud != Cloud::Gke || id.gcp_service_account.is_none()) {
                return fail(
                    "/cache/managed/workloadAuth",
                    "IAM auth to Memorystore needs gke and identity.gcpServiceAccount".into(),
                );
            }
            if self.cloud == Cloud::Aks && m.password_key.is_none() && id.azure_client_id.is_none()
            {
                return fail(
                    "/cache/managed",
                    "Azure Redis needs passwordKey (an access key) or identity.azureClientId (Entra ID through workload identity)".into(),
                );
            }
            if m.workload_auth && m.password_key.is_some() {
                return fail(
                    "/cache/managed/passwordKey",
                    "give either workloadAuth or a password, not both".into(),
                );
            }
        }
        None
    }
}

/// Variables as they are collected, each with the field that sets it.
#[derive(Default)]
struct EnvSettings(Vec<EnvSetting>);

impl EnvSettings {
    fn literal(&mut self, name: &'static str, at: &str, value: &str) {
        self.push(name, at, Value::Literal(value.to_string()));
    }

    fn secret(&mut self, name: &'static str, at: &str, store_key: &str) {
        self.push(name, at, Value::Secret(store_key.to_string()));
    }

    fn push(&mut self, name: &'static str, at: &str, value: Value) {
        self.0.push(EnvSetting {
            name,
            at: format!("/enterprise{at}"),
            value,
        });
    }
}

/// Where logs go: S3, GCS or Azure Blob, and the file path format.
fn log_store_variables(ls: &LogStore, v: &mut EnvSettings) {
    if let Some(s3) = &ls.s3 {
        v.literal("LOG_STORE", "/logStore/s3", "s3_assume");
        v.literal("LOG_STORE_REGION", "/logStore/s3/region", &s3.region);
        v.literal(
            "LOG_STORE_GENERATIONS_BUCKET",
            "/logStore/s3/bucket",
            &s3.bucket,
        );
    }
    if let Some(g) = &ls.gcs {
        let workload = g.auth == "workload";
        let store = if workload { "gcs_assume" } else { "gcs" };
        v.literal("LOG_STORE", "/logStore/gcs/auth", store);
        if workload {
            v.literal("GCP_AUTH_MODE", "/logStore/gcs/auth", "workload");
        }
        v.literal("LOG_STORE_REGION", "/logStore/gcs/region", &g.region);
        v.literal(
            "LOG_STORE_GENERATIONS_BUCKET",
            "/logStore/gcs/bucket",
            &g.bucket,
        );
        if let Some(k) = &g.access_key_key {
            v.secret("LOG_STORE_ACCESS_KEY", "/logStore/gcs/accessKeyKey", k);
        }
        if let Some(k) = &g.secret_key_key {
            v.secret("LOG_STORE_SECRET_KEY", "/logStore/gcs/secretKeyKey", k);
        }
    }
    if let Some(a) = &ls.azure {
        v.literal("LOG_STORE", "/logStore/azure", "azure");
        v.literal(
            "AZURE_STORAGE_ACCOUNT",
            "/logStore/azure/account",
            &a.account,
        );
        v.literal(
            "AZURE_STORAGE_CONTAINER",
            "/logStore/azure/container",
            &a.container,
        );
        v.literal("AZURE_AUTH_MODE", "/logStore/azure/auth", &a.auth);
    }
    if let Some(f) = &ls.path_format {
        v.literal("LOG_STORE_FILE_PATH_FORMAT", "/logStore/pathFormat", f);
    }
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
