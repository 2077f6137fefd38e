//! The enterprise gateway of seeds 001–003: each seed option where the seed
//! puts it, no secret value anywhere, every option combination rendering
//! clean under `kiln check`, and the bad combinations refused.

use crate::render_env;
use kiln_tests::{copy_inputs, item, put, repo_root};
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

/// A repository whose homelab environment sets `enterprise` (and `extra` description fields).
fn enterprise_env(enterprise: Value, extra: Value) -> kiln::Result<kiln::Inspection> {
    let repo = copy_inputs(false);
    // The enterprise settings run on the enterprise image (the open-source
    // one answers no /v1/health probe: kiln check's probe-path).
    let image = json!({"repository": "docker.io/portkeyai/gateway_enterprise", "tag": "2.13.0"});
    let mut set = json!({"enterprise": enterprise, "image": image});
    if let (Value::Object(set), Value::Object(extra)) = (&mut set, extra) {
        set.extend(extra);
    }
    put(
        repo.path(),
        "overlays/homelab/overlay.yaml",
        &kiln::model::emit::yaml(&json!({"set": set})),
    );
    let r = kiln::Repo::open(repo.path())?;
    kiln::inspect(&r.environment("homelab")?)
}

fn minimal(cloud: &str) -> Value {
    json!({"cloud": cloud, "serviceName": "gw", "clientAuthKey": "auth", "organisationsKey": "orgs"})
}

fn with(mut base: Value, patch: Value) -> Value {
    json_patch::merge(&mut base, &patch);
    base
}

