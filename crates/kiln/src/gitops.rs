//! GitOps wiring: the Argo CD Applications and Flux objects that point
//! clusters at `out/<env>/`, rendered into `out/argocd/` and `out/flux/` from
//! the repository settings in `kiln.yaml` ([`kiln_model::settings`]).
//!
//! Argo CD gets one Application per environment plus a root Application
//! (app of apps) over `out/argocd/` itself, rather than an ApplicationSet:
//! kiln already writes one deterministic, reviewable object per environment,
//! so a generator adds nothing but a second templating language, and each
//! Application can carry its own destination and sync wave. Flux gets one
//! GitRepository and one Kustomization per environment.

use crate::check::{manifests_of, refuse_errors};
use crate::emit::{EnvironmentOutput, output_files};
use crate::error::Result;
use crate::resolve::Environment;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kiln_k8s::Resource;
use kiln_k8s::crds::*;
use kiln_model::finding::{Finding, ObjectRef};
use kiln_model::layout::{ARGOCD_DIR, FLUX_DIR, SETTINGS_FILE};
use kiln_model::rules::ENVIRONMENT_COLLISION;
use kiln_model::settings::{ArgoCd, Flux, GitOps, IN_CLUSTER, Settings};
use std::collections::BTreeMap;

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
    let waves = g.sync_waves();
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
                waves.get(d.env.as_str()).copied().unwrap_or(0),
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
            url: g.flux_url(),
            reference: GitReference {
                branch: g.revision.clone(),
            },
            secret_ref: f.secret_ref.clone().map(|name| LocalSecretRef { name }),
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
        .filter(|env| env.description.aca().is_none())
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
pub fn render(settings: &Settings, envs: &[Environment]) -> Result<Vec<EnvironmentOutput>> {
    resources(settings, envs)
        .into_iter()
        .map(|(dir, resources)| {
            let manifests = manifests_of(&dir, &resources);
            let findings = refuse_errors(&dir, kiln_check::check(&manifests))?;
            let files = output_files(&manifests, std::path::Path::new(SETTINGS_FILE))?;
            Ok(EnvironmentOutput {
                env: dir,
                resources,
                files,
                warnings: Vec::new(),
                findings,
            })
        })
        .collect()
}

/// Where an engine syncs environment `env`: Argo CD's destination server or
/// cluster name, Flux's kubeconfig Secret (or the engine's own cluster).
fn destinations(g: &GitOps, env: &str) -> Vec<String> {
    let target = g.environments.get(env);
    let mut out = Vec::new();
    if g.argocd.is_some() {
        let cluster = target.and_then(|t| t.cluster.as_deref());
        out.push(format!(
            "Argo CD destination {}",
            cluster.unwrap_or(IN_CLUSTER)
        ));
    }
    if g.flux.is_some() {
        out.push(match target.and_then(|t| t.kube_config_secret.as_deref()) {
            Some(secret) => format!("Flux kubeconfig Secret {secret}"),
            None => "Flux's own cluster".to_string(),
        });
    }
    out
}

/// Findings of rule `environment-collision`: environments (each with its
/// resources) that the wiring would sync into the same cluster with an object
/// of the same kind, namespace and name, where each engine's prune and
/// self-heal would undo the other's, or with HTTPRoutes that claim the same
/// host on the same Gateway, where the Gateway would send a host's requests
/// to one of them at random. One finding per group of environments that
/// collide in one cluster, on the last one's overlay, so a thousand overlays
/// that collide make one finding, not half a million. None without `gitops`.
/// Linear in the objects: one map from (cluster, claim) to its environments,
/// then one from (cluster, environments) to their claims.
pub fn collisions(settings: &Settings, rendered: &[(&Environment, &[Resource])]) -> Vec<Finding> {
    let Some(g) = &settings.gitops else {
        return Vec::new();
    };
    let mut synced: BTreeMap<(String, String), Vec<(usize, usize)>> = BTreeMap::new();
    for (i, (env, resources)) in rendered.iter().enumerate() {
        for cluster in destinations(g, &env.name) {
            for (r, resource) in resources.iter().enumerate() {
                for claim in claims(resource) {
                    synced
                        .entry((cluster.clone(), claim))
                        .or_default()
                        .push((i, r));
                }
            }
        }
    }
    // (cluster, environments) → the claims, each with the last environment's resource.
    type Group = (String, Vec<usize>);
    let mut groups: BTreeMap<Group, Vec<(usize, String)>> = BTreeMap::new();
    for ((cluster, claim), placed) in synced.into_iter().filter(|(_, p)| p.len() > 1) {
        let envs: Vec<usize> = placed.iter().map(|(i, _)| *i).collect();
        let last = placed.last().map_or(0, |(_, r)| *r);
        groups
            .entry((cluster, envs))
            .or_default()
            .push((last, claim));
    }
    groups
        .into_iter()
        .map(|((cluster, envs), claims)| collision(rendered, &envs, &claims, &cluster))
        .collect()
}

/// What `resource` takes for itself in a cluster: its identity (kind,
/// namespace, name) and, for an HTTPRoute, each host on each Gateway.
fn claims(resource: &Resource) -> Vec<String> {
    let namespace = resource.namespace().unwrap_or_default();
    let mut claims = vec![format!(
        "{} {}{}",
        resource.kind(),
        resource
            .namespace()
            .map(|n| format!("{n}/"))
            .unwrap_or_default(),
        resource.name()
    )];
    if let Resource::HttpRoute(route) = resource {
        let parents = route.spec.parent_refs.iter().flatten();
        for parent in parents {
            let gateway = format!(
                "{}/{}",
                parent.namespace.as_deref().unwrap_or(namespace),
                parent.name
            );
            for host in route.spec.hostnames.iter().flatten() {
                claims.push(format!("host {host} on Gateway {gateway}"));
            }
        }
    }
    claims
}

/// The finding for environments `envs` (indexes into `rendered`, in order)
/// that all make `claims` (each with the last one's resource) in `cluster`.
fn collision(
    rendered: &[(&Environment, &[Resource])],
    envs: &[usize],
    claims: &[(usize, String)],
    cluster: &str,
) -> Finding {
    /// Environments named in the message; the rest are counted.
    const NAMED: usize = 5;
    let (env, resources) = rendered[*envs.last().unwrap_or(&0)];
    let (first_at, first_claim) = claims
        .iter()
        .min_by_key(|(r, _)| *r)
        .cloned()
        .unwrap_or_default();
    let first = &resources[first_at];
    let file = env
        .layers
        .last()
        .map_or_else(|| SETTINGS_FILE.into(), |l| l.file.clone());
    let mut names: Vec<String> = envs
        .iter()
        .take(NAMED)
        .map(|&i| format!("`{}`", rendered[i].0.name))
        .collect();
    if envs.len() > NAMED {
        names.push(format!("{} more", envs.len() - NAMED));
    }
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let who = match &names[..] {
        [a, b] => format!("environments {a} and {b} both"),
        _ => format!("{} environments ({}) all", envs.len(), names.join(", ")),
    };
    Finding {
        rule: &ENVIRONMENT_COLLISION,
        file,
        line: 1,
        object: ObjectRef {
            kind: first.kind().to_string(),
            namespace: first.namespace().map(str::to_string),
            name: first.name().to_string(),
        },
        pointer: String::new(),
        message: format!(
            "{who} sync the same {} object{} or route host{} ({first_claim} first) into one cluster ({cluster})",
            claims.len(),
            plural(claims.len()),
            plural(claims.len()),
        ),
        suppressed: None,
    }
}
