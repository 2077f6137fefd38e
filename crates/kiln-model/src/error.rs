//! Typed errors. Every error that comes from input names the file, the place in
//! it and what was expected; the CLI renders them with miette.

use miette::{Diagnostic, NamedSource, SourceSpan};
use std::path::PathBuf;

/// kiln's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in kiln.
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
    #[error("the inputs (base/, overlays/, strategies/) are {} in {files} files, more than the {} kiln reads in one run; the largest: {}", mib(*total), mib(*limit), largest.iter().map(|(path, size)| format!("{} ({})", crate::emit::printable(path), mib(*size))).collect::<Vec<_>>().join(", "))]
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
        findings: Vec<crate::finding::Finding>,
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
pub const MAX_REPORTED: usize = 20;

/// Every value of `results`, or every distinct error (one as itself, several
/// as [`Error::Several`], at most 20 of them).
///
/// ```
/// use kiln_model::{Error, gather};
/// let io = |p: &str| Err::<u8, _>(Error::io(p, std::io::ErrorKind::NotFound.into()));
/// assert_eq!(gather(vec![Ok(1), Ok(2)]).unwrap(), [1, 2]);
/// assert!(matches!(gather(vec![Ok(1), io("a")]), Err(Error::Io { .. })));
/// assert!(matches!(gather(vec![io("a"), Ok(1), io("b")]), Err(Error::Several { more: 0, .. })));
/// ```
pub fn gather<T>(results: impl IntoIterator<Item = Result<T>>) -> Result<Vec<T>> {
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
fn list(findings: &[crate::finding::Finding]) -> String {
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
    let mut rules: Vec<&crate::rules::Rule> = findings.iter().map(|f| f.rule).collect();
    rules.sort_by_key(|r| r.id);
    rules.dedup_by_key(|r| r.id);
    for rule in rules {
        out.push_str(&format!("\n  [{}] {}", rule.id, rule.help));
    }
    out
}

/// Bad content in one input file.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{}{}: {message}", file.display(), place(*.line, *.column, pointer))]
#[diagnostic(code(kiln::input))]
pub struct InputError {
    /// The file, relative to the repository root.
    pub file: PathBuf,
    /// 1-based line, where known.
    pub line: Option<usize>,
    /// 1-based column, where known.
    pub column: Option<usize>,
    /// JSON pointer of the offending value (`/route/hosts/0`), where known.
    pub pointer: Option<String>,
    /// What is wrong and what was expected.
    pub message: String,
    /// A suggestion, e.g. the field that was probably meant.
    #[help]
    pub help: Option<String>,
    #[source_code]
    src: Option<NamedSource<String>>,
    #[label("here")]
    span: Option<SourceSpan>,
}

fn place(line: Option<usize>, column: Option<usize>, pointer: &Option<String>) -> String {
    let mut s = String::new();
    if let Some(line) = line {
        s.push_str(&format!(":{line}"));
        if let Some(column) = column {
            s.push_str(&format!(":{column}"));
        }
    }
    if let Some(pointer) = pointer.as_deref().filter(|p| !p.is_empty()) {
        s.push_str(&format!(" at {pointer}"));
    }
    s
}

impl InputError {
    /// A new error about `file` with `message`; add the place with the builder methods.
    pub fn new(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        InputError {
            file: printable_path(file.into()),
            line: None,
            column: None,
            pointer: None,
            message: printable(message.into()),
            help: None,
            src: None,
            span: None,
        }
    }

    /// Sets the JSON pointer of the offending value.
    pub fn at(mut self, pointer: impl Into<String>) -> Self {
        self.pointer = Some(printable(pointer.into()));
        self
    }

    /// Sets the suggestion.
    pub fn with_help(mut self, help: Option<String>) -> Self {
        self.help = help.map(printable);
        self
    }

    /// Sets line and column (1-based, the column counted in characters) and
    /// attaches `source` so the CLI can show the line. Control characters in
    /// the shown text become `�` and credentials `*` ([`crate::credential::mask`]),
    /// one for one, so the column still points home.
    pub fn with_location(mut self, source: &str, line: usize, column: usize) -> Self {
        self.line = Some(line);
        self.column = Some(column);
        let shown: String = crate::credential::mask(source)
            .chars()
            .map(|c| if printable_char(c) { c } else { '\u{fffd}' })
            .collect();
        let line_start: usize = shown
            .split_inclusive('\n')
            .take(line.saturating_sub(1))
            .map(str::len)
            .sum();
        let offset = line_start
            + shown[line_start.min(shown.len())..]
                .chars()
                .take(column.saturating_sub(1))
                .map(char::len_utf8)
                .sum::<usize>();
        let offset = offset.min(shown.len());
        self.src = Some(NamedSource::new(self.file.display().to_string(), shown));
        self.span = Some(SourceSpan::from((offset, 0)));
        self
    }
}

impl InputError {
    /// What is wrong, as it will be printed.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The same place (file, line, column, pointer) with `message` instead of
    /// the parser's words and without the file's text: for files whose
    /// contents must never be printed (everything in `out/`, hand-written
    /// Secrets).
    pub fn withhold_content(self, message: impl Into<String>) -> InputError {
        InputError {
            message: message.into(),
            help: None,
            src: None,
            span: None,
            ..self
        }
    }
}

impl From<InputError> for Error {
    fn from(e: InputError) -> Self {
        Error::Input(Box::new(e))
    }
}

impl Error {
    /// This error, as one of revision `rev` rather than of the working tree.
    pub fn at_revision(self, rev: &str) -> Self {
        Error::AtRevision {
            rev: printable(rev.to_string()),
            error: Box::new(self),
        }
    }

    /// Reading or writing `path` failed.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: printable_path(path.into()),
            source,
        }
    }

    /// A path kiln refuses to read or write, and why.
    pub fn unsafe_path(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::UnsafePath {
            path: printable_path(path.into()),
            reason: printable(reason.into()),
        }
    }
}

/// `bytes` in MiB with one decimal.
fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
}

/// Text from a pull request, made safe to print (see [`crate::emit::printable`]).
fn printable(s: String) -> String {
    match crate::emit::printable(&s) {
        std::borrow::Cow::Borrowed(_) => s,
        std::borrow::Cow::Owned(escaped) => escaped,
    }
}

/// A path from a pull request, made safe to print.
pub fn printable_path(path: PathBuf) -> PathBuf {
    match crate::emit::printable(&path.to_string_lossy()) {
        std::borrow::Cow::Borrowed(_) => path,
        std::borrow::Cow::Owned(escaped) => PathBuf::from(escaped),
    }
}

/// Whether a source line may show `c` as it is: the snippet keeps its
/// newlines (each line is printed behind miette's gutter), nothing else
/// [`crate::emit::printable`] would escape.
fn printable_char(c: char) -> bool {
    c == '\n' || !crate::emit::hidden(c)
}

/// The candidate closest to `wrong`, if it is close enough to be a likely typo.
pub fn closest<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(wrong, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_line_column_and_pointer() {
        let e = InputError::new("base/service.yaml", "unknown field `replics`")
            .at("/replics")
            .with_location("a: 1\nreplics: 2\n", 2, 1);
        assert_eq!(
            e.to_string(),
            "base/service.yaml:2:1 at /replics: unknown field `replics`"
        );
    }

    #[test]
    fn closest_finds_typos_only() {
        let fields = ["replicas", "image", "route"];
        assert_eq!(closest("replics", fields), Some("replicas"));
        assert_eq!(closest("imgae", fields), Some("image"));
        assert_eq!(closest("zzz", fields), None);
    }
}
