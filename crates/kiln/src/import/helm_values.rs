//! Portkey's chart values as `kiln import helm` reads them: each value the
//! import takes, where it goes, and what to do about the ones it does not.

use super::Found;
use serde_json::{Value, json};
use std::cell::RefCell;
use std::collections::BTreeSet;

/// The store key kiln proposes for a credential it finds, by variable.
pub(super) fn store_key(variable: &str) -> Option<&'static str> {
    Some(match variable {
        "PORTKEY_CLIENT_AUTH" => "portkey-client-auth",
        "ORGANISATIONS_TO_SYNC" => "portkey-organisations-to-sync",
        "REDIS_PASSWORD" => "portkey-redis-password",
        "LOG_STORE_ACCESS_KEY" => "portkey-log-store-access-key",
        "LOG_STORE_SECRET_KEY" => "portkey-log-store-secret-key",
        "REDIS_TLS_CERTS" => "portkey-redis-server-ca",
        _ => return None,
    })
}

/// The values, and which of their leaves the import used.
pub(super) struct Chart {
    doc: Value,
    used: RefCell<BTreeSet<String>>,
}

impl Chart {
    pub(super) fn new(doc: Value) -> Chart {
        Chart {
            doc,
            used: RefCell::default(),
        }
    }

    /// The value at `pointer`, marked as used.
    fn get(&self, pointer: &str) -> Option<&Value> {
        let v = self.doc.pointer(pointer).filter(|v| !v.is_null())?;
        self.used.borrow_mut().insert(pointer.to_string());
        Some(v)
    }

    fn text(&self, pointer: &str) -> Option<String> {
        self.get(pointer).map(super::text_of)
    }

    fn env(&self, name: &str) -> Option<String> {
        self.text(&kiln_model::pointer::join("/environment/data", name))
    }

    pub(super) fn recognise(&self, base: Value) -> std::result::Result<Found, String> {
        let mut found = Found {
            keeps_strategies: true,
            ..Found::default()
        };
        found.description = base.as_object().cloned().unwrap_or_default();
        // Some of Portkey's install guides write these at the top level, where
        // the chart never reads them: the release runs the chart's default images.
        for key in ["gatewayImage", "dataserviceImage", "redisImage"] {
            if self.doc.get(key).is_some() {
                return Err(format!(
                    "`{key}` at the top level is not read by Portkey's chart, which reads `images.{key}` (a release with these values runs the chart's default image): move it under `images:`"
                ));
            }
        }
        self.image(&mut found)?;
        for (at, to) in [("/replicaCount", "/replicas"), ("/service/port", "/port")] {
            if let Some(v) = self.get(at) {
                found.take(to, v.clone(), at.into());
            }
        }
        for kind in ["requests", "limits"] {
            for field in ["cpu", "memory"] {
                let at = format!("/resources/{kind}/{field}");
                if let Some(v) = self.text(&at) {
                    found.take(&at, json!(v), at.clone());
                }
            }
        }
        let cloud = self.cloud()?;
        found.take(
            "/enterprise",
            json!({ "cloud": cloud }),
            "(inferred from the values)".into(),
        );
        self.identity(&mut found);
        self.registry(&mut found);
        self.variables(&mut found);
        self.cache(&mut found);
        self.log_store(&mut found)?;
        self.control_plane(&mut found);
        self.mcp(&mut found);
        self.expose(&mut found);
        self.data_service(&mut found);
        // Every variable is compared with kiln's below: equal, or a listed difference.
        self.used.borrow_mut().insert("/environment".into());
        for leaf in leaves(&self.doc, String::new()) {
            let used = self.used.borrow();
            if !used
                .iter()
                .any(|u| leaf == *u || leaf.starts_with(&format!("{u}/")))
            {
                let advice = ADVICE
                    .iter()
                    .find(|(prefix, _)| leaf.starts_with(prefix))
                    .map_or("kiln does not model this chart value: set it with an overlay's `config` or resource changes, or drop it", |(_, a)| a);
                found.leave(leaf, advice);
            }
        }
        Ok(found)
    }

