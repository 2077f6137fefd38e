//! The typed description of a service: what `base/service.yaml` holds.
//!
//! Every field is documented in docs/reference/description.md. Defaults are the hardened
//! reference deployment of Portkey's homelab guide, so a description only needs to say what
//! is particular to it. Unknown fields are rejected.

pub mod aca;
mod defaults;
pub mod enterprise;
mod validate;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The enterprise gateway's health route, as Portkey documents it.
pub const ENTERPRISE_HEALTH_PATH: &str = "/v1/health";

/// Environment variables the gateway ConfigMap always sets from the
/// description; `config` may not redefine them.
pub const RESERVED_CONFIG: [&str; 4] = ["NODE_ENV", "PORT", "HEALTH_CHECK_PATH", "LOG_LEVEL"];

/// A service description: the base that every environment starts from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Description {
    /// Name of the Deployment, Service and everything else that is not the Namespace.
    pub name: String,
    /// The namespace everything is rendered into.
    pub namespace: NamespaceSettings,
    /// The gateway image; its tag is the version label.
    pub image: Image,
    /// Pod replicas.
    #[serde(default = "defaults::replicas")]
    pub replicas: i32,
    /// The container port, named `http`.
    #[serde(default = "defaults::port")]
    pub port: u16,
    /// The Service's port, where in-cluster clients connect [default: `port`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_port: Option<u16>,
    /// Path of the health endpoint the probes call; by default the one the
    /// gateway answers: see [`Description::health_path`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    health_path: Option<String>,
    /// `LOG_LEVEL` of the gateway.
    #[serde(default)]
    pub log_level: LogLevel,
    /// Further environment variables for the gateway ConfigMap.
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    /// CPU and memory requests and limits.
    #[serde(default)]
    pub resources: Resources,
    /// UID and GID the container runs as.
    #[serde(default)]
    pub run_as: RunAs,
    /// Writable emptyDir mounts; the root file system is read-only.
    #[serde(default = "defaults::writable")]
    pub writable: Vec<WritableDir>,
    /// Startup, readiness and liveness probe timing.
    #[serde(default)]
    pub probes: Probes,
    /// The Gateway API HTTPRoute; without it clients reach the Service in the
    /// cluster, or through an Ingress or Gateway kept beside kiln's output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<Route>,
    /// Ingress and egress the NetworkPolicy allows.
    #[serde(default)]
    pub network_policy: NetworkAccess,
    /// Prometheus scraping, for an image that serves metrics (see
    /// [`Description::serves_metrics`]).
    #[serde(default)]
    pub monitoring: Monitoring,
    /// Provider keys pulled by an ExternalSecret.
    pub secrets: Secrets,
    /// Where the strategies ConfigMap is mounted.
    #[serde(default)]
    pub strategies: StrategiesMount,
    /// Extra labels on every resource (never on selectors).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Extra annotations on every resource.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// A PodDisruptionBudget for the gateway pods.
    #[serde(default)]
    pub pod_disruption_budget: Option<DisruptionBudget>,
    /// A HorizontalPodAutoscaler; the Deployment then leaves `replicas` to it.
    #[serde(default)]
    pub autoscaling: Option<Autoscaling>,
    /// Topology spread constraints over the gateway pods (merged by `topologyKey`).
    #[serde(default)]
    pub topology_spread: Vec<TopologySpread>,
    /// priorityClassName of the pods.
    #[serde(default)]
    pub priority_class_name: Option<String>,
    /// Findings accepted on purpose, each for one rule and resource, with a
    /// reason (`kiln check` rules, or checkov checks rendered as skip annotations).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suppress: Vec<crate::suppress::Suppression>,
    /// The enterprise gateway on GKE, EKS or AKS (Portkey's GKE, EKS and AKS Helm guides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enterprise: Option<enterprise::Enterprise>,
}

/// PodDisruptionBudget: exactly one of the two.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DisruptionBudget {
    /// Pods that must stay available (number or percentage such as `50%`).
    #[serde(default)]
    pub min_available: Option<IntOrPercent>,
    /// Pods that may be unavailable (number or percentage).
    #[serde(default)]
    pub max_unavailable: Option<IntOrPercent>,
}

/// A count or a percentage (`"25%"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[allow(missing_docs)]
pub enum IntOrPercent {
    Int(i32),
    Percent(String),
}

