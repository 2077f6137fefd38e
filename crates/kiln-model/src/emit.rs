//! Bytes out: the one place kiln writes YAML and JSON.
//!
//! kiln does not use `serde_yaml` for output: it cannot be told how to quote,
//! and what it leaves plain (`on`, `yes`, `0777`, `12:30`, `2024-01-01`, …) is
//! read as a boolean, number or date by YAML 1.1 readers such as Go's
//! `sigs.k8s.io/yaml` (kubectl, Argo CD, Flux) and PyYAML. This emitter writes a
//! JSON value as block YAML and quotes every string that any YAML reader,
//! 1.1 or 1.2, could take for something other than that string.
//!
//! Output is canonical: mapping keys sorted (with `apiVersion`, `kind`,
//! `metadata` first at the top of a resource), two-space indentation, indented
//! sequences, multi-line strings as literal blocks, one trailing newline.

use serde_json::{Map, Value};
use std::fmt::Write as _;

/// Top-level keys that lead a Kubernetes object, in this order; all other keys follow sorted.
const LEADING_KEYS: [&str; 3] = ["apiVersion", "kind", "metadata"];

/// Whether a text report is painted with ANSI colours (for a terminal) or plain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    /// No escape sequences: files, pipes, CI logs.
    Plain,
    /// ANSI colours.
    Ansi,
}

/// Writes `value` as a canonical YAML document (no `---` marker, trailing newline).
///
/// ```
/// let doc = serde_json::json!({"kind": "ConfigMap", "apiVersion": "v1",
///     "data": {"FEATURE": "on", "TIME": "12:30", "MODE": "0777"}});
/// assert_eq!(
///     kiln_model::emit::yaml(&doc),
///     "apiVersion: v1\nkind: ConfigMap\ndata:\n  FEATURE: \"on\"\n  MODE: \"0777\"\n  TIME: \"12:30\"\n"
/// );
/// ```
pub fn yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, map, 0, true),
        Value::Array(items) if !items.is_empty() => write_seq(&mut out, items, 0),
        scalar => {
            write_inline(&mut out, scalar);
            out.push('\n');
        }
    }
    out
}

/// Writes `value` as canonical JSON: keys sorted, two-space indentation,
/// trailing newline; line separators and bidirectional controls in strings
/// are written as `\uXXXX` escapes (the same string to every reader), so a
/// reviewer sees in the file what a program reads from it.
///
/// ```
/// let v = serde_json::json!({"b": 1, "a": [true]});
/// assert_eq!(kiln_model::emit::json(&v), "{\n  \"a\": [\n    true\n  ],\n  \"b\": 1\n}\n");
/// let v = serde_json::json!("a\u{202e}b");
/// assert_eq!(kiln_model::emit::json(&v), "\"a\\u202eb\"\n");
/// ```
pub fn json(value: &Value) -> String {
    // serde_json's Map is a BTreeMap (the `preserve_order` feature is off), so keys come out sorted.
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    // Outside strings JSON is ASCII, and serde_json escapes the other controls.
    let hidden = |c: char| c != '\n' && hidden(c);
    if text.chars().any(hidden) {
        text = text
            .chars()
            .fold(String::with_capacity(text.len() + 16), |mut out, c| {
                if hidden(c) {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                } else {
                    out.push(c);
                }
                out
            });
    }
    text.push('\n');
    text
}

