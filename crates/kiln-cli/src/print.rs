//! What every command prints the same way.

use std::io::Write as _;

/// Text from a pull request as kiln prints it: on one line, never starting
/// one (see `kiln::model::emit::printable`).
pub(crate) fn shown(s: &str) -> std::borrow::Cow<'_, str> {
    kiln::model::emit::printable(s)
}

/// "no strategy `x` (did you mean `y`?); there are: …" on stderr.
pub(crate) fn not_found(what: &str, name: &str, names: &[&str]) {
    let hint = kiln::model::closest(name, names.iter().copied())
        .map(|c| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default();
    errln!("no {what} `{name}`{hint}; there are: {}", names.join(", "));
}
