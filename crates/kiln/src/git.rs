//! The inputs of a repository as of a git revision, for `kiln diff --base`.
//!
//! Read with `git ls-tree` and `git cat-file` only: no checkout, so the
//! working tree and index are never touched, and no hooks, filters or
//! anything else from the revision is executed. Symlinks and submodules in
//! the inputs are refused, as they are in a working tree.

use crate::repo::Repo;
use kiln_model::layout::{BASE_DIR, OVERLAYS_DIR, STRATEGIES_DIR};
use kiln_model::{Error, Result};
use std::path::{Component, Path};
use std::process::Command;

/// A copy of the inputs (`base/`, `overlays/`, `strategies/`) of `repo_root` at
/// revision `rev`, in a temporary directory that is removed when dropped.
pub struct Revision {
    dir: tempfile::TempDir,
    /// The commit `rev` resolved to.
    pub commit: String,
}

impl Revision {
    /// Opens the copy as a repository.
    pub fn repo(&self) -> Result<Repo> {
        Repo::open(self.dir.path())
    }
}

fn git(root: &Path, args: &[&str]) -> Result<Vec<u8>> {
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .map_err(|e| Error::io("git", e))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(Error::Git {
            command: format!("git {}", args.join(" ")),
            message: stderr.trim().to_string(),
        });
    }
    Ok(output.stdout)
}

/// Extracts the inputs of `rev` (a branch, tag or commit of the repository at `repo_root`).
pub fn checkout(repo_root: &Path, rev: &str) -> Result<Revision> {
    if rev.starts_with('-') || rev.is_empty() {
        return Err(Error::Git {
            command: "git rev-parse".into(),
            message: format!("`{rev}` is not a revision"),
        });
    }
    let commit = String::from_utf8_lossy(&git(
        repo_root,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &format!("{rev}^{{commit}}"),
        ],
    )?)
    .trim()
    .to_string();
    let dir = tempfile::tempdir().map_err(|e| Error::io("temporary directory", e))?;
    let listing = git(
        repo_root,
        &[
            "ls-tree",
            "-r",
            "-l",
            "-z",
            "--full-tree",
            &commit,
            "--",
            BASE_DIR,
            OVERLAYS_DIR,
            STRATEGIES_DIR,
        ],
    )?;
    for entry in listing.split(|b| *b == 0).filter(|e| !e.is_empty()) {
        let entry = String::from_utf8_lossy(entry);
        let Some((meta, path)) = entry.split_once('\t') else {
            continue;
        };
        let fields: Vec<&str> = meta.split_whitespace().collect();
        let [mode, kind, object, size] = fields[..] else {
            continue;
        };
        let rel = Path::new(path);
        if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
            return Err(Error::unsafe_path(
                rel,
                format!("at {rev}: not a plain path inside the repository"),
            ));
        }
        match (mode, kind) {
            ("100644" | "100755", "blob") => {}
            ("120000", _) => {
                return Err(Error::unsafe_path(
                    rel,
                    format!("is a symlink at {rev}; kiln does not follow symlinks"),
                ));
            }
            _ => {
                return Err(Error::unsafe_path(
                    rel,
                    format!("at {rev} is a {kind} (mode {mode}), not a file"),
                ));
            }
        }
        if size
            .parse::<u64>()
            .is_ok_and(|n| n > crate::safe_fs::MAX_FILE_BYTES)
        {
            return Err(Error::unsafe_path(
                rel,
                format!(
                    "at {rev} is larger than {} MiB, more than any file kiln reads",
                    crate::safe_fs::MAX_FILE_BYTES >> 20
                ),
            ));
        }
        let contents = git(repo_root, &["cat-file", "blob", object])?;
        let target = dir.path().join(rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        std::fs::write(&target, contents).map_err(|e| Error::io(rel, e))?;
    }
    for required in [BASE_DIR, OVERLAYS_DIR] {
        std::fs::create_dir_all(dir.path().join(required)).map_err(|e| Error::io(required, e))?;
    }
    Ok(Revision { dir, commit })
}
