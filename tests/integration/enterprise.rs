//! The enterprise gateway of Portkey's GKE, EKS and AKS Helm guides: each
//! option where the guide puts it, no secret value anywhere, every option
//! combination rendering clean under `kiln check`, and the bad combinations
//! refused.

use kiln_tests::item;
use serde_json::{Value, json};

fn docs(env: &str) -> Vec<Value> {
    crate::rendered(env)
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

fn config(docs: &[Value]) -> &Value {
    let gateway = find(docs, "Deployment", "portkey-gateway");
    let name =
        &gateway["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["configMapRef"]["name"];
    &docs
        .iter()
        .find(|d| d["kind"] == "ConfigMap" && d["metadata"]["name"] == *name)
        .expect("env ConfigMap")["data"]
}

fn env_of(deployment: &Value) -> &Value {
    &deployment["spec"]["template"]["spec"]["containers"][0]["env"]
}

/// The enterprise secret variable reads key `name` of the Secret that the
/// enterprise ExternalSecret makes (apart from the provider keys), required.
fn assert_from_store(docs: &[Value], var: &str, store_key: &str) {
    let gateway = find(docs, "Deployment", "portkey-gateway");
    let env = item(env_of(gateway), "name", &json!(var));
    let key_ref = &env["valueFrom"]["secretKeyRef"];
    assert_eq!(key_ref["name"], "portkey-gateway-enterprise", "{var}");
    assert_eq!(key_ref["optional"], false, "{var}");
    assert!(env.get("value").is_none(), "{var} has a literal value");
    let es = find(docs, "ExternalSecret", "portkey-gateway-enterprise");
    let data = item(&es["spec"]["data"], "secretKey", &json!(var));
    assert_eq!(data["remoteRef"]["key"], store_key, "{var}");
    assert!(config(docs).get(var).is_none(), "{var} is in the ConfigMap");
}

#[test]
fn every_cloud_gets_licence_registry_and_identity_from_the_store() {
    for (env, annotation, identity) in [
        (
            "eks",
            "eks.amazonaws.com/role-arn",
            "arn:aws:iam::123456789012:role/portkey-gateway",
        ),
        (
            "gke",
            "iam.gke.io/gcp-service-account",
            "portkey-gateway@peekoff-ai.iam.gserviceaccount.com",
        ),
        (
            "aks",
            "azure.workload.identity/client-id",
            "3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f",
        ),
    ] {
        let docs = docs(env);
        assert_from_store(&docs, "PORTKEY_CLIENT_AUTH", "portkey-client-auth");
        assert_from_store(
            &docs,
            "ORGANISATIONS_TO_SYNC",
            "portkey-organisations-to-sync",
        );
        let c = config(&docs);
        assert_eq!(c["ANALYTICS_STORE"], "control_plane", "{env}");
        assert_eq!(c["SERVICE_NAME"], format!("portkey-gateway-{env}"));
        assert_eq!(c["PORT"], "8787");
        // Registry credentials: a dockerconfigjson Secret assembled by External Secrets.
        let registry = find(&docs, "ExternalSecret", "portkey-gateway-registry");
        assert_eq!(
            registry["spec"]["target"]["template"]["type"],
            "kubernetes.io/dockerconfigjson"
        );
        let keys: Vec<&Value> = registry["spec"]["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|d| &d["remoteRef"]["key"])
            .collect();
        assert_eq!(
            keys,
            [
                &json!("portkey-docker-password"),
                &json!("portkey-docker-username")
            ]
        );
        let pod = &find(&docs, "Deployment", "portkey-gateway")["spec"]["template"]["spec"];
        assert_eq!(
            pod["imagePullSecrets"][0]["name"],
            "portkey-gateway-registry"
        );
        // The pods run as the ServiceAccount carrying the cloud identity, without an API token.
        assert_eq!(pod["serviceAccountName"], "portkey-gateway");
        assert_eq!(pod["automountServiceAccountToken"], false);
        let sa = find(&docs, "ServiceAccount", "portkey-gateway");
        assert_eq!(sa["metadata"]["annotations"][annotation], identity, "{env}");
        assert_eq!(sa["automountServiceAccountToken"], false);
        assert!(
            !docs.iter().any(|d| d["kind"] == "Secret"),
            "{env}: a Secret in Git"
        );
    }
}

#[test]
fn eks_runs_both_gateways_the_built_in_redis_and_the_data_service() {
    let docs = docs("eks");
    let c = config(&docs);
    for (k, v) in [
        ("LOG_STORE", "s3_assume"),
        ("LOG_STORE_REGION", "us-east-1"),
        ("LOG_STORE_GENERATIONS_BUCKET", "peekoff-portkey-logs"),
        ("CACHE_STORE", "redis"),
        ("REDIS_URL", "redis://portkey-gateway-redis:6379"),
        ("REDIS_TLS_ENABLED", "false"),
        ("SERVER_MODE", "all"),
        ("MCP_PORT", "8788"),
        ("MCP_GATEWAY_BASE_URL", "https://mcp.eks.peekoff.com"),
        ("ALBUS_BASEPATH", "https://aws-cp.portkey.ai/albus"),
        ("CONTROL_PLANE_BASEPATH", "https://aws-cp.portkey.ai/api/v1"),
        (
            "SOURCE_SYNC_API_BASEPATH",
            "https://aws-cp.portkey.ai/api/v1/sync",
        ),
        (
            "CONFIG_READER_PATH",
            "https://aws-cp.portkey.ai/api/model-configs",
        ),
        (
            "DATASERVICE_BASEPATH",
            "http://portkey-gateway-dataservice:8081",
        ),
    ] {
        assert_eq!(c[k], v, "{k}");
    }
    // Redis admits only the gateway's pods and reaches nothing.
    let policy = find(&docs, "NetworkPolicy", "portkey-gateway-redis");
    let selects = |deployment: &str| {
        let pods = &find(&docs, "Deployment", deployment)["spec"]["template"]["metadata"]["labels"];
        let from = &policy["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"];
        from.as_object()
            .expect("matchLabels")
            .iter()
            .all(|(k, v)| pods[k] == *v)
    };
    // eks takes over a Helm release, whose selector alone would match the Data Service too.
    assert!(selects("portkey-gateway"));
    assert!(!selects("portkey-gateway-dataservice"));
    assert_eq!(policy["spec"]["egress"], json!([]));
    let redis = find(&docs, "Deployment", "portkey-gateway-redis");
    let args = redis["spec"]["template"]["spec"]["containers"][0]["args"].to_string();
    assert!(
        args.contains("--maxmemory") && args.contains("\"--save\",\"\""),
        "{args}"
    );
    // Both gateways on their own hosts, through the ALB.
    let ingress = find(&docs, "Ingress", "portkey-gateway");
    assert_eq!(ingress["spec"]["ingressClassName"], "alb");
    assert_eq!(
        ingress["metadata"]["annotations"]["alb.ingress.kubernetes.io/healthcheck-path"],
        "/v1/health"
    );
    let rules: Vec<(String, i64)> = ingress["spec"]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| {
            (
                r["host"].as_str().unwrap_or_default().to_string(),
                r["http"]["paths"][0]["backend"]["service"]["port"]["number"]
                    .as_i64()
                    .unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        rules,
        [
            ("ai.eks.peekoff.com".to_string(), 8787),
            ("mcp.eks.peekoff.com".to_string(), 8788)
        ]
    );
    assert!(
        !docs.iter().any(|d| d["kind"] == "HTTPRoute"),
        "exposed by the ALB, not the shared Gateway"
    );
    let ports: Vec<&Value> = find(&docs, "Service", "portkey-gateway")["spec"]["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .map(|p| &p["name"])
        .collect();
    assert_eq!(ports, [&json!("http"), &json!("mcp")]);
    // The Data Service: the gateway's configuration, identity and secrets, its own name.
    let ds = find(&docs, "Deployment", "portkey-gateway-dataservice");
    let env = env_of(ds);
    assert_eq!(
        item(env, "name", &json!("GATEWAY_BASE_URL"))["value"],
        "http://portkey-gateway:8787"
    );
    assert_eq!(
        item(env, "name", &json!("SERVICE_NAME"))["value"],
        "portkey-gateway-eks-dataservice"
    );
    assert_eq!(
        item(env, "name", &json!("PORTKEY_CLIENT_AUTH"))["valueFrom"]["secretKeyRef"]["key"],
        "PORTKEY_CLIENT_AUTH"
    );
    assert_eq!(
        ds["spec"]["template"]["spec"]["serviceAccountName"],
        "portkey-gateway"
    );
}

#[test]
fn gke_mounts_the_memorystore_ca_and_uses_iam_auth() {
    let docs = docs("gke");
    let c = config(&docs);
    for (k, v) in [
        ("CACHE_STORE", "memory-store"),
        ("REDIS_TLS_ENABLED", "true"),
        ("REDIS_TLS_CERTS", "/etc/ssl/certs/server-ca.pem"),
        ("REDIS_MODE", "cluster"),
        ("GCP_REDIS_AUTH_MODE", "workload"),
        ("LOG_STORE", "gcs_assume"),
        ("GCP_AUTH_MODE", "workload"),
    ] {
        assert_eq!(c[k], v, "{k}");
    }
    let ca = find(&docs, "ExternalSecret", "portkey-gateway-redis-ca");
    assert_eq!(ca["spec"]["data"][0]["secretKey"], "server-ca.pem");
    let container =
        &find(&docs, "Deployment", "portkey-gateway")["spec"]["template"]["spec"]["containers"][0];
    let mount = item(&container["volumeMounts"], "name", &json!("redis-ca"));
    assert_eq!(mount["mountPath"], "/etc/ssl/certs/server-ca.pem");
    assert_eq!(mount["subPath"], "server-ca.pem");
    assert!(
        !docs
            .iter()
            .any(|d| d["metadata"]["name"] == "portkey-gateway-redis"),
        "no built-in Redis beside Memorystore"
    );
    // GKE's controller acts on the class annotation, not on ingressClassName.
    let ingress = find(&docs, "Ingress", "portkey-gateway");
    assert_eq!(
        ingress["metadata"]["annotations"]["kubernetes.io/ingress.class"],
        "gce"
    );
    assert!(ingress["spec"].get("ingressClassName").is_none());
    // Egress to Memorystore's port.
    let egress = find(&docs, "NetworkPolicy", "portkey-gateway")["spec"]["egress"].to_string();
    assert!(egress.contains("6379"), "{egress}");
}

#[test]
fn aks_uses_workload_identity_and_an_internal_load_balancer() {
    let docs = docs("aks");
    let c = config(&docs);
    assert_eq!(c["LOG_STORE"], "azure");
    assert_eq!(c["AZURE_AUTH_MODE"], "managed");
    assert_eq!(c["CACHE_STORE"], "azure-redis");
    assert_eq!(
        c["ALBUS_BASEPATH"],
        "https://azure-cp.privatelink-az.portkey.ai/albus"
    );
    assert_from_store(&docs, "REDIS_PASSWORD", "portkey-azure-redis-access-key");
    let pod = &find(&docs, "Deployment", "portkey-gateway")["spec"]["template"];
    assert_eq!(
        pod["metadata"]["labels"]["azure.workload.identity/use"],
        "true"
    );
    let service = find(&docs, "Service", "portkey-gateway");
    assert_eq!(service["spec"]["type"], "LoadBalancer");
    assert_eq!(
        service["metadata"]["annotations"]["service.beta.kubernetes.io/azure-load-balancer-internal"],
        "true"
    );
    assert_eq!(
        service["metadata"]["annotations"]["service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path"],
        "/v1/health"
    );
    assert_eq!(
        service["spec"]["loadBalancerSourceRanges"],
        json!(["10.0.0.0/8"])
    );
    assert!(
        !docs
            .iter()
            .any(|d| d["kind"] == "HTTPRoute" || d["kind"] == "Ingress")
    );
    let egress = find(&docs, "NetworkPolicy", "portkey-gateway")["spec"]["egress"].to_string();
    assert!(egress.contains("6380"), "{egress}");
}

/// The enterprise gateway serves metrics: its ServiceMonitor selects its
/// Service by the Service's labels and port name, and only the monitoring
/// namespace is admitted to that port for them. The open-source gateway's
/// environments have neither (it answers 404 at /metrics).
#[test]
fn only_an_image_with_metrics_is_scraped_and_only_by_the_monitoring_namespace() {
    for env in ["gke", "eks", "aks"] {
        let docs = docs(env);
        let sm = find(&docs, "ServiceMonitor", "portkey-gateway");
        let svc = find(&docs, "Service", "portkey-gateway");
        let labels = svc["metadata"]["labels"].as_object().expect("labels");
        for (k, v) in sm["spec"]["selector"]["matchLabels"]
            .as_object()
            .expect("selector")
        {
            assert_eq!(
                labels.get(k),
                Some(v),
                "{env}: the ServiceMonitor misses the Service"
            );
        }
        let port = &sm["spec"]["endpoints"][0]["port"];
        assert!(
            svc["spec"]["ports"]
                .as_array()
                .expect("ports")
                .iter()
                .any(|p| &p["name"] == port),
            "{env}: no Service port {port}"
        );
        let np = find(&docs, "NetworkPolicy", "portkey-gateway");
        let monitoring: Vec<&Value> = np["spec"]["ingress"]
            .as_array()
            .expect("ingress")
            .iter()
            .filter(|r| {
                r["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                    == "monitoring"
            })
            .collect();
        assert_eq!(monitoring.len(), 1, "{env}");
        assert_eq!(
            monitoring[0]["from"].as_array().map(Vec::len),
            Some(1),
            "{env}"
        );
        assert_eq!(
            monitoring[0]["ports"],
            json!([{"port": 8787, "protocol": "TCP"}]),
            "{env}"
        );
    }
    for env in ["homelab", "dev", "prod", "staging"] {
        let docs = docs(env);
        assert!(docs.iter().all(|d| d["kind"] != "ServiceMonitor"), "{env}");
        let np = find(&docs, "NetworkPolicy", "portkey-gateway");
        assert!(!np.to_string().contains("\"monitoring\""), "{env}: {np}");
    }
}
