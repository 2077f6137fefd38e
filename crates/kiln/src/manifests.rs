//! Reading hand-written manifests for `kiln check PATH`: YAML files and
//! directories, read as safely as a repository's own files.

use crate::error::{Error, Result};
use kiln_check::Manifest;
use kiln_model::InputError;
use std::path::{Path, PathBuf};

/// What [`read`] found.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The documents, file by file.
    pub manifests: Vec<Manifest>,
    /// Symlinks inside the directories, skipped (never followed): a check
    /// must say what it did not look at.
    pub skipped: Vec<PathBuf>,
}

/// The Kubernetes documents of `paths` (see [`read`]).
pub fn load(paths: &[PathBuf]) -> Result<Vec<Manifest>> {
    Ok(read(paths)?.manifests)
}

/// Reads the Kubernetes documents of `paths`: YAML files (several documents
/// each, separated by `---`) and directories, searched for `*.yaml` and
/// `*.yml` in name order. Hidden entries and kustomize's
/// `kustomization.yaml` are skipped; so are symlinks, which are listed.
pub fn read(paths: &[PathBuf]) -> Result<Loaded> {
    let mut loaded = Loaded::default();
    let manifests = &mut loaded.manifests;
    for path in paths {
        let meta = std::fs::symlink_metadata(path).map_err(|e| Error::io(path, e))?;
        if meta.is_dir() {
            let walk = walkdir::WalkDir::new(path)
                .sort_by_file_name()
                .into_iter()
                .filter_entry(|e| {
                    e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.')
                });
            for entry in walk {
                let entry = entry.map_err(|e| {
                    let at = e.path().unwrap_or(path).to_path_buf();
                    Error::io(at, e.into())
                })?;
                if entry.file_type().is_symlink() {
                    loaded.skipped.push(entry.path().to_path_buf());
                } else if entry.file_type().is_file() && is_manifest_file(entry.path()) {
                    manifests.extend(read_file(entry.path())?);
                }
            }
        } else {
            manifests.extend(read_file(path)?);
        }
    }
    Ok(loaded)
}

/// Whether `text` may hold a Secret (`kind: Secret`, however spaced or quoted).
fn holds_secret(text: &str) -> bool {
    text.lines().any(|line| {
        let line = line.trim().trim_start_matches("- ");
        line.strip_prefix("kind:")
            .is_some_and(|kind| kind.trim().trim_matches(['"', '\'']) == "Secret")
    })
}

fn is_manifest_file(path: &Path) -> bool {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    (name.ends_with(".yaml") || name.ends_with(".yml"))
        && !matches!(&*name, "kustomization.yaml" | "kustomization.yml")
}

fn read_file(path: &Path) -> Result<Vec<Manifest>> {
    // Never through a symlink, never a device or FIFO, never an unbounded file.
    let parent = path.parent().unwrap_or(Path::new(""));
    let name = path.file_name().unwrap_or_default();
    let dir = crate::safe_fs::HostileDir::new(
        if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        },
        parent,
    );
    let text = dir
        .read_text(name)?
        .ok_or_else(|| Error::from(InputError::new(path, "does not exist")))?;
    // A file with a Secret never has a line of it shown: its values are not
    // shaped like keys (base64, passphrases) and so would not be masked.
    let values =
        kiln_model::parse::yaml_documents(path, &text).map_err(|kiln_model::Error::Input(e)| {
            if holds_secret(&text) {
                let message = e.message().to_string();
                Error::from(e.withhold_content(message))
            } else {
                Error::Input(e)
            }
        })?;
    let parts = documents(&text);
    let located = parts.len() == values.len();
    Ok(values
        .into_iter()
        .enumerate()
        .map(|(i, value)| {
            let (line, text) = if located {
                (parts[i].0, Some(parts[i].1.clone()))
            } else {
                (1, None)
            };
            Manifest::read(path, line, text, value)
        })
        .collect())
}

/// The non-empty documents of a YAML stream: first line (1-based) and text.
fn documents(text: &str) -> Vec<(usize, String)> {
    let mut parts: Vec<(usize, String)> = vec![(1, String::new())];
    for (i, line) in text.lines().enumerate() {
        if line == "---" || line.starts_with("--- ") || line == "..." {
            parts.push((i + 2, String::new()));
        } else if let Some(last) = parts.last_mut() {
            last.1.push_str(line);
            last.1.push('\n');
        }
    }
    parts.retain(|(_, t)| {
        t.lines().any(|l| {
            let l = l.trim();
            !l.is_empty() && !l.starts_with('#')
        })
    });
    parts
}
