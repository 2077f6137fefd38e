//! Building an environment's typed resources from its description: the
//! gateway (Deployment, Service, probes, security context), its configuration
//! (ConfigMaps, ExternalSecrets, ServiceAccount), its network (NetworkPolicy,
//! HTTPRoutes or the cloud's Ingress), monitoring, and the enterprise
//! companions (Redis, the Data Service).

mod component;
mod config;
mod expose;
mod gateway;
mod network;
mod strategy_routes;

use crate::resolve::Environment;
use config::{
    CA_FILE, ca_volume, config_map, enterprise_ca, enterprise_env_vars, enterprise_secret,
    external_secret, external_secret_named, registry_secret, service_account,
    strategies_config_map,
};
use gateway::{deployment, service};
use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec,
    MetricTarget, ResourceMetricSource,
};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kiln_k8s::Resource;
use kiln_k8s::crds::*;
use kiln_model::description::{Description, IntOrPercent};

pub(crate) use network::DEFAULT_RESPONSE_HEADERS;
use network::{egress_rules, network_policy, pod_peer, routes, to_pods};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The gateway container's name.
pub const CONTAINER: &str = "gateway";

/// The named container and Service port.
pub const PORT_NAME: &str = "http";

/// The MCP gateway's named port (enterprise server modes `mcp` and `all`).
pub const MCP_PORT_NAME: &str = "mcp";

/// Pod Security Standard level of the namespace. Not configurable: kiln renders restricted pods.
pub(crate) const PSS_LEVEL: &str = "restricted";

/// Argo CD sync wave of the Namespace, before every other resource (default wave 0).
pub(crate) const NAMESPACE_SYNC_WAVE: &str = "-1";

/// Builds the typed resources of `env`, in apply order.
///
/// ```
/// # fn main() -> Result<(), kiln::Error> {
/// let repo = kiln::Repo::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))?;
/// let resources = kiln::build(&repo.environment("homelab")?);
/// let kinds: Vec<&str> = resources.iter().map(|r| r.kind()).collect();
/// assert_eq!(kinds[0], "Namespace");
/// assert!(kinds.contains(&"HTTPRoute"));
/// # Ok(()) }
/// ```
pub fn build(env: &Environment) -> Vec<Resource> {
    let d = &env.description;
    let names = Names::new(d, env);
    let config = config_map(d, &names);
    let strategies = strategies_config_map(env, &names);
    let data_service = d.enterprise.as_ref().and_then(|e| {
        let ds = e.data_service.as_ref()?;
        Some(component::data_service(d, e, ds, &names, &config))
    });
    let mut resources = vec![
        Resource::Namespace(namespace(d, &names)),
        Resource::NetworkPolicy(network_policy(d, &names)),
        Resource::Service(service(d, &names)),
        Resource::Deployment(deployment(d, &names, &config, &strategies)),
        Resource::ConfigMap(config),
        Resource::ConfigMap(strategies),
    ];
    if d.serves_metrics() {
        resources.push(Resource::ServiceMonitor(service_monitor(d, &names)));
    }
    // Provider keys only where something reads them: the enterprise gateway's
    // environment (the open-source gateway reads none from it), or the
    // strategies served by name, each with its own ExternalSecret.
    if d.enterprise.is_some() {
        resources.push(Resource::ExternalSecret(external_secret(d, &names)));
    }
    let by_name = d
        .route
        .as_ref()
        .and_then(|r| Some((r, r.strategies_by_name.as_ref()?)));
    match by_name {
        Some((route, by_name)) => resources.extend(strategy_routes::resources(
            d,
            route,
            by_name,
            &names,
            &env.strategies,
        )),
        None => resources.extend(routes(d, &names)),
    }
    if let Some(pdb) = &d.pod_disruption_budget {
        resources.push(Resource::PodDisruptionBudget(disruption_budget(
            pdb, &names,
        )));
    }
    if let Some(hpa) = &d.autoscaling {
        resources.push(Resource::HorizontalPodAutoscaler(autoscaler(hpa, &names)));
    }
    if let Some(e) = &d.enterprise {
        resources.push(Resource::ServiceAccount(service_account(e, &names)));
        resources.push(Resource::ExternalSecret(enterprise_secret(d, &names)));
        if let Some(p) = &e.pull_secret {
            resources.push(Resource::ExternalSecret(registry_secret(d, p, &names)));
        }
        if let Some(key) = enterprise_ca(d) {
            let data = vec![(CA_FILE.to_string(), key.to_string())];
            resources.push(Resource::ExternalSecret(external_secret_named(
                d,
                &names,
                &names.redis_ca(),
                data,
                None,
            )));
        }
        if e.cache.managed.is_none() {
            resources.extend(component::redis(e, &names));
        }
    }
    resources.extend(data_service.into_iter().flatten());
    resources.sort_by(|a, b| {
        (a.apply_rank(), a.namespace(), a.name()).cmp(&(b.apply_rank(), b.namespace(), b.name()))
    });
    checkov_skips(env, &mut resources);
    if d.enterprise
        .as_ref()
        .is_some_and(|e| e.roll_on_secret_change)
    {
        reload_on_secret_change(&mut resources);
    }
    resources
}

