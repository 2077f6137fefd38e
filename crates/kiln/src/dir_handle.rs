//! A directory kiln changes through an open handle (`out/` and the
//! directories in it): every name is looked up relative to a directory
//! already open, and nothing is ever followed (`O_NOFOLLOW`), so a directory
//! that a pull request swaps for a symlink while kiln works makes the change
//! fail instead of landing outside `out/`. A tree is walked one handle per
//! level, so its depth costs time linear in its entries.

use crate::error::{Error, Result};
use crate::safe_fs::Kind;
use std::path::{Path, PathBuf};

/// An open directory, with the path errors name it by.
#[derive(Debug)]
pub(crate) struct DirHandle {
    dir: std::fs::File,
    shown: PathBuf,
}

impl DirHandle {
    /// Opens the directory `path` (which is not followed if a symlink).
    pub(crate) fn open(path: &Path, shown: impl Into<PathBuf>) -> Result<DirHandle> {
        let shown = shown.into();
        let dir = sys::open_dir(None, path.as_os_str()).map_err(|e| refusal(&shown, e))?;
        Ok(DirHandle { dir, shown })
    }

    fn shown(&self, name: &str) -> PathBuf {
        self.shown.join(name)
    }

    fn io(&self, name: &str) -> impl Fn(std::io::Error) -> Error + '_ {
        let shown = self.shown(name);
        move |e| refusal(&shown, e)
    }

    /// The directory `name` inside, or `None` if nothing is there; anything
    /// but a directory is refused.
    pub(crate) fn dir(&self, name: &str) -> Result<Option<DirHandle>> {
        match sys::open_dir(Some(&self.dir), name.as_ref()) {
            Ok(dir) => Ok(Some(DirHandle {
                dir,
                shown: self.shown(name),
            })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io(name)(e)),
        }
    }

    /// What `name` is, without following it; `None` if nothing is there.
    pub(crate) fn kind(&self, name: &str) -> Result<Option<Kind>> {
        sys::kind(&self.dir, name).map_err(self.io(name))
    }

    /// The entries, without `.` and `..`.
    pub(crate) fn entries(&self) -> Result<Vec<(String, Kind)>> {
        sys::entries(&self.dir).map_err(self.io(""))
    }

    /// Makes the new directory `name` and opens it.
    pub(crate) fn create_dir(&self, name: &str) -> Result<DirHandle> {
        sys::create_dir(&self.dir, name).map_err(self.io(name))?;
        self.dir(name)?
            .ok_or_else(|| self.io(name)(std::io::ErrorKind::NotFound.into()))
    }

    /// Writes the new file `name` with `contents`, modified at `time`
    /// (seconds and nanoseconds since the epoch).
    pub(crate) fn create_file(&self, name: &str, contents: &[u8], time: (i64, u32)) -> Result<()> {
        sys::create_file(&self.dir, name, contents, time).map_err(self.io(name))
    }

    /// Renames `from` to `to`, both in this directory.
    pub(crate) fn rename(&self, from: &str, to: &str) -> Result<()> {
        sys::rename(&self.dir, from, to).map_err(self.io(from))
    }

    /// Swaps the names `a` and `b` in one step where the system can (Linux
    /// `renameat2(RENAME_EXCHANGE)`); `false`, changing nothing, elsewhere.
    pub(crate) fn exchange(&self, a: &str, b: &str) -> Result<bool> {
        sys::exchange(&self.dir, a, b).map_err(self.io(a))
    }

    /// Removes the file (or symlink) `name` if it is there.
    pub(crate) fn remove_file(&self, name: &str) -> Result<()> {
        match sys::unlink(&self.dir, name, false) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(self.io(name)(e)),
            _ => Ok(()),
        }
    }

    /// Removes the directory `name` if it is empty; whether it did.
    pub(crate) fn remove_empty_dir(&self, name: &str) -> bool {
        sys::unlink(&self.dir, name, true).is_ok()
    }

    /// Removes `name` and, for a directory, everything in it, one handle per
    /// level; a symlink inside is removed, never followed.
    pub(crate) fn remove_tree(&self, name: &str) -> Result<()> {
        match self.kind(name)? {
            None => return Ok(()),
            Some(Kind::Dir) => {}
            Some(_) => return self.remove_file(name),
        }
        // The directories being emptied, each with its name and its subdirectories left.
        let mut stack: Vec<(DirHandle, String, Vec<String>)> = Vec::new();
        if let Some(top) = self.dir(name)? {
            let subdirs = top.remove_files()?;
            stack.push((top, name.to_string(), subdirs));
        }
        while !stack.is_empty() {
            let depth = stack.len();
            let Some((dir, _, subdirs)) = stack.last_mut() else {
                break;
            };
            let Some(child) = subdirs.pop() else {
                let Some((_, own, _)) = stack.pop() else {
                    break;
                };
                let parent = stack.last().map_or(self, |(p, _, _)| p);
                sys::unlink(&parent.dir, &own, true).map_err(parent.io(&own))?;
                continue;
            };
            if let Some(sub) = dir.dir(&child)? {
                too_deep(depth, MAX_REMOVE_DEPTH, &sub.shown)?;
                let subdirs = sub.remove_files()?;
                stack.push((sub, child, subdirs));
            }
        }
        Ok(())
    }

    /// Removes every entry but directories; returns the directories' names.
    fn remove_files(&self) -> Result<Vec<String>> {
        let mut dirs = Vec::new();
        for (name, kind) in self.entries()? {
            match kind {
                Kind::Dir => dirs.push(name),
                _ => self.remove_file(&name)?,
            }
        }
        Ok(dirs)
    }

    /// Gives `name` its place in `to` without touching its contents: a hard
    /// link (a copy where links are impossible, for regular files only);
    /// directories level by level; symlinks as symlinks, never followed.
    pub(crate) fn carry(&self, name: &str, to: &DirHandle) -> Result<()> {
        match self.kind(name)? {
            None => return Ok(()),
            Some(Kind::Dir) => {}
            Some(kind) => {
                return sys::carry_entry(&self.dir, &to.dir, name, kind).map_err(self.io(name));
            }
        }
        // Directory pairs being filled, each with the entries still to carry.
        type Filling = (DirHandle, DirHandle, Vec<(String, Kind)>);
        let mut stack: Vec<Filling> = Vec::new();
        if let Some(from) = self.dir(name)? {
            let entries = from.entries()?;
            stack.push((from, to.create_dir(name)?, entries));
        }
        while !stack.is_empty() {
            let depth = stack.len();
            let Some((from, into, entries)) = stack.last_mut() else {
                break;
            };
            let Some((entry, kind)) = entries.pop() else {
                stack.pop();
                continue;
            };
            if kind != Kind::Dir {
                sys::carry_entry(&from.dir, &into.dir, &entry, kind).map_err(from.io(&entry))?;
                continue;
            }
            if let Some(sub) = from.dir(&entry)? {
                too_deep(depth, MAX_CARRY_DEPTH, &sub.shown)?;
                let sub_into = into.create_dir(&entry)?;
                let entries = sub.entries()?;
                stack.push((sub, sub_into, entries));
            }
        }
        Ok(())
    }
}

