//! Where a repository's inputs are read from: the working tree (through
//! [`HostileDir`]), a git revision ([`Tree`], read by the `git` module), or
//! the working tree with files `kiln import` is about to add ([`Staged`]).
//! All answer the same three questions and refuse the same things: a
//! symlink, anything that is not a regular file or directory, a file larger
//! than [`MAX_FILE_BYTES`], text that is not UTF-8.

use crate::error::{Error, Result};
use crate::safe_fs::{HostileDir, Kind, MAX_FILE_BYTES};
use kiln_model::layout::{BASE_DIR, OVERLAYS_DIR, STRATEGIES_DIR};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path};
use std::sync::{Arc, Mutex};

/// The files of a repository.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// The working tree.
    Disk(HostileDir),
    /// A git revision.
    Revision(Arc<Tree>),
    /// The working tree with files added in memory.
    Staged(Arc<Staged>),
}

impl Source {
    /// The regular file `rel` as UTF-8 text, or `None` if nothing is there.
    pub(crate) fn read_text(&self, rel: impl AsRef<Path>) -> Result<Option<String>> {
        match self {
            Source::Disk(files) => files.read_text(rel),
            Source::Revision(tree) => tree.read_text(rel.as_ref()),
            Source::Staged(staged) => staged.read_text(rel.as_ref()),
        }
    }

    /// What `rel` is, without following it; `None` if nothing is there.
    pub(crate) fn kind(&self, rel: impl AsRef<Path>) -> Result<Option<Kind>> {
        match self {
            Source::Disk(files) => files.kind(rel),
            Source::Revision(tree) => tree.kind(rel.as_ref()),
            Source::Staged(staged) => staged.kind(rel.as_ref()),
        }
    }

    /// Every regular file beneath directory `rel` with its size, sorted by path.
    pub(crate) fn file_sizes(&self, rel: &str) -> Result<Vec<(String, u64)>> {
        match self {
            Source::Disk(files) => disk_sizes(files, rel),
            Source::Revision(tree) => Ok(tree.file_sizes(rel)),
            Source::Staged(staged) => staged.file_sizes(rel),
        }
    }

    /// The entries of directory `rel` (`""` for the root), sorted by name.
    pub(crate) fn entries(&self, rel: impl AsRef<Path>) -> Result<Option<Vec<(String, Kind)>>> {
        match self {
            Source::Disk(files) => files.entries(rel),
            Source::Revision(tree) => tree.entries(rel.as_ref()),
            Source::Staged(staged) => staged.entries(rel.as_ref()),
        }
    }
}

fn disk_sizes(files: &HostileDir, rel: &str) -> Result<Vec<(String, u64)>> {
    Ok(files
        .file_sizes(rel)?
        .into_iter()
        .map(|(path, size)| (path.to_string_lossy().into_owned(), size))
        .collect())
}

/// The directories a render reads.
pub(crate) const INPUT_DIRS: [&str; 3] = [BASE_DIR, OVERLAYS_DIR, STRATEGIES_DIR];

/// What a render reads (`base/`, `overlays/` and `strategies/`) is refused
/// above this in total, before anything is parsed: with the 4 MiB limit of
/// one file, it bounds a render's time and memory by a size a pull request
/// cannot raise. A large repository's inputs are a few hundred KiB.
pub(crate) const MAX_INPUT_BYTES: u64 = 16 << 20;

/// Refuses inputs (`path`, size) larger than [`MAX_INPUT_BYTES`] together,
/// naming the largest.
pub(crate) fn within_input_budget(mut sizes: Vec<(String, u64)>) -> Result<()> {
    let total: u64 = sizes.iter().map(|(_, size)| size).sum();
    if total <= MAX_INPUT_BYTES {
        return Ok(());
    }
    sizes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Err(Error::InputTooLarge {
        total,
        limit: MAX_INPUT_BYTES,
        files: sizes.len(),
        largest: sizes.into_iter().take(5).collect(),
    })
}

/// The working tree (possibly not there yet) with files added in memory, so
/// that what `kiln import` would write is rendered and checked before
/// anything is. An added file hides nothing: a path the disk already has is
/// refused where the files are staged.
#[derive(Debug)]
pub(crate) struct Staged {
    disk: HostileDir,
    added: BTreeMap<String, String>,
}

impl Staged {
    pub(crate) fn new(disk: HostileDir, added: BTreeMap<String, String>) -> Staged {
        Staged { disk, added }
    }

    fn read_text(&self, rel: &Path) -> Result<Option<String>> {
        match self.added.get(&key(rel)?) {
            Some(text) => Ok(Some(text.clone())),
            None => self.disk.read_text(rel),
        }
    }

    fn kind(&self, rel: &Path) -> Result<Option<Kind>> {
        let key = key(rel)?;
        if self.added.contains_key(&key) {
            return Ok(Some(Kind::File));
        }
        match self.disk.kind(rel)? {
            Some(kind) => Ok(Some(kind)),
            None => Ok(self.added_beneath(&key).next().map(|_| Kind::Dir)),
        }
    }

