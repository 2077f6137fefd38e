//! The homelab environment is the reference deployment of seed 000: each fact
//! the seed (and SPEC.md) states is asserted on the rendered objects.

use crate::homelab;
use kiln_tests::item;
use serde_json::{Value, json};

fn object(kind: &str) -> Value {
    let rendered = homelab();
    let found: Vec<Value> = rendered
        .resources()
        .iter()
        .filter(|r| r.kind() == kind)
        .map(|r| r.to_value())
        .collect();
    assert_eq!(found.len(), 1, "exactly one {kind}");
    found.into_iter().next().expect("one")
}

fn at<'a>(v: &'a Value, pointer: &str) -> &'a Value {
    v.pointer(pointer)
        .unwrap_or_else(|| panic!("{pointer} missing in {v:#}"))
}

#[test]
fn namespace_is_restricted_and_applied_first() {
    let rendered = homelab();
    assert_eq!(rendered.resources()[0].kind(), "Namespace");
    let kustomization = rendered
        .files()
        .iter()
        .find(|f| f.name() == "kustomization.yaml")
        .expect("kustomization");
    let first = kustomization
        .contents()
        .lines()
        .find(|l| l.trim_start().starts_with("- "))
        .expect("resources listed");
    assert_eq!(first.trim(), "- namespace-portkey.yaml");

    let ns = object("Namespace");
    assert_eq!(at(&ns, "/metadata/name"), "portkey");
    let labels = at(&ns, "/metadata/labels");
    for mode in ["enforce", "audit", "warn"] {
        assert_eq!(
            labels[format!("pod-security.kubernetes.io/{mode}")],
            "restricted"
        );
        assert!(labels[format!("pod-security.kubernetes.io/{mode}-version")].is_string());
    }
    let wave: i64 = at(&ns, "/metadata/annotations/argocd.argoproj.io~1sync-wave")
        .as_str()
        .expect("string")
        .parse()
        .expect("number");
    // Every other resource is in the default wave 0 (no annotation).
    assert!(wave < 0);
    for r in rendered.resources().iter().skip(1) {
        let wave = r
            .metadata()
            .annotations
            .as_ref()
            .and_then(|a| a.get("argocd.argoproj.io/sync-wave"));
        assert!(wave.is_none(), "{} has a sync wave", r.kind());
    }
}

#[test]
fn config_map_starts_the_gateway_in_production() {
    let rendered = homelab();
    let cm = rendered
        .resources()
        .iter()
        .map(|r| r.to_value())
        .find(|v| v["kind"] == "ConfigMap" && v["data"].get("NODE_ENV").is_some())
        .expect("env ConfigMap");
    assert_eq!(cm["data"]["NODE_ENV"], "production");
    assert_eq!(cm["data"]["PORT"], "8787");
    // The homelab guide says /v1/health; the open-source gateway answers it with 400 (docs/design/departures.md).
    assert_eq!(cm["data"]["HEALTH_CHECK_PATH"], "/");
    assert_eq!(cm["data"]["LOG_LEVEL"], "info");
}