#[test]
fn bad_combinations_are_errors_naming_the_field() {
    let gke = || minimal("gke");
    let eks = || minimal("eks");
    for (enterprise, extra, pointer, expected) in [
        (
            with(
                gke(),
                json!({"identity": {"awsRoleArn": "arn:aws:iam::1:role/x"}}),
            ),
            json!({}),
            "/set/enterprise/identity/awsRoleArn",
            "not of gke",
        ),
        (
            with(
                gke(),
                json!({"cache": {"managed": {"url": "redis://10.0.0.3:6379", "tls": true}}}),
            ),
            json!({}),
            "/set/enterprise/cache/managed/caKey",
            "server CA",
        ),
        (
            with(eks(), json!({"serverMode": "all"})),
            json!({}),
            "/set/enterprise/mcp/host",
            "two host names",
        ),
        (
            with(
                eks(),
                json!({"serverMode": "all", "mcp": {"host": "portkey.peekoff.com"}}),
            ),
            json!({}),
            "/set/enterprise/mcp/host",
            "host name of its own",
        ),
        (
            with(eks(), json!({"mcp": {"port": 9000}})),
            json!({}),
            "/set/enterprise/mcp",
            "serverMode",
        ),
        (
            with(
                eks(),
                json!({"cache": {"managed": {"url": "redis://c:6379", "workloadAuth": true}}}),
            ),
            json!({}),
            "/set/enterprise/cache/managed/workloadAuth",
            "needs gke",
        ),
        (
            with(
                eks(),
                json!({"cache": {"managed": {"url": "rediss://c:6380"}}}),
            ),
            json!({}),
            "/set/enterprise/cache/managed/tls",
            "tls: true",
        ),
        (
            with(eks(), json!({"cache": {"managed": {"url": "redis://c"}}})),
            json!({}),
            "/set/enterprise/cache/managed/url",
            "redis://host:port",
        ),
        (
            with(
                eks(),
                json!({"logStore": {"s3": {"bucket": "b", "region": "r"}}}),
            ),
            json!({}),
            "/set/enterprise/logStore/s3",
            "awsRoleArn",
        ),
        (
            with(
                gke(),
                json!({"logStore": {"s3": {"bucket": "b", "region": "r"}, "gcs": {"bucket": "b", "region": "r"}}}),
            ),
            json!({}),
            "/set/enterprise/logStore",
            "exactly one",
        ),
        (
            with(
                gke(),
                json!({"logStore": {"gcs": {"bucket": "b", "region": "r", "auth": "hmac"}}}),
            ),
            json!({}),
            "/set/enterprise/logStore/gcs",
            "accessKeyKey",
        ),
        (
            with(
                gke(),
                json!({"logStore": {"gcs": {"bucket": "b", "region": "r"}}}),
            ),
            json!({}),
            "/set/enterprise/logStore/gcs/auth",
            "gcpServiceAccount",
        ),
        (
            with(
                minimal("aks"),
                json!({"logStore": {"azure": {"account": "a", "container": "c"}}}),
            ),
            json!({}),
            "/set/enterprise/logStore/azure",
            "azureClientId",
        ),
        (
            with(
                minimal("aks"),
                json!({"logStore": {"azure": {"account": "a", "container": "c", "auth": "entra"}}}),
            ),
            json!({}),
            "/set/enterprise/logStore/azure",
            "entraSecretKey",
        ),
        (
            with(eks(), json!({"identity": {"awsRoleArn": "role/x"}})),
            json!({}),
            "/set/enterprise/identity/awsRoleArn",
            "IAM role ARN",
        ),
        (
            with(
                eks(),
                json!({"expose": {"ingress": {}, "loadBalancer": {}}}),
            ),
            json!({}),
            "/set/enterprise/expose",
            "exactly one",
        ),
        (
            with(
                gke(),
                json!({"expose": {"ingress": {"sourceRanges": ["10.0.0.0/8"]}}}),
            ),
            json!({}),
            "/set/enterprise/expose/ingress/sourceRanges",
            "Cloud Armor",
        ),
        (
            with(
                eks(),
                json!({"expose": {"loadBalancer": {"sourceRanges": ["10.0.0.0"]}}}),
            ),
            json!({}),
            "/set/enterprise/expose/loadBalancer/sourceRanges/0",
            "CIDR",
        ),
        (
            with(
                eks(),
                json!({"dataService": {"image": "docker.io/portkeyai/data-service:latest"}}),
            ),
            json!({}),
            "/set/enterprise/dataService/image",
            "pinned",
        ),
        (
            eks(),
            json!({"config": {"CACHE_STORE": "redis"}}),
            "/set/enterprise/cache",
            "already set at /config/CACHE_STORE",
        ),
        (
            with(
                gke(),
                json!({"expose": {"ingress": {"certificateArn": "arn:aws:acm:us-east-1:1:certificate/x"}}}),
            ),
            json!({}),
            "/set/enterprise/expose/ingress/certificateArn",
            "not gke",
        ),
        (
            with(
                eks(),
                json!({"expose": {"ingress": {"certificateArn": "arn:aws:iam::1:role/x"}}}),
            ),
            json!({}),
            "/set/enterprise/expose/ingress/certificateArn",
            "not an ACM certificate ARN",
        ),
        (
            with(
                eks(),
                json!({"serverMode": "mcp", "mcp": {"baseUrl": "https://mcp.example.com"},
                       "expose": {"ingress": {}}}),
            ),
            json!({}),
            "/set/enterprise/mcp/baseUrl",
            "no HTTPS listener",
        ),
        (
            with(
                minimal("aks"),
                json!({"cache": {"managed": {"url": "rediss://c.redis.cache.windows.net:6380", "tls": true}}}),
            ),
            json!({}),
            "/set/enterprise/cache/managed",
            "passwordKey (an access key) or identity.azureClientId",
        ),
    ] {
        let err = match enterprise_env(enterprise.clone(), extra) {
            Err(e) => e,
            Ok(_) => panic!("accepted: {enterprise}"),
        };
        let kiln::Error::Input(e) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(
            e.file(),
            std::path::Path::new("overlays/homelab/overlay.yaml"),
            "{err}"
        );
        assert_eq!(e.pointer(), Some(pointer), "{enterprise}: {err}");
        assert!(err.to_string().contains(expected), "{enterprise}: {err}");
    }
}

