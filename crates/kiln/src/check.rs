//! The check stage: an environment built, patched and checked by `kiln check`
//! with its suppressions, before anything is emitted.

use crate::build::build;
use crate::error::{Error, Result};
use crate::patch::apply_layers;
use crate::resolve::Environment;
use kiln_check::{Finding, Manifest};
use kiln_k8s::Resource;
use kiln_model::InputError;
use kiln_model::layout::OUT_DIR;
use std::path::Path;

/// An environment built, patched and checked: what the emit stage writes and
/// `kiln check` reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspection {
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
pub fn inspect(env: &Environment) -> Result<Inspection> {
    if env.description.aca().is_some() {
        // Azure Container Apps: no Kubernetes objects, nothing for kiln check.
        return Ok(Inspection {
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
    let (resources, docs) = apply_layers(env, built)?;
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
            .with_help(Some(
                match kiln_model::closest(&d.suppression.resource, known.iter().map(String::as_str))
                {
                    Some(c) => format!("did you mean `{c}`? resources: {}", known.join(", ")),
                    None => format!("resources: {}", known.join(", ")),
                },
            ))
            .into());
        };
        d.suppression.resource = format!("{}/{}", r.kind(), r.name());
    }
    let manifests = manifests_with(&env.name, &resources, docs);
    let mut findings = kiln_check::check(&manifests);
    if let Some(d) = kiln_check::apply_suppressions(&mut findings, &suppressions).first() {
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
    Ok(Inspection {
        resources,
        manifests,
        findings,
    })
}

/// `findings` if none is an unsuppressed error; else an [`Error::Check`]
/// listing those that are, for output directory `dir`.
pub(crate) fn refuse_errors(dir: &str, findings: Vec<Finding>) -> Result<Vec<Finding>> {
    if !kiln_check::has_errors(&findings) {
        return Ok(findings);
    }
    Err(Error::Check {
        env: dir.to_string(),
        findings: findings.into_iter().filter(Finding::is_blocking).collect(),
    })
}

/// The manifests of a render: each resource's document and canonical text, as
/// written to `out/<env>/<file>` (after the one-line header).
pub fn manifests_of(env: &str, resources: &[Resource]) -> Vec<Manifest> {
    let docs = resources.iter().map(Resource::to_value).collect();
    manifests_with(env, resources, docs)
}

/// [`manifests_of`] with each resource's document already made.
fn manifests_with(
    env: &str,
    resources: &[Resource],
    docs: Vec<serde_json::Value>,
) -> Vec<Manifest> {
    resources
        .iter()
        .zip(docs)
        .map(|(r, value)| {
            let file = Path::new(OUT_DIR).join(env).join(file_name(r));
            Manifest::rendered(file, kiln_model::emit::yaml(&value), value)
        })
        .collect()
}

/// The file a resource is written to: `<kind>-<name>.yaml`, lower-case kind.
pub fn file_name(resource: &Resource) -> String {
    format!(
        "{}-{}.yaml",
        resource.kind().to_ascii_lowercase(),
        resource.name()
    )
}
