//! Reading directories whose contents a pull request controls: the inputs
//! and `out/`. A path is opened component by component beneath a trusted
//! root with `O_NOFOLLOW`, so no symlink is ever followed on the way; only
//! regular files are read (a device, FIFO or socket is refused before it is
//! read), and never more than [`MAX_FILE_BYTES`]. Errors name the path, never
//! what is in it.

use crate::error::{Error, Result};
use std::io::Read as _;
use std::path::{Component, Path, PathBuf};

/// The largest file kiln reads from a repository. A Kubernetes object is at
/// most 1 MiB, so no input or rendered file that kiln can use is larger.
pub const MAX_FILE_BYTES: u64 = 4 << 20;

/// What an entry is, without following it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    File,
    Dir,
    Symlink,
    /// A device, FIFO or socket (in a git revision: a submodule).
    Special,
}

impl Kind {
    /// Why an entry of this kind is refused where something else was expected.
    pub(crate) fn refusal(self) -> &'static str {
        match self {
            Kind::Symlink => "is a symlink; kiln does not follow symlinks",
            Kind::Special => "is a device, FIFO, socket or submodule, not a regular file",
            Kind::Dir => "is a directory, not a file",
            Kind::File => "is a regular file, not a directory",
        }
    }
}

/// A trusted directory whose contents are hostile: `root` is opened as
/// given, everything beneath it is checked. `shown` is how the root is named
/// in errors (`out`, or the repository-relative nothing).
#[derive(Debug, Clone)]
pub(crate) struct HostileDir {
    root: PathBuf,
    shown: PathBuf,
}

impl HostileDir {
    pub(crate) fn new(root: impl Into<PathBuf>, shown: impl Into<PathBuf>) -> HostileDir {
        HostileDir {
            root: root.into(),
            shown: shown.into(),
        }
    }

    /// `rel` as errors name it.
    pub(crate) fn shown(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.shown.join(rel)
    }

    fn refuse(&self, rel: &Path, reason: impl Into<String>) -> Error {
        Error::unsafe_path(self.shown(rel), reason)
    }