/// Every documented option, combined: per cloud each cache, log store, server
/// mode and exposure, with the Data Service, private link and registry
/// credentials switched on in turn. Each renders, and kiln check finds nothing.
#[test]
fn every_option_combination_renders_and_passes_kiln_check() {
    let clouds: [(&str, Value, Vec<Value>, Vec<Value>); 3] = [
        (
            "gke",
            json!({"gcpServiceAccount": "gw@p.iam.gserviceaccount.com"}),
            vec![
                json!(null),
                json!({"url": "redis://10.0.0.3:6379"}),
                json!({"url": "redis://10.0.0.3:6378", "tls": true, "caKey": "ca", "cluster": true, "workloadAuth": true}),
            ],
            vec![
                json!(null),
                json!({"gcs": {"bucket": "b", "region": "europe-west1"}}),
                json!({"gcs": {"bucket": "b", "region": "europe-west1", "auth": "hmac", "accessKeyKey": "ak", "secretKeyKey": "sk"}, "pathFormat": "{id}.json"}),
            ],
        ),
        (
            "eks",
            json!({"awsRoleArn": "arn:aws:iam::123456789012:role/gw"}),
            vec![
                json!(null),
                json!({"url": "redis://cache.example.com:6379", "tls": true}),
                json!({"url": "rediss://cache.example.com:6380", "tls": true, "cluster": true, "passwordKey": "redis-auth"}),
            ],
            vec![
                json!(null),
                json!({"s3": {"bucket": "b", "region": "us-east-1"}}),
                json!({"s3": {"bucket": "b", "region": "us-east-1"}, "pathFormat": "{id}.json"}),
            ],
        ),
        (
            "aks",
            json!({"azureClientId": "3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f"}),
            vec![
                json!(null),
                json!({"url": "rediss://c.redis.cache.windows.net:6380", "tls": true, "passwordKey": "k"}),
                json!({"url": "redis://10.1.0.4:6379"}),
            ],
            vec![
                json!(null),
                json!({"azure": {"account": "a", "container": "c"}}),
                json!({"azure": {"account": "a", "container": "c", "auth": "entra", "entraClientId": "app", "entraTenantId": "tenant", "entraSecretKey": "entra-secret"}}),
            ],
        ),
    ];
    let modes = [
        json!({}),
        json!({"serverMode": "mcp", "mcp": {"port": 8790}}),
        json!({"serverMode": "all", "mcp": {"host": "mcp.example.com", "baseUrl": "http://mcp.example.com"}}),
    ];
    let exposures = [
        json!(null),
        json!({"ingress": {"internal": true}}),
        json!({"loadBalancer": {"internal": false, "sourceRanges": ["192.0.2.0/24"]}}),
    ];
    let mut rendered = 0;
    let mut kinds = std::collections::BTreeSet::new();
    for (cloud, identity, caches, logs) in &clouds {
        for (c, cache) in caches.iter().enumerate() {
            for (l, log) in logs.iter().enumerate() {
                for (m, mode) in modes.iter().enumerate() {
                    for (x, expose) in exposures.iter().enumerate() {
                        let turn = c + l + m + x;
                        let mut e = with(
                            minimal(cloud),
                            json!({"identity": identity, "logStore": log, "expose": expose}),
                        );
                        if !cache.is_null() {
                            e = with(e, json!({"cache": {"managed": cache}}));
                        }
                        e = with(e, mode.clone());
                        if turn % 2 == 0 {
                            e = with(
                                e,
                                json!({"dataService": {}, "pullSecret": {"usernameKey": "u", "passwordKey": "p"}}),
                            );
                        }
                        if turn % 3 == 0 {
                            e = with(
                                e,
                                json!({"controlPlane": {"privateLink": "https://cp.example.com"}}),
                            );
                        }
                        let checked = enterprise_env(e.clone(), json!({}))
                            .unwrap_or_else(|err| panic!("{e}: {err}"));
                        assert!(
                            !kiln::rules::has_errors(&checked.findings),
                            "{e}:\n{}",
                            kiln::rules::report::text(
                                &checked.findings,
                                kiln::model::emit::Color::Plain
                            )
                        );
                        kinds.extend(checked.resources.iter().map(|r| r.kind()));
                        rendered += 1;
                    }
                }
            }
        }
    }
    assert_eq!(rendered, 3 * 3 * 3 * 3 * 3);
    for kind in [
        "ServiceAccount",
        "Ingress",
        "HTTPRoute",
        "ExternalSecret",
        "NetworkPolicy",
    ] {
        assert!(kinds.contains(kind), "{kind} never rendered");
    }
}

fn tfvars(env: &str) -> Value {
    let rendered = render_env(&repo_root(), env);
    assert!(
        rendered.resources().is_empty(),
        "ACA renders no Kubernetes objects"
    );
    let file = rendered
        .files()
        .iter()
        .find(|f| f.name() == kiln::aca::TFVARS)
        .expect("tfvars");
    serde_json::from_str(file.contents()).expect("JSON")
}

