//! Writing `out/`: only kiln's own files, all or nothing per environment.
//!
//! Each `out/<env>/` carries `.kiln-index.json`, the sha256 of every file kiln
//! wrote there. kiln replaces or removes only files listed in it; anything
//! else in the directory is left alone, and a rendered file that would replace
//! such a file is an error. An environment is staged in a sibling directory
//! and swapped in with two renames, so an interrupted render leaves the
//! previous output in place (and the next run finishes or undoes the swap).

use crate::error::{Error, InputError, Result};
use crate::render::{OutputFile, Rendered};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The index file in every `out/<env>/`.
pub const INDEX_FILE: &str = ".kiln-index.json";
const STAGING_PREFIX: &str = ".kiln-staging-";
const OLD_PREFIX: &str = ".kiln-old-";

/// What [`write()`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteReport {
    /// Environments whose directory was (re)written.
    pub written: Vec<String>,
    /// Environments whose output was already up to date (nothing touched).
    pub unchanged: Vec<String>,
    /// Environments that no longer exist and whose kiln files were removed.
    pub pruned: Vec<String>,
}

/// One way `out/` differs from a fresh render (see [`compare`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Difference {
    /// The file, relative to `out/`.
    pub path: PathBuf,
    /// How it differs.
    pub kind: DifferenceKind,
}

/// How a file in `out/` differs from a fresh render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DifferenceKind {
    /// A fresh render has the file; `out/` does not.
    Missing,
    /// Both have it, with different contents.
    Changed,
    /// `out/` has a kiln file that a fresh render no longer produces.
    Stale,
}

impl std::fmt::Display for DifferenceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(match self {
            DifferenceKind::Missing => "missing",
            DifferenceKind::Changed => "changed",
            DifferenceKind::Stale => "stale",
        })
    }
}

/// Whether environments in `out/` that were not rendered are removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prune {
    /// Remove kiln's files of environments that no longer exist (use when rendering all).
    Stale,
    /// Leave other environments alone (use when rendering a selection).
    Keep,
}

/// Writes `rendered` into `out` (usually `<repo>/out`). Everything is checked
/// before anything is written; environments whose files are already current
/// are not touched at all.
///
/// ```
/// # fn main() -> Result<(), kiln::Error> {
/// let repo = kiln::Repo::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))?;
/// let rendered = [kiln::render(&repo.environment("homelab")?)?];
/// let out = tempfile::tempdir().expect("temp dir");
/// let report = kiln::write(out.path(), &rendered, kiln::Prune::Keep)?;
/// assert_eq!(report.written, ["homelab"]);
/// assert!(kiln::compare(out.path(), &rendered, kiln::Prune::Keep)?.is_empty());
/// // Nothing changed, so the second write touches nothing.
/// assert_eq!(kiln::write(out.path(), &rendered, kiln::Prune::Keep)?.unchanged, ["homelab"]);
/// # Ok(()) }
/// ```
pub fn write(out: &Path, rendered: &[Rendered], prune: Prune) -> Result<WriteReport> {
    ensure_real_dir(out)?;
    let plans = crate::render::in_parallel(rendered, |r| plan(out, r))
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
    let stale = if prune == Prune::Stale {
        stale_environments(out, rendered)?
    } else {
        Vec::new()
    };
    let mut report = WriteReport::default();
    let work: Vec<(&Rendered, Plan)> = rendered.iter().zip(plans).collect();
    for ((r, plan), result) in work
        .iter()
        .zip(crate::render::in_parallel(&work, |(r, plan)| {
            if plan.unchanged {
                Ok(false)
            } else {
                swap_in(out, r, plan).map(|()| true)
            }
        }))
    {
        if plan.unchanged {
            report.unchanged.push(r.env.clone());
        }
        if result? {
            report.written.push(r.env.clone());
        }
    }
    for (env, owned) in stale {
        let dir = out.join(&env);
        for name in owned.iter().chain(std::iter::once(&INDEX_FILE.to_string())) {
            remove_file_if_present(&dir.join(name))?;
        }
        // Only an empty directory goes: other people's files stay.
        let _ = std::fs::remove_dir(&dir);
        report.pruned.push(env);
    }
    Ok(report)
}