/// HorizontalPodAutoscaler on CPU utilisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Autoscaling {
    /// Lower bound of replicas.
    pub min_replicas: i32,
    /// Upper bound of replicas.
    pub max_replicas: i32,
    /// Target average CPU utilisation, percent of requests.
    #[serde(default = "defaults::cpu_utilization")]
    pub cpu_utilization: i32,
}

/// One topology spread constraint; its labelSelector is the gateway's selector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TopologySpread {
    /// e.g. `topology.kubernetes.io/zone`.
    pub topology_key: String,
    /// Largest allowed difference in pod count between domains.
    #[serde(default = "defaults::max_skew")]
    pub max_skew: i32,
    /// `ScheduleAnyway` (the default: a cluster without zone labels, such as
    /// a homelab, still schedules) or `DoNotSchedule`.
    #[serde(default)]
    pub when_unsatisfiable: WhenUnsatisfiable,
}

/// What the scheduler does when a spread cannot be met.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum WhenUnsatisfiable {
    DoNotSchedule,
    #[default]
    ScheduleAnyway,
}

impl WhenUnsatisfiable {
    /// The Kubernetes value.
    pub fn as_str(self) -> &'static str {
        match self {
            WhenUnsatisfiable::DoNotSchedule => "DoNotSchedule",
            WhenUnsatisfiable::ScheduleAnyway => "ScheduleAnyway",
        }
    }
}

/// The namespace and its Pod Security Standard labels (always `restricted`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NamespaceSettings {
    /// Namespace name.
    pub name: String,
    /// Value of the `pod-security.kubernetes.io/*-version` labels.
    #[serde(default = "defaults::pss_version")]
    pub pod_security_version: String,
}

/// A container image. The tag is required: it is the version label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Image {
    /// Repository, e.g. `portkeyai/gateway`.
    pub repository: String,
    /// Tag, e.g. `1.12.1`.
    pub tag: String,
    /// Optional digest (`sha256:…`) pinning the exact image.
    #[serde(default)]
    pub digest: Option<String>,
    /// Kubernetes imagePullPolicy.
    #[serde(default)]
    pub pull_policy: PullPolicy,
}

impl Image {
    /// The image reference: `repository:tag[@digest]`.
    pub fn reference(&self) -> String {
        match &self.digest {
            Some(d) => format!("{}:{}@{}", self.repository, self.tag, d),
            None => format!("{}:{}", self.repository, self.tag),
        }
    }
}

/// Kubernetes imagePullPolicy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum PullPolicy {
    Always,
    #[default]
    IfNotPresent,
    Never,
}

impl PullPolicy {
    /// The Kubernetes value.
    pub fn as_str(self) -> &'static str {
        match self {
            PullPolicy::Always => "Always",
            PullPolicy::IfNotPresent => "IfNotPresent",
            PullPolicy::Never => "Never",
        }
    }
}

/// Gateway log level.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum LogLevel {
    Error,
    Warn,
    #[default]
    Info,
    Debug,
}

impl LogLevel {
    /// The value written to `LOG_LEVEL`.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
        }
    }
}

/// Requests and limits; either may be left out for kiln's default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Resources {
    /// What the scheduler reserves.
    pub requests: CpuMemory,
    /// The most the container may use.
    pub limits: CpuMemory,
}

impl Default for Resources {
    fn default() -> Self {
        Resources::sized(("100m", "256Mi"), ("500m", "512Mi"))
    }
}

impl Resources {
    /// Requests and limits from `(cpu, memory)` pairs.
    pub fn sized(requests: (&str, &str), limits: (&str, &str)) -> Resources {
        let pair = |(cpu, memory): (&str, &str)| CpuMemory {
            cpu: cpu.into(),
            memory: memory.into(),
        };
        Resources {
            requests: pair(requests),
            limits: pair(limits),
        }
    }
}

/// A CPU and memory pair of Kubernetes quantities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpuMemory {
    /// CPU, e.g. `100m`.
    pub cpu: String,
    /// Memory, e.g. `256Mi`.
    pub memory: String,
}

/// The non-root identity of the container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunAs {
    /// runAsUser (never 0).
    pub user: i64,
    /// runAsGroup and fsGroup (never 0).
    pub group: i64,
}

