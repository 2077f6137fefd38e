//! From an [`Environment`] to typed resources ([`build`]) and to the files of
//! `out/<env>/` ([`render`]).

use crate::check::{self, Finding, Manifest};
use crate::crds::*;
use crate::emit;
use crate::error::{Error, InputError, Result};
use crate::overlay::Environment;
use crate::overlay::Layer;
use crate::patch;
use crate::resource::Resource;
use crate::spec::IntOrPercent;
use crate::spec::{Description, Probe as ProbeSpec};
use crate::transform;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec,
    MetricTarget, ResourceMetricSource,
};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMap, ConfigMapEnvSource, ConfigMapVolumeSource, Container, ContainerPort,
    EmptyDirVolumeSource, EnvFromSource, EnvVar, EnvVarSource, HTTPGetAction, LocalObjectReference,
    Namespace, PodSecurityContext, PodSpec, PodTemplateSpec, Probe, ResourceRequirements,
    SeccompProfile, SecretKeySelector, SecretVolumeSource, SecurityContext, Service,
    ServiceAccount, ServicePort, ServiceSpec, TopologySpreadConstraint, Volume, VolumeMount,
};
use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The gateway container's name.
pub const CONTAINER: &str = "gateway";
/// The named container and Service port.
pub const PORT_NAME: &str = "http";
/// The MCP gateway's named port (enterprise server modes `mcp` and `all`).
pub const MCP_PORT_NAME: &str = "mcp";
/// The name of the strategies volume.
const STRATEGIES_VOLUME: &str = "strategies";
/// The managed cache's CA certificate volume, and its file in the Secret.
const REDIS_CA_VOLUME: &str = "redis-ca";
const CA_FILE: &str = "server-ca.pem";
/// Pod Security Standard level of the namespace. Not configurable: kiln renders restricted pods.
const PSS_LEVEL: &str = "restricted";
/// Argo CD sync wave of the Namespace, before every other resource (default wave 0).
const NAMESPACE_SYNC_WAVE: &str = "-1";
/// First line of every rendered file.
pub const HEADER: &str = "# Rendered by kiln. Do not edit: change base/, overlays/, strategies/ or kiln.yaml and run `make render`.\n";

/// Environment variables the gateway ConfigMap always sets; `config` may not redefine them.
pub const RESERVED_CONFIG: [&str; 4] = ["NODE_ENV", "PORT", "HEALTH_CHECK_PATH", "LOG_LEVEL"];

/// Response headers set on every response unless the description overrides them.
pub const DEFAULT_RESPONSE_HEADERS: [(&str, &str); 6] = [
    (
        "Content-Security-Policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
    (
        "Permissions-Policy",
        "camera=(), geolocation=(), microphone=(), payment=()",
    ),
    ("Referrer-Policy", "no-referrer"),
    (
        "Strict-Transport-Security",
        "max-age=31536000; includeSubDomains",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
];

/// The rendered form of one environment: typed resources in apply order, and
/// the bytes of every file of `out/<env>/`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// Environment name.
    pub env: String,
    /// Resources in apply order.
    pub resources: Vec<Resource>,
    /// Files of `out/<env>/`, sorted by name: one per resource plus `kustomization.yaml`.
    pub files: Vec<OutputFile>,
    /// Strategy warnings of the environment (legal, but probably not meant).
    pub warnings: Vec<(std::path::PathBuf, crate::strategy::Finding)>,
    /// Findings of `kiln check` that did not stop the render: warnings, notes and suppressed errors.
    pub findings: Vec<Finding>,
}

/// Resolves and renders each of `names`, in parallel; the result is in the
/// order of `names`, and the error (if any) is that of the first failing name.
///
/// ```
/// # fn main() -> Result<(), kiln::Error> {
/// let repo = kiln::Repo::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))?;
/// let all = kiln::render_all(&repo, repo.environments())?;
/// assert_eq!(all.len(), repo.environments().len());
/// # Ok(()) }
/// ```
pub fn render_all(repo: &crate::Repo, names: &[String]) -> Result<Vec<Rendered>> {
    in_parallel(names, |name| render(&repo.environment(name)?))
        .into_iter()
        .collect()
}

/// Everything `kiln render` writes: every environment, then the GitOps wiring
/// of `kiln.yaml` (`out/argocd/`, `out/flux/`; see [`crate::gitops`]).
///
/// ```
/// # fn main() -> Result<(), kiln::Error> {
/// let repo = kiln::Repo::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))?;
/// let all = kiln::render_repo(&repo)?;
/// assert!(all.iter().any(|r| r.env == "argocd"));
/// # Ok(()) }
/// ```
pub fn render_repo(repo: &crate::Repo) -> Result<Vec<Rendered>> {
    // Each environment is resolved once: for its own render and for the wiring.
    let (envs, mut all): (Vec<Environment>, Vec<Rendered>) =
        in_parallel(repo.environments(), |name| {
            let env = repo.environment(name)?;
            let rendered = render(&env)?;
            Ok((env, rendered))
        })
        .into_iter()
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .unzip();
    all.extend(crate::gitops::render(repo.settings(), &envs)?);
    Ok(all)
}

/// `findings` if none is an unsuppressed error; else an [`Error::Check`]
/// listing those that are, for output directory `dir`.
pub(crate) fn refuse_errors(dir: &str, findings: Vec<Finding>) -> Result<Vec<Finding>> {
    if !check::has_errors(&findings) {
        return Ok(findings);
    }
    Err(Error::Check {
        env: dir.to_string(),
        findings: findings.into_iter().filter(Finding::is_blocking).collect(),
    })
}

/// `f` over `items` on every core, results in item order.
pub(crate) fn in_parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len().max(1));
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(|| part.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// One file of the output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    /// File name inside `out/<env>/`.
    pub name: String,
    /// Its contents.
    pub contents: String,
}

