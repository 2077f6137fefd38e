//! The built-in Redis of the enterprise gateway (its cache of prompts,
//! configs and providers), hardened like the gateway: Pod Security
//! `restricted`, a read-only root file system, no persistence, a memory cap
//! below its limit, and a NetworkPolicy that admits only the gateway's pods
//! and lets nothing out. Portkey's chart runs it as root with no policy.

use crate::enterprise::{Enterprise, REDIS_PORT};
use crate::render::Names;
use crate::resource::Resource;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EmptyDirVolumeSource, PodSecurityContext, PodSpec,
    PodTemplateSpec, Probe, ResourceRequirements, SeccompProfile, SecurityContext, Service,
    ServicePort, ServiceSpec, TCPSocketAction, Volume, VolumeMount,
};
use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

const PORT_NAME: &str = "redis";
/// Above the image's own users, as checkov's CKV_K8S_40 asks.
const UID: i64 = 10001;
/// The container's memory limit and Redis's own cap below it (LRU eviction instead of OOM kills).
const MEMORY_LIMIT: &str = "256Mi";
const MAX_MEMORY: &str = "192mb";

/// Labels that select the Redis pods (and never the gateway's).
pub(crate) fn selector(names: &Names) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), names.redis()),
        (
            "app.kubernetes.io/instance".to_string(),
            names.instance.clone(),
        ),
    ])
}

fn labels(names: &Names, version: Option<&str>) -> BTreeMap<String, String> {
    let mut labels = names.labels.clone();
    labels.extend(selector(names));
    labels.insert("app.kubernetes.io/component".into(), "cache".into());
    if let Some(v) = version {
        labels.insert("app.kubernetes.io/version".into(), v.into());
    }
    labels
}

fn meta(names: &Names, version: Option<&str>) -> ObjectMeta {
    ObjectMeta {
        labels: Some(labels(names, version)),
        ..names.meta(names.redis())
    }
}

/// Deployment, Service and NetworkPolicy of the built-in Redis.
pub(crate) fn resources(e: &Enterprise, names: &Names) -> Vec<Resource> {
    let image = &e.cache.redis_image;
    let tag = crate::check::image_tag(image);
    let match_labels = || LabelSelector {
        match_labels: Some(selector(names)),
        ..Default::default()
    };
    let probe = |period: i32| Probe {
        tcp_socket: Some(TCPSocketAction {
            port: IntOrString::String(PORT_NAME.into()),
            ..Default::default()
        }),
        period_seconds: Some(period),
        ..Default::default()
    };
    let quantities = |cpu: &str, memory: &str| {
        BTreeMap::from([
            ("cpu".to_string(), Quantity(cpu.into())),
            ("memory".to_string(), Quantity(memory.into())),
        ])
    };
    let seccomp = || {
        Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            ..Default::default()
        })
    };
    let container = Container {
        name: "redis".into(),
        image: Some(image.clone()),
        image_pull_policy: Some("IfNotPresent".into()),
        // A cache: nothing is saved to disk, and memory is capped below the limit.
        args: Some(
            [
                "redis-server",
                "--save",
                "",
                "--appendonly",
                "no",
                "--maxmemory",
                MAX_MEMORY,
                "--maxmemory-policy",
                "allkeys-lru",
            ]
            .map(String::from)
            .to_vec(),
        ),
        ports: Some(vec![ContainerPort {
            name: Some(PORT_NAME.into()),
            container_port: REDIS_PORT.into(),
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
        readiness_probe: Some(probe(10)),
        liveness_probe: Some(probe(30)),
        resources: Some(ResourceRequirements {
            requests: Some(quantities("50m", "128Mi")),
            limits: Some(quantities("250m", MEMORY_LIMIT)),
            ..Default::default()
        }),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            privileged: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            run_as_user: Some(UID),
            run_as_group: Some(UID),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                ..Default::default()
            }),
            seccomp_profile: seccomp(),
            ..Default::default()
        }),
        volume_mounts: Some(vec![VolumeMount {
            name: "data".into(),
            mount_path: "/data".into(),
            ..Default::default()
        }]),
        ..Default::default()
    };
    let deployment = Deployment {
        metadata: meta(names, tag),
        spec: Some(DeploymentSpec {
            replicas: Some(1),
            revision_history_limit: Some(5),
            selector: match_labels(),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels(names, tag)),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    automount_service_account_token: Some(false),
                    enable_service_links: Some(false),
                    security_context: Some(PodSecurityContext {
                        run_as_non_root: Some(true),
                        run_as_user: Some(UID),
                        run_as_group: Some(UID),
                        fs_group: Some(UID),
                        seccomp_profile: seccomp(),
                        ..Default::default()
                    }),
                    containers: vec![container],
                    volumes: Some(vec![Volume {
                        name: "data".into(),
                        empty_dir: Some(EmptyDirVolumeSource {
                            size_limit: Some(Quantity("64Mi".into())),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    };
    let service = Service {
        metadata: meta(names, None),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(selector(names)),
            ports: Some(vec![ServicePort {
                name: Some(PORT_NAME.into()),
                port: REDIS_PORT.into(),
                target_port: Some(IntOrString::String(PORT_NAME.into())),
                protocol: Some("TCP".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    };
    let policy = NetworkPolicy {
        metadata: meta(names, None),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(match_labels()),
            // Egress listed with no rule: Redis reaches nothing.
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: Some(vec![NetworkPolicyIngressRule {
                from: Some(vec![NetworkPolicyPeer {
                    pod_selector: Some(LabelSelector {
                        match_labels: Some(names.selector.clone()),
                        ..Default::default()
                    }),
                    ..Default::default()
                }]),
                ports: Some(vec![NetworkPolicyPort {
                    port: Some(IntOrString::Int(REDIS_PORT.into())),
                    protocol: Some("TCP".into()),
                    ..Default::default()
                }]),
            }]),
            egress: Some(Vec::new()),
        }),
    };
    vec![
        Resource::NetworkPolicy(policy),
        Resource::Service(service),
        Resource::Deployment(deployment),
    ]
}