    fn entries(&self, rel: &Path) -> Result<Option<Vec<(String, Kind)>>> {
        let key = key(rel)?;
        let disk = self.disk.entries(rel)?;
        let mut found: BTreeMap<String, Kind> = disk.iter().flatten().cloned().collect();
        for rest in self.added_beneath(&key) {
            match rest.split_once('/') {
                Some((dir, _)) => found.insert(dir.to_string(), Kind::Dir),
                None => found.insert(rest.to_string(), Kind::File),
            };
        }
        if disk.is_none() && found.is_empty() {
            return Ok(None);
        }
        Ok(Some(found.into_iter().collect()))
    }

    fn file_sizes(&self, rel: &str) -> Result<Vec<(String, u64)>> {
        let mut sizes = disk_sizes(&self.disk, rel)?;
        sizes.extend(self.added_beneath(rel).map(|rest| {
            (
                format!("{rel}/{rest}"),
                self.added[&format!("{rel}/{rest}")].len() as u64,
            )
        }));
        sizes.sort();
        Ok(sizes)
    }

    /// The added paths under directory `key`, relative to it.
    fn added_beneath<'a>(&'a self, key: &str) -> impl Iterator<Item = &'a str> + 'a {
        let prefix = if key.is_empty() {
            String::new()
        } else {
            format!("{key}/")
        };
        self.added
            .keys()
            .filter_map(move |path| path.strip_prefix(&prefix))
    }
}

/// One entry of a revision's tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// What it is.
    pub(crate) kind: Kind,
    /// The blob's object id (hex; files only).
    pub(crate) object: String,
    /// The blob's size.
    pub(crate) size: u64,
}

/// Fetches blobs by object id: the `git` module's `git cat-file --batch`.
pub(crate) trait Blobs: Send + std::fmt::Debug {
    /// The contents of each of `objects`, in order.
    fn fetch(&mut self, objects: &[&str]) -> Result<Vec<Vec<u8>>>;
}

/// The files of a git revision: every path of its tree with what it is, and
/// the contents of the blobs read so far by object id (fetched on first read,
/// or in advance), so a blob under many paths is fetched and held once.
#[derive(Debug)]
pub(crate) struct Tree {
    entries: BTreeMap<String, Entry>,
    contents: Mutex<BTreeMap<String, Arc<Vec<u8>>>>,
    blobs: Mutex<Box<dyn Blobs>>,
}

impl Tree {
    pub(crate) fn new(entries: BTreeMap<String, Entry>, blobs: Box<dyn Blobs>) -> Tree {
        Tree {
            entries,
            contents: Mutex::default(),
            blobs: Mutex::new(blobs),
        }
    }

    /// Fetches, in one exchange, every readable file under the directories
    /// (or at the paths) `prefixes`: the inputs every render reads.
    pub(crate) fn prefetch(&self, prefixes: &[&str]) -> Result<()> {
        let wanted: Vec<(&String, &Entry)> = self
            .entries
            .iter()
            .filter(|(path, e)| {
                e.kind == Kind::File
                    && e.size <= MAX_FILE_BYTES
                    && prefixes
                        .iter()
                        .any(|p| path == p || path.starts_with(&format!("{p}/")))
            })
            .collect();
        let objects: BTreeSet<&str> = wanted.iter().map(|(_, e)| e.object.as_str()).collect();
        let objects: Vec<&str> = objects.into_iter().collect();
        let fetched = self.lock_blobs()?.fetch(&objects)?;
        let mut contents = self.lock_contents()?;
        for (object, bytes) in objects.into_iter().zip(fetched) {
            contents.insert(object.to_string(), Arc::new(bytes));
        }
        Ok(())
    }

    /// Every file beneath directory `rel` with its size, sorted by path.
    pub(crate) fn file_sizes(&self, rel: &str) -> Vec<(String, u64)> {
        let prefix = format!("{rel}/");
        self.entries
            .range(prefix.clone()..)
            .take_while(|(path, _)| path.starts_with(&prefix))
            .filter(|(_, e)| e.kind == Kind::File)
            .map(|(path, e)| (path.clone(), e.size))
            .collect()
    }

