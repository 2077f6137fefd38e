//! Loading a repository: finding it, listing its environments, and reading
//! files without ever leaving it (no `..`, no absolute paths, no symlinks).

use crate::error::{Error, Result};
use crate::safe_fs::{HostileDir, Kind};
use crate::source::{Source, Staged, Tree};
use kiln_model::InputError;
use kiln_model::description::Description;
use kiln_model::layout::{
    BASE_DIR, OUT_DIR, OVERLAY_FILE, OVERLAYS_DIR, SETTINGS_FILE, STRATEGIES_DIR,
};
use kiln_model::settings::Settings;
use kiln_model::strategy::{self, Strategy};
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A kiln repository on disk: base descriptions, overlays and strategies.
///
/// ```
/// # fn main() -> Result<(), kiln::Error> {
/// let repo = kiln::Repo::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))?;
/// assert!(repo.environments().iter().any(|e| e == "homelab"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Repo {
    root: PathBuf,
    /// The root's contents (a pull request controls them): the working tree or a revision.
    files: Source,
    environments: Vec<String>,
    strategies: Vec<Arc<Strategy>>,
    settings: Settings,
    /// The git revision the files are of (`None`: the working tree).
    revision: Option<String>,
    /// Base descriptions already parsed, by path: environments share them.
    bases: Arc<Mutex<BTreeMap<String, Description>>>,
}

impl Repo {
    /// Opens the repository whose root is `root`, reading its strategies and
    /// listing its environments.
    pub fn open(root: impl AsRef<Path>) -> Result<Repo> {
        let given = root.as_ref();
        let root = given
            .canonicalize()
            .map_err(|e| Error::io(given.to_path_buf(), e))?;
        for dir in [BASE_DIR, OVERLAYS_DIR] {
            if !root.join(dir).is_dir() {
                return Err(Error::NoRepository { start: root });
            }
        }
        Repo::from_source(root.clone(), Source::Disk(HostileDir::new(&root, "")), None)
    }

    /// The repository at `root` as of git revision `rev`, whose files are `tree`.
    pub(crate) fn from_revision(root: &Path, rev: &str, tree: Tree) -> Result<Repo> {
        let files = Source::Revision(Arc::new(tree));
        Repo::from_source(root.to_path_buf(), files, Some(rev.to_string()))
    }

    /// The repository at `root` (which need not exist yet) as it would be
    /// with the files `added` (repository-relative paths) written.
    pub(crate) fn staged(root: &Path, added: BTreeMap<String, String>) -> Result<Repo> {
        let disk = HostileDir::new(root, "");
        let files = Source::Staged(Arc::new(Staged::new(disk, added)));
        Repo::from_source(root.to_path_buf(), files, None)
    }

    fn from_source(root: PathBuf, files: Source, revision: Option<String>) -> Result<Repo> {
        input_sizes(&files).and_then(crate::source::within_input_budget)?;
        let environments = list_environments(&files)?;
        let strategies = load_strategies(&files)
            .map_err(|e| with_line(&files, e))?
            .into_iter()
            .map(Arc::new)
            .collect();
        let settings = load_settings(&files, &environments).map_err(|e| with_line(&files, e))?;
        Ok(Repo {
            root,
            files,
            environments,
            strategies,
            settings,
            revision,
            bases: Arc::default(),
        })
    }

    /// Opens the repository that contains `start`: the nearest directory at or
    /// above it with both `base/` and `overlays/`.
    pub fn discover(start: impl AsRef<Path>) -> Result<Repo> {
        let start = start.as_ref();
        let start = start
            .canonicalize()
            .map_err(|e| Error::io(start.to_path_buf(), e))?;
        let root = start
            .ancestors()
            .find(|dir| Repo::is_root(dir))
            .ok_or_else(|| Error::NoRepository {
                start: start.clone(),
            })?;
        Repo::open(root)
    }

    /// Whether `dir` is a repository root: it has both `base/` and `overlays/`.
    pub fn is_root(dir: &Path) -> bool {
        dir.join(BASE_DIR).is_dir() && dir.join(OVERLAYS_DIR).is_dir()
    }

    /// The repository root (canonical).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The git revision this repository is read from; `None` for the working tree.
    pub fn revision(&self) -> Option<&str> {
        self.revision.as_deref()
    }

    /// `out/` under the root.
    pub fn out_dir(&self) -> PathBuf {
        self.root.join(OUT_DIR)
    }

    /// Environment names, sorted.
    pub fn environments(&self) -> &[String] {
        &self.environments
    }

    /// The repository settings (`kiln.yaml`; defaults if there is none).
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The strategies in `strategies/`, sorted by name.
    pub fn strategies(&self) -> &[Arc<Strategy>] {
        &self.strategies
    }

    /// The base description at `rel`, parsed once per repository (not validated:
    /// overlays change it first). `origin` names the overlay that chose it.
    pub(crate) fn base(&self, rel: &str, origin: Option<(&Path, &str)>) -> Result<Description> {
        if let Some(d) = self.bases.lock().ok().and_then(|b| b.get(rel).cloned()) {
            return Ok(d);
        }
        let text = self.read(rel, origin)?;
        let description: Description = kiln_model::parse::yaml(Path::new(rel), &text)?;
        if let Ok(mut bases) = self.bases.lock() {
            bases.insert(rel.to_string(), description.clone());
        }
        Ok(description)
    }

