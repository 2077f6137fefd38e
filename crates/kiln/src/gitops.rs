//! GitOps wiring: the Argo CD Applications and Flux objects that point
//! clusters at `out/<env>/`, rendered into `out/argocd/` and `out/flux/` from
//! the repository settings in `kiln.yaml`.
//!
//! Argo CD gets one Application per environment plus a root Application
//! (app of apps) over `out/argocd/` itself, rather than an ApplicationSet:
//! kiln already writes one deterministic, reviewable object per environment,
//! so a generator adds nothing but a second templating language, and each
//! Application can carry its own destination and sync wave. Flux gets one
//! GitRepository and one Kustomization per environment.

use crate::check;
use crate::crds::*;
use crate::error::{InputError, Result, closest};
use crate::overlay::Environment;
use crate::render::{Rendered, output_files, refuse_errors};
use crate::resource::Resource;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The repository settings file, at the root.
pub const SETTINGS_FILE: &str = "kiln.yaml";
/// Argo CD's in-cluster API server, the default destination.
pub const IN_CLUSTER: &str = "https://kubernetes.default.svc";

/// `kiln.yaml`: repository-wide settings. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The GitOps wiring; none is rendered without it.
    #[serde(default)]
    pub gitops: Option<GitOps>,
}

/// Where the repository is and how each engine syncs it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GitOps {
    /// The Git URL clusters pull (`https://…`, `ssh://…` or `git@host:path`).
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    /// Branch to follow.
    #[serde(default = "defaults::revision")]
    pub revision: String,
    /// Where `out/` is inside the Git repository (default `out`).
    #[serde(default = "defaults::path")]
    pub path: String,
    /// Name of the root Application and of the Flux GitRepository.
    #[serde(default = "defaults::name")]
    pub name: String,
    /// Render Argo CD Applications into `out/argocd/` (`argocd: {}` for the defaults).
    #[serde(default)]
    pub argocd: Option<ArgoCd>,
    /// Render Flux objects into `out/flux/` (`flux: {}` for the defaults).
    #[serde(default)]
    pub flux: Option<Flux>,
    /// Per-environment destination and ordering; environments not listed go
    /// to the cluster the engine runs in.
    #[serde(default)]
    pub environments: BTreeMap<String, Target>,
}

/// Argo CD options.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ArgoCd {
    /// Namespace Argo CD runs in.
    #[serde(default = "defaults::argocd_namespace")]
    pub namespace: String,
    /// AppProject of the Applications.
    #[serde(default = "defaults::project")]
    pub project: String,
    /// Sync automatically on every commit.
    #[serde(default = "defaults::yes")]
    pub automated: bool,
    /// Delete what is no longer in `out/` (and, through the finalizer, an
    /// Application's resources when it is deleted).
    #[serde(default = "defaults::yes")]
    pub prune: bool,
    /// Undo changes made in the cluster by hand.
    #[serde(default = "defaults::yes")]
    pub self_heal: bool,
}

/// Flux options.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Flux {
    /// Namespace the Flux controllers watch for their objects.
    #[serde(default = "defaults::flux_namespace")]
    pub namespace: String,
    /// How often Flux fetches the repository and reconciles.
    #[serde(default = "defaults::interval")]
    pub interval: String,
    /// How long an apply (and health check) may take.
    #[serde(default = "defaults::timeout")]
    pub timeout: String,
    /// Delete what is no longer in `out/`.
    #[serde(default = "defaults::yes")]
    pub prune: bool,
    /// Wait until every applied object is ready (health checks of all of them).
    #[serde(default = "defaults::yes")]
    pub wait: bool,
}

/// One environment's destination and ordering.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Target {
    /// Argo CD destination: an API server URL (`https://…`) or a cluster name
    /// registered in Argo CD [default: the in-cluster server].
    #[serde(default)]
    pub cluster: Option<String>,
    /// Flux: a Secret (in Flux's namespace) with the kubeconfig of a remote
    /// cluster [default: the cluster Flux runs in].
    #[serde(default)]
    pub kube_config_secret: Option<String>,
    /// Environments whose objects must be applied (and healthy) first: Flux
    /// `dependsOn`, Argo CD a later sync wave of the Application.
    #[serde(default)]
    pub depends_on: Vec<String>,
}

