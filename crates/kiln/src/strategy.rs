//! Portkey routing strategies: one JSON config per file in `strategies/`,
//! selected by clients with the `x-portkey-config` header.

use crate::error::{Error, InputError, Result};
use crate::parse;
use crate::repo::STRATEGIES_DIR;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// One strategy file.
#[derive(Debug, Clone, PartialEq)]
pub struct Strategy {
    /// The name clients use: the file name without `.json`.
    pub name: String,
    /// The file, relative to the repository root.
    pub file: PathBuf,
    /// The Portkey config (a JSON object).
    pub config: Value,
}

impl Strategy {
    /// The key in the strategies ConfigMap, and the file name under the mount path.
    pub fn file_name(&self) -> String {
        format!("{}.json", self.name)
    }

    /// The config as canonical JSON (sorted keys, two-space indent, trailing newline).
    pub fn canonical_json(&self) -> String {
        crate::emit::json(&self.config)
    }
}

/// Reads every `strategies/*.json` under `root`, sorted by name. A missing
/// `strategies/` directory means no strategies.
pub(crate) fn load_dir(root: &Path) -> Result<Vec<Strategy>> {
    let dir = root.join(STRATEGIES_DIR);
    match dir.symlink_metadata() {
        Err(_) => return Ok(Vec::new()),
        Ok(m) if m.file_type().is_symlink() => {
            return Err(Error::unsafe_path(
                STRATEGIES_DIR,
                "is a symlink; kiln does not follow symlinks",
            ));
        }
        Ok(_) => {}
    }
    let mut strategies = Vec::new();
    for entry in walkdir::WalkDir::new(&dir).min_depth(1).follow_links(false) {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(&dir).to_path_buf();
            Error::io(path, e.into())
        })?;
        let rel = entry
            .path()
            .strip_prefix(root)
            .unwrap_or(entry.path())
            .to_path_buf();
        let file_type = entry.file_type();
        if file_type.is_symlink() {
            return Err(Error::unsafe_path(
                rel,
                "is a symlink; kiln does not follow symlinks",
            ));
        }
        if !file_type.is_file() {
            return Err(Error::unsafe_path(
                rel,
                "strategies/ holds only strategy files (*.json), no directories",
            ));
        }
        let text = std::fs::read_to_string(entry.path()).map_err(|e| Error::io(&rel, e))?;
        strategies.push(from_file(&rel, &text)?);
    }
    strategies.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(strategies)
}

/// Reads one strategy file (`file` relative to the repository root); its name is the file name without `.json`.
pub(crate) fn from_file(file: &Path, text: &str) -> Result<Strategy> {
    let file_name = file.file_name().unwrap_or_default().to_string_lossy();
    let Some(name) = file_name.strip_suffix(".json") else {
        return Err(
            InputError::new(file, "a strategy is a Portkey config named <strategy>.json").into(),
        );
    };
    if !valid_name(name) {
        return Err(InputError::new(
            file,
            format!(
                "`{name}` is not a valid strategy name: use lower-case letters, digits, '-' and '_'"
            ),
        )
        .into());
    }
    let config: Value = parse::json(file, text)?;
    if !config.is_object() {
        return Err(InputError::new(file, "a Portkey config must be a JSON object").into());
    }
    Ok(Strategy {
        name: name.to_string(),
        file: file.to_path_buf(),
        config,
    })
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}