    fn lock_blobs(&self) -> Result<std::sync::MutexGuard<'_, Box<dyn Blobs>>> {
        self.blobs
            .lock()
            .map_err(|_| Error::io("git cat-file", std::io::Error::other("poisoned")))
    }

    fn lock_contents(&self) -> Result<std::sync::MutexGuard<'_, BTreeMap<String, Arc<Vec<u8>>>>> {
        self.contents
            .lock()
            .map_err(|_| Error::io("git cat-file", std::io::Error::other("poisoned")))
    }

    fn read_text(&self, rel: &Path) -> Result<Option<String>> {
        let key = key(rel)?;
        let Some(kind) = self.kind_of(&key) else {
            return Ok(None);
        };
        if kind != Kind::File {
            return Err(Error::unsafe_path(rel, kind.refusal()));
        }
        let entry = &self.entries[&key];
        if entry.size > MAX_FILE_BYTES {
            return Err(Error::unsafe_path(
                rel,
                format!(
                    "is larger than {} MiB, more than any file kiln reads or writes",
                    MAX_FILE_BYTES >> 20
                ),
            ));
        }
        let cached = self.lock_contents()?.get(&entry.object).cloned();
        let bytes = match cached {
            Some(bytes) => bytes,
            None => {
                let fetched = self.lock_blobs()?.fetch(&[entry.object.as_str()])?;
                let bytes = Arc::new(fetched.into_iter().next().unwrap_or_default());
                self.lock_contents()?
                    .insert(entry.object.clone(), bytes.clone());
                bytes
            }
        };
        String::from_utf8(bytes.to_vec())
            .map(Some)
            .map_err(|_| Error::unsafe_path(rel, "is not UTF-8 text"))
    }

    fn kind(&self, rel: &Path) -> Result<Option<Kind>> {
        Ok(self.kind_of(&key(rel)?))
    }

    /// An entry's kind; a path with entries beneath it is a directory.
    fn kind_of(&self, key: &str) -> Option<Kind> {
        if key.is_empty() {
            return Some(Kind::Dir);
        }
        if let Some(e) = self.entries.get(key) {
            return Some(e.kind);
        }
        let prefix = format!("{key}/");
        self.entries
            .range(prefix.clone()..)
            .next()
            .filter(|(path, _)| path.starts_with(&prefix))
            .map(|_| Kind::Dir)
    }

    fn entries(&self, rel: &Path) -> Result<Option<Vec<(String, Kind)>>> {
        let key = key(rel)?;
        match self.kind_of(&key) {
            None => return Ok(None),
            Some(Kind::Dir) => {}
            Some(kind) => return Err(Error::unsafe_path(rel, kind.refusal())),
        }
        let prefix = if key.is_empty() {
            String::new()
        } else {
            format!("{key}/")
        };
        let mut found: BTreeMap<String, Kind> = BTreeMap::new();
        for (path, entry) in self.entries.range(prefix.clone()..) {
            let Some(rest) = path.strip_prefix(&prefix) else {
                break;
            };
            match rest.split_once('/') {
                Some((dir, _)) => found.insert(dir.to_string(), Kind::Dir),
                None => found.insert(rest.to_string(), entry.kind),
            };
        }
        Ok(Some(found.into_iter().collect()))
    }
}

/// `rel` as a tree path (`a/b/c`); anything but plain components is refused.
fn key(rel: &Path) -> Result<String> {
    let mut parts = Vec::new();
    for c in rel.components() {
        match c {
            Component::Normal(part) => parts.push(
                part.to_str()
                    .ok_or_else(|| Error::unsafe_path(rel, "has a name that is not UTF-8"))?,
            ),
            Component::CurDir => {}
            _ => return Err(Error::unsafe_path(rel, "is not a plain relative path")),
        }
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Fixed(BTreeMap<String, Vec<u8>>);

    impl Blobs for Fixed {
        fn fetch(&mut self, objects: &[&str]) -> Result<Vec<Vec<u8>>> {
            Ok(objects.iter().map(|o| self.0[*o].clone()).collect())
        }
    }

    fn tree() -> Tree {
        let id = |n: u8| n.to_string().repeat(40);
        let file = |n: u8, size: u64| Entry {
            kind: Kind::File,
            object: id(n),
            size,
        };
        let entries = BTreeMap::from([
            ("base/service.yaml".to_string(), file(1, 5)),
            ("overlays/dev/overlay.yaml".to_string(), file(2, 2)),
            (
                "overlays/link".to_string(),
                Entry {
                    kind: Kind::Symlink,
                    ..file(3, 0)
                },
            ),
            ("big.json".to_string(), file(4, MAX_FILE_BYTES + 1)),
        ]);
        let blobs = Fixed(BTreeMap::from([
            (id(1), b"name:".to_vec()),
            (id(2), b"{}".to_vec()),
        ]));
        Tree::new(entries, Box::new(blobs))
    }

    #[test]
    fn a_revision_answers_like_a_working_tree() {
        let t = tree();
        let s = Source::Revision(Arc::new(t));
        assert_eq!(s.kind("overlays").expect("kind"), Some(Kind::Dir));
        assert_eq!(s.kind("over").expect("kind"), None);
        assert_eq!(
            s.entries("overlays").expect("entries"),
            Some(vec![
                ("dev".into(), Kind::Dir),
                ("link".into(), Kind::Symlink)
            ])
        );
        assert_eq!(
            s.read_text("./base/service.yaml").expect("read").as_deref(),
            Some("name:")
        );
        assert_eq!(s.read_text("base/other.yaml").expect("read"), None);
        assert!(s.read_text("overlays/link").is_err());
        assert!(
            s.read_text("big.json")
                .expect_err("too large")
                .to_string()
                .contains("larger than")
        );
        assert!(s.read_text("../x").is_err());
        assert!(s.entries("base/service.yaml").is_err());
    }
}
