//! The pipeline's errors. Every error that comes from input names the file,
//! the place in it and what was expected; the CLI renders them with miette.

use kiln_model::InputError;
use miette::Diagnostic;
use std::path::PathBuf;

/// The pipeline's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in kiln: an input file (kiln-model's
/// [`kiln_model::Error`] arrives here as [`Error::Input`]) or the pipeline
/// around it (paths, git, `out/`, checks).
///
/// ```
/// # fn main() -> Result<(), kiln::Error> {
/// let dir = tempfile::tempdir().expect("tmp");
/// kiln::init::init(dir.path(), &Default::default())?;
/// std::fs::write(dir.path().join("overlays/prod/overlay.yaml"), "set:\n  replics: 3\n").expect("write");
/// let repo = kiln::Repo::open(dir.path())?;
/// match repo.environment("prod") {
///     Err(kiln::Error::Input(e)) => {
///         assert_eq!(e.file(), std::path::Path::new("overlays/prod/overlay.yaml"));
///         assert_eq!((e.line(), e.pointer()), (Some(2), Some("/set/replics")));
///         assert_eq!(e.suggestion(), Some("did you mean `replicas`?"));
///     }
///     other => panic!("expected an input error, got {other:?}"),
/// }
/// assert!(matches!(repo.environment("staging"), Err(kiln::Error::UnknownEnvironment { .. })));
/// # Ok(()) }
/// ```
#[derive(Debug, thiserror::Error, Diagnostic)]
#[non_exhaustive]
pub enum Error {
    /// A file in the repository is not what kiln expects (syntax, field, value).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Input(Box<InputError>),

    /// The working directory is not inside a kiln repository.
    #[error("{} is not inside a kiln repository (no directory above it has both base/ and overlays/)", start.display())]
    #[diagnostic(
        code(kiln::no_repository),
        help("run kiln from your GitOps repository, or pass --repo DIR")
    )]
    NoRepository {
        /// Where the search started.
        start: PathBuf,
    },

    /// An environment that has no `overlays/<name>/overlay.yaml`.
    #[error("unknown environment `{name}`; known: {}", known.join(", "))]
    #[diagnostic(code(kiln::unknown_env))]
    UnknownEnvironment {
        /// The name asked for.
        name: String,
        /// The environments the repository has.
        known: Vec<String>,
        /// The closest known name, if one is close.
        #[help]
        suggestion: Option<String>,
    },

    /// A path that would leave the repository, or a symlink, where kiln reads or writes.
    #[error("{}: {reason}", path.display())]
    #[diagnostic(
        code(kiln::unsafe_path),
        help("kiln reads and writes only regular files and directories inside the repository")
    )]
    UnsafePath {
        /// The offending path, relative to the repository where possible.
        path: PathBuf,
        /// Why it is refused.
        reason: String,
    },

    /// The inputs together are larger than kiln reads in one run.
    #[error("the inputs (base/, overlays/, strategies/) are {} in {files} files, more than the {} kiln reads in one run; the largest: {}", mib(*total), mib(*limit), largest.iter().map(|(path, size)| format!("{} ({})", kiln_model::emit::printable(path), mib(*size))).collect::<Vec<_>>().join(", "))]
    #[diagnostic(
        code(kiln::input_too_large),
        help(
            "a repository's inputs are usually a few hundred KiB: remove generated or copied files from these directories"
        )
    )]
    InputTooLarge {
        /// Their total size in bytes.
        total: u64,
        /// The most kiln reads.
        limit: u64,
        /// How many files there are.
        files: usize,
        /// The largest files with their sizes, largest first.
        largest: Vec<(String, u64)>,
    },

    /// out/ holds a file kiln did not write where kiln wants to write one.
    #[error("{}: exists and was not written by kiln; refusing to replace it", path.display())]
    #[diagnostic(
        code(kiln::foreign_file),
        help("move or delete the file, then render again")
    )]
    ForeignFile {
        /// The file in out/.
        path: PathBuf,
    },

    /// A git command failed (unknown revision, not a git repository, …).
    #[error("{command}: {message}")]
    #[diagnostic(
        code(kiln::git),
        help("--base and --head take a branch, tag or commit of this repository")
    )]
    Git {
        /// The command.
        command: String,
        /// What git said.
        message: String,
    },

    /// An input of a git revision (`kiln diff --base`/`--head`) is bad.
    #[error("in revision {rev}: {error}")]
    #[diagnostic(code(kiln::revision))]
    AtRevision {
        /// The revision as given.
        rev: String,
        /// What is wrong there.
        error: Box<Error>,
    },

    /// `kiln check` found errors in an environment's output; nothing was written.
    #[error("environment `{env}` fails `kiln check` ({} error{}); nothing written:{}", findings.len(), if findings.len() == 1 { "" } else { "s" }, list(findings))]
    #[diagnostic(
        code(kiln::check),
        help(
            "fix the description or overlay; if a finding is justified, add a `suppress:` entry with its reason (kiln's docs/guide/checks.md, \"Suppressions\")"
        )
    )]
    Check {
        /// The environment.
        env: String,
        /// The blocking findings.
        findings: Vec<kiln_model::finding::Finding>,
    },

    /// Independent errors of one run (each environment fails on its own),
    /// all reported at once (the first 20 of them).
    #[error("{} errors{}", errors.len() + more, if *more > 0 { format!(" (the first {} follow)", errors.len()) } else { String::new() })]
    #[diagnostic(code(kiln::several))]
    Several {
        /// The errors, in the order of their environments.
        #[related]
        errors: Vec<Error>,
        /// How many more there were.
        more: usize,
    },

    /// `kiln init` into a directory that already has files.
    #[error("{} is not empty (it has {}); kiln init only creates new repositories", dir.display(), found.join(", "))]
    #[diagnostic(
        code(kiln::not_empty),
        help("run kiln init in a new or empty directory (a .git directory is fine)")
    )]
    NotEmpty {
        /// The directory.
        dir: PathBuf,
        /// What is in it.
        found: Vec<String>,
    },

    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    #[diagnostic(code(kiln::io))]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
}