fn assert_only_module_variables(vars: &Value) {
    for name in vars.as_object().expect("object").keys() {
        assert!(
            kiln::aca::VARIABLES.contains(&name.as_str()),
            "`{name}` is not a variable of the ACA module"
        );
    }
}

#[test]
fn aca_renders_the_terraform_module_variables_from_the_same_description() {
    let vars = tfvars("aca");
    assert_only_module_variables(&vars);
    assert_eq!(vars["registry_type"], "dockerhub");
    assert_eq!(
        vars["docker_credentials"],
        json!({"key_vault_name": "portkey-kv", "key_vault_rg": "portkey-rg", "username_secret": "docker-username", "password_secret": "docker-password"})
    );
    assert_eq!(vars["server_mode"], "all");
    assert_eq!(
        vars["gateway_image"],
        json!({"image": "portkeyai/gateway_enterprise", "tag": "2.13.0"})
    );
    assert_eq!(vars["gateway_config"]["min_replicas"], 2);
    assert_eq!(vars["mcp_config"]["port"], 8788);
    assert_eq!(vars["ingress_type"], "application_gateway");
    assert_eq!(
        vars["app_gateway_config"]["gateway_host"],
        "ai.aca.peekoff.com"
    );
    assert_eq!(
        vars["app_gateway_config"]["mcp_host"],
        "mcp.aca.peekoff.com"
    );
    assert_eq!(vars["redis_config"]["redis_type"], "redis");
    assert_eq!(
        vars["storage_config"]["container_name"],
        "portkey-log-store"
    );
    assert_eq!(vars["control_plane_private_link"]["outbound"], true);
    assert_eq!(
        vars["environment_variables"]["gateway"]["ANALYTICS_STORE"],
        "control_plane"
    );
    // Secrets are Key Vault secret names, never values.
    let secrets = vars["secrets"]["gateway"].as_object().expect("secrets");
    assert_eq!(secrets["PORTKEY_CLIENT_AUTH"], "portkey-client-auth");
    assert_eq!(secrets["ORGANISATIONS_TO_SYNC"], "organisations-to-sync");
    for value in secrets.values().chain(
        vars["environment_variables"]["gateway"]
            .as_object()
            .expect("env")
            .values(),
    ) {
        assert!(
            !kiln::model::strategy::looks_like_key(value.as_str().unwrap_or_default()),
            "{value}"
        );
    }
    // ACA is deployed by Terraform: no GitOps Application points at it.
    let all = kiln::render_repo(
        &kiln::Repo::open(repo_root()).expect("repo"),
        &kiln::Selection::All,
    )
    .expect("renders");
    let wiring: Vec<&kiln::EnvironmentOutput> = all
        .environments()
        .iter()
        .filter(|r| r.env() == "argocd" || r.env() == "flux")
        .collect();
    assert_eq!(wiring.len(), 2);
    for r in wiring {
        assert!(
            r.resources().iter().any(|x| x.name().ends_with("-aks")),
            "{}",
            r.env()
        );
        assert!(
            r.resources().iter().all(|x| !x.name().ends_with("-aca")),
            "{}",
            r.env()
        );
    }
}

fn aca(patch: Value) -> Value {
    with(
        with(
            minimal("aca"),
            json!({"pullSecret": {"usernameKey": "u", "passwordKey": "p"}, "aca": {"region": "eastus", "resourceGroup": "rg", "keyVault": {"name": "kv", "resourceGroup": "rg"}}}),
        ),
        patch,
    )
}