/// The most directories kiln walks into below one it carries over: each
/// level holds a handle open, and nothing in `out/` needs more.
const MAX_CARRY_DEPTH: usize = 64;
/// The same for one it removes: deeper than a carried tree can be, so what
/// kiln staged it can always remove.
const MAX_REMOVE_DEPTH: usize = 4 * MAX_CARRY_DEPTH;

fn too_deep(depth: usize, limit: usize, at: &Path) -> Result<()> {
    if depth < limit {
        return Ok(());
    }
    Err(Error::unsafe_path(
        at,
        format!(
            "is more than {limit} directories deep; kiln carries over or removes trees in out/ only so deep: delete it"
        ),
    ))
}

/// An I/O error on `shown`, a symlink met where a directory was expected named as such.
fn refusal(shown: &Path, e: std::io::Error) -> Error {
    match e.raw_os_error() {
        Some(code) if sys::is_symlink_refusal(code) => Error::unsafe_path(
            shown,
            "is a symlink (or was swapped for one); kiln does not write through symlinks",
        ),
        _ => Error::io(shown, e),
    }
}

#[cfg(unix)]
mod sys {
    use crate::safe_fs::{Kind, kind_of};
    use rustix::fs::{self as rfs, AtFlags, Mode, OFlags};
    use rustix::io::Errno;
    use std::ffi::OsStr;
    use std::fs::File;
    use std::io::Write;

    pub(super) fn is_symlink_refusal(code: i32) -> bool {
        code == Errno::LOOP.raw_os_error() || code == Errno::NOTDIR.raw_os_error()
    }