    /// The contents of the regular file `rel`, or `None` if nothing is there.
    pub(crate) fn read(&self, rel: impl AsRef<Path>) -> Result<Option<Vec<u8>>> {
        let rel = rel.as_ref();
        let Some((file, kind, size)) = self.open(rel)? else {
            return Ok(None);
        };
        let Some(file) = file.filter(|_| kind == Kind::File) else {
            return Err(self.refuse(rel, kind.refusal()));
        };
        if size > MAX_FILE_BYTES {
            return Err(self.too_large(rel));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        // The size can change while reading; never read past the limit.
        file.take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(self.shown(rel), e))?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(self.too_large(rel));
        }
        Ok(Some(bytes))
    }

    fn too_large(&self, rel: &Path) -> Error {
        self.refuse(
            rel,
            format!(
                "is larger than {} MiB, more than any file kiln reads or writes",
                MAX_FILE_BYTES >> 20
            ),
        )
    }

    /// Like [`read`](Self::read), as UTF-8 text.
    pub(crate) fn read_text(&self, rel: impl AsRef<Path>) -> Result<Option<String>> {
        let rel = rel.as_ref();
        match self.read(rel)? {
            None => Ok(None),
            Some(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| self.refuse(rel, "is not UTF-8 text")),
        }
    }

    /// What `rel` is, without following it; `None` if nothing is there.
    pub(crate) fn kind(&self, rel: impl AsRef<Path>) -> Result<Option<Kind>> {
        Ok(self.open(rel.as_ref())?.map(|(_, kind, _)| kind))
    }

    /// The entries of directory `rel` (`""` for the root), sorted by name;
    /// `None` if nothing is there. Names that are not UTF-8 are refused.
    pub(crate) fn entries(&self, rel: impl AsRef<Path>) -> Result<Option<Vec<(String, Kind)>>> {
        self.listed(rel.as_ref(), sys::list, |(name, _)| name)
    }

    /// The entries of directory `rel`, each with its size and modification
    /// time, as [`entries`](Self::entries) sorted and refused; `None` if
    /// nothing is there. Nothing is followed or opened but the directory.
    pub(crate) fn stats(&self, rel: impl AsRef<Path>) -> Result<Option<Vec<Stat>>> {
        self.listed(rel.as_ref(), sys::list_stats, |s| &s.name)
    }

    /// Every regular file beneath directory `rel` with its size, its path
    /// relative to the root; `rel` absent gives none. The walk goes through
    /// directory handles, so a deep tree costs time linear in its entries,
    /// and follows nothing; other kinds are skipped (reading them is refused
    /// where they are read).
    pub(crate) fn file_sizes(&self, rel: impl AsRef<Path>) -> Result<Vec<(PathBuf, u64)>> {
        let rel = rel.as_ref();
        let Some((dir, kind, _)) = self.open(rel)? else {
            return Ok(Vec::new());
        };
        let Some(dir) = dir.filter(|_| kind == Kind::Dir) else {
            return Err(self.refuse(rel, kind.refusal()));
        };
        let mut found = Vec::new();
        // Directories still to list: an open handle of the parent, the name, the path.
        let mut pending: Vec<(Option<String>, std::sync::Arc<std::fs::File>, PathBuf)> =
            vec![(None, std::sync::Arc::new(dir), rel.to_path_buf())];
        while let Some((name, parent, at)) = pending.pop() {
            let io = |e| Error::io(self.shown(&at), e);
            let dir = match name {
                None => parent,
                Some(name) => std::sync::Arc::new(sys::open_child_dir(&parent, &name).map_err(io)?),
            };
            for s in sys::list_stats(&dir).map_err(io)? {
                match s.kind {
                    Kind::File => found.push((at.join(&s.name), s.size)),
                    Kind::Dir => {
                        pending.push((Some(s.name.clone()), dir.clone(), at.join(&s.name)))
                    }
                    Kind::Symlink | Kind::Special => {}
                }
            }
        }
        found.sort();
        Ok(found)
    }

    /// Directory `rel` listed by `list`, without `.` and `..`, sorted by
    /// `name`; a name that is not UTF-8 is refused.
    fn listed<T>(
        &self,
        rel: &Path,
        list: impl FnOnce(&std::fs::File) -> std::io::Result<Vec<T>>,
        name: impl Fn(&T) -> &String,
    ) -> Result<Option<Vec<T>>> {
        let Some((dir, kind, _)) = self.open(rel)? else {
            return Ok(None);
        };
        let Some(dir) = dir.filter(|_| kind == Kind::Dir) else {
            return Err(self.refuse(rel, kind.refusal()));
        };
        let mut listed = list(&dir).map_err(|e| Error::io(self.shown(rel), e))?;
        listed.retain(|e| name(e) != "." && name(e) != "..");
        if let Some(e) = listed.iter().find(|e| name(e).contains('\u{fffd}')) {
            return Err(self.refuse(&rel.join(name(e)), "has a name that is not UTF-8"));
        }
        listed.sort_by(|a, b| name(a).cmp(name(b)));
        Ok(Some(listed))
    }

    /// Opens `rel` beneath the root without following symlinks: the open
    /// file or directory (none for anything else), what it is and its size;
    /// `None` if some component does not exist.
    #[allow(clippy::type_complexity)]
    fn open(&self, rel: &Path) -> Result<Option<(Option<std::fs::File>, Kind, u64)>> {
        let parts: Vec<&std::ffi::OsStr> = rel
            .components()
            .filter(|c| *c != Component::CurDir)
            .map(|c| match c {
                Component::Normal(part) => Ok(part),
                _ => Err(self.refuse(rel, "is not a plain relative path")),
            })
            .collect::<Result<_>>()?;
        match sys::open_beneath(&self.root, &parts) {
            Ok(opened) => Ok(Some(opened)),
            Err(sys::OpenError::Missing) => Ok(None),
            Err(sys::OpenError::Refused(depth, kind)) => {
                let at: PathBuf = parts.iter().take(depth.map_or(0, |d| d + 1)).collect();
                Err(self.refuse(&at, kind.refusal()))
            }
            Err(sys::OpenError::Io(e)) => Err(Error::io(self.shown(rel), e)),
        }
    }
}

