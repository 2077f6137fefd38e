//! The emit stage: the files of `out/<env>/`, one per resource (canonical
//! YAML from `kiln_model::emit`) and a `kustomization.yaml` listing them.

use crate::error::Result;
use crate::resolve::Environment;
use kiln_check::{Finding, Manifest};
use kiln_k8s::Resource;
use kiln_model::InputError;
use kiln_model::emit::yaml;
use kiln_model::values::Problem;
use serde_json::json;
use std::path::PathBuf;

/// First line of every rendered file.
pub const HEADER: &str = "# Rendered by kiln. Do not edit: change base/, overlays/, strategies/ or kiln.yaml and run `make render`.\n";

/// The rendered form of one environment: typed resources in apply order, and
/// the bytes of every file of `out/<env>/`. Only a render makes one, so the
/// write stage can trust its names (an environment's, plain file names).
#[derive(Debug, Clone, PartialEq)]
pub struct EnvironmentOutput {
    pub(crate) env: String,
    pub(crate) resources: Vec<Resource>,
    pub(crate) files: Vec<OutputFile>,
    pub(crate) warnings: Vec<(PathBuf, Problem)>,
    pub(crate) findings: Vec<Finding>,
}

impl EnvironmentOutput {
    /// The environment's name (or the wiring directory's: `argocd`, `flux`).
    pub fn env(&self) -> &str {
        &self.env
    }

    /// Resources in apply order.
    pub fn resources(&self) -> &[Resource] {
        &self.resources
    }

    /// Files of `out/<env>/`, sorted by name: one per resource plus `kustomization.yaml`.
    pub fn files(&self) -> &[OutputFile] {
        &self.files
    }

    /// Strategy warnings of the environment (legal, but probably not meant).
    pub fn warnings(&self) -> &[(PathBuf, Problem)] {
        &self.warnings
    }

    /// Findings of `kiln check` that did not stop the render: warnings, notes and suppressed errors.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }
}

/// What a render produced, and how much of the repository it covers. Only a
/// rendering of the whole repository ([`crate::render_repo`] with
/// [`crate::Selection::All`]: every environment and the GitOps wiring) lets
/// the write stage (`kiln::write`) remove what no longer exists; a selection
/// (or one environment through `From`) is written without touching anything
/// else in `out/`.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderOutput {
    environments: Vec<EnvironmentOutput>,
    whole_repository: bool,
}

impl RenderOutput {
    /// Every environment and the wiring of a repository.
    pub(crate) fn whole_repository(environments: Vec<EnvironmentOutput>) -> RenderOutput {
        RenderOutput {
            environments,
            whole_repository: true,
        }
    }

    /// The rendered environments (and wiring directories), in order.
    pub fn environments(&self) -> &[EnvironmentOutput] {
        &self.environments
    }

    /// Whether this is everything the repository renders.
    pub fn is_whole_repository(&self) -> bool {
        self.whole_repository
    }
}

impl From<Vec<EnvironmentOutput>> for RenderOutput {
    fn from(environments: Vec<EnvironmentOutput>) -> RenderOutput {
        RenderOutput {
            environments,
            whole_repository: false,
        }
    }
}

impl From<EnvironmentOutput> for RenderOutput {
    fn from(rendered: EnvironmentOutput) -> RenderOutput {
        vec![rendered].into()
    }
}

/// One file of the output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    pub(crate) name: String,
    pub(crate) contents: String,
}

impl OutputFile {
    /// File name inside `out/<env>/`: a plain name, never a path.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its contents.
    pub fn contents(&self) -> &str {
        &self.contents
    }
}

/// The files of `out/<env>/` for `manifests` (in apply order, as
/// [`crate::manifests_of`] makes them): one per resource and a
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
                .file()
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
            contents: format!(
                "{HEADER}{}",
                m.text().map_or_else(|| yaml(m.value()), str::to_string)
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
        contents: format!("{HEADER}{}", yaml(&kustomization)),
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
