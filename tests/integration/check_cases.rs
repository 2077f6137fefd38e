//! The fixture every rule of `kiln check` passes, and one way to break it per
//! rule: a JSON patch (or an extra document), the rule that must fire and the
//! pointer it must name.

use kiln::rules::{self, Finding, Manifest};
use kiln_tests::repo_root;
use serde_json::{Value, json};

pub(crate) const GOOD: &str = "tests/fixtures/check/good.yaml";

pub(crate) fn good() -> Vec<Value> {
    let text = std::fs::read_to_string(repo_root().join(GOOD)).expect("fixture");
    kiln_tests::yaml_documents(&text)
        .into_iter()
        .filter(|d| !d.is_null())
        .collect()
}

pub(crate) fn findings(docs: &[Value]) -> Vec<Finding> {
    let manifests: Vec<Manifest> = docs
        .iter()
        .map(|d| Manifest::new(GOOD, d.clone()))
        .collect();
    rules::check(&manifests)
}

/// One way to break the good fixture: a JSON patch of one document (or an
/// extra document), the rule that must fire and the pointer it must name.
pub(crate) struct Case {
    pub(crate) rule: &'static str,
    pub(crate) target: (&'static str, &'static str),
    pub(crate) ops: Value,
    pub(crate) extra: Option<Value>,
    pub(crate) pointer: &'static str,
}

fn case(
    rule: &'static str,
    target: (&'static str, &'static str),
    ops: Value,
    pointer: &'static str,
) -> Case {
    Case {
        rule,
        target,
        ops,
        extra: None,
        pointer,
    }
}

fn extra(rule: &'static str, doc: Value, pointer: &'static str) -> Case {
    Case {
        rule,
        target: ("", ""),
        ops: json!([]),
        extra: Some(doc),
        pointer,
    }
}

pub(crate) const D: (&str, &str) = ("Deployment", "web");
pub(crate) const P: &str = "/spec/template/spec";
pub(crate) const C: &str = "/spec/template/spec/containers/0";

pub(crate) fn apply(case: &Case) -> Vec<Value> {
    let mut docs = good();
    if !case.target.0.is_empty() {
        let doc = docs
            .iter_mut()
            .find(|d| d["kind"] == case.target.0 && d["metadata"]["name"] == case.target.1)
            .expect("target document");
        let ops: json_patch::Patch = serde_json::from_value(case.ops.clone()).expect("patch");
        json_patch::patch(doc, &ops).unwrap_or_else(|e| panic!("{}: {e}", case.rule));
    }
    docs.extend(case.extra.clone());
    docs
}

pub(crate) fn add(path: String, value: Value) -> Value {
    json!([{"op": "add", "path": path, "value": value}])
}

pub(crate) fn replace(path: String, value: Value) -> Value {
    json!([{"op": "replace", "path": path, "value": value}])
}

fn remove(path: String) -> Value {
    json!([{"op": "remove", "path": path}])
}

