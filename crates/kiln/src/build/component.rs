//! The enterprise gateway's companions, each a Deployment, a Service and a
//! NetworkPolicy, hardened like the gateway (Pod Security `restricted`, a
//! read-only root file system, bounded resources) and fenced so that only
//! the gateway's pods reach them:
//!
//! - the built-in Redis (the cache of prompts, configs and providers): no
//!   persistence, memory capped below its limit, and no egress at all —
//!   Portkey's chart runs it as root with no policy;
//! - the Data Service (batches, fine-tuning, log exports): the gateway's
//!   configuration and identity, reaching out only where the gateway may.

use super::Names;
use super::gateway::{quantities, requirements, restricted_container, restricted_pod};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapKeySelector, Container, ContainerPort, EmptyDirVolumeSource, EnvVar,
    EnvVarSource, HTTPGetAction, LocalObjectReference, PodSpec, PodTemplateSpec, Probe,
    ResourceRequirements, Service, ServicePort, ServiceSpec, TCPSocketAction, Volume, VolumeMount,
};
use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPort,
    NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kiln_k8s::Resource;
use kiln_model::description::Description;
use kiln_model::enterprise::{DATA_SERVICE_PORT, DataService, Enterprise, REDIS_PORT};
use std::collections::BTreeMap;

/// Redis's user: above the image's own, as checkov's CKV_K8S_40 asks.
const REDIS_UID: i64 = 10001;
/// The Data Service's user: the image is Node.js, its files owned by `node`
/// (1000), and Portkey's chart runs it as 1000 (`dataservice.deployment.securityContext`).
const DATA_SERVICE_UID: i64 = 1000;
/// Redis's memory limit and its own cap below it (LRU eviction instead of OOM kills).
const REDIS_MEMORY_LIMIT: &str = "256Mi";
const REDIS_MAX_MEMORY: &str = "192mb";