/// Builds, patches, checks and emits environment `env`: the whole pipeline
/// short of writing. An error-level finding of `kiln check` that no
/// suppression covers is an [`Error::Check`]: nothing of the environment is
/// emitted.
///
/// ```
/// # fn main() -> Result<(), kiln::Error> {
/// let repo = kiln::Repo::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))?;
/// let rendered = kiln::render(&repo.environment("homelab")?)?;
/// assert_eq!(rendered.resources[0].kind(), "Namespace");
/// assert!(rendered.files.iter().any(|f| f.name == "kustomization.yaml"));
/// # Ok(()) }
/// ```
pub fn render(env: &Environment) -> Result<Rendered> {
    if let Some((e, aca)) = aca_of(env) {
        let tfvars = crate::aca::tfvars(&env.name, &env.description, e, aca);
        return Ok(Rendered {
            env: env.name.clone(),
            resources: Vec::new(),
            files: vec![OutputFile {
                name: crate::aca::TFVARS.into(),
                contents: emit::json(&tfvars),
            }],
            warnings: env.warnings.clone(),
            findings: Vec::new(),
        });
    }
    let Checked {
        resources,
        manifests,
        findings,
    } = checked(env)?;
    let findings = refuse_errors(&env.name, findings)?;
    let files = emit_files(env, &manifests)?;
    Ok(Rendered {
        env: env.name.clone(),
        resources,
        files,
        warnings: env.warnings.clone(),
        findings,
    })
}

/// An environment built, patched and checked: what [`render`] emits and
/// `kiln check` reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// Resources in apply order.
    pub resources: Vec<Resource>,
    /// Their documents and canonical text, as `out/<env>/` will hold them.
    pub manifests: Vec<Manifest>,
    /// Every finding of `kiln check`, suppressions applied.
    pub findings: Vec<Finding>,
}