/// Stakater Reloader's annotation on each Deployment whose containers read
/// Secrets from the store through their environment: the pods read them only
/// at start, so Reloader rolls them when External Secrets changes one.
fn reload_on_secret_change(resources: &mut [Resource]) {
    let made: Vec<String> = resources
        .iter()
        .filter(|r| r.kind() == "ExternalSecret")
        .map(|r| r.name().to_string())
        .collect();
    for r in resources.iter_mut() {
        let Resource::Deployment(deployment) = r else {
            continue;
        };
        let pod = deployment
            .spec
            .as_ref()
            .and_then(|s| s.template.spec.as_ref());
        let mut read: Vec<String> = pod
            .into_iter()
            .flat_map(|p| &p.containers)
            .flat_map(|c| c.env.iter().flatten())
            .filter_map(|e| e.value_from.as_ref()?.secret_key_ref.as_ref())
            .map(|s| s.name.clone())
            .filter(|name| made.contains(name))
            .collect();
        read.sort();
        read.dedup();
        if !read.is_empty() {
            deployment
                .metadata
                .annotations
                .get_or_insert_with(BTreeMap::new)
                .insert(RELOAD_ANNOTATION.into(), read.join(","));
        }
    }
}

/// Stakater Reloader: roll the Deployment when one of these Secrets changes.
const RELOAD_ANNOTATION: &str = "secret.reloader.stakater.com/reload";

/// Names and labels shared by every resource of one environment.
pub(crate) struct Names {
    pub(crate) name: String,
    pub(crate) namespace: String,
    /// The gateway Deployment's selector (immutable once created).
    pub(crate) selector: BTreeMap<String, String>,
    /// What selects the gateway's pods and nothing else: the selector, plus
    /// the component where an adopted release's selector also matches the
    /// Data Service's pods.
    pub(crate) pods: BTreeMap<String, String>,
    /// Whether a Helm release is taken over (its selector labels kept).
    pub(crate) adopted: bool,
    pub(crate) labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    secret: String,
    pub(crate) instance: String,
}

impl Names {
    /// A companion's name: `<name>-<suffix>`.
    pub(crate) fn companion_name(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.name)
    }

    /// Labels that select a companion's pods (and never the gateway's).
    pub(crate) fn companion_selector(&self, suffix: &str) -> BTreeMap<String, String> {
        let instance = (
            "app.kubernetes.io/instance".to_string(),
            self.instance.clone(),
        );
        // Portkey's chart selects the Data Service by its own labels, kept on takeover.
        if self.adopted && suffix == "dataservice" {
            return BTreeMap::from([
                ("app.kubernetes.io/name".to_string(), "gateway".to_string()),
                instance,
                (
                    "app.kubernetes.io/component".to_string(),
                    self.companion_name(suffix),
                ),
            ]);
        }
        BTreeMap::from([
            (
                "app.kubernetes.io/name".to_string(),
                self.companion_name(suffix),
            ),
            instance,
        ])
    }

    fn new(d: &Description, env: &Environment) -> Names {
        let release = d
            .enterprise
            .as_ref()
            .and_then(|e| e.adopt_helm_release.clone());
        // An adopted release keeps the chart's selector labels.
        let (name, instance) = match &release {
            Some(r) => ("gateway", r.as_str()),
            None => (d.name.as_str(), env.name.as_str()),
        };
        let selector: BTreeMap<String, String> = [
            ("app.kubernetes.io/name", name),
            ("app.kubernetes.io/instance", instance),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let mut pods = selector.clone();
        if release.is_some() {
            pods.insert("app.kubernetes.io/component".into(), "gateway".into());
        }
        let mut labels = d.labels.clone();
        labels.extend(selector.clone());
        for (k, v) in [
            ("app.kubernetes.io/component", "gateway"),
            ("app.kubernetes.io/part-of", "portkey"),
            ("app.kubernetes.io/managed-by", "kiln"),
        ] {
            labels.insert(k.into(), v.into());
        }
        Names {
            name: d.name.clone(),
            namespace: d.namespace.name.clone(),
            selector,
            pods,
            labels,
            annotations: d.annotations.clone(),
            secret: format!("{}-provider-keys", d.name),
            instance: instance.to_string(),
            adopted: release.is_some(),
        }
    }

    /// The registry credentials' Secret (and ExternalSecret).
    pub(crate) fn registry(&self) -> String {
        format!("{}-registry", self.name)
    }

    /// The enterprise secrets' Secret (and ExternalSecret).
    pub(crate) fn enterprise_secret(&self) -> String {
        format!("{}-enterprise", self.name)
    }

    /// The managed cache's CA certificate Secret (and ExternalSecret).
    fn redis_ca(&self) -> String {
        format!("{}-redis-ca", self.name)
    }

    pub(crate) fn meta(&self, name: impl Into<String>) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.into()),
            namespace: Some(self.namespace.clone()),
            labels: Some(self.labels.clone()),
            annotations: (!self.annotations.is_empty()).then(|| self.annotations.clone()),
            ..Default::default()
        }
    }

    /// Labels of the Deployment and its pods: the common ones plus the version.
    fn versioned_labels(&self, d: &Description) -> BTreeMap<String, String> {
        let mut labels = self.labels.clone();
        labels.insert("app.kubernetes.io/version".into(), d.image.tag.clone());
        labels
    }
}

