//! A repository as of a git revision, for `kiln diff --base/--head`: read
//! exactly as the working tree is read (the `source` module), from git's object
//! store. Three git processes per revision, whatever its size: `rev-parse`,
//! one `ls-tree` of the whole tree, and one long-lived `cat-file --batch` that
//! delivers every input (all of `base/`, `overlays/`, `strategies/` and
//! `kiln.yaml` in one exchange; anything else an overlay names on demand).
//!
//! No checkout: the working tree and index are never touched, and nothing
//! from the revision is executed (no hooks, filters or configured commands).
//! Symlinks and submodules are refused where they are read, as in a working
//! tree; blobs larger than any input kiln reads are never fetched.

use crate::error::{Error, Result};
use crate::load::Repo;
use crate::safe_fs::{Kind, MAX_FILE_BYTES};
use crate::source::{Blobs, Entry, INPUT_DIRS, Tree};
use kiln_model::layout::{BASE_DIR, OVERLAYS_DIR, SETTINGS_FILE, STRATEGIES_DIR};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// A repository at a git revision.
#[derive(Debug)]
pub struct Revision {
    rev: String,
    commit: String,
    repo: Repo,
}

impl Revision {
    /// The revision as given (`main`, `HEAD~2`, a commit).
    pub fn rev(&self) -> &str {
        &self.rev
    }

    /// The commit it resolved to.
    pub fn commit(&self) -> &str {
        &self.commit
    }

    /// The repository as of this revision.
    pub fn repo(&self) -> &Repo {
        &self.repo
    }
}

/// Reads the repository at `repo_root` as of `rev` (a branch, tag or commit).
///
/// ```
/// # fn main() -> Result<(), kiln::Error> {
/// # let dir = tempfile::tempdir().expect("temp dir");
/// # let git = |args: &[&str]| assert!(std::process::Command::new("git").arg("-C").arg(dir.path())
/// #     .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"])
/// #     .args(args).status().expect("git").success());
/// # std::fs::create_dir_all(dir.path().join("base")).expect("mkdir");
/// # std::fs::create_dir_all(dir.path().join("overlays/dev")).expect("mkdir");
/// # std::fs::write(dir.path().join("overlays/dev/overlay.yaml"), "").expect("write");
/// # git(&["init", "-q"]); git(&["add", "-A"]); git(&["commit", "-qm", "first"]);
/// let at = kiln::git::revision(dir.path(), "HEAD")?;
/// assert_eq!(at.repo().environments(), ["dev"]);
/// # Ok(()) }
/// ```
pub fn revision(repo_root: &Path, rev: &str) -> Result<Revision> {
    if rev.starts_with('-') || rev.is_empty() {
        return Err(Error::Git {
            command: "git rev-parse".into(),
            message: format!("`{rev}` is not a revision"),
        });
    }
    let commit = commit_of(repo_root, rev)?;
    let listing = git(
        repo_root,
        &["ls-tree", "-r", "-l", "-z", "--full-tree", &commit],
    )?;
    let tree = Tree::new(entries(&listing), Box::new(CatFile::start(repo_root)?));
    let sizes = INPUT_DIRS
        .iter()
        .flat_map(|dir| tree.file_sizes(dir))
        .collect();
    crate::source::within_input_budget(sizes).map_err(|e| e.at_revision(rev))?;
    tree.prefetch(&[BASE_DIR, OVERLAYS_DIR, STRATEGIES_DIR, SETTINGS_FILE])?;
    let repo = Repo::from_revision(repo_root, rev, tree).map_err(|e| e.at_revision(rev))?;
    Ok(Revision {
        rev: rev.to_string(),
        commit,
        repo,
    })
}

/// The commit `rev` names; where there is none, why (a missing remote, an
/// unfetched branch) and what to do.
fn commit_of(repo_root: &Path, rev: &str) -> Result<String> {
    let spec = format!("{rev}^{{commit}}");
    let args = [
        "rev-parse",
        "--verify",
        "--quiet",
        "--end-of-options",
        &spec,
    ];
    match git(repo_root, &args) {
        Ok(out) => Ok(String::from_utf8_lossy(&out).trim().to_string()),
        Err(Error::Git { message, .. }) if message.is_empty() => Err(Error::Git {
            command: "git rev-parse".into(),
            message: no_such_revision(repo_root, rev),
        }),
        Err(e) => Err(e),
    }
}