/// Compares `out` with `rendered` without writing anything: files missing,
/// changed, or left over from environments or resources that no longer exist.
pub fn compare(out: &Path, rendered: &[Rendered], prune: Prune) -> Result<Vec<Difference>> {
    let mut differences = Vec::new();
    for found in crate::render::in_parallel(rendered, |r| check_env(out, r)) {
        differences.extend(found?);
    }
    if prune == Prune::Stale && out.is_dir() {
        for (env, owned) in stale_environments(out, rendered)? {
            for name in owned {
                differences.push(Difference {
                    path: Path::new(&env).join(name),
                    kind: DifferenceKind::Stale,
                });
            }
        }
    }
    differences.sort();
    Ok(differences)
}

/// How `out/<env>/` differs from `r`.
fn check_env(out: &Path, r: &Rendered) -> Result<Vec<Difference>> {
    let mut differences = Vec::new();
    let dir = out.join(&r.env);
    ensure_real_dir(&dir)?;
    let old_index = read_index(out, &r.env)?.unwrap_or_default();
    let new_index = index_file(&index(r));
    for file in r.files.iter().chain(std::iter::once(&new_index)) {
        let path = dir.join(&file.name);
        let kind = match read_if_present(&path)? {
            None => Some(DifferenceKind::Missing),
            Some(bytes) if bytes != file.contents.as_bytes() => Some(DifferenceKind::Changed),
            Some(_) => None,
        };
        if let Some(kind) = kind {
            differences.push(Difference {
                path: Path::new(&r.env).join(&file.name),
                kind,
            });
        }
    }
    let fresh: BTreeSet<&str> = r.files.iter().map(|f| f.name.as_str()).collect();
    for name in old_index.keys().filter(|n| !fresh.contains(n.as_str())) {
        if dir.join(name).exists() {
            differences.push(Difference {
                path: Path::new(&r.env).join(name),
                kind: DifferenceKind::Stale,
            });
        }
    }
    Ok(differences)
}

struct Plan {
    /// Entries in `out/<env>/` that kiln did not write, carried over into the new directory.
    foreign: Vec<String>,
    unchanged: bool,
    /// The new `.kiln-index.json` (hashing every file once).
    index_file: OutputFile,
}

fn plan(out: &Path, r: &Rendered) -> Result<Plan> {
    recover(out, &r.env)?;
    let dir = out.join(&r.env);
    ensure_real_dir(&dir)?;
    let old_index = read_index(out, &r.env)?;
    let owned: BTreeSet<String> = old_index
        .as_ref()
        .map(|i| i.keys().cloned().collect())
        .unwrap_or_default();
    let mut foreign = Vec::new();
    if dir.is_dir() {
        for entry in std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))? {
            let entry = entry.map_err(|e| Error::io(&dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name != INDEX_FILE && !owned.contains(&name) {
                foreign.push(name);
            }
        }
    }
    foreign.sort();
    if let Some(clash) = r
        .files
        .iter()
        .find(|f| foreign.binary_search(&f.name).is_ok())
    {
        return Err(Error::ForeignFile {
            path: dir.join(&clash.name),
        });
    }
    let new_index = index(r);
    let unchanged = old_index.as_ref() == Some(&new_index)
        && r.files.iter().all(|f| {
            read_if_present(&dir.join(&f.name))
                .ok()
                .flatten()
                .is_some_and(|bytes| bytes == f.contents.as_bytes())
        });
    Ok(Plan {
        foreign,
        unchanged,
        index_file: index_file(&new_index),
    })
}

fn swap_in(out: &Path, r: &Rendered, plan: &Plan) -> Result<()> {
    let dir = out.join(&r.env);
    let staging = out.join(format!("{STAGING_PREFIX}{}", r.env));
    let old = out.join(format!("{OLD_PREFIX}{}", r.env));
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    std::fs::create_dir(&staging).map_err(|e| Error::io(&staging, e))?;
    for file in r.files.iter().chain(std::iter::once(&plan.index_file)) {
        let path = staging.join(&file.name);
        std::fs::write(&path, &file.contents).map_err(|e| Error::io(&path, e))?;
    }
    for name in &plan.foreign {
        carry_over(&dir.join(name), &staging.join(name))?;
    }
    if dir.exists() {
        std::fs::rename(&dir, &old).map_err(|e| Error::io(&dir, e))?;
    }
    std::fs::rename(&staging, &dir).map_err(|e| Error::io(&dir, e))?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
    }
    Ok(())
}