    fn image(&self, found: &mut Found) -> std::result::Result<(), String> {
        for (field, to) in [
            ("repository", "/image/repository"),
            ("pullPolicy", "/image/pullPolicy"),
        ] {
            let at = format!("/images/gatewayImage/{field}");
            if let Some(v) = self.get(&at) {
                found.take(to, v.clone(), at);
            }
        }
        match self.text("/images/gatewayImage/tag").as_deref() {
            None | Some("latest") | Some("") => Err(
                "`images.gatewayImage.tag` must be a version (kiln pins the image and labels the pods with it), not `latest` or empty: set the version you run".into(),
            ),
            Some(tag) => {
                found.take("/image/tag", json!(tag), "/images/gatewayImage/tag".into());
                Ok(())
            }
        }
    }

    /// The cloud, from the identity annotation or the stores the values name.
    fn cloud(&self) -> std::result::Result<&'static str, String> {
        let doc = &self.doc;
        let annotations = &doc["serviceAccount"]["annotations"];
        let store = doc["environment"]["data"]["LOG_STORE"]
            .as_str()
            .unwrap_or_default();
        let cache = doc["environment"]["data"]["CACHE_STORE"]
            .as_str()
            .unwrap_or_default();
        let clues = [
            (
                "gke",
                annotations.get("iam.gke.io/gcp-service-account").is_some()
                    || store.starts_with("gcs")
                    || cache == "memory-store",
            ),
            (
                "eks",
                annotations.get("eks.amazonaws.com/role-arn").is_some()
                    || store.starts_with("s3")
                    || cache == "aws-elastic-cache",
            ),
            (
                "aks",
                annotations
                    .get("azure.workload.identity/client-id")
                    .is_some()
                    || store == "azure"
                    || cache == "azure-redis",
            ),
        ];
        let clouds: Vec<&str> = clues
            .iter()
            .filter(|(_, clue)| *clue)
            .map(|(c, _)| *c)
            .collect();
        match clouds[..] {
            [one] => Ok(one),
            _ => Err(format!(
                "cannot tell the cloud ({}): kiln needs one of a service-account identity annotation, LOG_STORE or CACHE_STORE that names GKE, EKS or AKS",
                if clouds.is_empty() {
                    "no clue".to_string()
                } else {
                    clouds.join(" and ")
                }
            )),
        }
    }

    fn identity(&self, found: &mut Found) {
        for (annotation, to) in [
            (
                "iam.gke.io/gcp-service-account",
                "/enterprise/identity/gcpServiceAccount",
            ),
            (
                "eks.amazonaws.com/role-arn",
                "/enterprise/identity/awsRoleArn",
            ),
            (
                "azure.workload.identity/client-id",
                "/enterprise/identity/azureClientId",
            ),
        ] {
            let at = kiln_model::pointer::join("/serviceAccount/annotations", annotation);
            if let Some(v) = self.get(&at) {
                found.take(to, v.clone(), at);
            }
        }
    }

    /// The registry credentials: the registry imported, the two values to the store.
    fn registry(&self, found: &mut Found) {
        if self.get("/imageCredentials/0/name").is_none() {
            return;
        }
        self.get("/imageCredentials/0/create");
        let mut pull = json!({ "usernameKey": "portkey-docker-username", "passwordKey": "portkey-docker-password" });
        if let Some(registry) = self.get("/imageCredentials/0/registry") {
            pull["registry"] = registry.clone();
        }
        for field in ["username", "password"] {
            if self.get(&format!("/imageCredentials/0/{field}")).is_some() {
                found.belongs_in_store(
                    &format!("/imageCredentials/0/{field}"),
                    &format!("portkey-docker-{field}"),
                );
            }
        }
        found.take("/enterprise/pullSecret", pull, "/imageCredentials/0".into());
    }

    /// Plain settings and credentials of `environment.data`; the rest of
    /// the variables go to their own parts or, unknown, into `config`.
    fn variables(&self, found: &mut Found) {
        for (name, to) in [
            ("SERVICE_NAME", "/enterprise/serviceName"),
            ("ANALYTICS_STORE", "/enterprise/analyticsStore"),
        ] {
            if let Some(v) = self.env(name) {
                found.take(to, json!(v), format!("/environment/data/{name}"));
            }
        }
        for (name, to) in [
            ("PORTKEY_CLIENT_AUTH", "/enterprise/clientAuthKey"),
            ("ORGANISATIONS_TO_SYNC", "/enterprise/organisationsKey"),
        ] {
            if let (Some(_), Some(key)) = (self.env(name), store_key(name)) {
                let at = format!("/environment/data/{name}");
                found.belongs_in_store(&at, key);
                found.take(to, json!(key), at);
            }
        }
        let data = self.doc["environment"]["data"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for (name, value) in data {
            if PLACED.contains(&name.as_str()) {
                continue;
            }
            let at = kiln_model::pointer::join("/environment/data", &name);
            let text = super::text_of(&value);
            if kiln_check::is_credential(&name, &text) {
                found.plain_secrets.push(format!("{at}: a credential kiln does not model; put it into the store and add it to `secrets.keys`"));
                found.leave(at, "a credential: not copied");
            } else {
                found.take(
                    &kiln_model::pointer::join("/config", &name),
                    json!(text),
                    at,
                );
            }
        }
    }

    fn cache(&self, found: &mut Found) {
        if let Some(image) = self.text("/images/redisImage/repository") {
            let tag = self.text("/images/redisImage/tag").unwrap_or_default();
            self.get("/images/redisImage/pullPolicy");
            found.take(
                "/enterprise/cache/redisImage",
                json!(format!("{image}:{tag}")),
                "/images/redisImage".into(),
            );
        }
        let managed = self.env("CACHE_STORE").is_some_and(|s| s != "redis");
        let Some(url) = self.env("REDIS_URL").filter(|_| managed) else {
            return;
        };
        let mut m = json!({ "url": url });
        m["tls"] = json!(self.env("REDIS_TLS_ENABLED").as_deref() == Some("true"));
        m["cluster"] = json!(self.env("REDIS_MODE").as_deref() == Some("cluster"));
        m["workloadAuth"] = json!(self.env("GCP_REDIS_AUTH_MODE").as_deref() == Some("workload"));
        if let (Some(_), Some(key)) = (self.env("REDIS_PASSWORD"), store_key("REDIS_PASSWORD")) {
            m["passwordKey"] = json!(key);
            found.belongs_in_store("/environment/data/REDIS_PASSWORD", key);
        }
        if let (Some(_), Some(key)) = (self.env("REDIS_TLS_CERTS"), store_key("REDIS_TLS_CERTS")) {
            // The chart mounts the CA from a Secret made by hand; kiln from the store.
            m["caKey"] = json!(key);
            self.get("/volumes");
            self.get("/volumeMounts");
            found.leave(
                "/volumes".into(),
                format!(
                    "the Redis CA certificate the chart mounts from a Secret made by hand: put the certificate into the secret store under `{key}`; kiln mounts it from there"
                ),
            );
        }
        found.take(
            "/enterprise/cache/managed",
            m,
            "/environment/data/REDIS_URL".into(),
        );
    }

    fn log_store(&self, found: &mut Found) -> std::result::Result<(), String> {
        let Some(store) = self.env("LOG_STORE") else {
            return Ok(());
        };
        let bucket = self.env("LOG_STORE_GENERATIONS_BUCKET").unwrap_or_default();
        let region = self.env("LOG_STORE_REGION").unwrap_or_default();
        let mut ls = match store.as_str() {
            "s3" | "s3_assume" => json!({ "s3": { "bucket": bucket, "region": region } }),
            "gcs" | "gcs_assume" => {
                let mut g = json!({ "bucket": bucket, "region": region, "auth": if store == "gcs" { "hmac" } else { "workload" } });
                for (name, field) in [
                    ("LOG_STORE_ACCESS_KEY", "accessKeyKey"),
                    ("LOG_STORE_SECRET_KEY", "secretKeyKey"),
                ] {
                    if let (Some(_), Some(key)) = (self.env(name), store_key(name)) {
                        g[field] = json!(key);
                        found.belongs_in_store(&format!("/environment/data/{name}"), key);
                    }
                }
                json!({ "gcs": g })
            }
            "azure" => json!({ "azure": {
                "account": self.env("AZURE_STORAGE_ACCOUNT").unwrap_or_default(),
                "container": self.env("AZURE_STORAGE_CONTAINER").unwrap_or_default(),
                "auth": self.env("AZURE_AUTH_MODE").unwrap_or_else(|| "managed".into()),
            } }),
            other => {
                return Err(format!(
                    "`environment.data.LOG_STORE: {other}` is not a log store kiln knows (s3, s3_assume, gcs, gcs_assume, azure)"
                ));
            }
        };
        if let Some(format) = self.env("LOG_STORE_FILE_PATH_FORMAT") {
            ls["pathFormat"] = json!(format);
        }
        found.take(
            "/enterprise/logStore",
            ls,
            "/environment/data/LOG_STORE".into(),
        );
        Ok(())
    }

    /// A private link: the albus path's base (kiln derives the other URLs).
    fn control_plane(&self, found: &mut Found) {
        if let Some(albus) = self.env("ALBUS_BASEPATH") {
            let link = albus.trim_end_matches('/').trim_end_matches("/albus");
            found.take(
                "/enterprise/controlPlane",
                json!({ "privateLink": link }),
                "/environment/data/ALBUS_BASEPATH".into(),
            );
        }
    }

    fn mcp(&self, found: &mut Found) {
        let Some(mode) = self.env("SERVER_MODE").filter(|m| !m.is_empty()) else {
            return;
        };
        found.take(
            "/enterprise/serverMode",
            json!(mode),
            "/environment/data/SERVER_MODE".into(),
        );
        let mut mcp = json!({});
        if let Some(port) = self.env("MCP_PORT").and_then(|p| p.parse::<u16>().ok()) {
            mcp["port"] = json!(port);
        }
        if let Some(url) = self.env("MCP_GATEWAY_BASE_URL") {
            mcp["baseUrl"] = json!(url);
        }
        if let Some(host) = self.text("/ingress/mcpHostname") {
            mcp["host"] = json!(host);
        }
        found.take("/enterprise/mcp", mcp, "/environment/data/MCP_PORT".into());
    }

    /// An Ingress, or a LoadBalancer Service; kiln writes each cloud's annotations itself.
    fn expose(&self, found: &mut Found) {
        if self.get("/ingress/enabled") == Some(&json!(true)) {
            let mut ingress = json!({});
            let class = self
                .text("/ingress/annotations/kubernetes.io~1ingress.class")
                .or_else(|| self.text("/ingress/ingressClassName"));
            // The clouds' own classes are what kiln picks from `internal`.
            match class.as_deref() {
                None | Some("gce" | "alb" | "nginx-static") => {}
                Some("gce-internal" | "nginx-internal") => ingress["internal"] = json!(true),
                Some(other) => ingress["className"] = json!(other),
            }
            let alb = "/ingress/annotations/alb.ingress.kubernetes.io~1";
            if self.text(&format!("{alb}scheme")).as_deref() == Some("internal") {
                ingress["internal"] = json!(true);
            }
            if let Some(arn) = self.text(&format!("{alb}certificate-arn")) {
                ingress["certificateArn"] = json!(arn);
            }
            if let Some(ranges) = self.text(&format!("{alb}inbound-cidrs")) {
                ingress["sourceRanges"] =
                    json!(ranges.split(',').map(str::trim).collect::<Vec<_>>());
            }
            if let Some(host) = self.text("/ingress/hostname") {
                found.take("/route/hosts", json!([host]), "/ingress/hostname".into());
            }
            self.get("/ingress/hostBased");
            found.take(
                "/enterprise/expose",
                json!({ "ingress": ingress }),
                "/ingress".into(),
            );
        } else if self.text("/service/type").as_deref() == Some("LoadBalancer") {
            let annotations = self.doc["service"]["annotations"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            let mut internal = false;
            for (name, value) in annotations
                .iter()
                .filter(|(n, _)| n.contains("internal") || n.ends_with("load-balancer-type"))
            {
                if value
                    .as_str()
                    .is_some_and(|v| v.eq_ignore_ascii_case("internal") || v == "true")
                {
                    internal = true;
                    self.get(&kiln_model::pointer::join("/service/annotations", name));
                }
            }
            let mut lb = json!({ "internal": internal });
            if let Some(ranges) = self.text("/service/annotations/spec.loadBalancerSourceRanges") {
                lb["sourceRanges"] = json!(ranges.split(',').map(str::trim).collect::<Vec<_>>());
            }
            found.take(
                "/enterprise/expose",
                json!({ "loadBalancer": lb }),
                "/service".into(),
            );
        }
        self.get("/service/type");
    }

    fn data_service(&self, found: &mut Found) {
        if self.get("/dataservice/enabled") != Some(&json!(true)) {
            return;
        }
        let mut ds = json!({});
        if let (Some(repo), Some(tag)) = (
            self.text("/images/dataserviceImage/repository"),
            self.text("/images/dataserviceImage/tag"),
        ) {
            ds["image"] = json!(format!("{repo}:{tag}"));
        }
        self.get("/images/dataserviceImage/pullPolicy");
        if let Some(name) = self.text("/dataservice/env/SERVICE_NAME") {
            ds["serviceName"] = json!(name);
        }
        if let Some(debug) = self.get("/dataservice/env/DEBUG_ENABLED") {
            ds["debug"] = json!(debug == &json!(true) || debug == "true");
        }
        self.get("/dataservice/name");
        found.take("/enterprise/dataService", ds, "/dataservice".into());
    }
}

/// What to do about chart values kiln does not take, by where they are.
const ADVICE: [(&str, &str); 4] = [
    (
        "/serviceAccount/",
        "kiln renders the ServiceAccount itself, named after the service, without the API token (cloud identity tokens are projected by the cloud's webhook or served by the metadata server)",
    ),
    (
        "/dataservice/serviceAccount/",
        "the Data Service uses the gateway's ServiceAccount in kiln",
    ),
    (
        "/ingress/annotations/",
        "kiln writes each cloud's load-balancer annotations itself (health check on the health path, scheme, target type); add others with an overlay's resource changes",
    ),
    (
        "/service/annotations/",
        "kiln writes each cloud's load-balancer annotations itself; add others with an overlay's resource changes",
    ),
];

/// Variables the import places in the description, or that kiln derives
/// from it (compared, not imported); any other plain one goes into `config`.
const PLACED: [&str; 31] = [
    "SERVICE_NAME",
    "ANALYTICS_STORE",
    "PORTKEY_CLIENT_AUTH",
    "ORGANISATIONS_TO_SYNC",
    "REDIS_URL",
    "REDIS_TLS_ENABLED",
    "REDIS_MODE",
    "GCP_REDIS_AUTH_MODE",
    "REDIS_PASSWORD",
    "REDIS_TLS_CERTS",
    "LOG_STORE_GENERATIONS_BUCKET",
    "LOG_STORE_REGION",
    "LOG_STORE_ACCESS_KEY",
    "LOG_STORE_SECRET_KEY",
    "LOG_STORE_FILE_PATH_FORMAT",
    "AZURE_STORAGE_ACCOUNT",
    "AZURE_STORAGE_CONTAINER",
    "AZURE_AUTH_MODE",
    "ALBUS_BASEPATH",
    "SERVER_MODE",
    "MCP_PORT",
    "MCP_GATEWAY_BASE_URL",
    "CACHE_STORE",
    "GCP_AUTH_MODE",
    "AZURE_REDIS_AUTH_MODE",
    "AZURE_MANAGED_CLIENT_ID",
    "CONTROL_PLANE_BASEPATH",
    "SOURCE_SYNC_API_BASEPATH",
    "CONFIG_READER_PATH",
    "DATASERVICE_BASEPATH",
    "LOG_STORE",
];

/// JSON pointers of the scalar leaves (and empty maps and lists) of `v`.
pub(super) fn leaves(v: &Value, at: String) -> Vec<String> {
    match v {
        Value::Object(m) if !m.is_empty() => m
            .iter()
            .flat_map(|(k, c)| leaves(c, kiln_model::pointer::join(&at, k)))
            .collect(),
        Value::Array(a) if !a.is_empty() => a
            .iter()
            .enumerate()
            .flat_map(|(i, c)| leaves(c, kiln_model::pointer::join(&at, i)))
            .collect(),
        _ => vec![at],
    }
}