/// The most errors [`Error::Several`] reports.
const MAX_REPORTED: usize = 20;

/// Every value of `results`, or every distinct error (one as itself, several
/// as [`Error::Several`], at most 20 of them).
pub(crate) fn gather<T>(results: impl IntoIterator<Item = Result<T>>) -> Result<Vec<T>> {
    let (mut values, mut errors) = (Vec::new(), Vec::new());
    for r in results {
        match r {
            Ok(v) => values.push(v),
            // The same error through several environments (a shared strategy) is one.
            Err(e)
                if errors
                    .iter()
                    .any(|known: &Error| known.to_string() == e.to_string()) => {}
            Err(e) => errors.push(e),
        }
    }
    match errors.len() {
        0 => Ok(values),
        1 => Err(errors.remove(0)),
        n => {
            errors.truncate(MAX_REPORTED);
            Err(Error::Several {
                more: n - errors.len(),
                errors,
            })
        }
    }
}

/// Each finding on a line, then how to fix each rule found, once.
fn list(findings: &[kiln_model::finding::Finding]) -> String {
    let mut out: String = findings
        .iter()
        .map(|f| {
            let at = if f.pointer.is_empty() {
                String::new()
            } else {
                format!(" (at {})", f.pointer)
            };
            format!(
                "\n  {}:{} {} [{}] {}{at}",
                f.file.display(),
                f.line,
                f.object,
                f.rule.id,
                f.message,
            )
        })
        .collect();
    let mut rules: Vec<&kiln_model::rules::Rule> = findings.iter().map(|f| f.rule).collect();
    rules.sort_by_key(|r| r.id);
    rules.dedup_by_key(|r| r.id);
    for rule in rules {
        out.push_str(&format!("\n  [{}] {}", rule.id, rule.help));
    }
    out
}

impl From<InputError> for Error {
    fn from(e: InputError) -> Self {
        Error::Input(Box::new(e))
    }
}

impl From<kiln_model::Error> for Error {
    fn from(e: kiln_model::Error) -> Self {
        match e {
            kiln_model::Error::Input(e) => Error::Input(e),
        }
    }
}

impl Error {
    /// This error, as one of revision `rev` rather than of the working tree.
    pub fn at_revision(self, rev: &str) -> Self {
        Error::AtRevision {
            rev: kiln_model::emit::printable(rev).into_owned(),
            error: Box::new(self),
        }
    }

    /// Reading or writing `path` failed.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: kiln_model::printable_path(path.into()),
            source,
        }
    }

    /// A path kiln refuses to read or write, and why.
    pub fn unsafe_path(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::UnsafePath {
            path: kiln_model::printable_path(path.into()),
            reason: kiln_model::emit::printable(&reason.into()).into_owned(),
        }
    }
}

/// `bytes` in MiB with one decimal.
fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn missing(path: &str) -> Result<u8> {
        Err(Error::io(path, std::io::ErrorKind::NotFound.into()))
    }

    #[test]
    fn gather_reports_each_distinct_error_once() {
        assert_eq!(gather(vec![Ok(1), Ok(2)]).unwrap(), [1, 2]);
        assert!(matches!(
            gather(vec![Ok(1), missing("a")]),
            Err(Error::Io { .. })
        ));
        match gather(vec![missing("a"), Ok(1), missing("b"), missing("a")]) {
            Err(Error::Several { errors, more: 0 }) => assert_eq!(errors.len(), 2),
            other => panic!("expected two errors, got {other:?}"),
        }
        let many = (0..25).map(|i| missing(&format!("f{i}")));
        assert!(matches!(gather(many), Err(Error::Several { more: 5, .. })));
    }

    #[test]
    fn model_errors_arrive_as_input_errors() {
        let model = kiln_model::Error::from(InputError::new("base/service.yaml", "bad"));
        assert!(matches!(Error::from(model), Error::Input(e) if e.message() == "bad"));
    }
}