mod defaults {
    pub fn revision() -> String {
        "main".into()
    }
    pub fn path() -> String {
        crate::repo::OUT_DIR.into()
    }
    pub fn name() -> String {
        "gitops".into()
    }
    pub fn argocd_namespace() -> String {
        "argocd".into()
    }
    pub fn project() -> String {
        "default".into()
    }
    pub fn flux_namespace() -> String {
        "flux-system".into()
    }
    pub fn interval() -> String {
        "10m".into()
    }
    pub fn timeout() -> String {
        "5m".into()
    }
    pub fn yes() -> bool {
        true
    }
}

/// Directory of `out/` the Argo CD Applications are written to.
pub const ARGOCD_DIR: &str = "argocd";
/// Directory of `out/` the Flux objects are written to.
pub const FLUX_DIR: &str = "flux";

impl Settings {
    /// Reads `kiln.yaml` at `root`; the defaults (no wiring) if there is none.
    pub(crate) fn load(
        files: &crate::safe_fs::HostileDir,
        environments: &[String],
    ) -> Result<Settings> {
        let Some(text) = files.read_text(SETTINGS_FILE)? else {
            return Ok(Settings::default());
        };
        let settings: Settings = crate::parse::yaml(Path::new(SETTINGS_FILE), &text)?;
        if let Some(g) = &settings.gitops {
            g.validate(environments)?;
        }
        Ok(settings)
    }
}

impl GitOps {
    pub(crate) fn validate(&self, environments: &[String]) -> Result<()> {
        let fail = |pointer: &str, message: String, help: Option<String>| -> Result<()> {
            Err(InputError::new(SETTINGS_FILE, message)
                .at(format!("/gitops{pointer}"))
                .with_help(help)
                .into())
        };
        let url = &self.repo_url;
        let scheme = ["https://", "http://", "ssh://", "git@"]
            .iter()
            .any(|s| url.starts_with(s));
        if !scheme || url.chars().any(char::is_whitespace) {
            return fail(
                "/repoURL",
                format!("`{url}` is not a Git URL (https://…, ssh://… or git@host:path)"),
                None,
            );
        }
        if self.revision.is_empty()
            || self
                .revision
                .chars()
                .any(|c| c.is_whitespace() || c == '~' || c == '^' || c == ':')
        {
            return fail(
                "/revision",
                format!("`{}` is not a branch name", self.revision),
                None,
            );
        }
        let path_ok = !self.path.is_empty()
            && !self.path.starts_with('/')
            && self
                .path
                .split('/')
                .all(|p| !p.is_empty() && p != "." && p != "..");
        if !path_ok {
            return fail(
                "/path",
                format!(
                    "`{}` must be a relative path inside the Git repository, without `..`",
                    self.path
                ),
                None,
            );
        }
        if let Some((_, message)) = crate::spec::dns_label("", &self.name) {
            return fail("/name", message, None);
        }
        if self.argocd.is_none() && self.flux.is_none() {
            return fail(
                "",
                "names no engine".into(),
                Some("add `argocd: {}` and/or `flux: {}`".into()),
            );
        }
        for (dir, on) in [
            (ARGOCD_DIR, self.argocd.is_some()),
            (FLUX_DIR, self.flux.is_some()),
        ] {
            if on && environments.iter().any(|e| e == dir) {
                return fail(
                    "",
                    format!("environment `{dir}` would share out/{dir}/ with the {dir} wiring"),
                    Some(format!("rename overlays/{dir}/")),
                );
            }
        }
        if let Some(f) = &self.flux {
            for (field, value) in [("interval", &f.interval), ("timeout", &f.timeout)] {
                if !is_duration(value) {
                    return fail(
                        &format!("/flux/{field}"),
                        format!("`{value}` is not a duration like 10m, 1h30m or 45s"),
                        None,
                    );
                }
            }
        }
        for (env, target) in &self.environments {
            let at = format!(
                "/environments/{}",
                env.replace('~', "~0").replace('/', "~1")
            );
            if !environments.contains(env) {
                let help = closest(env, environments.iter().map(String::as_str))
                    .map(|c| format!("did you mean `{c}`?"));
                return fail(
                    &at,
                    format!("no environment `{env}` (overlays/{env}/overlay.yaml)"),
                    help,
                );
            }
            for (i, dep) in target.depends_on.iter().enumerate() {
                if !environments.contains(dep) || dep == env {
                    let help = closest(dep, environments.iter().map(String::as_str))
                        .map(|c| format!("did you mean `{c}`?"));
                    return fail(
                        &format!("{at}/dependsOn/{i}"),
                        format!("`{dep}` is not another environment"),
                        help,
                    );
                }
            }
            if let Some(c) = &target.cluster {
                if c.is_empty() || c.chars().any(char::is_whitespace) {
                    return fail(
                        &format!("{at}/cluster"),
                        format!("`{c}` is neither an API server URL nor a cluster name"),
                        None,
                    );
                }
            }
        }
        for env in self.environments.keys() {
            if let Some(cycle) = self.cycle_from(env, &mut vec![env.clone()]) {
                return fail(
                    &format!("/environments/{env}/dependsOn"),
                    format!("dependsOn makes a cycle: {}", cycle.join(" → ")),
                    None,
                );
            }
        }
        Ok(())
    }

