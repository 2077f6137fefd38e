//! JSON pointers (RFC 6901): how every error and finding names a place in a
//! document, built and read one way (the `jsonptr` crate does the escaping).

use std::fmt::Display;

/// `base` with one more segment, escaped (`~` as `~0`, `/` as `~1`).
///
/// ```
/// use kiln_model::pointer::join;
/// assert_eq!(join("/metadata/annotations", "a/b~c"), "/metadata/annotations/a~1b~0c");
/// assert_eq!(join("", 0), "/0");
/// ```
pub fn join(base: &str, segment: impl Display) -> String {
    let segment = segment.to_string();
    format!("{base}/{}", jsonptr::Token::new(segment.as_str()).encoded())
}

/// The unescaped segments of `pointer` (none for `""` or `/`).
///
/// ```
/// use kiln_model::pointer::segments;
/// assert_eq!(segments("/a~1b/0"), ["a/b", "0"]);
/// ```
pub fn segments(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .filter(|s| !s.is_empty() || pointer.len() > 1)
        .map(|s| {
            jsonptr::Token::from_encoded(s)
                .map(|t| t.decoded().into_owned())
                .unwrap_or_else(|_| s.to_string())
        })
        .collect()
}
