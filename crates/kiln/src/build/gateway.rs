//! The gateway itself: its Deployment (restricted security context, writable
//! emptyDirs, probes, resources) and Service.

use super::config::{ca_volume, enterprise_env_vars, provider_env_vars};
use super::expose;
use super::{CONTAINER, MCP_PORT_NAME, Names, PORT_NAME};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMap, ConfigMapEnvSource, ConfigMapVolumeSource, Container, ContainerPort,
    EmptyDirVolumeSource, EnvFromSource, EnvVar, HTTPGetAction, LocalObjectReference,
    PodSecurityContext, PodSpec, PodTemplateSpec, Probe, ResourceRequirements, SeccompProfile,
    SecurityContext, Service, ServicePort, ServiceSpec, TopologySpreadConstraint, Volume,
    VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kiln_model::description::Description;
use std::collections::BTreeMap;

/// The name of the strategies volume.
pub(crate) const STRATEGIES_VOLUME: &str = "strategies";

/// The gateway's named ports: `http`, and `mcp` when MCP is served.
pub(crate) fn named_ports(d: &Description) -> Vec<(&'static str, i32)> {
    let mut ports = vec![(PORT_NAME, i32::from(d.port))];
    if let Some(e) = d.enterprise.as_ref().filter(|e| e.server_mode.mcp()) {
        ports.push((MCP_PORT_NAME, e.mcp_port().into()));
    }
    ports
}

