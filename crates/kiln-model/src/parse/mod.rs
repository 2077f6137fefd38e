//! Typed input: YAML and JSON read with serde, errors turned into
//! [`InputError`]s that name the file, line, column, field and a likely fix.
//!
//! Every text is scanned before serde builds anything from it: nesting
//! deeper than [`MAX_DEPTH`], a document that its YAML aliases would grow
//! past [`MAX_EXPANDED_BYTES`], a key given twice in one mapping, and the
//! control characters that YAML writers refuse are errors naming the line
//! (and for duplicates, both lines). So memory and time stay proportional
//! to the input, and what a reviewer reads is what kiln reads.

mod json_scan;
mod yaml_scan;

use crate::error::{Error, InputError, closest};
use serde::de::DeserializeOwned;
use std::path::Path;

pub(crate) use json_scan::scan_json;
pub(crate) use yaml_scan::scan_yaml;
pub use yaml_scan::{line_of, scalars};

/// The deepest nesting of mappings and sequences kiln reads. Kubernetes
/// objects, descriptions and strategies need a fraction of it.
pub const MAX_DEPTH: usize = 64;

/// The largest a document may be once its YAML aliases are expanded,
/// counted as its scalars' bytes plus one per node.
pub const MAX_EXPANDED_BYTES: u64 = 8 << 20;

/// Parses `text` (the contents of `file`) as YAML into `T`. Unknown fields are
/// rejected by `T` itself (`deny_unknown_fields`); this adds where and why.
/// A file with nothing but comments and blank lines reads as an empty mapping.
pub fn yaml<T: DeserializeOwned>(file: &Path, text: &str) -> Result<T, Error> {
    let text = if is_blank_yaml(text) { "{}" } else { text };
    scan_yaml(file, text)?;
    let de = serde_yaml::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let pointer = pointer(err.path());
        let inner = err.into_inner();
        let message = in_user_words(&strip_location(&inner.to_string()));
        let mut e = InputError::new(file, message.clone())
            .at(pointer)
            .with_help(suggest(&message));
        if let Some(loc) = inner.location() {
            e = e.with_location(text, loc.line(), loc.column());
        }
        e.into()
    })
}

/// Reads YAML that kiln wrote itself, or that [`yaml`] has read before:
/// without the scan and the error locations, which such text does not need.
pub fn own_yaml(text: &str) -> Option<serde_json::Value> {
    serde_yaml::from_str(text).ok()
}

/// Parses `text` (the contents of `file`) as JSON into `T`.
pub fn json<T: DeserializeOwned>(file: &Path, text: &str) -> Result<T, Error> {
    scan_json(file, text)?;
    let mut de = serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let pointer = pointer(err.path());
        Error::from(json_error(file, text, err.into_inner()).at(pointer))
    })?;
    de.end()
        .map_err(|e| Error::from(json_error(file, text, e)))?;
    Ok(value)
}

/// The documents of a YAML stream (`---` separated), each as a JSON value;
/// empty documents are left out.
pub fn yaml_documents(file: &Path, text: &str) -> Result<Vec<serde_json::Value>, Error> {
    use serde::Deserialize as _;
    scan_yaml(file, text)?;
    let mut values = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let value = serde_json::Value::deserialize(doc).map_err(|e| {
            let mut err = InputError::new(
                file,
                format!("not valid YAML: {}", strip_location(&e.to_string())),
            );
            if let Some(loc) = e.location() {
                err = err.with_location(text, loc.line(), loc.column());
            }
            Error::from(err)
        })?;
        if !value.is_null() {
            values.push(value);
        }
    }
    Ok(values)
}

/// A character that YAML writers refuse to write (kubectl kustomize fails
/// with "control characters are not allowed"): DEL and the C1 controls but NEL.
pub(crate) fn refused_char(s: &str) -> Option<char> {
    s.chars()
        .find(|c| *c == '\u{7f}' || (('\u{80}'..='\u{9f}').contains(c) && *c != '\u{85}'))
}