#[test]
fn deployment_is_hardened_as_the_seed_says() {
    let d = object("Deployment");
    let pod = at(&d, "/spec/template/spec");
    let c = &at(pod, "/containers")[0];
    assert_eq!(c["image"], "portkeyai/gateway:1.12.1");
    assert_eq!(pod["automountServiceAccountToken"], false);
    for sc in [&pod["securityContext"], &c["securityContext"]] {
        assert_eq!(sc["runAsUser"], 1000);
        assert_eq!(sc["runAsGroup"], 1000);
        assert_eq!(sc["runAsNonRoot"], true);
        assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault");
    }
    let sc = &c["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));

    // Writable emptyDirs with size limits, exactly at the seed's paths.
    let volumes = at(pod, "/volumes").as_array().expect("volumes");
    let mounts = c["volumeMounts"].as_array().expect("mounts");
    for path in [
        "/tmp",
        "/home/node/.npm",
        "/home/node/.config",
        "/app/cache",
        "/var/log",
        "/var/run",
    ] {
        let mount = mounts
            .iter()
            .find(|m| m["mountPath"] == path)
            .unwrap_or_else(|| panic!("{path} not mounted"));
        let volume = volumes
            .iter()
            .find(|v| v["name"] == mount["name"])
            .expect("volume for mount");
        assert!(
            volume["emptyDir"]["sizeLimit"].is_string(),
            "{path} has no size limit"
        );
        assert_ne!(mount["readOnly"], true);
    }
    // npm and Node write where the volumes are.
    let env = |name: &str| {
        c["env"]
            .as_array()
            .expect("env")
            .iter()
            .find(|e| e["name"] == name)
            .and_then(|e| e["value"].as_str())
            .unwrap_or_else(|| panic!("{name} not set"))
            .to_string()
    };
    for var in ["NPM_CONFIG_CACHE", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"] {
        let dir = env(var);
        assert!(
            mounts.iter().any(|m| m["mountPath"] == dir.as_str()),
            "{var}={dir} is not a writable mount"
        );
    }

    // Probes: all GET / on the 8787 port (not the seed's /v1/health, which
    // answers 400); startup up to 50 s. tests/integration/gateway.rs runs them.
    let port_name = c["ports"][0]["name"].clone();
    assert_eq!(c["ports"][0]["containerPort"], 8787);
    for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
        assert_eq!(c[probe]["httpGet"]["path"], "/");
        assert_eq!(c[probe]["httpGet"]["port"], port_name);
    }
    let startup = &c["startupProbe"];
    let startup_window = startup["periodSeconds"].as_i64().expect("period")
        * startup["failureThreshold"].as_i64().expect("threshold");
    assert_eq!(startup_window, 50);
    assert_eq!(c["readinessProbe"]["periodSeconds"], 10);
    assert_eq!(c["livenessProbe"]["periodSeconds"], 30);

    assert_eq!(
        c["resources"]["requests"],
        json!({"cpu": "100m", "memory": "256Mi"})
    );
    assert_eq!(
        c["resources"]["limits"],
        json!({"cpu": "500m", "memory": "512Mi"})
    );
}

#[test]
fn version_label_comes_from_the_image_tag_and_selector_fits_template() {
    let d = object("Deployment");
    let image = at(&d, "/spec/template/spec/containers/0/image")
        .as_str()
        .expect("image");
    let tag = image.rsplit_once(':').expect("tagged").1;
    for labels in ["/metadata/labels", "/spec/template/metadata/labels"] {
        assert_eq!(at(&d, labels)["app.kubernetes.io/version"], tag);
    }
    let template = at(&d, "/spec/template/metadata/labels")
        .as_object()
        .expect("labels");
    for (k, v) in at(&d, "/spec/selector/matchLabels")
        .as_object()
        .expect("selector")
    {
        assert_eq!(
            template.get(k),
            Some(v),
            "selector label {k} not on the pods"
        );
    }
    // The guide has Prometheus scrape /metrics, where the open-source gateway
    // answers 404 (the pods test proves it): no scrape annotations.
    let annotations = at(&d, "/spec/template/metadata/annotations");
    assert!(
        annotations.get("prometheus.io/scrape").is_none(),
        "{annotations}"
    );
}