/// `name-<first 10 hex digits of sha256(data)>`: content-addressed names roll the pods on change.
fn hashed_name(name: &str, data: &BTreeMap<String, String>) -> String {
    let canonical = kiln_model::emit::json(&json!(data));
    let digest = Sha256::digest(canonical.as_bytes());
    let hex: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
    format!("{name}-{hex}")
}

fn namespace(d: &Description, names: &Names) -> Namespace {
    let mut labels: BTreeMap<String, String> = BTreeMap::new();
    for mode in ["enforce", "audit", "warn"] {
        labels.insert(
            format!("pod-security.kubernetes.io/{mode}"),
            PSS_LEVEL.into(),
        );
        labels.insert(
            format!("pod-security.kubernetes.io/{mode}-version"),
            d.namespace.pod_security_version.clone(),
        );
    }
    labels.insert("app.kubernetes.io/managed-by".into(), "kiln".into());
    Namespace {
        metadata: ObjectMeta {
            name: Some(names.namespace.clone()),
            labels: Some(labels),
            annotations: Some(BTreeMap::from([(
                "argocd.argoproj.io/sync-wave".to_string(),
                NAMESPACE_SYNC_WAVE.to_string(),
            )])),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Writes each checkov suppression into its resource as checkov's own
/// `checkov.io/skipN: ID=reason` annotation.
fn checkov_skips(env: &Environment, resources: &mut [Resource]) {
    for d in env
        .suppressions
        .iter()
        .filter(|d| d.suppression.is_checkov())
    {
        let (kind, name) = d.suppression.target();
        if let Some(r) = resources
            .iter_mut()
            .find(|r| r.kind() == kind && r.name() == name)
        {
            let annotations = r
                .metadata_mut()
                .annotations
                .get_or_insert_with(BTreeMap::new);
            let n = 1 + annotations
                .keys()
                .filter(|k| k.starts_with("checkov.io/skip"))
                .count();
            annotations.insert(
                format!("checkov.io/skip{n}"),
                format!("{}={}", d.suppression.rule, d.suppression.reason),
            );
        }
    }
}

fn disruption_budget(
    pdb: &kiln_model::description::DisruptionBudget,
    names: &Names,
) -> PodDisruptionBudget {
    PodDisruptionBudget {
        metadata: names.meta(&names.name),
        spec: Some(PodDisruptionBudgetSpec {
            min_available: pdb.min_available.as_ref().map(int_or_string),
            max_unavailable: pdb.max_unavailable.as_ref().map(int_or_string),
            selector: Some(LabelSelector {
                match_labels: Some(names.pods.clone()),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn autoscaler(
    hpa: &kiln_model::description::Autoscaling,
    names: &Names,
) -> HorizontalPodAutoscaler {
    HorizontalPodAutoscaler {
        metadata: names.meta(&names.name),
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".into()),
                kind: "Deployment".into(),
                name: names.name.clone(),
            },
            min_replicas: Some(hpa.min_replicas),
            max_replicas: hpa.max_replicas,
            metrics: Some(vec![MetricSpec {
                type_: "Resource".into(),
                resource: Some(ResourceMetricSource {
                    name: "cpu".into(),
                    target: MetricTarget {
                        type_: "Utilization".into(),
                        average_utilization: Some(hpa.cpu_utilization),
                        ..Default::default()
                    },
                }),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn int_or_string(v: &IntOrPercent) -> IntOrString {
    match v {
        IntOrPercent::Int(n) => IntOrString::Int(*n),
        IntOrPercent::Percent(p) => IntOrString::String(p.clone()),
    }
}

fn service_monitor(d: &Description, names: &Names) -> ServiceMonitor {
    ServiceMonitor {
        metadata: names.meta(&names.name),
        spec: ServiceMonitorSpec {
            selector: LabelSelector {
                match_labels: Some(names.pods.clone()),
                ..Default::default()
            },
            endpoints: vec![ScrapeEndpoint {
                port: Some(PORT_NAME.into()),
                path: Some(d.monitoring.path.clone()),
                interval: Some(d.monitoring.interval.clone()),
                scheme: Some(d.monitoring.scheme.as_str().into()),
                ..Default::default()
            }],
            namespace_selector: Some(NamespaceSelector {
                match_names: Some(vec![names.namespace.clone()]),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    }
}
