//! The JavaScript semantics Portkey's conditional router applies to JSON
//! values: strict equality (`===`), `String(v)`, `parseFloat(v)` and
//! `new RegExp(p).test(s)` (ECMAScript regular expressions without flags,
//! matched over UTF-16 code units, through the `regress` crate), on values
//! as [`parse`] (`JSON.parse`) makes them. A value that is absent is
//! JavaScript's `undefined`: `None`.

mod json;
mod value;

pub use json::{ParseError, header_json, parse};
pub use value::{JsString, Object, Value};

/// `a === b` for values read from JSON: objects and arrays are never equal
/// (each JSON.parse makes new ones), numbers compare as doubles.
pub fn strict_eq(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(Value::Null), Some(Value::Null)) => true,
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x == y,
        (Some(Value::Number(x)), Some(Value::Number(y))) => x == y,
        (Some(Value::String(x)), Some(Value::String(y))) => x == y,
        _ => false,
    }
}

/// `String(v)`.
///
/// ```
/// use kiln_model::js::{parse, to_string, JsString};
/// let string = |json: &str| to_string(Some(&parse(json).unwrap()));
/// assert_eq!(to_string(None), JsString::from("undefined"));
/// assert_eq!(string("1.0"), JsString::from("1"));
/// assert_eq!(string("1e400"), JsString::from("Infinity"));
/// assert_eq!(string(r#"[1, null, [2, "a"]]"#), JsString::from("1,,2,a"));
/// assert_eq!(string(r#"{"a": 1}"#), JsString::from("[object Object]"));
/// ```
pub fn to_string(v: Option<&Value>) -> JsString {
    let mut units = Vec::new();
    write_string(v, &mut units);
    units.into()
}

fn write_string(v: Option<&Value>, out: &mut Vec<u16>) {
    let text = |out: &mut Vec<u16>, s: &str| out.extend(s.encode_utf16());
    match v {
        None => text(out, "undefined"),
        Some(Value::Null) => text(out, "null"),
        Some(Value::Bool(b)) => text(out, if *b { "true" } else { "false" }),
        Some(Value::Number(n)) => text(out, &number_to_string(*n)),
        Some(Value::String(s)) => out.extend_from_slice(s.units()),
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(u16::from(b','));
                }
                if *item != Value::Null {
                    write_string(Some(item), out);
                }
            }
        }
        Some(Value::Object(_)) => text(out, "[object Object]"),
    }
}