impl Default for RunAs {
    fn default() -> Self {
        RunAs {
            user: 1000,
            group: 1000,
        }
    }
}

/// A writable emptyDir mount, and the environment variables that point at it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WritableDir {
    /// Absolute mount path.
    pub path: String,
    /// emptyDir sizeLimit.
    pub size_limit: String,
    /// Variables set to `path` in the container (e.g. `NPM_CONFIG_CACHE`).
    #[serde(default)]
    pub env: Vec<String>,
}

impl WritableDir {
    /// The volume name derived from the path: `/home/node/.npm` → `home-node-npm`.
    pub fn volume_name(&self) -> String {
        let name: String = self
            .path
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        name.split('-')
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("-")
    }
}

/// ProbeTiming timing. All probes call `healthPath` on the named port; a
/// probe left out takes kiln's default timing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Probes {
    /// Startup: the container has `periodSeconds × failureThreshold` seconds
    /// to come up. Unset: [`Probes::startup`] decides by the image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub startup: Option<ProbeTiming>,
    /// Readiness.
    pub readiness: ProbeTiming,
    /// Liveness.
    pub liveness: ProbeTiming,
}

impl Default for Probes {
    fn default() -> Self {
        let probe = |period, failures| ProbeTiming {
            period_seconds: period,
            failure_threshold: failures,
            timeout_seconds: 5,
        };
        Probes {
            startup: None,
            readiness: probe(10, 3),
            liveness: probe(30, 3),
        }
    }
}

impl Probes {
    /// The startup probe's timing: as set, or 50 s (10 × 5 s) for the
    /// open-source gateway, which is up in a few seconds, and 125 s (25 × 5 s)
    /// for the enterprise gateway, which syncs from its control plane before it
    /// answers: Portkey's chart first restarts it 125 s after start (liveness:
    /// 5 s delay, then every 60 s, 3 failures), so kiln gives it as long.
    pub fn startup(&self, enterprise: bool) -> ProbeTiming {
        self.startup.clone().unwrap_or(ProbeTiming {
            period_seconds: 5,
            failure_threshold: if enterprise { 25 } else { 10 },
            timeout_seconds: 5,
        })
    }
}

/// One probe's timing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProbeTiming {
    /// Seconds between checks.
    pub period_seconds: i32,
    /// Consecutive failures before the probe fails.
    pub failure_threshold: i32,
    /// Seconds one check may take.
    #[serde(default = "defaults::probe_timeout")]
    pub timeout_seconds: i32,
}

/// The HTTPRoute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Route {
    /// Host names routed to the service.
    pub hosts: Vec<String>,
    /// The shared Gateway to attach to.
    #[serde(default)]
    pub gateway: GatewayRef,
    /// Response headers set on every response, over kiln's strict defaults
    /// (see docs/reference/description.md); a header given here replaces the default of that name.
    #[serde(default)]
    pub response_headers: BTreeMap<String, String>,
    /// Serve the strategies by name: clients send `x-portkey-config: <name>`
    /// and the Gateway injects the strategy with the store's keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategies_by_name: Option<ByName>,
}

/// How strategies are served by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ByName {
    /// The Gateway API implementation that injects the header.
    pub implementation: Implementation,
    /// The strategy a request gets whose header names none (or is absent);
    /// without one, such requests are refused (404).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

/// A Gateway API implementation that can set a request header from a Secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Implementation {
    /// Envoy Gateway: an HTTPRouteFilter's `credentialInjection` (v1.5 and later).
    EnvoyGateway,
}

/// parentRef of the HTTPRoute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GatewayRef {
    /// Gateway name.
    pub name: String,
    /// Gateway namespace.
    pub namespace: String,
    /// Listener name; absent attaches to every listener that allows it.
    #[serde(default)]
    pub section_name: Option<String>,
}

impl Default for GatewayRef {
    fn default() -> Self {
        GatewayRef {
            name: "external".into(),
            namespace: "gateway".into(),
            section_name: None,
        }
    }
}

/// What the NetworkPolicy lets in and out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NetworkAccess {
    /// Namespaces (by `kubernetes.io/metadata.name`) allowed to reach the app port.
    pub ingress_from_namespaces: Vec<String>,
    /// TCP ports the pods may connect out to (DNS on 53 is always allowed).
    pub egress_tcp_ports: Vec<u16>,
}