fn refused_char_message(c: char) -> String {
    format!(
        "contains the control character U+{:04X}, which YAML writers refuse (kubectl kustomize fails on it); remove it",
        c as u32
    )
}

/// `s` escaped as one JSON pointer segment.
fn pointer_segment(s: &str) -> String {
    crate::pointer::join("", s)[1..].to_string()
}

fn json_error(file: &Path, text: &str, inner: serde_json::Error) -> InputError {
    let message = in_user_words(&strip_location(&inner.to_string()));
    InputError::new(file, message.clone())
        .with_help(suggest(&message))
        .with_location(text, inner.line(), inner.column())
}

/// A problem found while reading a JSON value into a type: JSON pointer, message, suggestion.
pub struct ValueError {
    /// Where in the value.
    pub pointer: String,
    /// What is wrong.
    pub message: String,
    /// A suggestion, e.g. the field that was probably meant.
    pub help: Option<String>,
}

/// Reads an in-memory value (e.g. a description after overlays were merged) into `T`.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ValueError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let pointer = pointer(err.path());
        let message = in_user_words(&err.into_inner().to_string());
        ValueError {
            pointer,
            help: suggest(&message),
            message,
        }
    })
}

fn is_blank_yaml(text: &str) -> bool {
    text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#') || l == "---"
    })
}

/// serde_path_to_error's path as a JSON pointer (`/route/hosts/0`).
pub fn pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        out.push('/');
        match segment {
            Segment::Seq { index } => out.push_str(&index.to_string()),
            Segment::Map { key } => out.push_str(&pointer_segment(key)),
            Segment::Enum { variant } => out.push_str(variant),
            Segment::Unknown => out.push('?'),
        }
    }
    out
}

/// serde_yaml and serde_json append " at line L column C"; kiln reports the place itself.
/// serde_yaml also puts the field path first (`items[0].name: …`); kiln gives
/// it as a JSON pointer instead.
fn strip_location(message: &str) -> String {
    let message = match message.rfind(" at line ") {
        Some(i) => &message[..i],
        None => message,
    };
    match message.split_once(": ") {
        Some((path, rest)) if !path.contains(char::is_whitespace) => rest.to_string(),
        _ => message.to_string(),
    }
}