/// Builds and patches `env`, then runs `kiln check` on the result with the
/// environment's suppressions (checkov's are annotations [`build`] wrote). A suppression that names no resource, or a kiln rule that
/// finds nothing to suppress, is an input error: stale suppressions do not linger.
pub fn checked(env: &Environment) -> Result<Checked> {
    if aca_of(env).is_some() {
        // Azure Container Apps: no Kubernetes objects, nothing for kiln check.
        return Ok(Checked {
            resources: Vec::new(),
            manifests: Vec::new(),
            findings: Vec::new(),
        });
    }
    let built = build(env);
    // Suppressions name resources as built or as rendered (after namePrefix etc.);
    // layers never add or remove resources, so index i is the same object before and after.
    let built_names: Vec<(&'static str, String)> = built
        .iter()
        .map(|r| (r.kind(), r.name().to_string()))
        .collect();
    let resources = apply_overlays(env, built)?;
    let mut suppressions = env.suppressions.clone();
    for d in &mut suppressions {
        let (kind, name) = d.suppression.target();
        let found = resources.iter().zip(&built_names).find(|(r, (k, n))| {
            r.kind() == kind && (r.name() == name || (*k == kind && n == name))
        });
        let Some((r, _)) = found else {
            let known: Vec<String> = resources
                .iter()
                .map(|r| format!("{}/{}", r.kind(), r.name()))
                .collect();
            return Err(InputError::new(
                &d.file,
                format!(
                    "`{}` is not a resource of environment `{}`",
                    d.suppression.resource, env.name
                ),
            )
            .at(format!("{}/resource", d.pointer))
            .with_help(Some(format!("resources: {}", known.join(", "))))
            .into());
        };
        d.suppression.resource = format!("{}/{}", r.kind(), r.name());
    }
    let manifests = check::manifests_of(&env.name, &resources);
    let mut findings = check::check(&manifests);
    if let Some(d) = check::apply_suppressions(&mut findings, &suppressions).first() {
        return Err(InputError::new(
            &d.file,
            format!(
                "`{}` finds nothing to suppress on {} in environment `{}`",
                d.suppression.rule, d.suppression.resource, env.name
            ),
        )
        .at(d.pointer.clone())
        .with_help(Some("remove the suppression".into()))
        .into());
    }
    Ok(Checked {
        resources,
        manifests,
        findings,
    })
}

/// The enterprise and ACA settings of an Azure Container Apps environment.
pub(crate) fn aca_of(
    env: &Environment,
) -> Option<(&crate::enterprise::Enterprise, &crate::aca::Aca)> {
    let e = env.description.enterprise.as_ref()?;
    Some((
        e,
        e.aca
            .as_ref()
            .filter(|_| e.cloud == crate::enterprise::Cloud::Aca)?,
    ))
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

/// The files of `out/<env>/` for `manifests` (in apply order, as
/// [`check::manifests_of`] makes them): one per resource and a
/// `kustomization.yaml` listing them, sorted by name.
pub fn emit_files(env: &Environment, manifests: &[Manifest]) -> Result<Vec<OutputFile>> {
    let blame = env
        .layers
        .last()
        .map_or_else(Default::default, |l| l.file.clone());
    output_files(manifests, &blame)
}

/// The files of one directory of `out/`; two documents with one file name
/// are an error blamed on `blame`.
pub(crate) fn output_files(
    manifests: &[Manifest],
    blame: &std::path::Path,
) -> Result<Vec<OutputFile>> {
    let mut files: Vec<OutputFile> = manifests
        .iter()
        .map(|m| OutputFile {
            name: m
                .file
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
            contents: format!(
                "{HEADER}{}",
                m.text.clone().unwrap_or_else(|| emit::yaml(&m.value))
            ),
        })
        .collect();
    let kustomization = json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": files.iter().map(|f| f.name.clone()).collect::<Vec<_>>(),
        // Keep kiln's apply order instead of kustomize's legacy kind order.
        "sortOptions": {"order": "fifo"},
    });
    files.push(OutputFile {
        name: "kustomization.yaml".into(),
        contents: format!("{HEADER}{}", emit::yaml(&kustomization)),
    });
    files.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(pair) = files.windows(2).find(|w| w[0].name == w[1].name) {
        return Err(InputError::new(
            blame,
            format!("two resources would be written to {}", pair[0].name),
        )
        .into());
    }
    Ok(files)
}

/// Applies each overlay's resource changes to `resources`, first layer first,
/// in kustomize's order: patches, namespace, name prefix/suffix, labels,
/// annotations, replicas, images. After each layer the result is read back
/// into typed resources, so a change that makes an invalid object is an
/// error naming the overlay.
pub fn apply_overlays(env: &Environment, resources: Vec<Resource>) -> Result<Vec<Resource>> {
    let layers: Vec<&Layer> = env
        .layers
        .iter()
        .filter(|l| has_resource_changes(&l.overlay))
        .collect();
    if layers.is_empty() {
        return Ok(resources);
    }
    let mut docs: Vec<serde_json::Value> = resources.iter().map(Resource::to_value).collect();
    // Layers never add or remove resources, so index i is always the same object.
    let original: Vec<String> = resources.iter().map(|r| r.name().to_string()).collect();
    let mut typed = resources;
    for layer in layers {
        let o = &layer.overlay;
        let mut copied = 0;
        let fail = |pointer: String, message: String| -> Error {
            InputError::new(&layer.file, message).at(pointer).into()
        };
        for (i, entry) in o.patches.iter().enumerate() {
            let selected: Vec<usize> = (0..docs.len())
                .filter(|d| entry.target.matches(&docs[*d]))
                .collect();
            if selected.is_empty() {
                return Err(fail(
                    format!("/patches/{i}/target"),
                    format!("matches no resource ({})", entry.target),
                ));
            }
            for d in selected {
                let doc = &mut docs[d];
                let what = describe(doc);
                if let Some(ops) = &entry.json {
                    patch::json_patch(doc, ops, &mut copied).map_err(|e| {
                        fail(
                            format!("/patches/{i}/json/{}", e.operation),
                            format!("{} ({what})", e.message),
                        )
                    })?;
                } else if let Some(merge) = &entry.merge {
                    json_patch::merge(doc, merge);
                } else if let Some(smp) = &entry.strategic {
                    let core = is_core(doc);
                    let keys = |path: &[&str]| {
                        if core {
                            patch::kubernetes_merge_keys(path)
                        } else {
                            None
                        }
                    };
                    patch::strategic_merge(doc, smp, &keys).map_err(|e| {
                        fail(
                            format!("/patches/{i}/strategic{}", e.pointer),
                            format!("{} ({what})", e.message),
                        )
                    })?;
                }
            }
        }
        if let Some(ns) = &o.namespace {
            transform::namespace(&mut docs, ns);
        }
        transform::rename(
            &mut docs,
            o.name_prefix.as_deref().unwrap_or_default(),
            o.name_suffix.as_deref().unwrap_or_default(),
        );
        transform::labels(&mut docs, &o.labels);
        transform::annotations(&mut docs, &o.common_annotations);
        if let Some(name) = transform::replicas(&mut docs, &original, &o.replicas).first() {
            return Err(fail(
                "/replicas".into(),
                format!("no workload is named `{name}`"),
            ));
        }
        if let Some(name) = transform::images(&mut docs, &o.images).first() {
            return Err(fail(
                "/images".into(),
                format!("no container uses an image named `{name}`"),
            ));
        }
        // Every layer's result must be a valid set of resources before the next builds on it.
        typed = docs
            .iter()
            .map(|doc| {
                Resource::from_value(doc).map_err(|message| {
                    fail(
                        String::new(),
                        format!("{} after this overlay: {message}", describe(doc)),
                    )
                })
            })
            .collect::<Result<_>>()?;
    }
    Ok(typed)
}