/// `s` as it may be shown on a terminal, in a CI log or in a pull-request
/// comment, on one line: every control character but tab (newline, carriage
/// return and NEL included), the Unicode line and paragraph separators, and
/// the bidirectional controls that reorder what a reader sees (Trojan
/// Source) are written as escapes (`\u{a}`). So text from a pull request
/// can never start a line of kiln's output, where GitHub Actions would obey
/// it as a command (`::error::`, `::add-mask::`). Every name and value from
/// a pull request passes through this before kiln prints it.
///
/// ```
/// use kiln_model::emit::printable;
/// assert_eq!(printable("a\u{1b}[31mb"), "a\\u{1b}[31mb");
/// assert_eq!(printable("x\n::error::forged"), "x\\u{a}::error::forged");
/// assert_eq!(printable("x\u{2028}y\u{202e}z"), "x\\u{2028}y\\u{202e}z");
/// assert_eq!(printable("plain ✓\ttab"), "plain ✓\ttab");
/// ```
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(hidden) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if hidden(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Whether [`printable`] escapes `c`: controls but tab, line and paragraph
/// separators, and bidirectional marks, embeddings, overrides and isolates.
pub fn hidden(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{061c}'
                | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// The length of `value` as compact JSON, without building the text.
///
/// ```
/// let v = serde_json::json!({"a": [1, "x"]});
/// assert_eq!(kiln_model::emit::json_len(&v), serde_json::to_string(&v).unwrap().len() as u64);
/// ```
pub fn json_len(value: &Value) -> u64 {
    struct Count(u64);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to a counter cannot fail, and a Value always serializes.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

fn ordered_keys(map: &Map<String, Value>, top: bool) -> Vec<&String> {
    let mut keys: Vec<&String> = map.keys().collect();
    if top {
        keys.sort_by_key(|k| {
            (
                LEADING_KEYS
                    .iter()
                    .position(|lead| lead == k)
                    .unwrap_or(LEADING_KEYS.len()),
                k.as_str(),
            )
        });
    }
    keys
}

fn indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push_str("  ");
    }
}

/// A block mapping at `level`; the caller has already positioned the cursor
/// (start of line, or after `- ` for the first key of a sequence item).
fn write_map(out: &mut String, map: &Map<String, Value>, level: usize, top: bool) {
    for (i, key) in ordered_keys(map, top).into_iter().enumerate() {
        if i > 0 {
            indent(out, level);
        }
        write_string(out, key);
        out.push(':');
        write_child(out, &map[key], level + 1);
    }
}

fn write_seq(out: &mut String, items: &[Value], level: usize) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            indent(out, level);
        }
        out.push_str("- ");
        match item {
            Value::Object(map) if !map.is_empty() => write_map(out, map, level + 1, false),
            Value::Array(inner) if !inner.is_empty() => write_seq(out, inner, level + 1),
            Value::String(s) if block_literal(s).is_some() => {
                out.pop(); // write_block_literal supplies its own leading space
                write_block(out, s, level + 1);
            }
            scalar => {
                write_inline(out, scalar);
                out.push('\n');
            }
        }
    }
}

/// The value after `key:`, nested at `level`.
fn write_child(out: &mut String, value: &Value, level: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            indent(out, level);
            write_map(out, map, level, false);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            indent(out, level);
            write_seq(out, items, level);
        }
        Value::String(s) if block_literal(s).is_some() => write_block(out, s, level),
        scalar => {
            out.push(' ');
            write_inline(out, scalar);
            out.push('\n');
        }
    }
}

/// Scalars and empty collections, on the current line.
fn write_inline(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number(n)),
        Value::String(s) => write_string(out, s),
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
    }
}

/// Numbers as every YAML reader parses them back: YAML 1.1 floats need a `.`
/// in the mantissa and a sign on the exponent (`1e5` would be a string there).
fn number(n: &serde_json::Number) -> String {
    let text = n.to_string();
    if n.is_f64() {
        let (mantissa, exponent) = match text.split_once(['e', 'E']) {
            Some((m, e)) => (m.to_string(), Some(e.to_string())),
            None => (text.clone(), None),
        };
        let mantissa = if mantissa.contains('.') {
            mantissa
        } else {
            format!("{mantissa}.0")
        };
        return match exponent {
            Some(e) if e.starts_with(['-', '+']) => format!("{mantissa}e{e}"),
            Some(e) => format!("{mantissa}e+{e}"),
            None => mantissa,
        };
    }
    text
}

fn write_string(out: &mut String, s: &str) {
    if is_plain_safe(s) {
        out.push_str(s);
    } else {
        write_double_quoted(out, s);
    }
}

