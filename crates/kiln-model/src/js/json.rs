//! `JSON.parse`: the gateway reads the `x-portkey-metadata` header and the
//! request body with it, so `kiln route` reads them the same way — numbers
//! beyond a double are `Infinity` (or 0), `\ud800` is a lone surrogate, a
//! repeated key keeps its last value.

use crate::js::value::{JsString, Object, Value};
use std::fmt;

/// Arrays and objects nested deeper than this are refused (the gateway's own
/// limit is its stack; no request in practice comes near either).
const MAX_DEPTH: usize = 1000;

/// Why a text is not JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    offset: usize,
    expected: &'static str,
}

impl ParseError {
    /// The byte offset where reading stopped (0-based, as V8 counts positions in ASCII text).
    pub fn offset(&self) -> usize {
        self.offset
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at position {}: expected {}", self.offset, self.expected)
    }
}

impl std::error::Error for ParseError {}

/// Parses `text` as JavaScript's `JSON.parse` does.
///
/// ```
/// use kiln_model::js::{parse, Value};
/// assert_eq!(parse("1e400"), Ok(Value::Number(f64::INFINITY)));
/// let Ok(Value::String(s)) = parse(r#""\ud800x""#) else { panic!() };
/// assert_eq!(s.units(), [0xd800, u16::from(b'x')]);
/// assert!(parse("{\"a\": 1,}").is_err());
/// ```
pub fn parse(text: &str) -> Result<Value, ParseError> {
    let mut reader = Reader {
        bytes: text.as_bytes(),
        at: 0,
    };
    let value = reader.value(0)?;
    reader.skip_space();
    if reader.at < reader.bytes.len() {
        return Err(reader.fail("the end of the text"));
    }
    Ok(value)
}

/// `v` as compact JSON in ASCII, for a header: Node.js reads a header's
/// bytes as Latin-1, so a raw UTF-8 `é` would arrive as `Ã©`, while
/// `\u00e9` arrives as `é` (and is what `JSON.parse` reads back).
///
/// ```
/// use kiln_model::js::header_json;
/// let v = serde_json::json!({"région": "é😀"});
/// assert_eq!(header_json(&v), r#"{"r\u00e9gion":"\u00e9\ud83d\ude00"}"#);
/// ```
pub fn header_json(v: &serde_json::Value) -> String {
    let mut out = String::new();
    for c in v.to_string().chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            for unit in c.encode_utf16(&mut [0; 2]) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

struct Reader<'t> {
    bytes: &'t [u8],
    at: usize,
}