    /// Reads `rel` (relative to the root) as UTF-8, refusing anything outside
    /// the repository, reached through a symlink, or not a regular file.
    /// `origin` is the file that named `rel`, for the error message.
    pub(crate) fn read(&self, rel: &str, origin: Option<(&Path, &str)>) -> Result<String> {
        let refuse = |reason: &str| -> Error {
            match origin {
                Some((file, pointer)) => InputError::new(file, format!("`{rel}` {reason}"))
                    .at(pointer)
                    .into(),
                None => Error::unsafe_path(rel, reason),
            }
        };
        if rel.is_empty() {
            return Err(refuse("is empty"));
        }
        for component in Path::new(rel).components() {
            match component {
                Component::Normal(_) | Component::CurDir => {}
                Component::ParentDir => {
                    return Err(refuse("leaves the repository (`..` is not allowed)"));
                }
                Component::RootDir | Component::Prefix(_) => {
                    return Err(refuse(
                        "is an absolute path; paths are relative to the repository root",
                    ));
                }
            }
        }
        self.files.read_text(rel)?.ok_or_else(|| match origin {
            Some((file, pointer)) => InputError::new(file, format!("`{rel}` does not exist"))
                .at(pointer)
                .into(),
            None => InputError::new(rel, "file not found").into(),
        })
    }
}

/// The size of every file a render reads.
pub(crate) fn input_sizes(files: &Source) -> Result<Vec<(String, u64)>> {
    let mut sizes = Vec::new();
    for dir in crate::source::INPUT_DIRS {
        sizes.extend(files.file_sizes(dir)?);
    }
    Ok(sizes)
}

/// A directory name usable as an environment (and as `out/<env>`).
fn valid_env_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
}

fn list_environments(files: &Source) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for (name, kind) in files.entries(OVERLAYS_DIR)?.unwrap_or_default() {
        let rel = Path::new(OVERLAYS_DIR).join(&name);
        if name.starts_with('.') {
            continue;
        }
        match kind {
            Kind::Dir => {}
            Kind::Symlink => return Err(Error::unsafe_path(rel, kind.refusal())),
            _ => {
                return Err(Error::unsafe_path(
                    rel,
                    "only environment directories belong in overlays/",
                ));
            }
        }
        if !valid_env_name(&name) {
            return Err(InputError::new(
                rel,
                format!("`{name}` is not a valid environment name: use lower-case letters, digits and '-'"),
            )
            .into());
        }
        match files.kind(rel.join(OVERLAY_FILE))? {
            Some(Kind::File) => {}
            None => {
                return Err(InputError::new(
                    rel.join(OVERLAY_FILE),
                    "missing: every directory in overlays/ is an environment and needs an overlay.yaml (it may be empty)",
                )
                .into());
            }
            Some(_) => {
                return Err(Error::unsafe_path(
                    rel.join(OVERLAY_FILE),
                    "is not a regular file (symlinks are not followed)",
                ));
            }
        }
        names.push(name);
    }
    Ok(names)
}

/// Reads every `strategies/*.json` of the repository, sorted by name. A
/// missing `strategies/` directory means no strategies.
fn load_strategies(files: &Source) -> Result<Vec<Strategy>> {
    let mut strategies = Vec::new();
    for (name, kind) in files.entries(STRATEGIES_DIR)?.unwrap_or_default() {
        let rel = Path::new(STRATEGIES_DIR).join(name);
        match kind {
            Kind::File => {}
            Kind::Symlink => return Err(Error::unsafe_path(rel, kind.refusal())),
            _ => {
                return Err(Error::unsafe_path(
                    rel,
                    "strategies/ holds only strategy files (*.json), no directories",
                ));
            }
        }
        let text = files.read_text(&rel)?.unwrap_or_default();
        strategies.push(strategy::from_file(&rel, &text)?);
    }
    strategies.sort_by(|a, b| a.name().cmp(b.name()));
    Ok(strategies)
}

/// Reads `kiln.yaml`; the defaults (no wiring) if there is none.
fn load_settings(files: &Source, environments: &[String]) -> Result<Settings> {
    let Some(text) = files.read_text(SETTINGS_FILE)? else {
        return Ok(Settings::default());
    };
    let settings: Settings = kiln_model::parse::yaml(Path::new(SETTINGS_FILE), &text)?;
    if let Some(g) = &settings.gitops {
        g.validate(environments)?;
    }
    Ok(settings)
}

/// `error` with the line of its JSON pointer (and the text to show it), when
/// it names a place in a file of `files` by pointer alone: what is found after
/// parsing (overlays merged, values validated) has no parser position.
fn with_line(files: &Source, error: Error) -> Error {
    let Error::Input(e) = error else {
        return error;
    };
    let (None, Some(pointer)) = (e.line(), e.pointer()) else {
        return Error::Input(e);
    };
    let Ok(Some(text)) = files.read_text(e.file()) else {
        return Error::Input(e);
    };
    let line = kiln_model::parse::line_of(&text, pointer);
    let indent = text
        .lines()
        .nth(line - 1)
        .map_or(0, |l| l.chars().take_while(|c| *c == ' ').count());
    Error::from(e.with_location(&text, line, indent + 1))
}

impl Repo {
    /// [`with_line`] for this repository's files.
    pub(crate) fn locate(&self, error: Error) -> Error {
        with_line(&self.files, error)
    }
}
