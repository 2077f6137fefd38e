//! Environments: an overlay (`overlays/<env>/overlay.yaml`) applied to its base
//! description, giving the [`Environment`] that is rendered.

use crate::error::Result;
use crate::parse;
use crate::repo::{OVERLAY_FILE, OVERLAYS_DIR, Repo};
use crate::spec::Description;
use crate::strategy::Strategy;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The base description an overlay uses unless it names another.
pub const DEFAULT_BASE: &str = "base/service.yaml";

/// The contents of `overlays/<env>/overlay.yaml`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overlay {
    /// Repository-relative path of the base description (default `base/service.yaml`).
    #[serde(default)]
    pub base: Option<String>,
}

/// A resolved environment: everything needed to render `out/<name>/`.
#[derive(Debug, Clone, PartialEq)]
pub struct Environment {
    /// The environment's name (its directory under `overlays/`).
    pub name: String,
    /// The description after every overlay was applied.
    pub description: Description,
    /// The strategies the environment mounts, sorted by name.
    pub strategies: Vec<Strategy>,
}

pub(crate) fn resolve(repo: &Repo, name: &str) -> Result<Environment> {
    let overlay_file: PathBuf = Path::new(OVERLAYS_DIR).join(name).join(OVERLAY_FILE);
    let text = repo.read(&overlay_file.to_string_lossy(), None)?;
    let overlay: Overlay = parse::yaml(&overlay_file, &text)?;

    let base = overlay.base.as_deref().unwrap_or(DEFAULT_BASE);
    let origin = overlay
        .base
        .as_ref()
        .map(|_| (overlay_file.as_path(), "/base"));
    let base_text = repo.read(base, origin)?;
    let description: Description = parse::yaml(Path::new(base), &base_text)?;
    description.validate(Path::new(base))?;

    Ok(Environment {
        name: name.to_string(),
        description,
        strategies: repo.strategies().to_vec(),
    })
}