/// serde's messages in the words of the file's reader: no Rust type names
/// (`expected u16` is a whole number from 0 to 65535, `struct Route` a mapping).
fn in_user_words(message: &str) -> String {
    const WORDS: [(&str, &str); 20] = [
        ("expected u8", "expected a whole number from 0 to 255"),
        ("expected u16", "expected a whole number from 0 to 65535"),
        ("expected u32", "expected a whole number, 0 or more"),
        ("expected u64", "expected a whole number, 0 or more"),
        ("expected usize", "expected a whole number, 0 or more"),
        ("expected i8", "expected a whole number"),
        ("expected i16", "expected a whole number"),
        ("expected i32", "expected a whole number"),
        ("expected i64", "expected a whole number"),
        ("expected isize", "expected a whole number"),
        ("expected f32", "expected a number"),
        ("expected f64", "expected a number"),
        ("expected a sequence", "expected a list"),
        ("expected a map", "expected a mapping"),
        ("expected a borrowed string", "expected a string"),
        ("expected unit", "expected null"),
        ("expected char", "expected a single character"),
        ("invalid type: map", "invalid type: mapping"),
        ("invalid type: sequence", "invalid type: list"),
        ("invalid type: unit value", "invalid type: null"),
    ];
    let mut out = message.to_string();
    for (rust, words) in WORDS {
        // Whole words only: `expected u8` must not rewrite `expected u80…`.
        let mut from = 0;
        while let Some(i) = out[from..].find(rust).map(|i| i + from) {
            let end = i + rust.len();
            if out[end..].starts_with(|c: char| c.is_alphanumeric() || c == '_') {
                from = end;
                continue;
            }
            out.replace_range(i..end, words);
            from = i + words.len();
        }
    }
    for (rust, words) in [
        (
            "data did not match any variant of untagged enum ",
            "matches none of the accepted forms",
        ),
        ("struct ", "a mapping"),
        ("enum ", "one of the documented values"),
    ] {
        while let Some(i) = out.find(rust) {
            let name_end = out[i + rust.len()..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .map_or(out.len(), |n| i + rust.len() + n);
            out.replace_range(i..name_end, words);
        }
    }
    out
}

/// "did you mean" for unknown fields and enum variants.
fn suggest(message: &str) -> Option<String> {
    if message.starts_with("unknown field") || message.starts_with("unknown variant") {
        // serde: unknown field `x`, expected one of `a`, `b` | expected `a` | there are no fields
        let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
        let (wrong, candidates) = quoted.split_first()?;
        // Without a close match the message itself already lists what is expected.
        return closest(wrong, candidates.iter().copied())
            .map(|best| format!("did you mean `{best}`?"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_no_rust_types() {
        for (serde, user) in [
            (
                "invalid value: integer `99999`, expected u16",
                "invalid value: integer `99999`, expected a whole number from 0 to 65535",
            ),
            (
                "invalid type: string \"two\", expected i32",
                "invalid type: string \"two\", expected a whole number",
            ),
            (
                "invalid type: sequence, expected struct Route",
                "invalid type: list, expected a mapping",
            ),
            (
                "data did not match any variant of untagged enum IntOrString",
                "matches none of the accepted forms",
            ),
            ("expected u80 things", "expected u80 things"),
        ] {
            assert_eq!(in_user_words(serde), user);
        }
    }
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        name: String,
        replicas: u32,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        items: Vec<Inner>,
    }

    fn input(Error::Input(e): Error) -> InputError {
        *e
    }

    fn err(text: &str) -> InputError {
        input(yaml::<Outer>(Path::new("f.yaml"), text).expect_err("must fail"))
    }

    fn yaml_err(text: &str) -> InputError {
        input(scan_yaml(Path::new("o.yaml"), text).expect_err("must be refused"))
    }

    fn json_err(text: &str) -> InputError {
        input(scan_json(Path::new("s.json"), text).expect_err("must be refused"))
    }

    #[test]
    fn duplicate_yaml_keys_name_both_lines_and_the_pointer() {
        let e = yaml_err("set:\n  config:\n    A: one\n    B: two\n    A: three\n");
        assert_eq!(e.pointer.as_deref(), Some("/set/config/A"));
        assert_eq!(e.line, Some(5));
        assert!(
            e.message.contains("first at line 3, again at line 5"),
            "{}",
            e.message
        );
        // The same key in two different mappings is fine.
        assert!(
            scan_yaml(
                Path::new("o.yaml"),
                "a: {k: 1}\nb: {k: 2}\nc: [{k: 1}, {k: 2}]\n"
            )
            .is_ok()
        );
    }

    #[test]
    fn sequence_items_are_pointed_at_by_index() {
        let e = yaml_err("patches:\n  - a: 1\n  - b: 1\n    b: 2\n");
        assert_eq!(e.pointer.as_deref(), Some("/patches/1/b"));
    }

    #[test]
    fn alias_expansion_is_bounded_by_bytes_not_by_alias_count() {
        let big = "x".repeat(1 << 20);
        let few = format!("a: &s {big}\nb: [*s, *s, *s]\n");
        assert!(
            scan_yaml(Path::new("o.yaml"), &few).is_ok(),
            "4 MiB expanded is allowed"
        );
        let many = format!("a: &s {big}\nb: [{}]\n", ["*s"; 12].join(", "));
        let e = yaml_err(&many);
        assert!(e.message.contains("aliases are expanded"), "{}", e.message);
        // The classic billion laughs, with short strings and nested aliases.
        let mut laughs = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 9].join(", ");
            laughs.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        assert!(yaml_err(&laughs).message.contains("aliases"));
    }

    #[test]
    fn deep_nesting_is_refused_at_once() {
        let deep = "{a: ".repeat(80_000) + &"}".repeat(80_000);
        let e = yaml_err(&deep);
        assert!(e.message.contains("deeper than 64"), "{}", e.message);
        let fine = "{a: ".repeat(60) + "1" + &"}".repeat(60);
        assert!(scan_yaml(Path::new("o.yaml"), &fine).is_ok());
    }

    #[test]
    fn refused_control_characters_name_their_place() {
        let e = yaml_err("config:\n  X: \"a\\x7fb\"\n");
        assert_eq!(e.pointer.as_deref(), Some("/config/X"));
        assert!(e.message.contains("U+007F"), "{}", e.message);
        assert!(yaml_err("k: \"\\u0090\"\n").message.contains("U+0090"));
        // Tabs, newlines, NEL and ordinary Unicode are fine.
        assert!(scan_yaml(Path::new("o.yaml"), "k: \"a\\tb\\nc\\u0085 é ✓\"\n").is_ok());
    }

    #[test]
    fn mapping_keys_must_be_strings() {
        let e = yaml_err("? [a, b]\n: 1\n");
        assert!(e.message.contains("plain string"), "{}", e.message);
    }

    #[test]
    fn duplicate_json_keys_name_both_lines() {
        let e =
            json_err("{\n  \"targets\": [\n    {\"name\": \"a\",\n     \"name\": \"b\"}\n  ]\n}\n");
        assert_eq!(e.pointer.as_deref(), Some("/targets/0/name"));
        assert!(
            e.message.contains("first at line 3, again at line 4"),
            "{}",
            e.message
        );
    }

    #[test]
    fn json_depth_and_control_characters_are_refused() {
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert!(json_err(&deep).message.contains("deeper than 64"));
        let e = json_err("{\"a\": {\"b\": \"x\\u009by\"}}");
        assert_eq!(e.pointer.as_deref(), Some("/a/b"));
        assert!(
            scan_json(
                Path::new("s.json"),
                "{\"a\": [1, 2.5, null, true, \"\\ud83d\\ude00\"]}"
            )
            .is_ok()
        );
    }

    #[test]
    fn unknown_field_gets_place_and_suggestion() {
        let e = err("items:\n  - name: a\n    replics: 2\n");
        assert_eq!(e.line, Some(3));
        assert_eq!(e.pointer.as_deref(), Some("/items/0/replics"));
        assert!(
            e.message.contains("unknown field `replics`"),
            "{}",
            e.message
        );
        assert_eq!(e.help.as_deref(), Some("did you mean `replicas`?"));
    }

    #[test]
    fn wrong_type_and_missing_field() {
        let e = err("items:\n  - name: a\n    replicas: many\n");
        assert_eq!(e.pointer.as_deref(), Some("/items/0/replicas"));
        assert!(
            e.message.contains("expected a whole number, 0 or more"),
            "{}",
            e.message
        );
        let e = err("items:\n  - name: a\n");
        assert!(
            e.message.contains("missing field `replicas`"),
            "{}",
            e.message
        );
        assert_eq!(e.pointer.as_deref(), Some("/items/0"));
    }

    #[test]
    fn yaml_1_1_words_stay_strings_where_strings_are_expected() {
        let parsed: Outer = yaml(
            Path::new("f.yaml"),
            "items:\n  - name: 1.10\n    replicas: 1\n",
        )
        .expect("a plain scalar is a string where a string is expected");
        assert_eq!(parsed.items[0].name, "1.10");
        assert_eq!(parsed.items[0].replicas, 1);
    }

    #[test]
    fn malformed_yaml_has_a_line() {
        let e = err("items: [\n");
        assert!(e.line.is_some(), "{e:?}");
    }

    #[test]
    fn comment_only_file_is_an_empty_mapping() {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Empty {}
        assert!(yaml::<Empty>(Path::new("o.yaml"), "# nothing\n\n").is_ok());
    }

    #[test]
    fn json_errors_have_line_and_column() {
        let e = input(
            json::<serde_json::Value>(Path::new("s.json"), "{\n  \"a\": ,\n}")
                .expect_err("must fail"),
        );
        assert_eq!((e.line, e.column), (Some(2), Some(8)));
        let e =
            input(json::<serde_json::Value>(Path::new("s.json"), "{} {}").expect_err("trailing"));
        assert!(e.message.contains("trailing"), "{}", e.message);
    }
}