fn has_resource_changes(o: &crate::overlay::Overlay) -> bool {
    !o.patches.is_empty()
        || o.namespace.is_some()
        || o.name_prefix.is_some()
        || o.name_suffix.is_some()
        || !o.labels.is_empty()
        || !o.common_annotations.is_empty()
        || !o.replicas.is_empty()
        || !o.images.is_empty()
}

/// `Deployment portkey-gateway`, for messages.
fn describe(doc: &serde_json::Value) -> String {
    format!(
        "{} {}",
        doc["kind"].as_str().unwrap_or("resource"),
        doc["metadata"]["name"].as_str().unwrap_or_default()
    )
}

/// Core Kubernetes kinds have strategic-merge keys; custom resources do not.
fn is_core(doc: &serde_json::Value) -> bool {
    let api_version = doc["apiVersion"].as_str().unwrap_or_default();
    !api_version.contains('.') || api_version.contains(".k8s.io/")
}

/// The file a resource is written to: `<kind>-<name>.yaml`, lower-case kind.
pub fn file_name(resource: &Resource) -> String {
    format!(
        "{}-{}.yaml",
        resource.kind().to_ascii_lowercase(),
        resource.name()
    )
}

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
        Some(crate::component::data_service(d, e, ds, &names, &config))
    });
    let mut resources = vec![
        Resource::Namespace(namespace(d, &names)),
        Resource::NetworkPolicy(network_policy(d, &names)),
        Resource::ExternalSecret(external_secret(d, &names)),
        Resource::Service(service(d, &names)),
        Resource::Deployment(deployment(d, &names, &config, &strategies)),
        Resource::ServiceMonitor(service_monitor(d, &names)),
        Resource::ConfigMap(config),
        Resource::ConfigMap(strategies),
    ];
    resources.extend(routes(d, &names));
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
            resources.extend(crate::component::redis(e, &names));
        }
    }
    resources.extend(data_service.into_iter().flatten());
    resources.sort_by(|a, b| {
        (a.apply_rank(), a.namespace(), a.name()).cmp(&(b.apply_rank(), b.namespace(), b.name()))
    });
    checkov_skips(env, &mut resources);
    resources
}

/// Names and labels shared by every resource of one environment.
pub(crate) struct Names {
    pub(crate) name: String,
    pub(crate) namespace: String,
    pub(crate) selector: BTreeMap<String, String>,
    pub(crate) labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    secret: String,
    pub(crate) instance: String,
}

