//! Writing `out/`: only kiln's own files, all or nothing for the whole of it.
//!
//! Each `out/<env>/` carries `.kiln-index.json`, the sha256 of every file kiln
//! wrote there. kiln replaces or removes only files listed in it; anything
//! else in the directory is left alone, and a rendered file that would replace
//! such a file is an error.
//!
//! A render holds an exclusive lock on `out/` (readers such as
//! [`compare`] a shared one), so concurrent renders take turns. It first
//! stages every environment that changed in a sibling directory; only when
//! all are staged does it swap them in, each with one atomic exchange of
//! names (Linux `renameat2`), so at every instant each `out/<env>/` is whole,
//! old or new. If any swap fails, those already done are swapped back. A run
//! that was killed leaves staging directories behind: the next render removes
//! them and `render --check` reports them.
//!
//! `out/` is input a pull request controls: nothing in it is followed through
//! a symlink or read unless it is a regular file of bounded size, and errors
//! never quote what is in it.

use crate::dir_handle::DirHandle;
use crate::emit::{EnvironmentOutput, OutputFile, RenderOutput};
use crate::error::{Error, Result};
use crate::safe_fs::{DirLock, HostileDir, Kind, Stat};
use kiln_model::InputError;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The index file in every `out/<env>/`.
pub const INDEX_FILE: &str = ".kiln-index.json";
/// Prefix of a directory that holds an environment's other generation during a swap.
const STAGING_PREFIX: &str = ".kiln-staging-";
/// Prefix of an environment's previous generation where names cannot be exchanged atomically.
const OLD_PREFIX: &str = ".kiln-old-";
/// The nanoseconds of the modification time kiln gives every file it writes
/// (and its index) in one directory. A file whose size is as rendered and
/// whose time still equals its index's, nanoseconds included, has not been
/// written since; anything else (an edit, a checkout, a copy) gets a time of
/// its own, and the file is read. `render --check` always reads.
const STAMP_NANOS: u32 = 271_828_182;

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
pub struct FileMismatch {
    /// The file, relative to `out/`.
    pub path: PathBuf,
    /// How it differs.
    pub kind: MismatchKind,
}

/// How a file in `out/` differs from a fresh render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MismatchKind {
    /// A fresh render has the file; `out/` does not.
    Missing,
    /// Both have it, with different contents.
    Changed,
    /// `out/` has a kiln file that a fresh render no longer produces.
    Stale,
    /// A staging directory left by a render that was interrupted.
    Leftover,
}

impl std::fmt::Display for MismatchKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(match self {
            MismatchKind::Missing => "missing",
            MismatchKind::Changed => "changed",
            MismatchKind::Stale => "stale",
            MismatchKind::Leftover => "leftover",
        })
    }
}