    pub(super) fn open_dir(parent: Option<&File>, name: &OsStr) -> std::io::Result<File> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = match parent {
            Some(dir) => rfs::openat(dir, name, flags, Mode::empty())?,
            None => rfs::open(name, flags, Mode::empty())?,
        };
        Ok(fd.into())
    }

    pub(super) fn kind(dir: &File, name: &str) -> std::io::Result<Option<Kind>> {
        match rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(kind_of(st.st_mode))),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub(super) fn entries(dir: &File) -> std::io::Result<Vec<(String, Kind)>> {
        let mut found = Vec::new();
        for entry in rfs::Dir::read_from(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == "." || name == ".." {
                continue;
            }
            let kind = match kind(dir, &name)? {
                Some(kind) => kind,
                None => continue,
            };
            found.push((name, kind));
        }
        Ok(found)
    }

    pub(super) fn create_dir(dir: &File, name: &str) -> std::io::Result<()> {
        Ok(rfs::mkdirat(dir, name, Mode::from_raw_mode(0o777))?)
    }

    pub(super) fn create_file(
        dir: &File,
        name: &str,
        contents: &[u8],
        (secs, nanos): (i64, u32),
    ) -> std::io::Result<()> {
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rfs::openat(dir, name, flags, Mode::from_raw_mode(0o666))?;
        let time = rfs::Timespec {
            tv_sec: secs,
            tv_nsec: nanos.into(),
        };
        let mut file = File::from(fd);
        file.write_all(contents)?;
        let times = rfs::Timestamps {
            last_access: time,
            last_modification: time,
        };
        Ok(rfs::futimens(&file, &times)?)
    }

    pub(super) fn rename(dir: &File, from: &str, to: &str) -> std::io::Result<()> {
        Ok(rfs::renameat(dir, from, dir, to)?)
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub(super) fn exchange(dir: &File, a: &str, b: &str) -> std::io::Result<bool> {
        match rfs::renameat_with(dir, a, dir, b, rfs::RenameFlags::EXCHANGE) {
            Ok(()) => Ok(true),
            Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub(super) fn exchange(_: &File, _: &str, _: &str) -> std::io::Result<bool> {
        Ok(false)
    }

    pub(super) fn unlink(dir: &File, name: &str, is_dir: bool) -> std::io::Result<()> {
        let flags = if is_dir {
            AtFlags::REMOVEDIR
        } else {
            AtFlags::empty()
        };
        Ok(rfs::unlinkat(dir, name, flags)?)
    }

    /// A file, symlink or special entry `name` of `from` given the same name in `to`.
    pub(super) fn carry_entry(
        from: &File,
        to: &File,
        name: &str,
        kind: Kind,
    ) -> std::io::Result<()> {
        if kind == Kind::Symlink {
            let target = rfs::readlinkat(from, name, Vec::new())?;
            return Ok(rfs::symlinkat(target.as_c_str(), to, name)?);
        }
        match rfs::linkat(from, name, to, name, AtFlags::empty()) {
            Ok(()) => Ok(()),
            Err(_) if kind == Kind::File => {
                let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
                let source = File::from(rfs::openat(from, name, flags, Mode::empty())?);
                let wflags = OFlags::WRONLY
                    | OFlags::CREATE
                    | OFlags::EXCL
                    | OFlags::NOFOLLOW
                    | OFlags::CLOEXEC;
                let mut copy =
                    File::from(rfs::openat(to, name, wflags, Mode::from_raw_mode(0o666))?);
                std::io::copy(&mut (&source), &mut copy)?;
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Elsewhere kiln cannot write `out/` safely: it says so.
#[cfg(not(unix))]
mod sys {
    use crate::safe_fs::Kind;
    use std::ffi::OsStr;
    use std::fs::File;

    fn unsupported<T>() -> std::io::Result<T> {
        Err(std::io::Error::other("writing out/ needs a Unix system"))
    }

    pub(super) fn is_symlink_refusal(_: i32) -> bool {
        false
    }
    pub(super) fn open_dir(_: Option<&File>, _: &OsStr) -> std::io::Result<File> {
        unsupported()
    }
    pub(super) fn kind(_: &File, _: &str) -> std::io::Result<Option<Kind>> {
        unsupported()
    }
    pub(super) fn entries(_: &File) -> std::io::Result<Vec<(String, Kind)>> {
        unsupported()
    }
    pub(super) fn create_dir(_: &File, _: &str) -> std::io::Result<()> {
        unsupported()
    }
    pub(super) fn create_file(_: &File, _: &str, _: &[u8], _: (i64, u32)) -> std::io::Result<()> {
        unsupported()
    }
    pub(super) fn rename(_: &File, _: &str, _: &str) -> std::io::Result<()> {
        unsupported()
    }
    pub(super) fn exchange(_: &File, _: &str, _: &str) -> std::io::Result<bool> {
        unsupported()
    }
    pub(super) fn unlink(_: &File, _: &str, _: bool) -> std::io::Result<()> {
        unsupported()
    }
    pub(super) fn carry_entry(_: &File, _: &File, _: &str, _: Kind) -> std::io::Result<()> {
        unsupported()
    }
}