/// The chomping indicator for a string written as a literal block, or `None`
/// when the string must be double-quoted instead.
fn block_literal(s: &str) -> Option<&'static str> {
    if !s.contains('\n') || s.starts_with([' ', '\n']) {
        return None;
    }
    let printable = s
        .chars()
        .all(|c| c == '\n' || (!needs_escape(c) && c != '\t'));
    // Trailing blanks on a line are invisible and yamllint rejects them: quote instead.
    let clean_lines = s.split('\n').all(|line| !line.ends_with([' ', '\t']));
    if !printable || !clean_lines {
        return None;
    }
    let body = s.trim_end_matches('\n');
    if body.is_empty() {
        return None;
    }
    match s.len() - body.len() {
        0 => Some("|-"),
        1 => Some("|"),
        _ => Some("|+"),
    }
}

fn write_block(out: &mut String, s: &str, level: usize) {
    let chomp = block_literal(s).unwrap_or("|");
    out.push(' ');
    out.push_str(chomp);
    out.push('\n');
    let body = s.strip_suffix('\n').unwrap_or(s);
    for line in body.split('\n') {
        if !line.is_empty() {
            indent(out, level);
            out.push_str(line);
        }
        out.push('\n');
    }
}

fn needs_escape(c: char) -> bool {
    hidden(c) || c == '\u{feff}'
}

fn write_double_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Words YAML 1.1 or 1.2 reads as null or a boolean (case variants included).
const RESERVED_WORDS: [&str; 22] = [
    "null", "Null", "NULL", "~", "true", "True", "TRUE", "false", "False", "FALSE", "yes", "Yes",
    "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF",
];