impl Names {
    fn new(d: &Description, env: &Environment) -> Names {
        let selector: BTreeMap<String, String> = [
            ("app.kubernetes.io/name", d.name.as_str()),
            ("app.kubernetes.io/instance", env.name.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
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
            labels,
            annotations: d.annotations.clone(),
            secret: format!("{}-provider-keys", d.name),
            instance: env.name.clone(),
        }
    }

    /// The registry credentials' Secret (and ExternalSecret).
    pub(crate) fn registry(&self) -> String {
        format!("{}-registry", self.name)
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
    let canonical = emit::json(&json!(data));
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

fn config_map(d: &Description, names: &Names) -> ConfigMap {
    let mut data = d.config.clone();
    for v in d.enterprise.iter().flat_map(|e| e.variables(&names.name)) {
        if let crate::enterprise::Value::Literal(value) = v.value {
            data.insert(v.name.into(), value);
        }
    }
    data.insert("NODE_ENV".into(), "production".into());
    data.insert("PORT".into(), d.port.to_string());
    data.insert("HEALTH_CHECK_PATH".into(), d.health_path.clone());
    data.insert("LOG_LEVEL".into(), d.log_level.as_str().into());
    ConfigMap {
        metadata: names.meta(hashed_name(&format!("{}-env", names.name), &data)),
        data: Some(data),
        ..Default::default()
    }
}

fn strategies_config_map(env: &Environment, names: &Names) -> ConfigMap {
    let data: BTreeMap<String, String> = env
        .strategies
        .iter()
        .map(|s| (s.file_name(), s.canonical_json().to_string()))
        .collect();
    ConfigMap {
        metadata: names.meta(hashed_name(&format!("{}-strategies", names.name), &data)),
        data: Some(data),
        immutable: Some(true),
        ..Default::default()
    }
}

/// The gateway's variables from the secret store: `(variable, store key)`,
/// the provider keys and the enterprise secrets, sorted.
fn secret_env(d: &Description) -> Vec<(String, String)> {
    let mut keys: Vec<(String, String)> = d
        .secrets
        .keys
        .iter()
        .map(|k| (k.env.clone(), k.remote_key.clone()))
        .chain(
            d.enterprise
                .iter()
                .flat_map(|e| e.variables(""))
                .filter_map(|v| match v.value {
                    crate::enterprise::Value::Secret(key) => Some((v.name.to_string(), key)),
                    crate::enterprise::Value::Literal(_) => None,
                }),
        )
        .collect();
    keys.sort();
    keys
}

/// The secret variables as env entries reading the gateway's Secret.
pub(crate) fn secret_env_vars(d: &Description, names: &Names) -> Vec<EnvVar> {
    secret_env(d)
        .into_iter()
        .map(|(env, _)| EnvVar {
            name: env.clone(),
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: names.secret.clone(),
                    key: env,
                    optional: Some(false),
                }),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect()
}

/// The managed cache's CA certificate: the volume and its mount at the seed's path.
pub(crate) fn ca_volume(d: &Description, names: &Names) -> Option<(Volume, VolumeMount)> {
    enterprise_ca(d)?;
    Some((
        Volume {
            name: REDIS_CA_VOLUME.into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(names.redis_ca()),
                default_mode: Some(0o444),
                ..Default::default()
            }),
            ..Default::default()
        },
        VolumeMount {
            name: REDIS_CA_VOLUME.into(),
            mount_path: crate::enterprise::CA_PATH.into(),
            sub_path: Some(CA_FILE.into()),
            read_only: Some(true),
            ..Default::default()
        },
    ))
}

/// An ExternalSecret `name` of `d`'s store with `data` (secret key → store
/// key), writing a Secret of the same name (templated if `template`).
fn external_secret_named(
    d: &Description,
    names: &Names,
    name: &str,
    data: Vec<(String, String)>,
    template: Option<ExternalSecretTemplate>,
) -> ExternalSecret {
    ExternalSecret {
        metadata: names.meta(name),
        spec: ExternalSecretSpec {
            refresh_interval: d.secrets.refresh_interval.clone(),
            secret_store_ref: SecretStoreRef {
                kind: "ClusterSecretStore".into(),
                name: d.secrets.store.clone(),
            },
            target: ExternalSecretTarget {
                name: name.to_string(),
                creation_policy: "Owner".into(),
                deletion_policy: "Retain".into(),
                template,
            },
            data: data
                .into_iter()
                .map(|(secret_key, key)| ExternalSecretData {
                    secret_key,
                    remote_ref: RemoteRef { key },
                })
                .collect(),
        },
    }
}

fn external_secret(d: &Description, names: &Names) -> ExternalSecret {
    external_secret_named(d, names, &names.secret, secret_env(d), None)
}

/// The enterprise image's pull credentials: a `kubernetes.io/dockerconfigjson`
/// Secret that External Secrets assembles from the store, never a literal.
fn registry_secret(
    d: &Description,
    p: &crate::enterprise::PullSecret,
    names: &Names,
) -> ExternalSecret {
    // External Secrets' template engine v2 (Go templates with sprig): the values
    // never pass through Git, and toJson quotes them whatever they contain.
    let registry = serde_json::Value::from(p.registry.as_str());
    let config = format!(
        r#"{{"auths":{{{registry}:{{"username":{{{{ .username | toJson }}}},"password":{{{{ .password | toJson }}}},"auth":"{{{{ printf "%s:%s" .username .password | b64enc }}}}"}}}}}}"#
    );
    external_secret_named(
        d,
        names,
        &names.registry(),
        vec![
            ("password".into(), p.password_key.clone()),
            ("username".into(), p.username_key.clone()),
        ],
        Some(ExternalSecretTemplate {
            type_: "kubernetes.io/dockerconfigjson".into(),
            engine_version: "v2".into(),
            data: BTreeMap::from([(".dockerconfigjson".to_string(), config)]),
        }),
    )
}

/// The gateway's ServiceAccount, carrying the cloud identity's annotations.
fn service_account(e: &crate::enterprise::Enterprise, names: &Names) -> ServiceAccount {
    let mut metadata = names.meta(&names.name);
    let identity = e.identity.annotations();
    if !identity.is_empty() {
        let annotations = metadata.annotations.get_or_insert_with(BTreeMap::new);
        annotations.extend(identity.into_iter().map(|(k, v)| (k.to_string(), v)));
    }
    ServiceAccount {
        metadata,
        // Cloud identity tokens are projected by the clouds' webhooks; the API token is not needed.
        automount_service_account_token: Some(false),
        ..Default::default()
    }
}

/// The gateway's named ports: `http`, and `mcp` when MCP is served.
fn named_ports(d: &Description) -> Vec<(&'static str, i32)> {
    let mut ports = vec![(PORT_NAME, i32::from(d.port))];
    if let Some(e) = d.enterprise.as_ref().filter(|e| e.server_mode.mcp()) {
        ports.push((MCP_PORT_NAME, e.mcp.clone().unwrap_or_default().port.into()));
    }
    ports
}

fn service(d: &Description, names: &Names) -> Service {
    let load_balancer = d
        .enterprise
        .as_ref()
        .and_then(|e| e.expose.as_ref()?.load_balancer.as_ref().map(|lb| (e, lb)));
    let mut metadata = names.meta(&names.name);
    if let Some((e, lb)) = load_balancer {
        let annotations = crate::expose::load_balancer_annotations(d, e, lb);
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
            selector: Some(names.selector.clone()),
            ports: Some(
                named_ports(d)
                    .into_iter()
                    .map(|(name, port)| ServicePort {
                        name: Some(name.into()),
                        port,
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

fn probe(d: &Description, timing: &ProbeSpec) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(d.health_path.clone()),
            port: IntOrString::String(PORT_NAME.into()),
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
pub(crate) fn requirements(r: &crate::spec::Resources) -> ResourceRequirements {
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

fn deployment(
    d: &Description,
    names: &Names,
    config: &ConfigMap,
    strategies: &ConfigMap,
) -> Deployment {
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
        .chain(secret_env_vars(d, names))
        .collect();
    env.sort_by(|a, b| a.name.cmp(&b.name));

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
    let ca = ca_volume(d, names);
    mounts.extend(ca.iter().map(|(_, m)| m.clone()));
    mounts.sort_by(|a, b| a.mount_path.cmp(&b.mount_path));

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
    volumes.extend(ca.map(|(v, _)| v));
    volumes.sort_by(|a, b| a.name.cmp(&b.name));

    let container = Container {
        name: CONTAINER.into(),
        image: Some(d.image.reference()),
        image_pull_policy: Some(d.image.pull_policy.as_str().into()),
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
        startup_probe: Some(probe(d, &d.probes.startup)),
        readiness_probe: Some(probe(d, &d.probes.readiness)),
        liveness_probe: Some(probe(d, &d.probes.liveness)),
        resources: Some(requirements(&d.resources)),
        security_context: Some(restricted_container(d.run_as.user, d.run_as.group)),
        ..Default::default()
    };

    let labels = names.versioned_labels(d);
    let mut pod_labels = labels.clone();
    if d.enterprise
        .as_ref()
        .is_some_and(|e| e.identity.azure_client_id.is_some())
    {
        // AKS workload identity injects the federated token only into pods that ask.
        pod_labels.insert("azure.workload.identity/use".into(), "true".into());
    }
    let pod_annotations = BTreeMap::from([
        (
            "kubectl.kubernetes.io/default-container".to_string(),
            CONTAINER.to_string(),
        ),
        ("prometheus.io/path".to_string(), d.monitoring.path.clone()),
        ("prometheus.io/port".to_string(), d.port.to_string()),
        (
            "prometheus.io/scheme".to_string(),
            d.monitoring.scheme.as_str().into(),
        ),
        ("prometheus.io/scrape".to_string(), "true".to_string()),
    ]);
    Deployment {
        metadata: ObjectMeta {
            labels: Some(labels.clone()),
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
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels),
                    annotations: Some(pod_annotations),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
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
                    containers: vec![container],
                    volumes: Some(volumes),
                    priority_class_name: d.priority_class_name.clone(),
                    topology_spread_constraints: (!d.topology_spread.is_empty()).then(|| {
                        d.topology_spread
                            .iter()
                            .map(|t| TopologySpreadConstraint {
                                topology_key: t.topology_key.clone(),
                                max_skew: t.max_skew,
                                when_unsatisfiable: t.when_unsatisfiable.as_str().into(),
                                label_selector: Some(LabelSelector {
                                    match_labels: Some(names.selector.clone()),
                                    ..Default::default()
                                }),
                                ..Default::default()
                            })
                            .collect()
                    }),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
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

/// The managed cache's CA store key, if it has one.
fn enterprise_ca(d: &Description) -> Option<&str> {
    d.enterprise
        .as_ref()
        .and_then(|e| e.cache.managed.as_ref())
        .and_then(|m| m.ca_key.as_deref())
}

fn int_or_string(v: &IntOrPercent) -> IntOrString {
    match v {
        IntOrPercent::Int(n) => IntOrString::Int(*n),
        IntOrPercent::Percent(p) => IntOrString::String(p.clone()),
    }
}

fn disruption_budget(pdb: &crate::spec::DisruptionBudget, names: &Names) -> PodDisruptionBudget {
    PodDisruptionBudget {
        metadata: names.meta(&names.name),
        spec: Some(PodDisruptionBudgetSpec {
            min_available: pdb.min_available.as_ref().map(int_or_string),
            max_unavailable: pdb.max_unavailable.as_ref().map(int_or_string),
            selector: Some(LabelSelector {
                match_labels: Some(names.selector.clone()),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn autoscaler(hpa: &crate::spec::Autoscaling, names: &Names) -> HorizontalPodAutoscaler {
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

/// How traffic reaches the gateway: HTTPRoutes on the shared Gateway, or
/// with enterprise `expose` the cloud's Ingress (a LoadBalancer Service needs
/// neither). With MCP on its own host, it gets a route of its own.
fn routes(d: &Description, names: &Names) -> Vec<Resource> {
    let Some(e) = &d.enterprise else {
        return vec![Resource::HttpRoute(http_route(
            d,
            names,
            &names.name,
            d.route.hosts.clone(),
            d.port.into(),
        ))];
    };
    match &e.expose {
        Some(x) => x
            .ingress
            .iter()
            .map(|i| Resource::Ingress(crate::expose::ingress(d, e, i, names)))
            .collect(),
        None => {
            let mut by_port: Vec<(i32, Vec<String>)> = Vec::new();
            for (host, port, _) in crate::expose::host_ports(d, e) {
                match by_port.iter_mut().find(|(p, _)| *p == port) {
                    Some((_, hosts)) => hosts.push(host),
                    None => by_port.push((port, vec![host])),
                }
            }
            by_port
                .into_iter()
                .enumerate()
                .map(|(i, (port, hosts))| {
                    let name = if i == 0 {
                        names.name.clone()
                    } else {
                        format!("{}-mcp", names.name)
                    };
                    Resource::HttpRoute(http_route(d, names, &name, hosts, port))
                })
                .collect()
        }
    }
}

fn http_route(
    d: &Description,
    names: &Names,
    name: &str,
    hosts: Vec<String>,
    port: i32,
) -> HttpRoute {
    let mut headers: Vec<Header> = DEFAULT_RESPONSE_HEADERS
        .iter()
        .filter(|(name, _)| {
            !d.route
                .response_headers
                .keys()
                .any(|k| k.eq_ignore_ascii_case(name))
        })
        .map(|(name, value)| Header {
            name: name.to_string(),
            value: value.to_string(),
        })
        .chain(d.route.response_headers.iter().map(|(name, value)| Header {
            name: name.clone(),
            value: value.clone(),
        }))
        .collect();
    headers.sort_by_key(|h| h.name.to_ascii_lowercase());
    let gateway = &d.route.gateway;
    HttpRoute {
        metadata: names.meta(name),
        spec: HttpRouteSpec {
            parent_refs: vec![ParentRef {
                name: gateway.name.clone(),
                namespace: Some(gateway.namespace.clone()),
                section_name: gateway.section_name.clone(),
                ..Default::default()
            }],
            hostnames: hosts,
            rules: vec![HttpRouteRule {
                matches: vec![HttpRouteMatch {
                    path: Some(PathMatch {
                        type_: "PathPrefix".into(),
                        value: "/".into(),
                    }),
                }],
                filters: vec![HttpRouteFilter {
                    type_: "ResponseHeaderModifier".into(),
                    response_header_modifier: Some(HeaderModifier {
                        set: headers,
                        ..Default::default()
                    }),
                    ..Default::default()
                }],
                backend_refs: vec![BackendRef {
                    name: names.name.clone(),
                    port: Some(port),
                    ..Default::default()
                }],
            }],
        },
    }
}

fn tcp_or_udp(port: i32, protocol: &str) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(port)),
        protocol: Some(protocol.into()),
        ..Default::default()
    }
}

/// Where the gateway (and the Data Service, which shares its needs) may
/// connect: DNS, the TCP ports of LLM providers and the control plane
/// (`networkPolicy.egressTcpPorts`), and the cache.
pub(crate) fn egress_rules(d: &Description, names: &Names) -> Vec<NetworkPolicyEgressRule> {
    let mut egress = vec![NetworkPolicyEgressRule {
        ports: Some(vec![tcp_or_udp(53, "UDP"), tcp_or_udp(53, "TCP")]),
        ..Default::default()
    }];
    if !d.network_policy.egress_tcp_ports.is_empty() {
        egress.push(NetworkPolicyEgressRule {
            ports: Some(
                d.network_policy
                    .egress_tcp_ports
                    .iter()
                    .map(|p| tcp_or_udp((*p).into(), "TCP"))
                    .collect(),
            ),
            ..Default::default()
        });
    }
    if let Some(e) = &d.enterprise {
        match &e.cache.managed {
            // The built-in Redis, in this namespace.
            None => egress.push(to_component(names, "redis", crate::enterprise::REDIS_PORT)),
            // A managed cache outside the cluster: its port, anywhere (the cloud's firewall scopes it).
            Some(m) => {
                let p =
                    crate::enterprise::redis_port(&m.url).unwrap_or(crate::enterprise::REDIS_PORT);
                egress.push(NetworkPolicyEgressRule {
                    ports: Some(vec![tcp_or_udp(p.into(), "TCP")]),
                    ..Default::default()
                });
            }
        }
    }
    egress
}

/// Egress to a companion's pods on `port`.
fn to_component(names: &Names, suffix: &str, port: u16) -> NetworkPolicyEgressRule {
    NetworkPolicyEgressRule {
        to: Some(vec![NetworkPolicyPeer {
            pod_selector: Some(LabelSelector {
                match_labels: Some(crate::component::selector(names, suffix)),
                ..Default::default()
            }),
            ..Default::default()
        }]),
        ports: Some(vec![tcp_or_udp(port.into(), "TCP")]),
    }
}

fn network_policy(d: &Description, names: &Names) -> NetworkPolicy {
    let from = d
        .network_policy
        .ingress_from_namespaces
        .iter()
        .map(|ns| NetworkPolicyPeer {
            namespace_selector: Some(LabelSelector {
                match_labels: Some(BTreeMap::from([(
                    "kubernetes.io/metadata.name".to_string(),
                    ns.clone(),
                )])),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    let mut egress = egress_rules(d, names);
    if d.enterprise
        .as_ref()
        .is_some_and(|e| e.data_service.is_some())
    {
        egress.push(to_component(
            names,
            "dataservice",
            crate::enterprise::DATA_SERVICE_PORT,
        ));
    }
    let app_ports: Vec<NetworkPolicyPort> = named_ports(d)
        .into_iter()
        .map(|(_, p)| tcp_or_udp(p, "TCP"))
        .collect();
    let mut ingress_rules = vec![NetworkPolicyIngressRule {
        from: Some(from),
        ports: Some(app_ports.clone()),
    }];
    if let Some((e, x)) = d
        .enterprise
        .as_ref()
        .and_then(|e| e.expose.as_ref().map(|x| (e, x)))
    {
        ingress_rules.push(NetworkPolicyIngressRule {
            from: Some(crate::expose::network_peers(e, x)),
            ports: Some(app_ports),
        });
    }
    NetworkPolicy {
        metadata: names.meta(&names.name),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(names.selector.clone()),
                ..Default::default()
            }),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: Some(ingress_rules),
            egress: Some(egress),
        }),
    }
}

fn service_monitor(d: &Description, names: &Names) -> ServiceMonitor {
    ServiceMonitor {
        metadata: names.meta(&names.name),
        spec: ServiceMonitorSpec {
            selector: LabelSelector {
                match_labels: Some(names.selector.clone()),
                ..Default::default()
            },
            endpoints: vec![Endpoint {
                port: PORT_NAME.into(),
                path: d.monitoring.path.clone(),
                interval: d.monitoring.interval.clone(),
                scheme: d.monitoring.scheme.as_str().into(),
            }],
            namespace_selector: Some(NamespaceSelector {
                match_names: vec![names.namespace.clone()],
            }),
        },
    }
}
