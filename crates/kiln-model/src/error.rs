//! Typed errors. Every error that comes from input names the file, the place in
//! it and what was expected; the CLI renders them with miette.

use miette::{Diagnostic, NamedSource, SourceSpan};
use std::path::{Path, PathBuf};

/// This layer's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What goes wrong in this layer: an input file that is not what kiln
/// expects. The pipeline's own failures (paths, git, `out/`) are the `kiln`
/// crate's `Error`, which takes this one in with `?`. Exhaustive on
/// purpose: the layer above maps every variant.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum Error {
    /// A file in the repository is not what kiln expects (syntax, field, value).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Input(Box<InputError>),
}

/// Bad content in one input file.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{}{}: {message}", file.display(), place(*.line, *.column, pointer))]
#[diagnostic(code(kiln::input))]
pub struct InputError {
    /// The file, relative to the repository root.
    pub(crate) file: PathBuf,
    /// 1-based line, where known.
    pub(crate) line: Option<usize>,
    /// 1-based column, where known.
    pub(crate) column: Option<usize>,
    /// JSON pointer of the offending value (`/route/hosts/0`), where known.
    pub(crate) pointer: Option<String>,
    /// What is wrong and what was expected.
    pub(crate) message: String,
    /// A suggestion, e.g. the field that was probably meant.
    #[help]
    pub(crate) help: Option<String>,
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
    /// The file, relative to the repository root.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// 1-based line, where known.
    pub fn line(&self) -> Option<usize> {
        self.line
    }

    /// 1-based column (in characters), where known.
    pub fn column(&self) -> Option<usize> {
        self.column
    }

    /// JSON pointer of the offending value (`/route/hosts/0`), where known.
    pub fn pointer(&self) -> Option<&str> {
        self.pointer.as_deref()
    }

    /// What is wrong and what was expected, as it will be printed.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// A suggestion, e.g. the field that was probably meant (miette prints
    /// it as the error's help; named apart from `Diagnostic::help`).
    pub fn suggestion(&self) -> Option<&str> {
        self.help.as_deref()
    }

    /// The same error about `file`: for what is found before the file's
    /// name is known (a document of a build's output).
    pub fn in_file(mut self, file: impl Into<PathBuf>) -> Self {
        self.file = printable_path(file.into());
        self
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