pub(crate) fn service(d: &Description, names: &Names) -> Service {
    let load_balancer = d
        .enterprise
        .as_ref()
        .and_then(|e| e.expose.as_ref()?.load_balancer.as_ref().map(|lb| (e, lb)));
    let mut metadata = names.meta(&names.name);
    if let Some((e, lb)) = load_balancer {
        let annotations = expose::load_balancer_annotations(d, e, lb);
        metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .extend(annotations);
    }
    Service {
        metadata,
        spec: Some(ServiceSpec {
            type_: Some(
                if load_balancer.is_some() {
                    "LoadBalancer"
                } else {
                    "ClusterIP"
                }
                .into(),
            ),
            selector: Some(names.pods.clone()),
            ports: Some(
                named_ports(d)
                    .into_iter()
                    .map(|(name, port)| ServicePort {
                        name: Some(name.into()),
                        // Where clients connect; the container's number stays behind the name.
                        port: if name == PORT_NAME {
                            d.service_port().into()
                        } else {
                            port
                        },
                        target_port: Some(IntOrString::String(name.into())),
                        protocol: Some("TCP".into()),
                        ..Default::default()
                    })
                    .collect(),
            ),
            load_balancer_source_ranges: load_balancer
                .map(|(_, lb)| lb.source_ranges.clone())
                .filter(|r| !r.is_empty()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub(crate) fn probe(d: &Description, timing: &kiln_model::description::ProbeTiming) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(d.health_path().to_string()),
            port: IntOrString::String(expose::health_port(d).0.into()),
            scheme: Some("HTTP".into()),
            ..Default::default()
        }),
        period_seconds: Some(timing.period_seconds),
        failure_threshold: Some(timing.failure_threshold),
        timeout_seconds: Some(timing.timeout_seconds),
        ..Default::default()
    }
}

/// The described requests and limits as Kubernetes resource requirements.
pub(crate) fn requirements(r: &kiln_model::description::Resources) -> ResourceRequirements {
    ResourceRequirements {
        requests: Some(quantities(&r.requests.cpu, &r.requests.memory)),
        limits: Some(quantities(&r.limits.cpu, &r.limits.memory)),
        ..Default::default()
    }
}

pub(crate) fn quantities(cpu: &str, memory: &str) -> BTreeMap<String, Quantity> {
    BTreeMap::from([
        ("cpu".to_string(), Quantity(cpu.to_string())),
        ("memory".to_string(), Quantity(memory.to_string())),
    ])
}

pub(crate) fn deployment(
    d: &Description,
    names: &Names,
    config: &ConfigMap,
    strategies: &ConfigMap,
) -> Deployment {
    Deployment {
        metadata: ObjectMeta {
            labels: Some(names.versioned_labels(d)),
            ..names.meta(&names.name)
        },
        spec: Some(DeploymentSpec {
            // With an autoscaler, replicas are its business: a value here would fight it on every sync.
            replicas: d.autoscaling.is_none().then_some(d.replicas),
            revision_history_limit: Some(5),
            selector: LabelSelector {
                match_labels: Some(names.selector.clone()),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(pod_metadata(d, names)),
                spec: Some(pod_spec(d, names, config, strategies)),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The pods' labels (with the version, and AKS workload identity's opt-in)
/// and the Prometheus scrape annotations.
fn pod_metadata(d: &Description, names: &Names) -> ObjectMeta {
    let mut pod_labels = names.versioned_labels(d);
    if d.enterprise
        .as_ref()
        .is_some_and(|e| e.identity.azure_client_id.is_some())
    {
        // AKS workload identity injects the federated token only into pods that ask.
        pod_labels.insert("azure.workload.identity/use".into(), "true".into());
    }
    let mut pod_annotations = BTreeMap::from([(
        "kubectl.kubernetes.io/default-container".to_string(),
        CONTAINER.to_string(),
    )]);
    // Scrapers that read annotations find the metrics only where there are some.
    if d.serves_metrics() {
        pod_annotations.extend([
            ("prometheus.io/path".to_string(), d.monitoring.path.clone()),
            ("prometheus.io/port".to_string(), d.port.to_string()),
            (
                "prometheus.io/scheme".to_string(),
                d.monitoring.scheme.as_str().into(),
            ),
            ("prometheus.io/scrape".to_string(), "true".to_string()),
        ]);
    }
    ObjectMeta {
        labels: Some(pod_labels),
        annotations: Some(pod_annotations),
        ..Default::default()
    }
}

/// The gateway pod: one restricted container, its volumes, identity and spread.
fn pod_spec(d: &Description, names: &Names, config: &ConfigMap, strategies: &ConfigMap) -> PodSpec {
    PodSpec {
        automount_service_account_token: Some(false),
        service_account_name: d.enterprise.as_ref().map(|_| names.name.clone()),
        image_pull_secrets: d
            .enterprise
            .as_ref()
            .and_then(|e| e.pull_secret.as_ref())
            .map(|_| {
                vec![LocalObjectReference {
                    name: names.registry(),
                }]
            }),
        enable_service_links: Some(false),
        security_context: Some(restricted_pod(d.run_as.user, d.run_as.group)),
        containers: vec![gateway_container(d, names, config)],
        volumes: Some(volumes(d, names, strategies)),
        priority_class_name: d.priority_class_name.clone(),
        topology_spread_constraints: topology_spread(d, names),
        ..Default::default()
    }
}

/// Spread over the gateway's own pods, one constraint per topology key.
fn topology_spread(d: &Description, names: &Names) -> Option<Vec<TopologySpreadConstraint>> {
    (!d.topology_spread.is_empty()).then(|| {
        d.topology_spread
            .iter()
            .map(|t| TopologySpreadConstraint {
                topology_key: t.topology_key.clone(),
                max_skew: t.max_skew,
                when_unsatisfiable: t.when_unsatisfiable.as_str().into(),
                label_selector: Some(LabelSelector {
                    match_labels: Some(names.pods.clone()),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .collect()
    })
}

fn gateway_container(d: &Description, names: &Names, config: &ConfigMap) -> Container {
    let env = container_env(d, names);
    let mounts = volume_mounts(d, names);
    Container {
        name: CONTAINER.into(),
        image: Some(d.image.reference()),
        image_pull_policy: Some(d.image.pull_policy.as_str().into()),
        // The open-source gateway listens on --port, not on $PORT.
        args: d
            .enterprise
            .is_none()
            .then(|| kiln_model::portkey::args_for_port(d.port))
            .flatten(),
        ports: Some(
            named_ports(d)
                .into_iter()
                .map(|(name, port)| ContainerPort {
                    name: Some(name.into()),
                    container_port: port,
                    protocol: Some("TCP".into()),
                    ..Default::default()
                })
                .collect(),
        ),
        env_from: Some(env_from(config)),
        env: Some(env),
        volume_mounts: Some(mounts),
        startup_probe: Some(probe(d, &d.probes.startup(d.enterprise.is_some()))),
        readiness_probe: Some(probe(d, &d.probes.readiness)),
        liveness_probe: Some(probe(d, &d.probes.liveness)),
        resources: Some(requirements(&d.resources)),
        security_context: Some(restricted_container(d.run_as.user, d.run_as.group)),
        ..Default::default()
    }
}

/// The writable directories' variables and the secrets, sorted.
fn container_env(d: &Description, names: &Names) -> Vec<EnvVar> {
    let mut env: Vec<EnvVar> = d
        .writable
        .iter()
        .flat_map(|w| {
            w.env.iter().map(|name| EnvVar {
                name: name.clone(),
                value: Some(w.path.clone()),
                ..Default::default()
            })
        })
        .chain(provider_env_vars(d, names))
        .chain(enterprise_env_vars(d, names))
        .collect();
    env.sort_by(|a, b| a.name.cmp(&b.name));
    env
}

/// The writable emptyDirs, the strategies (read-only) and the cache's CA, by path.
fn volume_mounts(d: &Description, names: &Names) -> Vec<VolumeMount> {
    let mut mounts: Vec<VolumeMount> = d
        .writable
        .iter()
        .map(|w| VolumeMount {
            name: w.volume_name(),
            mount_path: w.path.clone(),
            ..Default::default()
        })
        .collect();
    mounts.push(VolumeMount {
        name: STRATEGIES_VOLUME.into(),
        mount_path: d.strategies.mount_path.clone(),
        read_only: Some(true),
        ..Default::default()
    });
    mounts.extend(ca_volume(d, names).map(|(_, m)| m));
    mounts.sort_by(|a, b| a.mount_path.cmp(&b.mount_path));
    mounts
}

fn volumes(d: &Description, names: &Names, strategies: &ConfigMap) -> Vec<Volume> {
    let mut volumes: Vec<Volume> = d
        .writable
        .iter()
        .map(|w| Volume {
            name: w.volume_name(),
            empty_dir: Some(EmptyDirVolumeSource {
                size_limit: Some(Quantity(w.size_limit.clone())),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    volumes.push(Volume {
        name: STRATEGIES_VOLUME.into(),
        config_map: Some(ConfigMapVolumeSource {
            name: strategies.metadata.name.clone().unwrap_or_default(),
            default_mode: Some(0o444),
            ..Default::default()
        }),
        ..Default::default()
    });
    volumes.extend(ca_volume(d, names).map(|(v, _)| v));
    volumes.sort_by(|a, b| a.name.cmp(&b.name));
    volumes
}

/// A container's security context as Pod Security `restricted` wants it, and
/// a read-only root file system: every container kiln renders has it.
pub(crate) fn restricted_container(user: i64, group: i64) -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        privileged: Some(false),
        read_only_root_filesystem: Some(true),
        run_as_non_root: Some(true),
        run_as_user: Some(user),
        run_as_group: Some(group),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            ..Default::default()
        }),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The pod-level counterpart of [`restricted_container`].
pub(crate) fn restricted_pod(user: i64, group: i64) -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(user),
        run_as_group: Some(group),
        fs_group: Some(group),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The whole env ConfigMap as the container's environment.
pub(crate) fn env_from(config: &ConfigMap) -> Vec<EnvFromSource> {
    vec![EnvFromSource {
        config_map_ref: Some(ConfigMapEnvSource {
            name: config.metadata.name.clone().unwrap_or_default(),
            optional: Some(false),
        }),
        ..Default::default()
    }]
}
