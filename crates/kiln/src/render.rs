//! The whole pipeline for an environment, short of writing: resolve, build,
//! patch, check, emit ([`render`]); every environment at once, with the
//! GitOps wiring, or a selection of them ([`render_repo`]).

use crate::check::{Inspection, inspect, manifests_of, refuse_errors};
use crate::emit::{EnvironmentOutput, OutputFile, RenderOutput, emit_files};
use crate::error::{Result, gather};
use crate::load::Repo;
use crate::origin::at_inputs;
use crate::parallel::in_parallel;
use crate::resolve::Environment;
use crate::selection::Selection;
use kiln_check::Finding;
use kiln_k8s::Resource;

/// What `kiln render` writes for `selection`, each environment in parallel.
/// [`Selection::All`]: every environment, then the GitOps wiring of
/// `kiln.yaml` (`out/argocd/`, `out/flux/`; see [`crate::gitops`]); written
/// with [`crate::write()`], it also removes environments that no longer
/// exist. [`Selection::Only`]: those environments, in that order, and
/// nothing else is touched when written. Every environment that fails is
/// reported, up to 20 at once, as [`crate::Error::Several`].
///
/// ```
/// # fn main() -> Result<(), kiln::Error> {
/// use kiln::Selection;
/// let repo = kiln::Repo::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))?;
/// let all = kiln::render_repo(&repo, &Selection::All)?;
/// assert!(all.is_whole_repository());
/// assert!(all.environments().iter().any(|r| r.env() == "argocd"));
/// let some = kiln::render_repo(&repo, &Selection::of(&["prod".into(), "dev".into()]))?;
/// assert_eq!(some.environments().len(), 2);
/// assert!(!some.is_whole_repository());
/// # Ok(()) }
/// ```
pub fn render_repo(repo: &Repo, selection: &Selection) -> Result<RenderOutput> {
    let Selection::Only(names) = selection else {
        return render_whole(repo);
    };
    gather(in_parallel(names, |name| {
        let env = repo.environment(name)?;
        render(&env).map_err(|e| at_inputs(repo, Some(&env), &[], e))
    }))
    .map(RenderOutput::from)
}

/// Every environment and the GitOps wiring.
fn render_whole(repo: &Repo) -> Result<RenderOutput> {
    // Each environment is resolved once: for its own render and for the wiring.
    let (envs, mut all): (Vec<Environment>, Vec<EnvironmentOutput>) =
        gather(in_parallel(repo.environments(), |name| {
            let env = repo.environment(name)?;
            let rendered = render(&env).map_err(|e| at_inputs(repo, Some(&env), &[], e))?;
            Ok((env, rendered))
        }))?
        .into_iter()
        .unzip();
    let synced: Vec<(&Environment, &[Resource])> = envs
        .iter()
        .zip(&all)
        .map(|(e, r)| (e, r.resources.as_slice()))
        .collect();
    let collisions = crate::gitops::collisions(repo.settings(), &synced);
    if let Some(first) = collisions.first() {
        let env = first.file.parent().and_then(|d| d.file_name());
        let env = env.unwrap_or_default().to_string_lossy().into_owned();
        refuse_errors(&env, collisions)?;
    }
    all.extend(
        crate::gitops::render(repo.settings(), &envs)
            .map_err(|e| at_inputs(repo, None, &envs, e))?,
    );
    Ok(RenderOutput::whole_repository(all))
}

/// Builds, patches, checks and emits environment `env`: the whole pipeline
/// short of writing. An error-level finding of `kiln check` that no
/// suppression covers is an [`crate::Error::Check`]: nothing of the environment is
/// emitted.
///
/// ```
/// # fn main() -> Result<(), kiln::Error> {
/// let repo = kiln::Repo::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))?;
/// let rendered = kiln::render(&repo.environment("homelab")?)?;
/// assert_eq!(rendered.resources()[0].kind(), "Namespace");
/// assert!(rendered.files().iter().any(|f| f.name() == "kustomization.yaml"));
/// # Ok(()) }
/// ```
pub fn render(env: &Environment) -> Result<EnvironmentOutput> {
    if let Some((e, aca)) = env.description.aca() {
        let tfvars = crate::aca::tfvars(&env.name, &env.description, e, aca);
        return Ok(EnvironmentOutput {
            env: env.name.clone(),
            resources: Vec::new(),
            files: vec![OutputFile {
                name: crate::aca::TFVARS.into(),
                contents: kiln_model::emit::json(&tfvars),
            }],
            warnings: env.warnings.clone(),
            findings: Vec::new(),
        });
    }
    let Inspection {
        resources,
        manifests,
        findings,
    } = inspect(env)?;
    let findings = refuse_errors(&env.name, findings)?;
    let files = emit_files(env, &manifests)?;
    Ok(EnvironmentOutput {
        env: env.name.clone(),
        resources,
        files,
        warnings: env.warnings.clone(),
        findings,
    })
}

/// What `kiln check` finds in a repository as kiln renders it: every finding
/// of each selected environment (with all of them, the GitOps wiring's and
/// environments that collide in a cluster too), suppressions applied.
/// Bad input is an error, as for [`render_repo`].
///
/// ```
/// # fn main() -> Result<(), kiln::Error> {
/// let repo = kiln::Repo::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))?;
/// assert!(!kiln::rules::has_errors(&kiln::check_repo(&repo, &kiln::Selection::All)?));
/// # Ok(()) }
/// ```
pub fn check_repo(repo: &Repo, selection: &Selection) -> Result<Vec<Finding>> {
    let names = match selection {
        Selection::All => repo.environments(),
        Selection::Only(names) => names,
    };
    let envs = gather(names.iter().map(|name| repo.environment(name)))?;
    let inspections = gather(
        envs.iter()
            .map(|env| inspect(env).map_err(|e| repo.locate(e))),
    )?;
    // Collisions and the wiring concern the whole repository.
    let whole = *selection == Selection::All;
    let synced: Vec<(&Environment, &[Resource])> = envs
        .iter()
        .zip(&inspections)
        .filter(|_| whole)
        .map(|(e, i)| (e, i.resources.as_slice()))
        .collect();
    let collisions = crate::gitops::collisions(repo.settings(), &synced);
    let mut all: Vec<Finding> = inspections.into_iter().flat_map(|i| i.findings).collect();
    all.extend(collisions);
    if whole {
        for (dir, resources) in crate::gitops::resources(repo.settings(), &envs) {
            all.extend(kiln_check::check(&manifests_of(&dir, &resources)));
        }
    }
    Ok(all)
}
