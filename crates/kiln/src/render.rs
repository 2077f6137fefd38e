//! The whole pipeline for an environment, short of writing: resolve, build,
//! patch, check, emit ([`render`]); every environment at once, with the
//! GitOps wiring ([`render_repo`]).

use crate::inspect::{Inspection, inspect, refuse_errors};
use crate::output::{OutputFile, Rendered, Rendering, emit_files};
use crate::overlay::Environment;
use crate::parallel::in_parallel;
use crate::repo::Repo;
use kiln_model::{Result, emit};

/// Resolves and renders each of `names`, in parallel: a selection, which
/// [`crate::write()`] writes without removing anything else. The result is in
/// the order of `names`, and the error (if any) is that of the first failing name.
///
/// ```
/// # fn main() -> Result<(), kiln::Error> {
/// let repo = kiln::Repo::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))?;
/// let some = kiln::render_all(&repo, &["dev".to_string(), "prod".to_string()])?;
/// assert_eq!(some.environments().len(), 2);
/// assert!(!some.is_whole_repository());
/// # Ok(()) }
/// ```
pub fn render_all(repo: &Repo, names: &[String]) -> Result<Rendering> {
    in_parallel(names, |name| render(&repo.environment(name)?))
        .into_iter()
        .collect::<Result<Vec<_>>>()
        .map(Rendering::from)
}

/// Everything `kiln render` writes: every environment, then the GitOps wiring
/// of `kiln.yaml` (`out/argocd/`, `out/flux/`; see [`crate::gitops`]). Written
/// with [`crate::write()`], it also removes environments that no longer exist.
///
/// ```
/// # fn main() -> Result<(), kiln::Error> {
/// let repo = kiln::Repo::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))?;
/// let all = kiln::render_repo(&repo)?;
/// assert!(all.is_whole_repository());
/// assert!(all.environments().iter().any(|r| r.env == "argocd"));
/// # Ok(()) }
/// ```
pub fn render_repo(repo: &Repo) -> Result<Rendering> {
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
    Ok(Rendering::whole_repository(all))
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
/// assert_eq!(rendered.resources[0].kind(), "Namespace");
/// assert!(rendered.files.iter().any(|f| f.name == "kustomization.yaml"));
/// # Ok(()) }
/// ```
pub fn render(env: &Environment) -> Result<Rendered> {
    if let Some((e, aca)) = env.description.aca() {
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
    let Inspection {
        resources,
        manifests,
        findings,
    } = inspect(env)?;
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