/// Writes `rendering` into `out` (usually `<repo>/out`). Everything is checked
/// before anything is written; environments whose files are already current
/// are not touched at all. Only a rendering of the whole repository
/// ([`crate::render_repo`]) removes what no longer exists.
///
/// ```
/// # fn main() -> Result<(), kiln::Error> {
/// let repo = kiln::Repo::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))?;
/// let homelab = kiln::render(&repo.environment("homelab")?)?.into();
/// let out = tempfile::tempdir().expect("temp dir");
/// let report = kiln::write(out.path(), &homelab)?;
/// assert_eq!(report.written, ["homelab"]);
/// assert!(kiln::compare(out.path(), &homelab)?.is_empty());
/// // Nothing changed, so the second write touches nothing.
/// assert_eq!(kiln::write(out.path(), &homelab)?.unchanged, ["homelab"]);
/// # Ok(()) }
/// ```
pub fn write(out: &Path, rendering: &RenderOutput) -> Result<WriteReport> {
    let rendered = rendering.environments();
    ensure_real_dir(out)?;
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let _lock = DirLock::acquire(out, true)?;
    // Every change goes through this handle: a name swapped for a symlink meanwhile is refused.
    let root = DirHandle::open(out, "out")?;
    let files = HostileDir::new(out, "out");
    recover(&root)?;
    let plans = crate::parallel::in_parallel(rendered, |r| plan(&files, r))
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
    let stale = if rendering.is_whole_repository() {
        stale_environments(&files, rendered)?
    } else {
        Vec::new()
    };
    let mut report = WriteReport::default();
    let mut changed = Vec::new();
    for (r, plan) in rendered.iter().zip(&plans) {
        if plan.unchanged {
            report.unchanged.push(r.env.clone());
        } else {
            changed.push((r, plan));
        }
    }
    // 1. Stage every environment that changed; a failure leaves out/ as it was.
    let staged: Vec<Result<()>> =
        crate::parallel::in_parallel(&changed, |(r, plan)| stage(&root, r, plan));
    if let Some(e) = staged.into_iter().find_map(Result::err) {
        for (r, _) in &changed {
            let _ = root.remove_tree(&staging_name(&r.env));
        }
        return Err(e);
    }
    // 2. Swap them all in; if one cannot be, swap back those that were.
    let mut swaps: Vec<(&str, Swap)> = Vec::new();
    for (r, _) in &changed {
        match swap_in(&root, &r.env) {
            Ok(how) => swaps.push((&r.env, how)),
            Err(e) => {
                for (env, how) in swaps.iter().rev() {
                    let _ = swap_back(&root, env, *how);
                }
                for (r, _) in &changed {
                    let _ = root.remove_tree(&staging_name(&r.env));
                }
                return Err(e);
            }
        }
    }
    // 3. The previous generations go.
    let leftovers: Vec<String> = swaps
        .iter()
        .filter_map(|(env, how)| match how {
            Swap::Created => None,
            Swap::Exchanged => Some(staging_name(env)),
            Swap::Renamed => Some(format!("{OLD_PREFIX}{env}")),
        })
        .collect();
    for result in crate::parallel::in_parallel(&leftovers, |name| root.remove_tree(name)) {
        result?;
    }
    report.written = swaps.iter().map(|(env, _)| env.to_string()).collect();
    // 4. Environments that no longer exist lose kiln's files.
    for (env, owned) in stale {
        // Opened without following: a directory swapped for a symlink is refused.
        if let Some(dir) = root.dir(&env)? {
            for name in owned.iter().chain(std::iter::once(&INDEX_FILE.to_string())) {
                dir.remove_file(name)?;
            }
        }
        // Only an empty directory goes: other people's files stay.
        root.remove_empty_dir(&env);
        report.pruned.push(env);
    }
    Ok(report)
}

/// Whether another process is writing (or reading) `out` now, so that
/// [`write()`] would wait for it.
pub fn busy(out: &Path) -> bool {
    DirLock::is_held(out, true)
}

/// Compares `out` with `rendered` without writing anything: files missing,
/// changed, or left over from environments or resources that no longer
/// exist, and staging directories of an interrupted render.
pub fn compare(out: &Path, rendering: &RenderOutput) -> Result<Vec<FileMismatch>> {
    let rendered = rendering.environments();
    ensure_real_dir(out)?;
    let files = HostileDir::new(out, "out");
    let Some(entries) = files.entries("")? else {
        // No out/ at all: everything is missing.
        return Ok(rendered
            .iter()
            .flat_map(|r| {
                r.files.iter().map(|f| FileMismatch {
                    path: Path::new(&r.env).join(&f.name),
                    kind: MismatchKind::Missing,
                })
            })
            .collect());
    };
    let _lock = DirLock::acquire(out, false)?;
    let mut differences: Vec<FileMismatch> = entries
        .iter()
        .filter(|(name, _)| name.starts_with(STAGING_PREFIX) || name.starts_with(OLD_PREFIX))
        .map(|(name, _)| FileMismatch {
            path: PathBuf::from(name),
            kind: MismatchKind::Leftover,
        })
        .collect();
    for found in crate::parallel::in_parallel(rendered, |r| check_env(&files, r)) {
        differences.extend(found?);
    }
    if rendering.is_whole_repository() {
        for (env, owned) in stale_environments(&files, rendered)? {
            for name in owned {
                differences.push(FileMismatch {
                    path: Path::new(&env).join(name),
                    kind: MismatchKind::Stale,
                });
            }
        }
    }
    differences.sort();
    Ok(differences)
}