/// Finishes or undoes a swap that an earlier, interrupted run left half done.
fn recover(out: &Path, env: &str) -> Result<()> {
    let dir = out.join(env);
    let old = out.join(format!("{OLD_PREFIX}{env}"));
    let staging = out.join(format!("{STAGING_PREFIX}{env}"));
    if old.is_dir() {
        if dir.exists() {
            std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
        } else {
            std::fs::rename(&old, &dir).map_err(|e| Error::io(&old, e))?;
        }
    }
    if staging.is_dir() {
        std::fs::remove_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
    }
    Ok(())
}

/// Moves a file kiln does not own into the new directory without touching its
/// contents: a hard link where possible, else a copy; directories recursively,
/// symlinks as symlinks.
fn carry_over(from: &Path, to: &Path) -> Result<()> {
    let meta = from.symlink_metadata().map_err(|e| Error::io(from, e))?;
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(from).map_err(|e| Error::io(from, e))?;
        return symlink(&target, to).map_err(|e| Error::io(to, e));
    }
    if meta.is_dir() {
        std::fs::create_dir(to).map_err(|e| Error::io(to, e))?;
        for entry in std::fs::read_dir(from).map_err(|e| Error::io(from, e))? {
            let entry = entry.map_err(|e| Error::io(from, e))?;
            carry_over(&entry.path(), &to.join(entry.file_name()))?;
        }
        return Ok(());
    }
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).map_err(|e| Error::io(from, e))?;
    }
    Ok(())
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::fs::copy(target, link).map(|_| ())
}

/// Environments under `out` with a kiln index that were not rendered, with the files kiln owns there.
fn stale_environments(out: &Path, rendered: &[Rendered]) -> Result<Vec<(String, Vec<String>)>> {
    let current: BTreeSet<&str> = rendered.iter().map(|r| r.env.as_str()).collect();
    let mut stale = Vec::new();
    if !out.is_dir() {
        return Ok(stale);
    }
    let mut names = Vec::new();
    for entry in std::fs::read_dir(out).map_err(|e| Error::io(out, e))? {
        let entry = entry.map_err(|e| Error::io(out, e))?;
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_dir && !name.starts_with('.') && !current.contains(name.as_str()) {
            names.push(name);
        }
    }
    names.sort();
    for name in names {
        if let Some(index) = read_index(out, &name)? {
            let owned = index
                .into_keys()
                .filter(|f| out.join(&name).join(f).exists())
                .collect();
            stale.push((name, owned));
        }
    }
    Ok(stale)
}

type Index = BTreeMap<String, String>;

fn index(r: &Rendered) -> Index {
    r.files
        .iter()
        .map(|f| (f.name.clone(), sha256_hex(f.contents.as_bytes())))
        .collect()
}

fn index_file(index: &Index) -> OutputFile {
    let value = serde_json::json!({ "generator": "kiln", "files": index });
    OutputFile {
        name: INDEX_FILE.into(),
        contents: crate::emit::json(&value),
    }
}

fn read_index(out: &Path, env: &str) -> Result<Option<Index>> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct IndexFile {
        #[allow(dead_code)]
        generator: String,
        files: Index,
    }
    let path = out.join(env).join(INDEX_FILE);
    let Some(bytes) = read_if_present(&path)? else {
        return Ok(None);
    };
    let rel = Path::new("out").join(env).join(INDEX_FILE);
    let text = String::from_utf8(bytes)
        .map_err(|_| InputError::new(&rel, "not UTF-8; delete it and render again"))?;
    let parsed: IndexFile = crate::parse::json(&rel, &text)?;
    // A name in the index is only ever a plain file name in this directory.
    if let Some(bad) = parsed
        .files
        .keys()
        .find(|n| n.contains(['/', '\\']) || n.starts_with('.') || n.is_empty())
    {
        return Err(InputError::new(
            &rel,
            format!("lists `{bad}`, which is not a file kiln writes"),
        )
        .at("/files")
        .into());
    }
    Ok(Some(parsed.files))
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn read_if_present(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

fn remove_file_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(path, e)),
        _ => Ok(()),
    }
}

/// `path` must be a real directory or absent, never a symlink: kiln does not
/// write through one.
fn ensure_real_dir(path: &Path) -> Result<()> {
    match path.symlink_metadata() {
        Ok(m) if m.file_type().is_symlink() => Err(Error::unsafe_path(
            path,
            "is a symlink; kiln does not write through symlinks",
        )),
        Ok(m) if !m.is_dir() => Err(Error::unsafe_path(path, "is not a directory")),
        Ok(_) | Err(_) => Ok(()),
    }
}