/// One companion: what differs between them.
struct Component {
    /// `<name>-<suffix>`: the Deployment, Service and NetworkPolicy.
    suffix: &'static str,
    /// `app.kubernetes.io/component`.
    role: &'static str,
    container: Container,
    port: (&'static str, u16),
    replicas: i32,
    /// emptyDir mounts: (volume, path, size).
    scratch: Vec<(&'static str, &'static str, &'static str)>,
    service_account: Option<String>,
    pull_secret: Option<String>,
    egress: Vec<NetworkPolicyEgressRule>,
    /// Further volumes (e.g. the managed cache's CA certificate).
    extra: Option<(Volume, VolumeMount)>,
    /// AKS workload identity: its webhook serves only pods that ask.
    azure_identity: bool,
    /// Pod selectors of who may connect: the gateway, and for Redis the Data Service too.
    clients: Vec<BTreeMap<String, String>>,
    /// The user and group the pod runs as.
    uid: i64,
}

fn build(names: &Names, c: Component) -> Vec<Resource> {
    vec![
        Resource::NetworkPolicy(c.network_policy(names)),
        Resource::Service(c.service(names)),
        Resource::Deployment(c.deployment(names)),
    ]
}

impl Component {
    /// The common labels, the component's own, and (on the Deployment and
    /// its pods) the version from its image tag.
    fn labels(&self, names: &Names, version: bool) -> BTreeMap<String, String> {
        let mut labels = names.labels.clone();
        labels.insert("app.kubernetes.io/component".into(), self.role.into());
        // The selector's labels win: an adopted release's name the component.
        labels.extend(names.companion_selector(self.suffix));
        let tag = self
            .container
            .image
            .as_deref()
            .and_then(|image| kiln_model::image::ImageRef::parse(image).tag);
        if let Some(t) = tag.filter(|_| version) {
            labels.insert("app.kubernetes.io/version".into(), t.into());
        }
        labels
    }

    fn meta(&self, names: &Names, version: bool) -> ObjectMeta {
        ObjectMeta {
            labels: Some(self.labels(names, version)),
            ..names.meta(names.companion_name(self.suffix))
        }
    }

    fn match_labels(&self, names: &Names) -> LabelSelector {
        LabelSelector {
            match_labels: Some(names.companion_selector(self.suffix)),
            ..Default::default()
        }
    }

    fn deployment(self, names: &Names) -> Deployment {
        let mut pod_labels = self.labels(names, true);
        if self.azure_identity {
            pod_labels.insert("azure.workload.identity/use".into(), "true".into());
        }
        let metadata = self.meta(names, true);
        let selector = self.match_labels(names);
        let replicas = self.replicas;
        let uid = self.uid;
        let service_account_name = self.service_account.clone();
        let image_pull_secrets = self
            .pull_secret
            .clone()
            .map(|name| vec![LocalObjectReference { name }]);
        let (container, volumes) = self.container_and_volumes();
        Deployment {
            metadata,
            spec: Some(DeploymentSpec {
                replicas: Some(replicas),
                revision_history_limit: Some(5),
                selector,
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(pod_labels),
                        ..Default::default()
                    }),
                    spec: Some(PodSpec {
                        automount_service_account_token: Some(false),
                        enable_service_links: Some(false),
                        service_account_name,
                        image_pull_secrets,
                        security_context: Some(restricted_pod(uid, uid)),
                        containers: vec![container],
                        volumes: Some(volumes),
                        ..Default::default()
                    }),
                },
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// The container, restricted, with its port and mounts; and the volumes
    /// behind them (size-limited emptyDirs and any extra).
    fn container_and_volumes(self) -> (Container, Vec<Volume>) {
        let mut container = self.container;
        let (port_name, port) = self.port;
        container.ports = Some(vec![ContainerPort {
            name: Some(port_name.into()),
            container_port: port.into(),
            protocol: Some("TCP".into()),
            ..Default::default()
        }]);
        container.security_context = Some(restricted_container(self.uid, self.uid));
        let mut mounts = Vec::new();
        let mut volumes = Vec::new();
        for (volume, path, size) in &self.scratch {
            mounts.push(VolumeMount {
                name: (*volume).into(),
                mount_path: (*path).into(),
                ..Default::default()
            });
            volumes.push(Volume {
                name: (*volume).into(),
                empty_dir: Some(EmptyDirVolumeSource {
                    size_limit: Some(Quantity((*size).into())),
                    ..Default::default()
                }),
                ..Default::default()
            });
        }
        if let Some((volume, mount)) = self.extra {
            volumes.push(volume);
            mounts.push(mount);
        }
        container.volume_mounts = Some(mounts);
        (container, volumes)
    }

    fn service(&self, names: &Names) -> Service {
        let (port_name, port) = self.port;
        Service {
            metadata: self.meta(names, false),
            spec: Some(ServiceSpec {
                type_: Some("ClusterIP".into()),
                selector: Some(names.companion_selector(self.suffix)),
                ports: Some(vec![ServicePort {
                    name: Some(port_name.into()),
                    port: port.into(),
                    target_port: Some(IntOrString::String(port_name.into())),
                    protocol: Some("TCP".into()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// Reachable only from its clients' pods, on its port; out only where `egress` says.
    fn network_policy(&self, names: &Names) -> NetworkPolicy {
        NetworkPolicy {
            metadata: self.meta(names, false),
            spec: Some(NetworkPolicySpec {
                pod_selector: Some(self.match_labels(names)),
                policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
                ingress: Some(vec![NetworkPolicyIngressRule {
                    from: Some(self.clients.iter().cloned().map(super::pod_peer).collect()),
                    ports: Some(vec![NetworkPolicyPort {
                        port: Some(IntOrString::Int(self.port.1.into())),
                        protocol: Some("TCP".into()),
                        ..Default::default()
                    }]),
                }]),
                egress: Some(self.egress.clone()),
            }),
        }
    }
}

/// The built-in Redis.
pub(crate) fn redis(e: &Enterprise, names: &Names) -> Vec<Resource> {
    let probe = |period: i32| Probe {
        tcp_socket: Some(TCPSocketAction {
            port: IntOrString::String("redis".into()),
            ..Default::default()
        }),
        period_seconds: Some(period),
        ..Default::default()
    };
    let container = Container {
        name: "redis".into(),
        image: Some(e.cache.redis_image.clone()),
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
                REDIS_MAX_MEMORY,
                "--maxmemory-policy",
                "allkeys-lru",
            ]
            .map(String::from)
            .to_vec(),
        ),
        readiness_probe: Some(probe(10)),
        liveness_probe: Some(probe(30)),
        resources: Some(ResourceRequirements {
            requests: Some(quantities("50m", "128Mi")),
            limits: Some(quantities("250m", REDIS_MEMORY_LIMIT)),
            ..Default::default()
        }),
        ..Default::default()
    };
    build(
        names,
        Component {
            suffix: "redis",
            role: "cache",
            container,
            port: ("redis", REDIS_PORT),
            replicas: 1,
            scratch: vec![("data", "/data", "64Mi")],
            service_account: None,
            pull_secret: None,
            // Redis reaches nothing.
            egress: Vec::new(),
            extra: None,
            azure_identity: false,
            uid: REDIS_UID,
            clients: std::iter::once(names.pods.clone())
                .chain(
                    e.data_service
                        .is_some()
                        .then(|| names.companion_selector("dataservice")),
                )
                .collect(),
        },
    )
}

/// The gateway's settings the Data Service reads, as Portkey's chart 1.7.7
/// passes them (templates/_helpers.tpl: `dataservice.commonEnv`,
/// `cacheStore.commonEnv`, `logStore.commonEnv`): the analytics, finetune
/// and export stores, the cache and the log store, by variable name, and
/// three under a second name. Not the gateway's own (`SERVER_MODE`, MCP, the
/// control plane's URLs, `LOG_STORE_FILE_PATH_FORMAT`).
const DATA_SERVICE_SETTINGS: &[(&str, &str)] = &[
    ("AWS_S3_FINETUNE_BUCKET", "FINETUNES_BUCKET"),
    ("CLICKHOUSE_HOST", "ANALYTICS_STORE_ENDPOINT"),
    ("CLICKHOUSE_USER", "ANALYTICS_STORE_USER"),
];
const DATA_SERVICE_PREFIXES: &[&str] = &[
    "ANALYTICS_",
    "AWS_REDIS_",
    "AZURE_",
    "CACHE_STORE",
    "FINETUNES_",
    "LOG_EXPORTS_BUCKET",
    "LOG_STORE",
    "MONGO_",
    "NODE_ENV",
    "REDIS_",
];

/// The Data Service's share of the gateway's ConfigMap, each variable read
/// from it by key, so a changed setting rolls both (the ConfigMap's name is
/// its content's hash).
fn shared_settings(config: &ConfigMap) -> Vec<EnvVar> {
    let Some(data) = &config.data else {
        return Vec::new();
    };
    let from = |name: &str, key: &str| EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            config_map_key_ref: Some(ConfigMapKeySelector {
                name: config.metadata.name.clone().unwrap_or_default(),
                key: key.into(),
                optional: Some(false),
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let own = data
        .keys()
        .filter(|k| k.as_str() != "LOG_STORE_FILE_PATH_FORMAT")
        .filter(|k| DATA_SERVICE_PREFIXES.iter().any(|p| k.starts_with(p)))
        .map(|k| from(k, k));
    let aliases = DATA_SERVICE_SETTINGS
        .iter()
        .filter(|(_, key)| data.contains_key(*key))
        .map(|(name, key)| from(name, key));
    own.chain(aliases).collect()
}

/// The Data Service: its share of the gateway's settings and secrets, its
/// own name and port, the gateway's identity and egress.
pub(crate) fn data_service(
    d: &Description,
    e: &Enterprise,
    ds: &DataService,
    names: &Names,
    config: &ConfigMap,
) -> Vec<Resource> {
    let probe = |period: i32, failures: i32| Probe {
        http_get: Some(HTTPGetAction {
            path: Some("/health".into()),
            port: IntOrString::String("dataservice".into()),
            ..Default::default()
        }),
        period_seconds: Some(period),
        failure_threshold: Some(failures),
        ..Default::default()
    };
    let literal = |name: &str, value: String| EnvVar {
        name: name.into(),
        value: Some(value),
        ..Default::default()
    };
    let service_name = ds
        .service_name
        .clone()
        .unwrap_or_else(|| format!("{}-dataservice", e.service_name));
    // env overrides the shared ConfigMap (envFrom) where the two differ; the
    // variables the chart always gives the Data Service come first.
    let mut env = vec![
        literal("ALBUS_ENDPOINT", e.albus_endpoint()),
        literal(
            "GATEWAY_BASE_URL",
            format!("http://{}:{}", names.name, d.port),
        ),
        literal("HYBRID_DEPLOYMENT", "ON".into()),
        literal("PORT", DATA_SERVICE_PORT.to_string()),
        literal("SERVICE_NAME", service_name),
        literal("TMPDIR", "/tmp".into()),
    ];
    if ds.debug {
        env.push(literal("NODE_DEBUG", "dataservice:*".into()));
    }
    env.extend(shared_settings(config));
    // The licence and stores; the provider keys are the gateway's alone.
    env.extend(super::enterprise_env_vars(d, names));
    env.sort_by(|a, b| a.name.cmp(&b.name));
    let container = Container {
        name: "dataservice".into(),
        image: Some(ds.image.clone()),
        image_pull_policy: Some("IfNotPresent".into()),
        env: Some(env),
        startup_probe: Some(probe(10, 12)),
        readiness_probe: Some(probe(10, 3)),
        liveness_probe: Some(probe(30, 3)),
        resources: Some(requirements(&ds.resources)),
        ..Default::default()
    };
    build(
        names,
        Component {
            suffix: "dataservice",
            role: "dataservice",
            container,
            port: ("dataservice", DATA_SERVICE_PORT),
            replicas: ds.replicas,
            scratch: vec![("tmp", "/tmp", "256Mi")],
            service_account: Some(names.name.clone()),
            pull_secret: e.pull_secret.as_ref().map(|_| names.registry()),
            egress: {
                let mut egress = super::egress_rules(d, names);
                // GATEWAY_BASE_URL: the Data Service calls the gateway back.
                egress.push(super::to_pods(names.pods.clone(), d.port));
                egress
            },
            extra: super::ca_volume(d, names),
            azure_identity: e.identity.azure_client_id.is_some(),
            clients: vec![names.pods.clone()],
            uid: DATA_SERVICE_UID,
        },
    )
}