/// A directory entry as [`HostileDir::stats`] sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stat {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) size: u64,
    /// Modification time: seconds and nanoseconds since the epoch.
    pub(crate) modified: (i64, u32),
}

/// Creates the new file `rel` beneath `root` with `contents`, making the
/// directories it needs; no component is followed through a symlink and an
/// existing file is never replaced.
pub(crate) fn create_beneath(root: &Path, rel: &Path, contents: &[u8]) -> Result<()> {
    let parts: Vec<&std::ffi::OsStr> = rel
        .components()
        .map(|c| match c {
            Component::Normal(part) => Ok(part),
            _ => Err(Error::unsafe_path(rel, "is not a plain relative path")),
        })
        .collect::<Result<_>>()?;
    sys::create_beneath(root, &parts, contents).map_err(|e| match e {
        sys::OpenError::Refused(depth, kind) => {
            let at: PathBuf = parts.iter().take(depth.map_or(0, |d| d + 1)).collect();
            Error::unsafe_path(root.join(at), kind.refusal())
        }
        sys::OpenError::Missing => Error::io(root.join(rel), std::io::ErrorKind::NotFound.into()),
        sys::OpenError::Io(e) => Error::io(root.join(rel), e),
    })
}

/// Writes `contents` to `path` (created or truncated) the way a report is
/// written into a directory a pull request may control: a symlink, FIFO or
/// device at `path` is refused, never followed or opened for writing.
pub(crate) fn write_report(path: &Path, contents: &[u8]) -> Result<()> {
    match sys::write_regular(path, contents) {
        Ok(()) => Ok(()),
        Err(sys::OpenError::Refused(_, kind)) => Err(Error::unsafe_path(path, kind.refusal())),
        Err(sys::OpenError::Missing) => Err(Error::io(path, std::io::ErrorKind::NotFound.into())),
        Err(sys::OpenError::Io(e)) => Err(Error::io(path, e)),
    }
}

/// An advisory lock on a directory (`out/`): exclusive for writers, shared
/// for readers, released when dropped. Concurrent renders serialise on it.
#[derive(Debug)]
pub(crate) struct DirLock {
    _dir: std::fs::File,
}

impl DirLock {
    /// Locks directory `dir` (which must be a real directory, not a
    /// symlink); waits while another process holds a conflicting lock.
    pub(crate) fn acquire(dir: &Path, exclusive: bool) -> Result<DirLock> {
        let file = sys::lock_dir(dir, exclusive).map_err(|e| Error::io(dir, e))?;
        Ok(DirLock { _dir: file })
    }

    /// Whether another process holds a lock that `acquire` would wait for.
    pub(crate) fn is_held(dir: &Path, exclusive: bool) -> bool {
        sys::lock_is_held(dir, exclusive)
    }
}

/// What a file of `mode` (as `stat` gives it) is.
#[cfg(unix)]
pub(crate) fn kind_of(mode: rustix::fs::RawMode) -> Kind {
    use rustix::fs::FileType;
    match FileType::from_raw_mode(mode) {
        FileType::RegularFile => Kind::File,
        FileType::Directory => Kind::Dir,
        FileType::Symlink => Kind::Symlink,
        _ => Kind::Special,
    }
}

#[cfg(unix)]
mod sys {
    use super::{Kind, kind_of};
    use rustix::fs::{self as rfs, FileType, FlockOperation, Mode, OFlags};
    use rustix::io::Errno;
    use std::ffi::OsStr;
    use std::os::fd::OwnedFd;
    use std::path::Path;

