//! The emit stage: the files of `out/<env>/`, one per resource (canonical
//! YAML from `kiln_model::emit`) and a `kustomization.yaml` listing them.

use crate::resolve::Environment;
use kiln_check::{Finding, Manifest};
use kiln_k8s::Resource;
use kiln_model::emit::yaml;
use kiln_model::{InputError, Result};
use serde_json::json;

/// First line of every rendered file.
pub const HEADER: &str = "# Rendered by kiln. Do not edit: change base/, overlays/, strategies/ or kiln.yaml and run `make render`.\n";

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
    pub warnings: Vec<(std::path::PathBuf, kiln_model::values::Problem)>,
    /// Findings of `kiln check` that did not stop the render: warnings, notes and suppressed errors.
    pub findings: Vec<Finding>,
}

/// What a render produced, and how much of the repository it covers. Only a
/// rendering of the whole repository ([`crate::render_repo`] with
/// [`crate::Selection::All`]: every environment and the GitOps wiring) lets
/// the write stage (`kiln::write`) remove what no longer exists; a selection
/// (or one environment through `From`) is written without touching anything
/// else in `out/`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendering {
    environments: Vec<Rendered>,
    whole_repository: bool,
}

impl Rendering {
    /// Every environment and the wiring of a repository.
    pub(crate) fn whole_repository(environments: Vec<Rendered>) -> Rendering {
        Rendering {
            environments,
            whole_repository: true,
        }
    }

    /// The rendered environments (and wiring directories), in order.
    pub fn environments(&self) -> &[Rendered] {
        &self.environments
    }

    /// Whether this is everything the repository renders.
    pub fn is_whole_repository(&self) -> bool {
        self.whole_repository
    }
}

impl From<Vec<Rendered>> for Rendering {
    fn from(environments: Vec<Rendered>) -> Rendering {
        Rendering {
            environments,
            whole_repository: false,
        }
    }
}

impl From<Rendered> for Rendering {
    fn from(rendered: Rendered) -> Rendering {
        vec![rendered].into()
    }
}

/// One file of the output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    /// File name inside `out/<env>/`.
    pub name: String,
    /// Its contents.
    pub contents: String,
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
                .file
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
            contents: format!(
                "{HEADER}{}",
                m.text.clone().unwrap_or_else(|| yaml(&m.value))
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
