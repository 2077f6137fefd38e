//! Typed input: YAML and JSON read with serde, errors turned into
//! [`InputError`]s that name the file, line, column, field and a likely fix.

use crate::error::{Error, InputError, closest};
use serde::de::DeserializeOwned;
use std::path::Path;

/// Parses `text` (the contents of `file`) as YAML into `T`. Unknown fields are
/// rejected by `T` itself (`deny_unknown_fields`); this adds where and why.
/// A file with nothing but comments and blank lines reads as an empty mapping.
pub(crate) fn yaml<T: DeserializeOwned>(file: &Path, text: &str) -> Result<T, Error> {
    let text = if is_blank_yaml(text) { "{}" } else { text };
    let de = serde_yaml::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let pointer = pointer(err.path());
        let inner = err.into_inner();
        let message = strip_location(&inner.to_string());
        let mut e = InputError::new(file, message.clone())
            .at(pointer)
            .with_help(suggest(&message));
        if let Some(loc) = inner.location() {
            e = e.with_location(text, loc.line(), loc.column());
        }
        e.into()
    })
}

/// Parses `text` (the contents of `file`) as JSON into `T`.
pub(crate) fn json<T: DeserializeOwned>(file: &Path, text: &str) -> Result<T, Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let pointer = pointer(err.path());
        Error::from(json_error(file, text, err.into_inner()).at(pointer))
    })?;
    de.end()
        .map_err(|e| Error::from(json_error(file, text, e)))?;
    Ok(value)
}

fn json_error(file: &Path, text: &str, inner: serde_json::Error) -> InputError {
    let message = strip_location(&inner.to_string());
    InputError::new(file, message.clone())
        .with_help(suggest(&message))
        .with_location(text, inner.line(), inner.column())
}

/// A problem found while reading a JSON value into a type: JSON pointer, message, suggestion.
pub(crate) struct ValueError {
    pub pointer: String,
    pub message: String,
    pub help: Option<String>,
}

/// Reads an in-memory value (e.g. a description after overlays were merged) into `T`.
pub(crate) fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ValueError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let pointer = pointer(err.path());
        let message = err.into_inner().to_string();
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
pub(crate) fn pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        out.push('/');
        match segment {
            Segment::Seq { index } => out.push_str(&index.to_string()),
            Segment::Map { key } => out.push_str(&key.replace('~', "~0").replace('/', "~1")),
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

    fn input(e: Error) -> InputError {
        match e {
            Error::Input(e) => *e,
            other => panic!("not an input error: {other}"),
        }
    }

    fn err(text: &str) -> InputError {
        input(yaml::<Outer>(Path::new("f.yaml"), text).expect_err("must fail"))
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
        assert!(e.message.contains("expected u32"), "{}", e.message);
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