#[test]
fn aca_bad_combinations_are_errors() {
    for (enterprise, pointer, expected) in [
        (
            minimal("aca"),
            "/set/enterprise/aca",
            "needs the `aca` settings",
        ),
        (
            with(
                minimal("eks"),
                json!({"aca": {"region": "r", "resourceGroup": "g", "keyVault": {"name": "k", "resourceGroup": "g"}}}),
            ),
            "/set/enterprise/aca",
            "for cloud `aca`",
        ),
        (
            aca(json!({"pullSecret": null})),
            "/set/enterprise/pullSecret",
            "dockerhub",
        ),
        (
            aca(json!({"aca": {"registry": "acr"}})),
            "/set/enterprise/aca/acrId",
            "acrId",
        ),
        (
            aca(json!({"aca": {"ingress": {"type": "application_gateway"}}})),
            "/set/enterprise/aca/ingress/type",
            "virtual network",
        ),
        (
            aca(json!({"aca": {"network": {"mode": "existing"}}})),
            "/set/enterprise/aca/network",
            "vnetId",
        ),
        (
            aca(json!({"aca": {"scaling": {"minReplicas": 5, "maxReplicas": 2}}})),
            "/set/enterprise/aca/scaling",
            "at most",
        ),
        (
            aca(json!({"dataService": {}})),
            "/set/enterprise/dataService",
            "does not run the Data Service",
        ),
        (
            aca(json!({"identity": {"azureClientId": "3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f"}})),
            "/set/enterprise/identity",
            "managed identity of its own",
        ),
        (
            aca(json!({"expose": {"ingress": {}}})),
            "/set/enterprise/expose",
            "aca.ingress",
        ),
        (
            aca(
                json!({"logStore": {"azure": {"account": "a", "container": "c", "auth": "entra"}}}),
            ),
            "/set/enterprise/logStore/azure/auth",
            "managed",
        ),
    ] {
        let err = match enterprise_env(enterprise.clone(), json!({})) {
            Err(e) => e,
            Ok(_) => panic!("accepted: {enterprise}"),
        };
        let kiln::Error::Input(e) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(e.pointer(), Some(pointer), "{enterprise}: {err}");
        assert!(err.to_string().contains(expected), "{enterprise}: {err}");
    }
}

#[test]
fn every_aca_option_combination_renders_only_module_variables() {
    let repo = copy_inputs(false);
    let mut rendered = 0;
    for mode in [
        json!({}),
        json!({"serverMode": "mcp"}),
        json!({"serverMode": "all", "mcp": {"host": "mcp.example.com", "baseUrl": "https://mcp.example.com"}}),
    ] {
        for cache in [
            json!(null),
            json!({"url": "rediss://c.redis.cache.windows.net:6380", "tls": true, "cluster": true, "passwordKey": "redis-key"}),
        ] {
            for (network, ingress) in [
                (
                    json!({"mode": "none"}),
                    json!({"type": "aca", "public": false}),
                ),
                (
                    json!({"mode": "new", "vnetCidr": "10.9.0.0/16"}),
                    json!({"type": "application_gateway", "waf": true, "sslCertSecretId": "https://kv.vault.azure.net/secrets/cert"}),
                ),
                (
                    json!({"mode": "existing", "vnetId": "v", "acaSubnetId": "s1", "appGatewaySubnetId": "s2", "privateEndpointSubnetId": "s3"}),
                    json!({"type": "application_gateway"}),
                ),
            ] {
                for registry in [
                    json!({}),
                    json!({"registry": "acr", "acrId": "/subscriptions/x/acr"}),
                ] {
                    let mut e = aca(
                        json!({"aca": {"network": network, "ingress": ingress}, "logStore": {"azure": {"account": "a", "container": "c"}, "pathFormat": "{id}.json"}}),
                    );
                    e = with(e, mode.clone());
                    e = with(e, json!({"aca": registry}));
                    if !cache.is_null() {
                        e = with(e, json!({"cache": {"managed": cache}}));
                    }
                    put(
                        repo.path(),
                        "overlays/homelab/overlay.yaml",
                        &kiln::model::emit::yaml(&json!({"set": {"enterprise": e}})),
                    );
                    let r = kiln::Repo::open(repo.path()).expect("repo");
                    let out = kiln::render(
                        &r.environment("homelab")
                            .unwrap_or_else(|err| panic!("{e}: {err}")),
                    )
                    .unwrap_or_else(|err| panic!("{e}: {err}"));
                    let vars: Value =
                        serde_json::from_str(out.files()[0].contents()).expect("JSON");
                    assert_only_module_variables(&vars);
                    assert_eq!(vars["environment"], "homelab");
                    rendered += 1;
                }
            }
        }
    }
    assert_eq!(rendered, 3 * 2 * 3 * 2);
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