impl Default for NetworkAccess {
    fn default() -> Self {
        NetworkAccess {
            ingress_from_namespaces: vec!["gateway".into()],
            egress_tcp_ports: vec![80, 443],
        }
    }
}

/// The ServiceMonitor endpoint, and who may scrape it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Monitoring {
    /// Metrics path.
    pub path: String,
    /// Scrape interval (Prometheus duration).
    pub interval: String,
    /// `http` or `https`.
    pub scheme: Scheme,
    /// The namespace Prometheus scrapes from: the only one the NetworkPolicy
    /// admits for metrics.
    pub namespace: String,
}

impl Default for Monitoring {
    fn default() -> Self {
        Monitoring {
            path: "/metrics".into(),
            interval: "30s".into(),
            scheme: Scheme::Http,
            namespace: "monitoring".into(),
        }
    }
}

/// Scrape scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    /// The value in the ServiceMonitor and scrape annotation.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// Provider keys, pulled from a secret store by an ExternalSecret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Secrets {
    /// Name of the (Bitwarden-backed) ClusterSecretStore.
    pub store: String,
    /// How often External Secrets re-reads the store.
    #[serde(default = "defaults::refresh_interval")]
    pub refresh_interval: String,
    /// One entry per key: the variable and where the value lives in the store.
    pub keys: Vec<SecretKey>,
}

/// One provider key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretKey {
    /// Environment variable in the gateway container.
    pub env: String,
    /// The secret's key (name or ID) in the store.
    pub remote_key: String,
    /// The field of that secret, for stores whose secrets hold several
    /// (Vault, AWS Secrets Manager JSON, Bitwarden fields): External
    /// Secrets' `remoteRef.property`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
}

/// Where strategy files are mounted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StrategiesMount {
    /// Mount path of the strategies ConfigMap.
    pub mount_path: String,
}

impl Default for StrategiesMount {
    fn default() -> Self {
        StrategiesMount {
            mount_path: "/app/configs".into(),
        }
    }
}

impl Description {
    /// The host names of the route (none without one).
    pub fn hosts(&self) -> &[String] {
        self.route.as_ref().map_or(&[], |r| r.hosts.as_slice())
    }

    /// The Service's port: `servicePort`, or the container's.
    pub fn service_port(&self) -> u16 {
        self.service_port.unwrap_or(self.port)
    }

    /// The path the probes and load-balancer health checks call: `healthPath`,
    /// or by default `/` for the open-source gateway (which has no health
    /// route, see [`crate::portkey::HEALTH_PATH`]) and `/v1/health` for the
    /// enterprise gateway (as Portkey documents it, Portkey's GKE, EKS and AKS Helm guides).
    pub fn health_path(&self) -> &str {
        match (&self.health_path, &self.enterprise) {
            (Some(path), _) => path,
            (None, Some(_)) => ENTERPRISE_HEALTH_PATH,
            (None, None) => crate::portkey::HEALTH_PATH,
        }
    }

    /// The enterprise and ACA settings, for an Azure Container Apps
    /// environment (which renders Terraform variables, not manifests).
    pub fn aca(&self) -> Option<(&enterprise::Enterprise, &aca::Aca)> {
        let e = self.enterprise.as_ref()?;
        let aca = e
            .aca
            .as_ref()
            .filter(|_| e.cloud == enterprise::Cloud::Aca)?;
        Some((e, aca))
    }

    /// Whether the image serves Prometheus metrics: the enterprise gateway
    /// does (`GET /metrics`, Portkey's Prometheus metrics page); the
    /// open-source gateway answers 404 there in every released version, so it
    /// gets no ServiceMonitor, whose target would always be down.
    pub fn serves_metrics(&self) -> bool {
        self.enterprise.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_names_derive_from_paths() {
        let d = |p: &str| WritableDir {
            path: p.into(),
            size_limit: "1Mi".into(),
            env: vec![],
        };
        assert_eq!(d("/home/node/.npm").volume_name(), "home-node-npm");
        assert_eq!(d("/tmp").volume_name(), "tmp");
        assert_eq!(d("/var/run").volume_name(), "var-run");
    }
}
