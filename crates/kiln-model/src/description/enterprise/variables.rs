//! What the enterprise gateway's environment gets: [`Enterprise::variables`]
//! and the store's name for its cache.

use super::{
    CA_PATH, Cloud, DATA_SERVICE_PORT, Enterprise, EnvSetting, LogStore, REDIS_PORT, ServerMode,
    Value, defaults,
};

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