    pub(super) enum OpenError {
        Missing,
        /// Directory component `depth` (`None`: the root) is something else.
        Refused(Option<usize>, Kind),
        Io(std::io::Error),
    }

    /// Opens `parts` beneath `root`, never following a symlink. The last
    /// component is looked at before it is opened, so a device or FIFO is
    /// never opened: it comes back as its kind, without a file.
    pub(super) fn open_beneath(
        root: &Path,
        parts: &[&OsStr],
    ) -> Result<(Option<std::fs::File>, Kind, u64), OpenError> {
        let io = |e: Errno| OpenError::Io(e.into());
        let missing_or = |e: Errno| match e {
            Errno::NOENT => OpenError::Missing,
            e => io(e),
        };
        let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        // The root's own last component is not followed either (`out` may be a symlink in a pull request).
        let mut fd: OwnedFd = match rfs::open(root, dir_flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::LOOP | Errno::NOTDIR) => {
                let found = rfs::lstat(root).map_err(io)?;
                return Err(OpenError::Refused(None, kind_of(found.st_mode)));
            }
            Err(e) => return Err(missing_or(e)),
        };
        let Some((last, dirs)) = parts.split_last() else {
            return Ok((Some(fd.into()), Kind::Dir, 0));
        };
        for (depth, part) in dirs.iter().enumerate() {
            fd = match rfs::openat(&fd, *part, dir_flags, Mode::empty()) {
                Ok(next) => next,
                Err(Errno::LOOP | Errno::NOTDIR) => {
                    let found =
                        rfs::statat(&fd, *part, rfs::AtFlags::SYMLINK_NOFOLLOW).map_err(io)?;
                    return Err(OpenError::Refused(Some(depth), kind_of(found.st_mode)));
                }
                Err(e) => return Err(missing_or(e)),
            };
        }
        let stat = rfs::statat(&fd, *last, rfs::AtFlags::SYMLINK_NOFOLLOW).map_err(missing_or)?;
        let kind = kind_of(stat.st_mode);
        if !matches!(kind, Kind::File | Kind::Dir) {
            return Ok((None, kind, 0));
        }
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let file = rfs::openat(&fd, *last, flags, Mode::empty()).map_err(missing_or)?;
        // Replaced between the look and the open: judge what was opened.
        let stat = rfs::fstat(&file).map_err(io)?;
        let kind = kind_of(stat.st_mode);
        let size = u64::try_from(stat.st_size).unwrap_or(0);
        Ok((Some(file.into()), kind, size))
    }

    pub(super) fn list(dir: &std::fs::File) -> std::io::Result<Vec<(String, Kind)>> {
        let mut entries = Vec::new();
        for entry in rfs::Dir::read_from(dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let kind = match entry.file_type() {
                FileType::Unknown => {
                    kind_of(rfs::statat(dir, name, rfs::AtFlags::SYMLINK_NOFOLLOW)?.st_mode)
                }
                FileType::RegularFile => Kind::File,
                FileType::Directory => Kind::Dir,
                FileType::Symlink => Kind::Symlink,
                _ => Kind::Special,
            };
            entries.push((name.to_string_lossy().into_owned(), kind));
        }
        Ok(entries)
    }

    pub(super) fn list_stats(dir: &std::fs::File) -> std::io::Result<Vec<super::Stat>> {
        let mut stats = Vec::new();
        for entry in rfs::Dir::read_from(dir)? {
            let entry = entry?;
            let name = entry.file_name();
            if name.to_bytes() == b"." || name.to_bytes() == b".." {
                continue;
            }
            let st = rfs::statat(dir, name, rfs::AtFlags::SYMLINK_NOFOLLOW)?;
            stats.push(super::Stat {
                name: name.to_string_lossy().into_owned(),
                kind: kind_of(st.st_mode),
                size: u64::try_from(st.st_size).unwrap_or(0),
                modified: (st.st_mtime, u32::try_from(st.st_mtime_nsec).unwrap_or(0)),
            });
        }
        Ok(stats)
    }

    /// See [`super::create_beneath`]: each directory is made (or opened)
    /// relative to its parent's handle, the file with `O_EXCL`.
    pub(super) fn create_beneath(
        root: &Path,
        parts: &[&OsStr],
        contents: &[u8],
    ) -> Result<(), OpenError> {
        let io = |e: Errno| OpenError::Io(e.into());
        let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let refused = |fd: &OwnedFd, part: &OsStr, depth: Option<usize>| match rfs::statat(
            fd,
            part,
            rfs::AtFlags::SYMLINK_NOFOLLOW,
        ) {
            Ok(found) => OpenError::Refused(depth, kind_of(found.st_mode)),
            Err(e) => io(e),
        };
        let mut fd: OwnedFd = match rfs::open(root, dir_flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => {
                std::fs::create_dir_all(root).map_err(OpenError::Io)?;
                rfs::open(root, dir_flags, Mode::empty()).map_err(io)?
            }
            Err(Errno::LOOP | Errno::NOTDIR) => {
                let found = rfs::lstat(root).map_err(io)?;
                return Err(OpenError::Refused(None, kind_of(found.st_mode)));
            }
            Err(e) => return Err(io(e)),
        };
        let Some((last, dirs)) = parts.split_last() else {
            return Err(OpenError::Refused(None, Kind::Dir));
        };
        for (depth, part) in dirs.iter().enumerate() {
            match rfs::mkdirat(&fd, *part, Mode::from_raw_mode(0o777)) {
                Ok(()) | Err(Errno::EXIST) => {}
                Err(e) => return Err(io(e)),
            }
            fd = match rfs::openat(&fd, *part, dir_flags, Mode::empty()) {
                Ok(next) => next,
                Err(Errno::LOOP | Errno::NOTDIR) => return Err(refused(&fd, part, Some(depth))),
                Err(e) => return Err(io(e)),
            };
        }
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let file = rfs::openat(&fd, *last, flags, Mode::from_raw_mode(0o666)).map_err(io)?;
        std::io::Write::write_all(&mut std::fs::File::from(file), contents).map_err(OpenError::Io)
    }

    /// See [`super::write_report`].
    pub(super) fn write_regular(path: &Path, contents: &[u8]) -> Result<(), OpenError> {
        let io = |e: Errno| OpenError::Io(e.into());
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let file = match rfs::open(path, flags, Mode::from_raw_mode(0o666)) {
            Ok(file) => file,
            Err(Errno::LOOP) => return Err(OpenError::Refused(None, Kind::Symlink)),
            Err(Errno::NOENT) => return Err(OpenError::Missing),
            Err(e) => return Err(io(e)),
        };
        let kind = kind_of(rfs::fstat(&file).map_err(io)?.st_mode);
        if kind != Kind::File {
            return Err(OpenError::Refused(None, kind));
        }
        rfs::ftruncate(&file, 0).map_err(io)?;
        std::io::Write::write_all(&mut std::fs::File::from(file), contents).map_err(OpenError::Io)
    }

    /// The directory `name` inside `dir`, never through a symlink.
    pub(super) fn open_child_dir(
        dir: &std::fs::File,
        name: &str,
    ) -> std::io::Result<std::fs::File> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        Ok(rfs::openat(dir, name, flags, Mode::empty())?.into())
    }

    fn open_dir(dir: &Path) -> std::io::Result<std::fs::File> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        Ok(rfs::open(dir, flags, Mode::empty())?.into())
    }

    pub(super) fn lock_dir(dir: &Path, exclusive: bool) -> std::io::Result<std::fs::File> {
        let file = open_dir(dir)?;
        let op = if exclusive {
            FlockOperation::LockExclusive
        } else {
            FlockOperation::LockShared
        };
        rfs::flock(&file, op)?;
        Ok(file)
    }

    pub(super) fn lock_is_held(dir: &Path, exclusive: bool) -> bool {
        let Ok(file) = open_dir(dir) else {
            return false;
        };
        let op = if exclusive {
            FlockOperation::NonBlockingLockExclusive
        } else {
            FlockOperation::NonBlockingLockShared
        };
        rfs::flock(&file, op) == Err(Errno::WOULDBLOCK)
    }
}