pub(crate) fn cases() -> Vec<Case> {
    let sc = format!("{C}/securityContext");
    let psc = format!("{P}/securityContext");
    vec![
        case(
            "pss-host-process",
            D,
            add(format!("{sc}/windowsOptions"), json!({"hostProcess": true})),
            "/spec/template/spec/containers/0/securityContext/windowsOptions/hostProcess",
        ),
        case(
            "pss-host-namespaces",
            D,
            add(format!("{P}/hostPID"), json!(true)),
            "/spec/template/spec/hostPID",
        ),
        case(
            "pss-privileged",
            D,
            add(format!("{sc}/privileged"), json!(true)),
            "/spec/template/spec/containers/0/securityContext/privileged",
        ),
        case(
            "pss-capabilities",
            D,
            add(format!("{sc}/capabilities/add"), json!(["SYS_ADMIN"])),
            "/spec/template/spec/containers/0/securityContext/capabilities/add/0",
        ),
        case(
            "pss-capabilities",
            D,
            replace(format!("{sc}/capabilities/drop"), json!(["NET_RAW"])),
            "/spec/template/spec/containers/0/securityContext/capabilities/drop",
        ),
        case(
            "pss-host-path",
            D,
            add(
                format!("{P}/volumes/-"),
                json!({"name": "host", "hostPath": {"path": "/"}}),
            ),
            "/spec/template/spec/volumes/2/hostPath",
        ),
        case(
            "pss-host-ports",
            D,
            add(format!("{C}/ports/0/hostPort"), json!(8080)),
            "/spec/template/spec/containers/0/ports/0/hostPort",
        ),
        case(
            "pss-apparmor",
            D,
            add(
                format!("{psc}/appArmorProfile"),
                json!({"type": "Unconfined"}),
            ),
            "/spec/template/spec/securityContext/appArmorProfile/type",
        ),
        case(
            "pss-apparmor",
            D,
            add(
                "/spec/template/metadata/annotations".into(),
                json!({"container.apparmor.security.beta.kubernetes.io/web": "unconfined"}),
            ),
            "/spec/template/metadata/annotations/container.apparmor.security.beta.kubernetes.io~1web",
        ),
        case(
            "pss-selinux",
            D,
            add(format!("{psc}/seLinuxOptions"), json!({"type": "spc_t"})),
            "/spec/template/spec/securityContext/seLinuxOptions/type",
        ),
        case(
            "pss-selinux",
            D,
            add(format!("{sc}/seLinuxOptions"), json!({"user": "system_u"})),
            "/spec/template/spec/containers/0/securityContext/seLinuxOptions/user",
        ),
        case(
            "pss-proc-mount",
            D,
            add(format!("{sc}/procMount"), json!("Unmasked")),
            "/spec/template/spec/containers/0/securityContext/procMount",
        ),
        case(
            "pss-seccomp",
            D,
            replace(format!("{psc}/seccompProfile/type"), json!("Unconfined")),
            "/spec/template/spec/securityContext/seccompProfile/type",
        ),
        case(
            "pss-seccomp",
            D,
            remove(format!("{psc}/seccompProfile")),
            "/spec/template/spec/containers/0/securityContext",
        ),
        case(
            "pss-sysctls",
            D,
            add(
                format!("{psc}/sysctls"),
                json!([{"name": "kernel.msgmax", "value": "65536"}]),
            ),
            "/spec/template/spec/securityContext/sysctls/0/name",
        ),
        case(
            "pss-volume-types",
            D,
            add(
                format!("{P}/volumes/-"),
                json!({"name": "nfs", "nfs": {"server": "nas", "path": "/"}}),
            ),
            "/spec/template/spec/volumes/2/nfs",
        ),
        case(
            "pss-privilege-escalation",
            D,
            remove(format!("{sc}/allowPrivilegeEscalation")),
            "/spec/template/spec/containers/0/securityContext/allowPrivilegeEscalation",
        ),
        case(
            "pss-run-as-non-root",
            D,
            replace(format!("{psc}/runAsNonRoot"), json!(false)),
            "/spec/template/spec/securityContext/runAsNonRoot",
        ),
        case(
            "pss-run-as-non-root",
            ("CronJob", "cleanup"),
            remove("/spec/jobTemplate/spec/template/spec/securityContext/runAsNonRoot".into()),
            "/spec/jobTemplate/spec/template/spec/containers/0/securityContext",
        ),
        case(
            "pss-run-as-user",
            D,
            replace(format!("{psc}/runAsUser"), json!(0)),
            "/spec/template/spec/securityContext/runAsUser",
        ),
        case(
            "workload-selector",
            D,
            replace(
                "/spec/selector/matchLabels/app.kubernetes.io~1name".into(),
                json!("webb"),
            ),
            "/spec/selector/matchLabels/app.kubernetes.io~1name",
        ),
        case(
            "service-selector",
            ("Service", "web"),
            replace(
                "/spec/selector/app.kubernetes.io~1name".into(),
                json!("api"),
            ),
            "/spec/selector",
        ),
        case(
            "service-target-port",
            ("Service", "web"),
            replace("/spec/ports/0/targetPort".into(), json!("https")),
            "/spec/ports/0/targetPort",
        ),
        case(
            "service-target-port",
            ("Service", "web"),
            replace("/spec/ports/0/targetPort".into(), json!(9090)),
            "/spec/ports/0/targetPort",
        ),
        case(
            "probe-port",
            D,
            replace(format!("{C}/readinessProbe/httpGet/port"), json!("health")),
            "/spec/template/spec/containers/0/readinessProbe/httpGet/port",
        ),
        case(
            "probe-port",
            D,
            replace(format!("{C}/livenessProbe/tcpSocket/port"), json!(9000)),
            "/spec/template/spec/containers/0/livenessProbe/tcpSocket/port",
        ),
        case(
            "probe-path",
            D,
            json!([
                {"op": "replace", "path": format!("{C}/image"), "value": "docker.io/portkeyai/gateway:1.15.2"},
                {"op": "replace", "path": format!("{C}/readinessProbe/httpGet/path"), "value": "/healthz"},
            ]),
            "/spec/template/spec/containers/0/readinessProbe/httpGet/path",
        ),
        case(
            "servicemonitor-port",
            ("ServiceMonitor", "web"),
            replace("/spec/endpoints/0/port".into(), json!("metrics")),
            "/spec/endpoints/0/port",
        ),
        case(
            "servicemonitor-port",
            ("ServiceMonitor", "web"),
            replace(
                "/spec/selector/matchLabels/app.kubernetes.io~1name".into(),
                json!("api"),
            ),
            "/spec/selector",
        ),
        case(
            "httproute-backend",
            ("HTTPRoute", "web"),
            replace("/spec/rules/0/backendRefs/0/port".into(), json!(8080)),
            "/spec/rules/0/backendRefs/0/port",
        ),
        case(
            "httproute-backend",
            ("HTTPRoute", "web"),
            replace("/spec/rules/0/backendRefs/0/name".into(), json!("api")),
            "/spec/rules/0/backendRefs/0/name",
        ),
        case(
            "networkpolicy-labels",
            ("NetworkPolicy", "web"),
            replace(
                "/spec/ingress/0/from/0/namespaceSelector/matchLabels".into(),
                json!({"name": "gateway"}),
            ),
            "/spec/ingress/0/from/0/namespaceSelector/matchLabels/name",
        ),
        case(
            "networkpolicy-unmatched",
            ("NetworkPolicy", "web"),
            replace(
                "/spec/podSelector/matchLabels/app.kubernetes.io~1name".into(),
                json!("api"),
            ),
            "/spec/podSelector",
        ),
        case(
            "networkpolicy-unmatched",
            ("NetworkPolicy", "web"),
            replace(
                "/spec/ingress/0/from/1/namespaceSelector/matchLabels".into(),
                json!({"tier": "frontend"}),
            ),
            "/spec/ingress/0/from/1/namespaceSelector/matchLabels/tier",
        ),
        case(
            "secret-ref",
            D,
            replace(
                format!("{C}/env/0/valueFrom/secretKeyRef/key"),
                json!("DB_URL"),
            ),
            "/spec/template/spec/containers/0/env/0/valueFrom/secretKeyRef/key",
        ),
        case(
            "secret-ref",
            D,
            add(
                format!("{P}/imagePullSecrets"),
                json!([{"name": "regcred"}]),
            ),
            "/spec/template/spec/imagePullSecrets/0/name",
        ),
        case(
            "configmap-ref",
            D,
            replace(
                format!("{C}/envFrom/0/configMapRef/name"),
                json!("web-settings"),
            ),
            "/spec/template/spec/containers/0/envFrom/0/configMapRef/name",
        ),
        case(
            "name-ref",
            D,
            add(format!("{P}/serviceAccountName"), json!("web-identity")),
            "/spec/template/spec/serviceAccountName",
        ),
        case(
            "configmap-ref",
            D,
            replace(
                format!("{P}/volumes/1/configMap/items/0/key"),
                json!("LEVEL"),
            ),
            "/spec/template/spec/volumes/1/configMap/items/0/key",
        ),
        case(
            "image-tag",
            D,
            replace(
                format!("{C}/image"),
                json!("registry.example.com/shop/web:latest"),
            ),
            "/spec/template/spec/containers/0/image",
        ),
        case(
            "image-tag",
            D,
            replace(
                format!("{C}/image"),
                json!("registry.example.com:5000/shop/web"),
            ),
            "/spec/template/spec/containers/0/image",
        ),
        case(
            "version-label",
            D,
            replace(
                "/metadata/labels/app.kubernetes.io~1version".into(),
                json!("2.4.0"),
            ),
            "/metadata/labels/app.kubernetes.io~1version",
        ),
        case(
            "resources",
            D,
            remove(format!("{C}/resources/limits")),
            "/spec/template/spec/containers/0/resources",
        ),
        extra(
            "plaintext-secret",
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "shop"}, "stringData": {"password": "hunter2"}}),
            "/stringData",
        ),
        case(
            "literal-credential",
            D,
            add(
                format!("{C}/env/-"),
                json!({"name": "API_TOKEN", "value": "hunter2hunter2"}),
            ),
            "/spec/template/spec/containers/0/env/2/value",
        ),
        case(
            "literal-credential",
            ("ConfigMap", "web-config"),
            add("/data/DB_PASSWORD".into(), json!("hunter2")),
            "/data/DB_PASSWORD",
        ),
        case(
            "pdb-drain",
            ("PodDisruptionBudget", "web"),
            replace("/spec/minAvailable".into(), json!(2)),
            "/spec/minAvailable",
        ),
        case(
            "pdb-drain",
            ("PodDisruptionBudget", "web"),
            replace("/spec/minAvailable".into(), json!("100%")),
            "/spec/minAvailable",
        ),
        case(
            "pdb-drain",
            ("PodDisruptionBudget", "web"),
            json!([
                {"op": "remove", "path": "/spec/minAvailable"},
                {"op": "add", "path": "/spec/maxUnavailable", "value": 0},
            ]),
            "/spec/maxUnavailable",
        ),
        case(
            "object-size",
            ("ConfigMap", "web-config"),
            add("/data/BIG".into(), json!("x".repeat(1 << 20))),
            "",
        ),
        case(
            "literal-credential",
            ("ConfigMap", "web-config"),
            add(
                "/data/KEY".into(),
                json!("sk-proj-abcdefghijklmnopqrstuvwx"),
            ),
            "/data/KEY",
        ),
        case(
            "schema",
            D,
            add(format!("{C}/resoures"), json!({})),
            "/spec/template/spec/containers/0/resoures",
        ),
        case(
            "schema",
            D,
            replace("/spec/replicas".into(), json!("two")),
            "/spec/replicas",
        ),
        case(
            "schema",
            ("ExternalSecret", "web"),
            add("/spec/target/creationPolcy".into(), json!("Owner")),
            "/spec/target/creationPolcy",
        ),
        case(
            "schema",
            ("HTTPRoute", "web"),
            add("/metadata/lables".into(), json!({})),
            "/metadata/lables",
        ),
        extra(
            "ingress-class",
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                   "metadata": {"name": "web", "annotations": {"kubernetes.io/ingress.class": "gce"}},
                   "spec": {"ingressClassName": "nginx", "defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}}),
            "/spec/ingressClassName",
        ),
        // Fifty keys at 256 bytes each pass the 12 KiB an injected header may take.
        extra(
            "injected-header-size",
            json!({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                   "metadata": {"name": "big"},
                   "spec": {"secretStoreRef": {"kind": "ClusterSecretStore", "name": "store"},
                            "target": {"name": "big", "template": {"engineVersion": "v2",
                                "data": {"credential": format!("[{}]", vec!["{{ .K | toJson }}"; 50].join(","))}}},
                            "data": [{"secretKey": "K", "remoteRef": {"key": "k"}}]}}),
            "/spec/target/template/data/credential",
        ),
        extra(
            "unknown-kind",
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}),
            "/kind",
        ),
        extra(
            "not-an-object",
            json!({"kind": "ConfigMap", "metadata": {"name": "x"}}),
            "/apiVersion",
        ),
    ]
}