/// ECMAScript's Number::toString: the shortest digits that read back as
/// `x`, in positional form from 1e-6 to below 1e21, else in exponent form.
///
/// ```
/// use kiln_model::js::number_to_string;
/// assert_eq!(number_to_string(1e21), "1e+21");
/// assert_eq!(number_to_string(123456789012345680000.0), "123456789012345680000");
/// assert_eq!(number_to_string(0.000001), "0.000001");
/// assert_eq!(number_to_string(1e-7), "1e-7");
/// assert_eq!(number_to_string(-2.5), "-2.5");
/// assert_eq!(number_to_string(0.1 + 0.2), "0.30000000000000004");
/// ```
pub fn number_to_string(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if x < 0.0 {
        return format!("-{}", number_to_string(-x));
    }
    // Rust's `{:e}` gives the shortest round-trip digits: d.ddd e exp.
    let formatted = format!("{x:e}");
    let (mantissa, exp) = formatted.split_once('e').unwrap_or((&formatted, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let k = digits.len() as i64;
    let n = exp.parse::<i64>().unwrap_or(0) + 1;
    if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let sign = if n - 1 < 0 { '-' } else { '+' };
        let e = (n - 1).abs();
        match digits.split_at(1) {
            (d, "") => format!("{d}e{sign}{e}"),
            (d, rest) => format!("{d}.{rest}e{sign}{e}"),
        }
    }
}

/// The characters `parseFloat` skips at the start (WhiteSpace and LineTerminator).
fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

/// `parseFloat(String(v))`.
pub fn parse_float(v: Option<&Value>) -> f64 {
    // parseFloat reads only white space, signs, digits and `Infinity`: a lone
    // surrogate stops it wherever it is, as U+FFFD does.
    parse_float_str(&to_string(v).to_string_lossy())
}

/// `parseFloat(s)`: the longest decimal literal at the start of `s` (after
/// white space); NaN if there is none.
///
/// ```
/// use kiln_model::js::parse_float_str;
/// assert_eq!(parse_float_str("  42.5kg"), 42.5);
/// assert_eq!(parse_float_str("1e3"), 1000.0);
/// assert_eq!(parse_float_str("-.5e-1x"), -0.05);
/// assert_eq!(parse_float_str("Infinityx"), f64::INFINITY);
/// assert!(parse_float_str("inf").is_nan());
/// assert_eq!(parse_float_str("0x10"), 0.0);
/// assert_eq!(parse_float_str("1e"), 1.0);
/// ```
pub fn parse_float_str(s: &str) -> f64 {
    let s = s.trim_start_matches(is_js_space);
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'-') => (-1.0, &s[1..]),
        Some(b'+') => (1.0, &s[1..]),
        _ => (1.0, s),
    };
    if rest.starts_with("Infinity") {
        return sign * f64::INFINITY;
    }
    let bytes = rest.as_bytes();
    let digits = |from: usize| {
        bytes[from..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let int = digits(0);
    let mut end = int;
    let mut frac = 0;
    if bytes.get(end) == Some(&b'.') {
        frac = digits(end + 1);
        if int > 0 || frac > 0 {
            end += 1 + frac;
        }
    }
    if int == 0 && frac == 0 {
        return f64::NAN;
    }
    if matches!(bytes.get(end), Some(b'e' | b'E')) {
        let sign_len = usize::from(matches!(bytes.get(end + 1), Some(b'+' | b'-')));
        let exp = digits(end + 1 + sign_len);
        if exp > 0 {
            end += 1 + sign_len + exp;
        }
    }
    sign * rest[..end].parse::<f64>().unwrap_or(f64::NAN)
}

/// Whether `pattern` is an ECMAScript regular expression without flags
/// (what `new RegExp(pattern)` accepts).
pub fn regex_compiles(pattern: &str) -> bool {
    regress::Regex::with_flags(pattern, "").is_ok()
}

/// `new RegExp(pattern).test(text)`: `None` when the pattern does not compile.
///
/// ```
/// use kiln_model::js::{regex_test, JsString};
/// assert_eq!(regex_test("^\\p{L}$", &"p{L}".into()), Some(true)); // no `u` flag: `\p` is just `p`
/// assert_eq!(regex_test("^.$", &"😀".into()), Some(false)); // one UTF-16 code unit per `.`
/// assert_eq!(regex_test("^.$", &JsString::from(vec![0xd800])), Some(true)); // a lone surrogate
/// assert_eq!(regex_test("(?i)abc", &"abc".into()), None);
/// ```
pub fn regex_test(pattern: &str, text: &JsString) -> Option<bool> {
    let re = regress::Regex::with_flags(pattern, "").ok()?;
    Some(re.find_from_ucs2(text.units(), 0).next().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> Value {
        parse(text).expect("JSON")
    }

    #[test]
    fn strict_equality_follows_javascript() {
        assert!(strict_eq(Some(&json("1")), Some(&json("1.0"))));
        assert!(strict_eq(Some(&json("-0")), Some(&json("0"))));
        assert!(strict_eq(Some(&json("1e400")), Some(&json("2e400"))));
        assert!(!strict_eq(Some(&json(r#""1""#)), Some(&json("1"))));
        assert!(!strict_eq(Some(&json("[1]")), Some(&json("[1]"))));
        assert!(!strict_eq(Some(&json("{}")), Some(&json("{}"))));
        assert!(strict_eq(Some(&json("null")), Some(&json("null"))));
        assert!(!strict_eq(None, Some(&json("null"))));
    }

    #[test]
    fn parse_float_reads_values_through_their_string() {
        assert_eq!(parse_float(Some(&json("[5, 6]"))), 5.0);
        assert!(parse_float(Some(&json("true"))).is_nan());
        assert!(parse_float(None).is_nan());
        assert!(parse_float(Some(&json(r#"{"a": 1}"#))).is_nan());
        assert_eq!(parse_float(Some(&json(r#""\u00a07""#))), 7.0);
        assert_eq!(parse_float(Some(&json("-1e400"))), f64::NEG_INFINITY);
        assert_eq!(parse_float(Some(&json(r#""12\ud8003""#))), 12.0);
    }
}
