//! The options and combinations the enterprise gateway refuses, each at its
//! JSON pointer.

use super::{AzureContainer, Cloud, Enterprise, GcsBucket, ServerMode, redis_port};
use crate::values::{Problem, is_cidr};

impl Enterprise {
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