fn no_such_revision(repo_root: &Path, rev: &str) -> String {
    let mut message = format!("no branch, tag or commit `{rev}` in this repository");
    let remotes = git(repo_root, &["remote"]).unwrap_or_default();
    let remotes = String::from_utf8_lossy(&remotes);
    if let Some((remote, branch)) = rev.split_once('/') {
        if remotes.lines().any(|r| r == remote) {
            message.push_str(&format!(
                "; fetch it first (`git fetch {remote} {branch}`; a shallow CI clone lacks other branches)"
            ));
        } else {
            message.push_str(&format!(
                "; it has no remote `{remote}`: add one (`git remote add {remote} URL && git fetch {remote}`) or compare with a local branch (`--base {branch}`, or `make diff BASE={branch}`)"
            ));
        }
    }
    message
}

fn git(root: &Path, args: &[&str]) -> Result<Vec<u8>> {
    let output = command(root)
        .args(args)
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

fn command(root: &Path) -> Command {
    let mut c = Command::new("git");
    c.arg("-C").arg(root).env("GIT_CONFIG_NOSYSTEM", "1");
    c
}

/// The entries of `ls-tree -r -l -z`: `<mode> <type> <object> <size>\t<path>`.
fn entries(listing: &[u8]) -> BTreeMap<String, Entry> {
    let mut entries = BTreeMap::new();
    for record in listing.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let record = String::from_utf8_lossy(record);
        let Some((meta, path)) = record.split_once('\t') else {
            continue;
        };
        let fields: Vec<&str> = meta.split_whitespace().collect();
        let [mode, _, object, size] = fields[..] else {
            continue;
        };
        let kind = match mode {
            "100644" | "100755" => Kind::File,
            "120000" => Kind::Symlink,
            _ => Kind::Special,
        };
        let entry = Entry {
            kind,
            object: object.to_string(),
            size: size.parse().unwrap_or(0),
        };
        entries.insert(path.to_string(), entry);
    }
    entries
}

/// A `git cat-file --batch` process: object ids in, contents out.
#[derive(Debug)]
struct CatFile {
    child: Child,
    input: Option<ChildStdin>,
    output: BufReader<ChildStdout>,
}

impl CatFile {
    fn start(root: &Path) -> Result<CatFile> {
        let mut child = command(root)
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Error::io("git cat-file", e))?;
        let input = child.stdin.take();
        let output = child
            .stdout
            .take()
            .map(BufReader::new)
            .ok_or_else(|| Error::io("git cat-file", std::io::Error::other("no output")))?;
        Ok(CatFile {
            child,
            input,
            output,
        })
    }

    /// One answer: `<object> blob <size>\n<contents>\n`.
    fn answer(&mut self) -> Result<Vec<u8>> {
        let broken = |what: &str| Error::Git {
            command: "git cat-file --batch".into(),
            message: what.to_string(),
        };
        let mut header = String::new();
        self.output
            .read_line(&mut header)
            .map_err(|e| Error::io("git cat-file", e))?;
        let size: u64 = match header.split_whitespace().collect::<Vec<_>>()[..] {
            [_, "blob", size] => size.parse().map_err(|_| broken(&header))?,
            _ => return Err(broken(header.trim())),
        };
        if size > MAX_FILE_BYTES {
            return Err(broken("a blob larger than its listing said"));
        }
        let mut contents = vec![0; usize::try_from(size).unwrap_or(0) + 1];
        self.output
            .read_exact(&mut contents)
            .map_err(|e| Error::io("git cat-file", e))?;
        contents.pop();
        Ok(contents)
    }
}

impl Blobs for CatFile {
    fn fetch(&mut self, objects: &[&str]) -> Result<Vec<Vec<u8>>> {
        let request: String = objects.iter().map(|o| format!("{o}\n")).collect();
        let mut input = self
            .input
            .take()
            .ok_or_else(|| Error::io("git cat-file", std::io::Error::other("closed")))?;
        // Requests are written beside the reading, so neither pipe can fill up and stall.
        let (input, answers) = std::thread::scope(|s| {
            let writer = s.spawn(move || {
                let written = input
                    .write_all(request.as_bytes())
                    .and_then(|()| input.flush());
                (input, written)
            });
            let answers: Result<Vec<Vec<u8>>> = objects.iter().map(|_| self.answer()).collect();
            if answers.is_err() {
                // The writer may be stuck on a full pipe: ending git ends it.
                let _ = self.child.kill();
            }
            let (input, written) = writer
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (
                written
                    .map(|()| input)
                    .map_err(|e| Error::io("git cat-file", e)),
                answers,
            )
        });
        self.input = Some(input?);
        answers
    }
}

impl Drop for CatFile {
    fn drop(&mut self) {
        // Closing its input ends cat-file.
        drop(self.input.take());
        let _ = self.child.wait();
    }
}
