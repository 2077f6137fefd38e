//! JavaScript values as `JSON.parse` makes them. serde_json's `Value` cannot
//! stand in: JavaScript reads `1e400` as `Infinity` and keeps a lone
//! surrogate (`"\ud800"`) in a string, and requests carry both.

use std::collections::BTreeMap;
use std::fmt;

/// A JavaScript string: UTF-16 code units, any sequence of them (a lone
/// surrogate included).
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JsString(Vec<u16>);

impl JsString {
    /// The code units.
    pub fn units(&self) -> &[u16] {
        &self.0
    }

    /// The string as Rust text, each lone surrogate as U+FFFD.
    pub fn to_string_lossy(&self) -> String {
        String::from_utf16_lossy(&self.0)
    }
}

impl From<&str> for JsString {
    fn from(s: &str) -> Self {
        JsString(s.encode_utf16().collect())
    }
}

impl From<Vec<u16>> for JsString {
    fn from(units: Vec<u16>) -> Self {
        JsString(units)
    }
}

impl fmt::Debug for JsString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Lone surrogates shown as `\u{d800}`, everything else as Rust's Debug.
        f.write_str("\"")?;
        for c in char::decode_utf16(self.0.iter().copied()) {
            match c {
                Ok(c) => write!(f, "{}", c.escape_debug())?,
                Err(lone) => write!(f, "\\u{{{:x}}}", lone.unpaired_surrogate())?,
            }
        }
        f.write_str("\"")
    }
}

/// An object's own properties. Lookups are all the router does, so key order
/// (which JavaScript keeps) does not matter; a repeated key keeps its last value.
pub type Object = BTreeMap<JsString, Value>;

/// A value `JSON.parse` returns.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A double: `1e400` is `Infinity`, `-0` stays negative zero.
    Number(f64),
    /// A string of UTF-16 code units.
    String(JsString),
    /// An array.
    Array(Vec<Value>),
    /// An object.
    Object(Object),
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.into())
    }
}

impl From<&serde_json::Value> for Value {
    fn from(v: &serde_json::Value) -> Self {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(s) => Value::from(s.as_str()),
            serde_json::Value::Array(items) => {
                Value::Array(items.iter().map(Value::from).collect())
            }
            serde_json::Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (JsString::from(k.as_str()), Value::from(v)))
                    .collect(),
            ),
        }
    }
}

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Self {
        Value::from(&v)
    }
}
