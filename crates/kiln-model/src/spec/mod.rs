//! The typed description of a service: what `base/service.yaml` holds.
//!
//! Every field is documented in docs/reference/description.md. Defaults are the hardened
//! reference deployment of Portkey's homelab guide, so a description only needs to say what
//! is particular to it. Unknown fields are rejected.

pub mod aca;
pub mod enterprise;

use crate::error::{Error, InputError};
use crate::values::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

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

mod defaults {
    use super::WritableDir;

    pub fn replicas() -> i32 {
        1
    }
    pub fn port() -> u16 {
        8787
    }
    pub fn pss_version() -> String {
        "v1.33".into()
    }
    pub fn probe_timeout() -> i32 {
        5
    }
    pub fn cpu_utilization() -> i32 {
        75
    }
    pub fn max_skew() -> i32 {
        1
    }
    pub fn refresh_interval() -> String {
        "1h".into()
    }
    pub fn writable() -> Vec<WritableDir> {
        let dir = |path: &str, size: &str, env: &[&str]| WritableDir {
            path: path.into(),
            size_limit: size.into(),
            env: env.iter().map(|e| e.to_string()).collect(),
        };
        vec![
            dir("/tmp", "64Mi", &["TMPDIR"]),
            dir("/home/node/.npm", "128Mi", &["NPM_CONFIG_CACHE"]),
            dir("/home/node/.config", "16Mi", &["XDG_CONFIG_HOME"]),
            dir("/app/cache", "256Mi", &["XDG_CACHE_HOME"]),
            dir("/var/log", "64Mi", &[]),
            dir("/var/run", "8Mi", &[]),
        ]
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
    /// route, see [`crate::gateway::HEALTH_PATH`]) and `/v1/health` for the
    /// enterprise gateway (as Portkey documents it, Portkey's GKE, EKS and AKS Helm guides).
    pub fn health_path(&self) -> &str {
        match (&self.health_path, &self.enterprise) {
            (Some(path), _) => path,
            (None, Some(_)) => ENTERPRISE_HEALTH_PATH,
            (None, None) => crate::gateway::HEALTH_PATH,
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

    /// Checks what serde cannot: names, quantities, paths, ports, uniqueness.
    /// The first problem found is returned as an error about `file`.
    pub fn validate(&self, file: &Path) -> Result<(), Error> {
        match self.problems().into_iter().next() {
            None => Ok(()),
            Some(Problem {
                pointer, message, ..
            }) => Err(InputError::new(file, message).at(pointer).into()),
        }
    }

    /// Every problem serde cannot see, in the order of the documented table.
    fn problems(&self) -> Vec<Problem> {
        let mut checks = self.field_problems();
        checks.extend(self.list_problems());
        checks.extend(self.probe_problems());
        checks.extend(self.config_problems());
        checks.extend([
            self.writable_problem(),
            self.secret_problem(),
            self.enterprise.as_ref().and_then(|e| e.problem()),
            self.adopt_problem(),
            self.by_name_problem(),
            self.mcp_host_problem(),
            self.env_clash(),
            self.optional_parts_problem(),
        ]);
        checks.into_iter().flatten().collect()
    }

    /// Whether the image serves Prometheus metrics: the enterprise gateway
    /// does (`GET /metrics`, Portkey's Prometheus metrics page); the
    /// open-source gateway answers 404 there in every released version, so it
    /// gets no ServiceMonitor, whose target would always be down.
    pub fn serves_metrics(&self) -> bool {
        self.enterprise.is_some()
    }

    /// Strategies by name are for the open-source gateway, on a route.
    fn by_name_problem(&self) -> Option<Problem> {
        let route = self.route.as_ref()?;
        route.strategies_by_name.as_ref()?;
        self.enterprise.is_some().then(|| {
            Problem::new(
                "/route/strategiesByName",
                "the enterprise gateway takes named configs from its control plane: strategiesByName is for the open-source gateway",
            )
        })
    }

    /// A release to take over names kiln's Deployments as the chart named its own.
    fn adopt_problem(&self) -> Option<Problem> {
        let release = self.enterprise.as_ref()?.adopt_helm_release.as_deref()?;
        let at = "/enterprise/adoptHelmRelease";
        if let Some(p) = dns_label(at, release) {
            return Some(p);
        }
        let fullname = enterprise::Enterprise::chart_fullname(release);
        (self.name != fullname).then(|| {
            Problem::new(
                at,
                format!(
                    "Portkey's chart names the Deployment of release `{release}` `{fullname}`: set `name: {fullname}` so kiln's Deployments replace the chart's in place (with `{}` they would run beside them)",
                    self.name
                ),
            )
        })
    }

    /// The open-source gateway answers every `/v1/*` request without Portkey
    /// headers with 400, so a probe there never passes.
    fn health_path_problem(&self) -> Option<Problem> {
        let path = self.health_path.as_deref()?;
        (self.enterprise.is_none() && (path == "/v1" || path.starts_with("/v1/"))).then(|| {
            Problem::new(
                "/healthPath",
                format!(
                    "the open-source gateway has no health route: `GET {path}` answers 400 (\"Either x-portkey-config or x-portkey-provider header is required\"), so the pods would never be ready; leave healthPath out (probes call `/`, which answers 200)"
                ),
            )
        })
    }

    /// Names, paths, durations, quantities and numbers, one field each.
    fn field_problems(&self) -> Vec<Option<Problem>> {
        vec![
            dns_label("/name", &self.name),
            dns_label("/namespace/name", &self.namespace.name),
            image(&self.image),
            (self.replicas < 0).then(|| Problem::new("/replicas", "must be 0 or more")),
            (self.port == 0).then(|| Problem::new("/port", "must be 1-65535")),
            self.health_path
                .as_deref()
                .and_then(|p| abs_path("/healthPath", p)),
            self.health_path_problem(),
            abs_path("/monitoring/path", &self.monitoring.path),
            dns_label("/monitoring/namespace", &self.monitoring.namespace),
            abs_path("/strategies/mountPath", &self.strategies.mount_path),
            duration("/monitoring/interval", &self.monitoring.interval),
            duration("/secrets/refreshInterval", &self.secrets.refresh_interval),
            quantity("/resources/requests/cpu", &self.resources.requests.cpu),
            quantity(
                "/resources/requests/memory",
                &self.resources.requests.memory,
            ),
            quantity("/resources/limits/cpu", &self.resources.limits.cpu),
            quantity("/resources/limits/memory", &self.resources.limits.memory),
            (self.run_as.user <= 0)
                .then(|| Problem::new("/runAs/user", "must be a non-root UID (> 0)")),
            (self.run_as.group <= 0)
                .then(|| Problem::new("/runAs/group", "must be a non-root GID (> 0)")),
            self.route
                .as_ref()
                .and_then(|r| dns_label("/route/gateway/name", &r.gateway.name)),
            self.route
                .as_ref()
                .and_then(|r| dns_label("/route/gateway/namespace", &r.gateway.namespace)),
            dns_label("/secrets/store", &self.secrets.store),
            self.route
                .as_ref()
                .is_some_and(|r| r.hosts.is_empty())
                .then(|| Problem::new("/route/hosts", "needs at least one host")),
            (self.route.is_none() && self.enterprise.as_ref().is_some_and(|e| e.expose.is_none()))
                .then(|| {
                    Problem::new(
                        "/route",
                        "the enterprise gateway without `enterprise.expose` is reached through its HTTPRoute: give `route.hosts`",
                    )
                }),
            self.secrets.keys.is_empty().then(|| {
                Problem::new(
                    "/secrets/keys",
                    "needs at least one key (the gateway has no provider credentials otherwise)",
                )
            }),
        ]
    }

    /// Hosts, namespaces allowed in, ports allowed out.
    fn list_problems(&self) -> Vec<Option<Problem>> {
        let mut checks = Vec::new();
        for (i, host) in self.hosts().iter().enumerate() {
            checks.push(hostname(&format!("/route/hosts/{i}"), host));
        }
        for (i, ns) in self
            .network_policy
            .ingress_from_namespaces
            .iter()
            .enumerate()
        {
            checks.push(dns_label(
                &format!("/networkPolicy/ingressFromNamespaces/{i}"),
                ns,
            ));
        }
        for (i, port) in self.network_policy.egress_tcp_ports.iter().enumerate() {
            checks.push((*port == 0).then(|| {
                Problem::new(
                    format!("/networkPolicy/egressTcpPorts/{i}"),
                    "must be 1-65535",
                )
            }));
        }
        checks
    }

    fn probe_problems(&self) -> Vec<Option<Problem>> {
        let mut checks = Vec::new();
        for (name, probe) in [
            ("startup", &self.probes.startup(self.enterprise.is_some())),
            ("readiness", &self.probes.readiness),
            ("liveness", &self.probes.liveness),
        ] {
            for (field, v) in [
                ("periodSeconds", probe.period_seconds),
                ("failureThreshold", probe.failure_threshold),
                ("timeoutSeconds", probe.timeout_seconds),
            ] {
                checks.push(
                    (v < 1).then(|| {
                        Problem::new(format!("/probes/{name}/{field}"), "must be 1 or more")
                    }),
                );
            }
        }
        checks
    }

    /// Variable names, none of them one kiln sets itself.
    fn config_problems(&self) -> Vec<Option<Problem>> {
        let mut checks = Vec::new();
        for key in self.config.keys() {
            checks.push(env_name(&format!("/config/{key}"), key));
            checks.push(RESERVED_CONFIG.contains(&key.as_str()).then(|| {
                Problem::new(format!("/config/{key}"), format!("`{key}` is set by kiln from the description; use the dedicated field instead"))
            }));
        }
        checks
    }

    /// MCP on a host of its own.
    fn mcp_host_problem(&self) -> Option<Problem> {
        let mcp_host = self
            .enterprise
            .as_ref()
            .and_then(|e| e.mcp.as_ref()?.host.as_ref());
        mcp_host.and_then(|h| {
            if self.hosts().contains(h) {
                Some(Problem::new(
                    "/enterprise/mcp/host",
                    format!("`{h}` is also in route.hosts: MCP needs a host name of its own"),
                ))
            } else {
                hostname("/enterprise/mcp/host", h)
            }
        })
    }

    fn writable_problem(&self) -> Option<Problem> {
        let mut paths = BTreeSet::new();
        let mut volumes = BTreeSet::new();
        for (i, dir) in self.writable.iter().enumerate() {
            let at = format!("/writable/{i}");
            if let Some(p) = abs_path(&format!("{at}/path"), &dir.path) {
                return Some(p);
            }
            if dir.path == "/" || dir.path == self.strategies.mount_path {
                return Some(Problem::new(
                    format!("{at}/path"),
                    format!("`{}` cannot be a writable directory", dir.path),
                ));
            }
            if let Some(p) = quantity(&format!("{at}/sizeLimit"), &dir.size_limit) {
                return Some(p);
            }
            if !paths.insert(dir.path.as_str()) || !volumes.insert(dir.volume_name()) {
                return Some(Problem::new(
                    format!("{at}/path"),
                    format!("`{}` is listed twice", dir.path),
                ));
            }
            for (j, env) in dir.env.iter().enumerate() {
                if let Some(p) = env_name(&format!("{at}/env/{j}"), env) {
                    return Some(p);
                }
            }
        }
        None
    }

    fn secret_problem(&self) -> Option<Problem> {
        let mut seen = BTreeSet::new();
        for (i, key) in self.secrets.keys.iter().enumerate() {
            if let Some(p) = env_name(&format!("/secrets/keys/{i}/env"), &key.env) {
                return Some(p);
            }
            if !seen.insert(key.env.as_str()) {
                return Some(Problem::new(
                    format!("/secrets/keys/{i}/env"),
                    format!("`{}` is listed twice", key.env),
                ));
            }
            if key.remote_key.trim().is_empty() {
                return Some(Problem::new(
                    format!("/secrets/keys/{i}/remoteKey"),
                    "must name the secret in the store",
                ));
            }
        }
        None
    }

    fn optional_parts_problem(&self) -> Option<Problem> {
        if let Some(pdb) = &self.pod_disruption_budget {
            let at = "/podDisruptionBudget";
            match (&pdb.min_available, &pdb.max_unavailable) {
                (Some(_), Some(_)) | (None, None) => {
                    return Some(Problem::new(
                        at,
                        "set exactly one of minAvailable and maxUnavailable",
                    ));
                }
                (Some(v), None) => return int_or_percent(&format!("{at}/minAvailable"), v),
                (None, Some(v)) => return int_or_percent(&format!("{at}/maxUnavailable"), v),
            }
        }
        if let Some(hpa) = &self.autoscaling {
            if hpa.min_replicas < 1 {
                return Some(Problem::new(
                    "/autoscaling/minReplicas",
                    "must be 1 or more",
                ));
            }
            if hpa.max_replicas < hpa.min_replicas {
                return Some(Problem::new(
                    "/autoscaling/maxReplicas",
                    format!("must be at least minReplicas ({})", hpa.min_replicas),
                ));
            }
            if !(1..=100).contains(&hpa.cpu_utilization) {
                return Some(Problem::new(
                    "/autoscaling/cpuUtilization",
                    "must be 1-100 (percent)",
                ));
            }
        }
        let mut keys = BTreeSet::new();
        for (i, spread) in self.topology_spread.iter().enumerate() {
            if spread.max_skew < 1 {
                return Some(Problem::new(
                    format!("/topologySpread/{i}/maxSkew"),
                    "must be 1 or more",
                ));
            }
            if let Some(p) = qualified_name(
                &format!("/topologySpread/{i}/topologyKey"),
                &spread.topology_key,
            ) {
                return Some(p);
            }
            if !keys.insert(spread.topology_key.as_str()) {
                return Some(Problem::new(
                    format!("/topologySpread/{i}/topologyKey"),
                    format!("`{}` is listed twice", spread.topology_key),
                ));
            }
        }
        if let Some(class) = &self.priority_class_name
            && let Some(p) = hostname("/priorityClassName", class)
        {
            return Some(p);
        }
        for (key, value) in &self.labels {
            if let Some(p) = qualified_name(&format!("/labels/{key}"), key) {
                return Some(p);
            }
            if let Some(p) = label_value(&format!("/labels/{key}"), value) {
                return Some(p);
            }
        }
        for key in self.annotations.keys() {
            if let Some(p) = qualified_name(&format!("/annotations/{key}"), key) {
                return Some(p);
            }
        }
        None
    }

    /// A variable may be set by one source only: writable dirs, secrets or the ConfigMap.
    fn env_clash(&self) -> Option<Problem> {
        let mut seen = BTreeMap::new();
        let writable = self.writable.iter().enumerate().flat_map(|(i, w)| {
            w.env
                .iter()
                .enumerate()
                .map(move |(j, e)| (e.as_str(), format!("/writable/{i}/env/{j}")))
        });
        let secrets = self
            .secrets
            .keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.env.as_str(), format!("/secrets/keys/{i}/env")));
        let config = self
            .config
            .keys()
            .map(|k| (k.as_str(), format!("/config/{k}")));
        let enterprise: Vec<(&str, String)> = self
            .enterprise
            .iter()
            .flat_map(|e| e.variables(&self.name))
            .map(|v| (v.name, v.at))
            .collect();
        for (name, at) in writable.chain(secrets).chain(config).chain(enterprise) {
            if let Some(first) = seen.insert(name, at.clone()) {
                return Some(Problem::new(
                    at,
                    format!("`{name}` is already set at {first}"),
                ));
            }
        }
        None
    }
}

fn image(image: &Image) -> Option<Problem> {
    let repo_ok = !image.repository.is_empty()
        && image.repository.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-' | '/' | ':')
        })
        && !image.repository.starts_with(['/', '.', '-'])
        && !image.repository.ends_with('/');
    if !repo_ok {
        return Some(Problem::new(
            "/image/repository",
            format!(
                "`{}` is not an image repository (lower-case, e.g. portkeyai/gateway)",
                image.repository
            ),
        ));
    }
    // The tag doubles as the app.kubernetes.io/version label value.
    let tag_ok = !image.tag.is_empty()
        && image.tag.len() <= 63
        && image.tag.starts_with(|c: char| c.is_ascii_alphanumeric())
        && image.tag.ends_with(|c: char| c.is_ascii_alphanumeric())
        && image
            .tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !tag_ok {
        return Some(Problem::new(
            "/image/tag",
            format!(
                "`{}` is not usable as a tag and version label: at most 63 letters, digits, '.', '_', '-', starting and ending with a letter or digit",
                image.tag
            ),
        ));
    }
    if image.tag == "latest" {
        return Some(Problem::new(
            "/image/tag",
            "`latest` is not a version: pin a release tag such as 1.12.1",
        ));
    }
    if let Some(d) = &image.digest {
        let ok = d.strip_prefix("sha256:").is_some_and(|h| {
            h.len() == 64 && h.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
        });
        if !ok {
            return Some(Problem::new(
                "/image/digest",
                format!("`{d}` is not a digest: expected sha256: and 64 lower-case hex digits"),
            ));
        }
    }
    None
}