/// Whether `s` can stand unquoted and still be read back as this exact string
/// by YAML 1.1 and 1.2 readers alike. Deliberately conservative: anything that
/// starts like a number (`1.12.1`, `0777`, `12:30`, `2024-01-01`, `1_000`,
/// `.5`, `-1`, `+1`, `.inf`) is quoted, as is anything with YAML syntax in it.
pub(crate) fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if RESERVED_WORDS.contains(&s) || s.len() == 1 && matches!(first, 'y' | 'Y' | 'n' | 'N') {
        return false;
    }
    if matches!(s, "<<" | "=") {
        return false;
    }
    let starts_numeric = first.is_ascii_digit()
        || (matches!(first, '-' | '+' | '.')
            && s[1..]
                .starts_with(|c: char| c.is_ascii_digit() || c == '.' || c == 'i' || c == 'I'))
        || (first == '.' && s[1..].starts_with(['n', 'N', 'i', 'I']));
    if starts_numeric {
        return false;
    }
    const INDICATORS: &str = "-?:,[]{}#&*!|>'\"%@`";
    if INDICATORS.contains(first) {
        // `-`, `?` and `:` are plain-safe when followed by a non-space, but
        // quoting them too keeps the rule simple and the output unambiguous.
        return false;
    }
    if s.ends_with([' ', ':']) || s.starts_with(' ') {
        return false;
    }
    if s.contains(": ") || s.contains(" #") || s.contains(['\t', '\n', '\r']) {
        return false;
    }
    // Flow indicators are fine in block context, but quoting keeps readers of every vintage happy.
    if s.contains(['{', '}', '[', ']', ',']) {
        return false;
    }
    !s.chars().any(needs_escape)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn yaml_1_1_look_alikes_are_quoted() {
        for s in [
            "on",
            "yes",
            "no",
            "y",
            "n",
            "off",
            "Y",
            "NO",
            "true",
            "null",
            "~",
            "12:30",
            "1_000",
            "0777",
            "0x1F",
            "2024-01-01",
            "1.12.1",
            "1e5",
            ".5",
            "-1",
            "+1",
            ".inf",
            ".NaN",
            "<<",
            "=",
            "",
            " lead",
            "trail ",
            "a: b",
            "a #b",
            "#c",
            "- x",
            "@x",
            "*a",
            "&a",
            "!t",
            "%x",
            "`x",
            "x:",
            "{a}",
            "[a]",
            "a,b",
        ] {
            assert!(!is_plain_safe(s), "{s:?} must be quoted");
        }
    }

    #[test]
    fn ordinary_words_stay_plain() {
        for s in [
            "production",
            "portkey-gateway",
            "/v1/health",
            "app.kubernetes.io/name",
            "portkeyai/gateway:v1",
            "RuntimeDefault",
            "max-age=31536000; includeSubDomains",
            "yesterday",
            "online",
        ] {
            assert!(is_plain_safe(s), "{s:?} should stay plain");
        }
    }

    #[test]
    fn emits_block_style_with_leading_kubernetes_keys() {
        let doc = json!({
            "spec": {"ports": [{"name": "http", "port": 8787}], "empty": {}, "none": []},
            "metadata": {"name": "x", "labels": {"a": "b"}},
            "kind": "Service",
            "apiVersion": "v1",
        });
        assert_eq!(
            yaml(&doc),
            "apiVersion: v1\nkind: Service\nmetadata:\n  labels:\n    a: b\n  name: x\n\
             spec:\n  empty: {}\n  none: []\n  ports:\n    - name: http\n      port: 8787\n"
        );
    }

    #[test]
    fn multi_line_strings_become_literal_blocks() {
        let doc = json!({"data": {"a.json": "{\n  \"k\": 1\n}\n", "b": "x\ny", "c": "x\n\n"}});
        assert_eq!(
            yaml(&doc),
            "data:\n  a.json: |\n    {\n      \"k\": 1\n    }\n  b: |-\n    x\n    y\n  c: |+\n    x\n\n"
        );
    }

    #[test]
    fn nested_sequences_and_block_items() {
        let doc = json!({"a": [[1, 2], ["x\ny"], [], {}]});
        assert_eq!(
            yaml(&doc),
            "a:\n  - - 1\n    - 2\n  - - |-\n      x\n      y\n  - []\n  - {}\n"
        );
    }

    #[test]
    fn floats_read_back_as_floats_in_yaml_1_1() {
        assert_eq!(
            number(&serde_json::Number::from_f64(1e100).unwrap()),
            "1.0e+100"
        );
        assert_eq!(number(&serde_json::Number::from_f64(2.5).unwrap()), "2.5");
        assert_eq!(number(&serde_json::Number::from_f64(-3.0).unwrap()), "-3.0");
        assert_eq!(number(&serde_json::Number::from(7)), "7");
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            (-1e12f64..1e12).prop_map(|f| json!(f)),
            "\\PC{0,12}".prop_map(Value::String),
            "[ -~\n\t]{0,16}".prop_map(Value::String),
            prop::sample::select(vec![
                "on",
                "off",
                "yes",
                "12:30",
                "0777",
                "1_000",
                "2001-12-14",
                "~",
                "- a",
                "a: b",
                "x\n",
                "\n",
                "\n\nx",
                " x\ny",
                "a \nb",
                "é\u{2028}",
                "\u{feff}",
                "\u{85}",
            ])
            .prop_map(|s| Value::String(s.to_string())),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map("\\PC{0,8}", inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Everything the emitter writes parses back (YAML 1.2 reader) to the same value.
        #[test]
        fn round_trips_through_a_yaml_reader(value in arb_json()) {
            let text = yaml(&value);
            let back: Value = serde_yaml::from_str(&text)
                .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            prop_assert_eq!(back, value, "emitted:\n{}", text);
        }

        /// Canonical: the bytes do not depend on the order keys were inserted in.
        #[test]
        fn output_is_independent_of_insertion_order(pairs in prop::collection::vec(("[a-z]{1,6}", "[a-z0-9:]{0,6}"), 0..12)) {
            let forward: Map<String, Value> = pairs.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
            let backward: Map<String, Value> = pairs.iter().rev().map(|(k, v)| (k.clone(), json!(v))).collect();
            // Later duplicates win in both maps only if keys are unique; compare on unique keys.
            let unique: std::collections::BTreeSet<_> = pairs.iter().map(|(k, _)| k).collect();
            prop_assume!(unique.len() == pairs.len());
            prop_assert_eq!(yaml(&Value::Object(forward)), yaml(&Value::Object(backward)));
        }
    }
}