#[test]
fn service_route_and_policy_are_wired_together() {
    let svc = object("Service");
    let port = &at(&svc, "/spec/ports")[0];
    assert_eq!(port["port"], 8787);
    assert_eq!(port["name"], "http");
    assert_eq!(port["targetPort"], "http");

    let route = object("HTTPRoute");
    assert_eq!(route["apiVersion"], "gateway.networking.k8s.io/v1");
    let parent = &at(&route, "/spec/parentRefs")[0];
    assert_eq!(parent["name"], "external");
    assert_eq!(
        at(&route, "/spec/hostnames"),
        &json!(["portkey.peekoff.com"])
    );
    let rule = &at(&route, "/spec/rules")[0];
    assert_eq!(rule["backendRefs"][0]["name"], svc["metadata"]["name"]);
    assert_eq!(rule["backendRefs"][0]["port"], 8787);
    let filter = &rule["filters"][0];
    assert_eq!(filter["type"], "ResponseHeaderModifier");
    let headers: Vec<&str> = filter["responseHeaderModifier"]["set"]
        .as_array()
        .expect("headers")
        .iter()
        .map(|h| h["name"].as_str().expect("name"))
        .collect();
    for h in [
        "Strict-Transport-Security",
        "X-Content-Type-Options",
        "X-Frame-Options",
        "Referrer-Policy",
        "Content-Security-Policy",
    ] {
        assert!(headers.contains(&h), "{h} not set");
    }
    assert!(!headers.contains(&"X-XSS-Protection"));

    let np = object("NetworkPolicy");
    let from: Vec<&str> = at(&np, "/spec/ingress/0/from")
        .as_array()
        .expect("from")
        .iter()
        .map(|p| {
            p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                .as_str()
                .expect("selected by the label Kubernetes sets")
        })
        .collect();
    // Only the Gateway's namespace: there are no metrics for Prometheus here.
    assert_eq!(from, ["gateway"]);
    assert_eq!(at(&np, "/spec/ingress/0/ports/0/port"), 8787);
    assert_eq!(at(&np, "/spec/policyTypes"), &json!(["Ingress", "Egress"]));
    let egress: Vec<(i64, String)> = at(&np, "/spec/egress")
        .as_array()
        .expect("egress")
        .iter()
        .flat_map(|rule| rule["ports"].as_array().expect("ports").iter())
        .map(|p| {
            (
                p["port"].as_i64().expect("port"),
                p["protocol"].as_str().expect("proto").to_string(),
            )
        })
        .collect();
    assert_eq!(
        egress,
        [
            (53, "UDP".into()),
            (53, "TCP".into()),
            (80, "TCP".into()),
            (443, "TCP".into())
        ]
    );
    // The policy selects the gateway pods.
    let deployment = object("Deployment");
    assert_eq!(
        at(&np, "/spec/podSelector/matchLabels"),
        at(&deployment, "/spec/selector/matchLabels")
    );

    // No ServiceMonitor: its target would always be down (docs/design/departures.md).
    assert!(
        homelab()
            .resources()
            .iter()
            .all(|r| r.kind() != "ServiceMonitor")
    );
}

#[test]
fn provider_keys_stay_in_the_store_where_nothing_reads_them() {
    // The open-source gateway reads no provider key from its environment
    // (clients send theirs): its pods get none, literal or referenced, and
    // without strategies served by name nothing syncs them into the cluster.
    let repo = kiln::Repo::open(kiln_tests::repo_root()).expect("repo");
    let keys = repo
        .environment("homelab")
        .expect("env")
        .description()
        .secrets
        .keys
        .clone();
    assert!(keys.len() >= 4);
    let d = object("Deployment");
    let env = at(&d, "/spec/template/spec/containers/0/env")
        .as_array()
        .expect("env");
    for key in &keys {
        assert!(
            env.iter().all(|e| e["name"] != key.env.as_str()),
            "{} in the pod's env",
            key.env
        );
    }
    let kinds: Vec<&str> = homelab().resources().iter().map(|r| r.kind()).collect();
    assert!(
        !kinds.contains(&"Secret") && !kinds.contains(&"ExternalSecret"),
        "{kinds:?}"
    );
}

#[test]
fn every_strategy_is_mounted_read_only() {
    let rendered = homelab();
    let repo = kiln::Repo::open(kiln_tests::repo_root()).expect("repo");
    let names: Vec<String> = repo.strategies().iter().map(|s| s.file_name()).collect();
    assert_eq!(
        names,
        [
            "all-models.json",
            "azure-models.json",
            "claude-models.json",
            "cost-optimized.json",
            "openai-models.json"
        ]
    );
    let cm = rendered
        .resources()
        .iter()
        .map(|r| r.to_value())
        .find(|v| v["kind"] == "ConfigMap" && v["data"].get("all-models.json").is_some())
        .expect("strategies ConfigMap");
    let keys: Vec<&String> = cm["data"].as_object().expect("data").keys().collect();
    assert_eq!(keys, names.iter().collect::<Vec<_>>());
    for (key, text) in cm["data"].as_object().expect("data") {
        let parsed: Value = serde_json::from_str(text.as_str().expect("text")).expect("JSON");
        assert!(
            parsed.get("strategy").is_some(),
            "{key} is not a Portkey config"
        );
    }
    let d = object("Deployment");
    let mount = item(
        at(&d, "/spec/template/spec/containers/0/volumeMounts"),
        "mountPath",
        &json!("/app/configs"),
    );
    assert_eq!(mount["readOnly"], true);
    let volume = item(
        at(&d, "/spec/template/spec/volumes"),
        "name",
        &mount["name"],
    );
    assert_eq!(volume["configMap"]["name"], cm["metadata"]["name"]);
}
