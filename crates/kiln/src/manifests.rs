//! Reading hand-written manifests for `kiln check PATH`: YAML files and
//! directories, read as safely as a repository's own files.

use kiln_check::Manifest;
use kiln_model::{Error, InputError, Result};
use std::path::{Path, PathBuf};

/// Reads the Kubernetes documents of `paths`: YAML files (several documents
/// each, separated by `---`) and directories, searched for `*.yaml` and
/// `*.yml` in name order. Hidden entries, symlinks and kustomize's
/// `kustomization.yaml` are skipped.
pub fn load(paths: &[PathBuf]) -> Result<Vec<Manifest>> {
    let mut manifests = Vec::new();
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
                if entry.file_type().is_file() && is_manifest_file(entry.path()) {
                    manifests.extend(read_file(entry.path())?);
                }
            }
        } else {
            manifests.extend(read_file(path)?);
        }
    }
    Ok(manifests)
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
    let values = kiln_model::parse::yaml_documents(path, &text)?;
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
            Manifest {
                file: path.to_path_buf(),
                line,
                text,
                value,
                from_typed: false,
            }
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