/// Elsewhere: each component is looked at (without following it) before use.
#[cfg(not(unix))]
mod sys {
    use super::Kind;
    use std::ffi::OsStr;
    use std::path::{Path, PathBuf};

    pub(super) enum OpenError {
        Missing,
        Refused(Option<usize>, Kind),
        Io(std::io::Error),
    }

    fn kind_of(meta: &std::fs::Metadata) -> Kind {
        let t = meta.file_type();
        if t.is_symlink() {
            Kind::Symlink
        } else if t.is_dir() {
            Kind::Dir
        } else if t.is_file() {
            Kind::File
        } else {
            Kind::Special
        }
    }

    fn look(path: &Path) -> Result<Kind, OpenError> {
        match path.symlink_metadata() {
            Ok(meta) => Ok(kind_of(&meta)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(OpenError::Missing),
            Err(e) => Err(OpenError::Io(e)),
        }
    }

    pub(super) fn open_beneath(
        root: &Path,
        parts: &[&OsStr],
    ) -> Result<(Option<std::fs::File>, Kind, u64), OpenError> {
        let mut path = PathBuf::from(root);
        match look(&path)? {
            Kind::Dir => {}
            other => return Err(OpenError::Refused(None, other)),
        }
        for (depth, part) in parts.iter().enumerate() {
            path.push(part);
            let kind = look(&path)?;
            if depth + 1 < parts.len() && kind != Kind::Dir {
                return Err(OpenError::Refused(Some(depth), kind));
            }
        }
        let kind = look(&path)?;
        if kind != Kind::File {
            return Ok((None, kind, 0));
        }
        let file = std::fs::File::open(&path).map_err(OpenError::Io)?;
        let size = file.metadata().map_err(OpenError::Io)?.len();
        Ok((Some(file), kind, size))
    }

    pub(super) fn list(_: &std::fs::File) -> std::io::Result<Vec<(String, Kind)>> {
        Err(std::io::Error::other(
            "listing directories needs a Unix system",
        ))
    }

    pub(super) fn list_stats(_: &std::fs::File) -> std::io::Result<Vec<super::Stat>> {
        Err(std::io::Error::other(
            "listing directories needs a Unix system",
        ))
    }

    pub(super) fn create_beneath(
        root: &Path,
        parts: &[&OsStr],
        contents: &[u8],
    ) -> Result<(), OpenError> {
        let path: PathBuf = std::iter::once(root.as_os_str())
            .chain(parts.iter().copied())
            .collect();
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(OpenError::Io)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(OpenError::Io)?;
        std::io::Write::write_all(&mut file, contents).map_err(OpenError::Io)
    }

    pub(super) fn write_regular(path: &Path, contents: &[u8]) -> Result<(), OpenError> {
        match look(path) {
            Ok(Kind::File) | Err(OpenError::Missing) => {
                std::fs::write(path, contents).map_err(OpenError::Io)
            }
            Ok(kind) => Err(OpenError::Refused(None, kind)),
            Err(e) => Err(e),
        }
    }

    pub(super) fn open_child_dir(_: &std::fs::File, _: &str) -> std::io::Result<std::fs::File> {
        Err(std::io::Error::other(
            "listing directories needs a Unix system",
        ))
    }

    pub(super) fn lock_dir(dir: &Path, _exclusive: bool) -> std::io::Result<std::fs::File> {
        std::fs::File::open(dir)
    }

    pub(super) fn lock_is_held(_: &Path, _: bool) -> bool {
        false
    }
}