/// How `out/<env>/` differs from `r`.
fn check_env(files: &HostileDir, r: &EnvironmentOutput) -> Result<Vec<FileMismatch>> {
    let mut differences = Vec::new();
    env_dir_kind(files, &r.env)?;
    let old_index = read_index(files, &r.env)?.unwrap_or_default();
    let new_index = index_file(&index(r));
    for file in r.files.iter().chain(std::iter::once(&new_index)) {
        let rel = Path::new(&r.env).join(&file.name);
        let kind = match files.read(&rel)? {
            None => Some(MismatchKind::Missing),
            Some(bytes) if bytes != file.contents.as_bytes() => Some(MismatchKind::Changed),
            Some(_) => None,
        };
        if let Some(kind) = kind {
            differences.push(FileMismatch { path: rel, kind });
        }
    }
    let fresh: BTreeSet<&str> = r.files.iter().map(|f| f.name.as_str()).collect();
    for name in old_index.keys().filter(|n| !fresh.contains(n.as_str())) {
        let rel = Path::new(&r.env).join(name);
        if files.kind(&rel)?.is_some() {
            differences.push(FileMismatch {
                path: rel,
                kind: MismatchKind::Stale,
            });
        }
    }
    Ok(differences)
}

/// What `out/<env>` is: absent or a real directory; anything else is refused.
fn env_dir_kind(files: &HostileDir, env: &str) -> Result<Option<Kind>> {
    match files.kind(env)? {
        None => Ok(None),
        Some(Kind::Dir) => Ok(Some(Kind::Dir)),
        Some(Kind::Symlink) => Err(Error::unsafe_path(
            files.shown(env),
            "is a symlink; kiln does not write through symlinks",
        )),
        Some(_) => Err(Error::unsafe_path(files.shown(env), "is not a directory")),
    }
}

struct Plan {
    /// Entries in `out/<env>/` that kiln did not write, carried over into the new directory.
    foreign: Vec<String>,
    unchanged: bool,
    /// The new `.kiln-index.json` (hashing every file once).
    index_file: OutputFile,
}

fn plan(files: &HostileDir, r: &EnvironmentOutput) -> Result<Plan> {
    let stats = match env_dir_kind(files, &r.env)? {
        Some(_) => files.stats(&r.env)?.unwrap_or_default(),
        None => Vec::new(),
    };
    let old_index = read_index(files, &r.env)?;
    let owned: BTreeSet<String> = old_index
        .as_ref()
        .map(|i| i.keys().cloned().collect())
        .unwrap_or_default();
    let foreign: Vec<String> = stats
        .iter()
        .map(|s| s.name.clone())
        .filter(|name| name != INDEX_FILE && !owned.contains(name))
        .collect();
    if let Some(clash) = r
        .files
        .iter()
        .find(|f| foreign.binary_search(&f.name).is_ok())
    {
        return Err(Error::ForeignFile {
            path: kiln_model::printable_path(files.shown(Path::new(&r.env).join(&clash.name))),
        });
    }
    let new_index = index(r);
    let mut unchanged = old_index.as_ref() == Some(&new_index);
    for f in &r.files {
        if !unchanged {
            break;
        }
        unchanged = as_written(files, r, f, &stats)?;
    }
    Ok(Plan {
        foreign,
        unchanged,
        index_file: index_file(&new_index),
    })
}

/// Whether `out/<env>/<f>` holds `f`: without reading it when its size and
/// stamp are those kiln gave it (see [`STAMP_NANOS`]), else by its bytes.
fn as_written(
    files: &HostileDir,
    r: &EnvironmentOutput,
    f: &OutputFile,
    stats: &[Stat],
) -> Result<bool> {
    let stat = |name: &str| stats.iter().find(|s| s.name == name);
    if let (Some(file), Some(index)) = (stat(&f.name), stat(INDEX_FILE)) {
        let stamped = index.modified.1 == STAMP_NANOS && file.modified == index.modified;
        if file.kind == Kind::File && stamped && file.size == f.contents.len() as u64 {
            return Ok(true);
        }
    }
    Ok(files.read(Path::new(&r.env).join(&f.name))?.as_deref() == Some(f.contents.as_bytes()))
}

fn staging_name(env: &str) -> String {
    format!("{STAGING_PREFIX}{env}")
}

/// Writes the new generation of `r` into its staging directory, with the
/// files kiln does not own carried over from the current one.
fn stage(root: &DirHandle, r: &EnvironmentOutput, plan: &Plan) -> Result<()> {
    let staging = root.create_dir(&staging_name(&r.env))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
    for file in r.files.iter().chain(std::iter::once(&plan.index_file)) {
        staging.create_file(&file.name, file.contents.as_bytes(), (now, STAMP_NANOS))?;
    }
    if plan.foreign.is_empty() {
        return Ok(());
    }
    if let Some(current) = root.dir(&r.env)? {
        for name in &plan.foreign {
            current.carry(name, &staging)?;
        }
    }
    Ok(())
}