impl Reader<'_> {
    fn fail(&self, expected: &'static str) -> ParseError {
        ParseError {
            offset: self.at,
            expected,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, b: u8, expected: &'static str) -> Result<(), ParseError> {
        self.skip_space();
        if self.peek() == Some(b) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.fail(expected))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, ParseError> {
        self.skip_space();
        if depth > MAX_DEPTH {
            return Err(self.fail("at most 1000 nested arrays and objects"));
        }
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().map(Value::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => {
                for (word, value) in [
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                ] {
                    if self.bytes[self.at..].starts_with(word.as_bytes()) {
                        self.at += word.len();
                        return Ok(value);
                    }
                }
                Err(self.fail("a JSON value"))
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, ParseError> {
        self.at += 1;
        let mut object = Object::new();
        self.skip_space();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(Value::Object(object));
        }
        loop {
            self.skip_space();
            if self.peek() != Some(b'"') {
                return Err(self.fail("a key in double quotes"));
            }
            let key = self.string()?;
            self.eat(b':', "`:`")?;
            let value = self.value(depth + 1)?;
            object.insert(key, value);
            self.skip_space();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(Value::Object(object));
                }
                _ => return Err(self.fail("`,` or `}`")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, ParseError> {
        self.at += 1;
        let mut items = Vec::new();
        self.skip_space();
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            self.skip_space();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.fail("`,` or `]`")),
            }
        }
    }

    /// A number literal, read as the nearest double (out of range: ±Infinity or ±0).
    fn number(&mut self) -> Result<Value, ParseError> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek() {
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.fail("a digit")),
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            self.required_digits()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            self.required_digits()?;
        }
        let literal = std::str::from_utf8(&self.bytes[start..self.at]).unwrap_or_default();
        // Rust's parser rounds to nearest like ECMAScript's and overflows to infinity.
        literal
            .parse::<f64>()
            .map(Value::Number)
            .map_err(|_| self.fail("a number"))
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
    }

    fn required_digits(&mut self) -> Result<(), ParseError> {
        if !matches!(self.peek(), Some(b'0'..=b'9')) {
            return Err(self.fail("a digit"));
        }
        self.digits();
        Ok(())
    }

    fn string(&mut self) -> Result<JsString, ParseError> {
        self.at += 1;
        let mut units = Vec::new();
        loop {
            let start = self.at;
            while matches!(self.peek(), Some(b) if b >= 0x20 && b != b'"' && b != b'\\') {
                self.at += 1;
            }
            // The text is UTF-8 and a run stops only at ASCII bytes, so the run is whole characters.
            let run = std::str::from_utf8(&self.bytes[start..self.at]).unwrap_or_default();
            units.extend(run.encode_utf16());
            match self.peek() {
                Some(b'"') => {
                    self.at += 1;
                    return Ok(units.into());
                }
                Some(b'\\') => {
                    self.at += 1;
                    units.push(self.escape()?);
                }
                Some(_) => {
                    return Err(self.fail("no control character in a string (write it as \\u00XX)"));
                }
                None => return Err(self.fail("`\"` closing the string")),
            }
        }
    }

    fn escape(&mut self) -> Result<u16, ParseError> {
        let unit = match self.peek() {
            Some(b'"') => u16::from(b'"'),
            Some(b'\\') => u16::from(b'\\'),
            Some(b'/') => u16::from(b'/'),
            Some(b'b') => 0x08,
            Some(b'f') => 0x0c,
            Some(b'n') => u16::from(b'\n'),
            Some(b'r') => u16::from(b'\r'),
            Some(b't') => u16::from(b'\t'),
            Some(b'u') => {
                let hex = self
                    .bytes
                    .get(self.at + 1..self.at + 5)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
                    .and_then(|h| u16::from_str_radix(h, 16).ok())
                    .ok_or_else(|| self.fail("four hex digits after \\u"))?;
                self.at += 5;
                return Ok(hex);
            }
            _ => return Err(self.fail("an escape: \\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX")),
        };
        self.at += 1;
        Ok(unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    #[test]
    fn numbers_are_doubles_as_javascript_reads_them() {
        assert_eq!(parse("-1e400"), Ok(Value::Number(f64::NEG_INFINITY)));
        assert_eq!(parse("1e-400"), Ok(Value::Number(0.0)));
        let Ok(Value::Number(z)) = parse("-0") else {
            panic!()
        };
        assert!(z == 0.0 && z.is_sign_negative());
        assert_eq!(
            parse("9007199254740993"),
            Ok(Value::Number(9007199254740992.0))
        );
        for bad in ["01", "1.", ".5", "+1", "1e", "-", "0x10", "Infinity", "NaN"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn strings_keep_every_code_unit() {
        let Ok(Value::String(s)) = parse(r#""\udc00\ud83d\ude00é\u00E9\/""#) else {
            panic!()
        };
        let mut expected = vec![0xdc00];
        expected.extend(units("😀éé/"));
        assert_eq!(s.units(), expected);
        assert!(parse("\"a\tb\"").is_err(), "a raw tab");
        assert!(parse(r#""\x41""#).is_err());
        assert!(parse(r#""\u12""#).is_err());
        assert!(parse("\"open").is_err());
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value() {
        let Ok(Value::Object(o)) = parse(r#"{"a": 1, "a": [true, null]}"#) else {
            panic!()
        };
        assert_eq!(
            o.get(&JsString::from("a")),
            Some(&Value::Array(vec![Value::Bool(true), Value::Null]))
        );
    }

    #[test]
    fn only_json_white_space_and_one_value() {
        assert!(parse(" \t\r\n{} ").is_ok());
        assert!(parse("\u{a0}{}").is_err());
        assert!(parse("{} {}").is_err());
        assert!(parse("[1,]").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = "[".repeat(MAX_DEPTH + 2);
        let err = parse(&deep).expect_err("too deep");
        assert_eq!(err.offset(), MAX_DEPTH + 1);
        let fine = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&fine).is_ok());
    }
}