    fn depends_on(&self, env: &str) -> &[String] {
        self.environments
            .get(env)
            .map_or(&[], |t| t.depends_on.as_slice())
    }

    fn cycle_from(&self, env: &str, path: &mut Vec<String>) -> Option<Vec<String>> {
        for dep in self.depends_on(env) {
            if path.first() == Some(dep) {
                let mut cycle = path.clone();
                cycle.push(dep.clone());
                return Some(cycle);
            }
            if !path.contains(dep) {
                path.push(dep.clone());
                if let Some(c) = self.cycle_from(dep, path) {
                    return Some(c);
                }
                path.pop();
            }
        }
        None
    }

    /// 0 for an environment that depends on nothing, else one more than its deepest dependency.
    fn wave(&self, env: &str) -> usize {
        self.depends_on(env)
            .iter()
            .map(|d| 1 + self.wave(d))
            .max()
            .unwrap_or(0)
    }
}

/// Go durations as Flux's schemas accept them: `10m`, `1h30m`, `45s`, `1.5h`.
fn is_duration(s: &str) -> bool {
    regex_lite::Regex::new(r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$").is_ok_and(|re| re.is_match(s))
}

/// What one environment contributes to the wiring.
struct Deployed {
    env: String,
    /// `<service>-<env>`: the Application's and the Kustomization's name.
    name: String,
    namespace: String,
}

fn meta(name: &str, namespace: &str, part_of: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: Some(namespace.into()),
        labels: Some(BTreeMap::from([
            (
                "app.kubernetes.io/managed-by".to_string(),
                "kiln".to_string(),
            ),
            ("app.kubernetes.io/part-of".to_string(), part_of.to_string()),
        ])),
        ..ObjectMeta::default()
    }
}

fn application(
    g: &GitOps,
    a: &ArgoCd,
    name: &str,
    path: String,
    destination: ApplicationDestination,
    wave: usize,
) -> Application {
    let mut metadata = meta(name, &a.namespace, &g.name);
    if a.prune {
        // Deleting the Application deletes what it deployed (Argo CD's cascade).
        metadata.finalizers = Some(vec!["resources-finalizer.argocd.argoproj.io".into()]);
    }
    if wave > 0 {
        metadata.annotations = Some(BTreeMap::from([(
            "argocd.argoproj.io/sync-wave".to_string(),
            wave.to_string(),
        )]));
    }
    Application {
        metadata,
        spec: ApplicationSpec {
            project: a.project.clone(),
            source: ApplicationSource {
                repo_url: g.repo_url.clone(),
                target_revision: g.revision.clone(),
                path,
            },
            destination,
            sync_policy: Some(SyncPolicy {
                automated: a.automated.then_some(AutomatedSync {
                    prune: a.prune,
                    self_heal: a.self_heal,
                }),
                sync_options: Vec::new(),
            }),
        },
    }
}