/// How an environment's new generation took its place.
#[derive(Debug, Clone, Copy)]
enum Swap {
    /// There was none before.
    Created,
    /// Names exchanged atomically: the old generation is at the staging name.
    Exchanged,
    /// Two renames (no atomic exchange here): the old generation is at the old name.
    Renamed,
}

fn swap_in(root: &DirHandle, env: &str) -> Result<Swap> {
    let staging = staging_name(env);
    if root.kind(env)?.is_none() {
        root.rename(&staging, env)?;
        return Ok(Swap::Created);
    }
    if root.exchange(&staging, env)? {
        return Ok(Swap::Exchanged);
    }
    let old = format!("{OLD_PREFIX}{env}");
    root.rename(env, &old)?;
    if let Err(e) = root.rename(&staging, env) {
        let _ = root.rename(&old, env);
        return Err(e);
    }
    Ok(Swap::Renamed)
}

/// Undoes [`swap_in`]: the previous generation is back under its name.
fn swap_back(root: &DirHandle, env: &str, how: Swap) -> Result<()> {
    let staging = staging_name(env);
    match how {
        Swap::Created => root.rename(env, &staging),
        Swap::Exchanged => root.exchange(&staging, env).map(|_| ()),
        Swap::Renamed => {
            root.rename(env, &staging)?;
            root.rename(&format!("{OLD_PREFIX}{env}"), env)
        }
    }
}

/// Clears what an interrupted render left in `out`. Every `out/<env>/` is
/// whole (old or new) whatever the moment of the interruption, so staging
/// directories simply go; only a two-rename swap cut between its renames
/// needs its old generation put back.
fn recover(root: &DirHandle) -> Result<()> {
    for (name, kind) in root.entries()? {
        if let Some(env) = name.strip_prefix(OLD_PREFIX) {
            if kind == Kind::Dir && root.kind(env)?.is_none() {
                root.rename(&name, env)?;
            } else {
                root.remove_tree(&name)?;
            }
        } else if name.starts_with(STAGING_PREFIX) {
            root.remove_tree(&name)?;
        }
    }
    Ok(())
}

/// Environments under `out` with a kiln index that were not rendered, with the files kiln owns there.
fn stale_environments(
    files: &HostileDir,
    rendered: &[EnvironmentOutput],
) -> Result<Vec<(String, Vec<String>)>> {
    let current: BTreeSet<&str> = rendered.iter().map(|r| r.env.as_str()).collect();
    let mut stale = Vec::new();
    for (name, kind) in files.entries("")?.unwrap_or_default() {
        if kind != Kind::Dir || name.starts_with('.') || current.contains(name.as_str()) {
            continue;
        }
        if let Some(index) = read_index(files, &name)? {
            let mut owned = Vec::new();
            for file in index.into_keys() {
                if files.kind(Path::new(&name).join(&file))?.is_some() {
                    owned.push(file);
                }
            }
            stale.push((name, owned));
        }
    }
    Ok(stale)
}

type Index = BTreeMap<String, String>;

fn index(r: &EnvironmentOutput) -> Index {
    r.files
        .iter()
        .map(|f| (f.name.clone(), sha256_hex(f.contents.as_bytes())))
        .collect()
}

fn index_file(index: &Index) -> OutputFile {
    let value = serde_json::json!({ "generator": "kiln", "files": index });
    OutputFile {
        name: INDEX_FILE.into(),
        contents: kiln_model::emit::json(&value),
    }
}

/// `out/<env>/.kiln-index.json`; errors give its place, never its contents.
fn read_index(files: &HostileDir, env: &str) -> Result<Option<Index>> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct IndexFile {
        #[allow(dead_code)]
        generator: String,
        files: Index,
    }
    let rel = Path::new(env).join(INDEX_FILE);
    let Some(text) = files.read_text(&rel)? else {
        return Ok(None);
    };
    let shown = files.shown(&rel);
    let parsed: IndexFile =
        kiln_model::parse::json(&shown, &text).map_err(|kiln_model::Error::Input(e)| {
            Error::from(
                e.withhold_content("is not an index kiln wrote; delete it and render again"),
            )
        })?;
    // A name in the index is only ever a plain file name in this directory.
    if parsed
        .files
        .keys()
        .any(|n| n.contains(['/', '\\']) || n.starts_with('.') || n.is_empty())
    {
        return Err(InputError::new(
            &shown,
            "lists a name that is not a file kiln writes; delete it and render again",
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