fn int_or_percent(at: &str, v: &IntOrPercent) -> Option<Problem> {
    let ok = match v {
        IntOrPercent::Int(n) => *n >= 0,
        IntOrPercent::Percent(p) => p
            .strip_suffix('%')
            .and_then(|n| n.parse::<u8>().ok())
            .is_some_and(|n| n <= 100),
    };
    (!ok).then(|| {
        Problem::new(
            at,
            "expected a count (0 or more) or a percentage such as \"50%\"",
        )
    })
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

    #[test]
    fn value_checks() {
        assert!(quantity("", "100m").is_none());
        assert!(quantity("", "1.5Gi").is_none());
        assert!(quantity("", "1e3").is_none());
        assert!(quantity("", "256MB").is_some());
        assert!(quantity("", "").is_some());
        assert!(duration("", "30s").is_none());
        assert!(duration("", "1h30m").is_none());
        assert!(duration("", "30").is_some());
        assert!(duration("", "s").is_some());
        assert!(hostname("", "portkey.peekoff.com").is_none());
        assert!(hostname("", "*.peekoff.com").is_none());
        assert!(hostname("", "Portkey.com").is_some());
        assert!(hostname("", "a..b").is_some());
        assert!(abs_path("", "/v1/health").is_none());
        assert!(abs_path("", "v1/health").is_some());
        assert!(abs_path("", "/a/../b").is_some());
        assert!(env_name("", "NPM_CONFIG_CACHE").is_none());
        assert!(env_name("", "1X").is_some());
        assert!(dns_label("", "portkey").is_none());
        assert!(dns_label("", "Portkey").is_some());
    }
}