fn argocd(g: &GitOps, a: &ArgoCd, deployed: &[Deployed]) -> Vec<Resource> {
    let mut resources: Vec<Resource> = deployed
        .iter()
        .map(|d| {
            let cluster = g.environments.get(&d.env).and_then(|t| t.cluster.clone());
            let (server, name) = match cluster {
                Some(c) if !c.starts_with("https://") => (None, Some(c)),
                Some(c) => (Some(c), None),
                None => (Some(IN_CLUSTER.to_string()), None),
            };
            let destination = ApplicationDestination {
                server,
                name,
                namespace: Some(d.namespace.clone()),
            };
            Resource::Application(application(
                g,
                a,
                &d.name,
                format!("{}/{}", g.path, d.env),
                destination,
                g.wave(&d.env),
            ))
        })
        .collect();
    // The root: an Application over out/argocd/ itself (app of apps). Apply it once by hand.
    let root = ApplicationDestination {
        server: Some(IN_CLUSTER.into()),
        name: None,
        namespace: Some(a.namespace.clone()),
    };
    resources.push(Resource::Application(application(
        g,
        a,
        &g.name,
        format!("{}/{ARGOCD_DIR}", g.path),
        root,
        0,
    )));
    resources
}

fn flux(g: &GitOps, f: &Flux, deployed: &[Deployed]) -> Vec<Resource> {
    let mut resources = vec![Resource::GitRepository(GitRepository {
        metadata: meta(&g.name, &f.namespace, &g.name),
        spec: GitRepositorySpec {
            interval: f.interval.clone(),
            url: g.repo_url.clone(),
            reference: GitReference {
                branch: g.revision.clone(),
            },
        },
    })];
    let name_of = |env: &str| {
        deployed
            .iter()
            .find(|d| d.env == env)
            .map(|d| d.name.clone())
    };
    for d in deployed {
        let target = g.environments.get(&d.env).cloned().unwrap_or_default();
        resources.push(Resource::FluxKustomization(FluxKustomization {
            metadata: meta(&d.name, &f.namespace, &g.name),
            spec: FluxKustomizationSpec {
                interval: f.interval.clone(),
                path: format!("./{}/{}", g.path, d.env),
                prune: f.prune,
                wait: f.wait,
                timeout: f.timeout.clone(),
                source_ref: SourceReference {
                    kind: "GitRepository".into(),
                    name: g.name.clone(),
                },
                depends_on: target
                    .depends_on
                    .iter()
                    .filter_map(|dep| name_of(dep))
                    .map(|name| DependencyReference { name })
                    .collect(),
                kube_config: target.kube_config_secret.map(|name| KubeConfigReference {
                    secret_ref: SecretKeyName { name },
                }),
            },
        }));
    }
    resources
}

/// The wiring's resources for the resolved environments `envs` (for their
/// service names and namespaces), by directory of `out/` (`argocd`, `flux`);
/// empty without `gitops` in `kiln.yaml`.
pub fn resources(settings: &Settings, envs: &[Environment]) -> Vec<(String, Vec<Resource>)> {
    let Some(g) = &settings.gitops else {
        return Vec::new();
    };
    let deployed: Vec<Deployed> = envs
        .iter()
        // Azure Container Apps are deployed by Terraform, not synced by a GitOps engine.
        .filter(|env| crate::render::aca_of(env).is_none())
        .map(|env| Deployed {
            env: env.name.clone(),
            name: format!("{}-{}", env.description.name, env.name),
            namespace: env.description.namespace.name.clone(),
        })
        .collect();
    let mut out = Vec::new();
    if let Some(a) = &g.argocd {
        out.push((ARGOCD_DIR.to_string(), argocd(g, a, &deployed)));
    }
    if let Some(f) = &g.flux {
        out.push((FLUX_DIR.to_string(), flux(g, f, &deployed)));
    }
    for (_, resources) in &mut out {
        resources.sort_by(|a, b| (a.apply_rank(), a.name()).cmp(&(b.apply_rank(), b.name())));
    }
    out
}

/// The wiring rendered like an environment: `out/argocd/` and `out/flux/`,
/// each with its `kustomization.yaml`, checked by `kiln check`.
pub fn render(settings: &Settings, envs: &[Environment]) -> Result<Vec<Rendered>> {
    resources(settings, envs)
        .into_iter()
        .map(|(dir, resources)| {
            let manifests = check::manifests_of(&dir, &resources);
            let findings = refuse_errors(&dir, check::check(&manifests))?;
            let files = output_files(&manifests, Path::new(SETTINGS_FILE))?;
            Ok(Rendered {
                env: dir,
                resources,
                files,
                warnings: Vec::new(),
                findings,
            })
        })
        .collect()
}
