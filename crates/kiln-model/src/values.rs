//! Checks of single values that several parts of the model share (names,
//! host names, labels, paths, durations, quantities, CIDRs), each giving a
//! [`Problem`] at the value's JSON pointer.

use crate::rules::Severity;

/// A problem at a place in an input file (a description, an overlay, a
/// strategy): how bad, its JSON pointer, and what is wrong. (What a rule of
/// `kiln check` finds in a Kubernetes object is a [`crate::finding::Finding`].)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// An error stops the render; a warning is reported.
    pub severity: Severity,
    /// Where, as a JSON pointer into the input (`/route/hosts/0`).
    pub pointer: String,
    /// What is wrong and what was expected.
    pub message: String,
}

impl Problem {
    /// An error at `pointer`.
    pub fn new(pointer: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            severity: Severity::Error,
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

/// Adds a problem of `severity` at `pointer` to `out`.
pub(crate) fn push(
    out: &mut Vec<Problem>,
    severity: Severity,
    pointer: impl Into<String>,
    message: impl Into<String>,
) {
    out.push(Problem {
        severity,
        pointer: pointer.into(),
        message: message.into(),
    });
}

/// A DNS label (RFC 1123): at most 63 lower-case letters, digits and `-`.
pub fn dns_label(at: &str, s: &str) -> Option<Problem> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    (!ok).then(|| {
        Problem::new(at, format!(
                "`{s}` is not a valid name: expected at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit"
            ))
    })
}

/// A label or annotation key: optional DNS prefix and `/`, then a name of at most 63 characters.
pub fn qualified_name(at: &str, s: &str) -> Option<Problem> {
    let (prefix, name) = match s.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    let prefix_ok = prefix.is_none_or(|p| hostname("", p).is_none());
    let ok = prefix_ok && label_value("", name).is_none() && !name.is_empty();
    (!ok).then(|| {
        Problem::new(at, format!("`{s}` is not a valid key: [prefix/]name, name at most 63 letters, digits, '-', '_', '.'"))
    })
}

/// A Kubernetes label value: at most 63 letters, digits, `-`, `_`, `.`.
pub fn label_value(at: &str, s: &str) -> Option<Problem> {
    let ok = s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && (s.is_empty()
            || (s.starts_with(|c: char| c.is_ascii_alphanumeric())
                && s.ends_with(|c: char| c.is_ascii_alphanumeric())));
    (!ok).then(|| {
        Problem::new(
            at,
            format!("`{s}` is not a valid label value: at most 63 letters, digits, '-', '_', '.'"),
        )
    })
}

/// A lower-case DNS host name, optionally a wildcard (`*.example.com`).
pub fn hostname(at: &str, s: &str) -> Option<Problem> {
    let body = s.strip_prefix("*.").unwrap_or(s);
    let ok =
        !body.is_empty() && s.len() <= 253 && body.split('.').all(|l| dns_label("", l).is_none());
    (!ok).then(|| {
        Problem::new(at, format!("`{s}` is not a valid host name (lower-case DNS name, optionally starting with `*.`)"))
    })
}

/// An environment variable name: letters, digits and `_`, not starting with a digit.
pub fn env_name(at: &str, s: &str) -> Option<Problem> {
    let ok = s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    (!ok).then(|| {
        Problem::new(
            at,
            format!("`{s}` is not a valid environment variable name (letters, digits, '_')"),
        )
    })
}

/// A clean absolute path: starts with `/`, no `.`, `..` or `//`.
pub fn abs_path(at: &str, s: &str) -> Option<Problem> {
    let ok = s.starts_with('/')
        && !s.split('/').any(|c| c == ".." || c == ".")
        && !s.contains("//")
        && (s == "/" || !s.ends_with('/'))
        && !s.chars().any(|c| c.is_whitespace() || c.is_control());
    (!ok).then(|| {
        Problem::new(
            at,
            format!("`{s}` is not a clean absolute path (starts with '/', no '.', '..' or '//')"),
        )
    })
}

/// A Prometheus/Go duration such as `30s`, `1h`, `1h30m`.
pub fn duration(at: &str, s: &str) -> Option<Problem> {
    let mut rest = s;
    let mut parts = 0;
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let after = &rest[digits..];
        let unit = ["ms", "s", "m", "h", "d", "w", "y"]
            .into_iter()
            .find(|u| after.starts_with(u));
        match (digits, unit) {
            (1.., Some(u)) => {
                rest = &after[u.len()..];
                parts += 1;
            }
            _ => {
                parts = 0;
                break;
            }
        }
    }
    (parts == 0).then(|| {
        Problem::new(
            at,
            format!("`{s}` is not a duration: expected e.g. 30s, 5m, 1h30m"),
        )
    })
}

/// A Kubernetes resource quantity such as `100m`, `256Mi`, `1.5`, `1e3`.
pub fn quantity(at: &str, s: &str) -> Option<Problem> {
    let number_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(number_end);
    let number_ok = !number.is_empty()
        && number.matches('.').count() <= 1
        && number.chars().any(|c| c.is_ascii_digit());
    let suffix_ok = matches!(
        suffix,
        "" | "m" | "k" | "M" | "G" | "T" | "P" | "E" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei"
    ) || suffix.strip_prefix(['e', 'E']).is_some_and(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
    });
    (!(number_ok && suffix_ok)).then(|| {
        Problem::new(
            at,
            format!("`{s}` is not a Kubernetes quantity: expected e.g. 100m, 0.5, 256Mi, 1Gi"),
        )
    })
}

/// A UUID as Azure writes client IDs: `8-4-4-4-12` hex digits.
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.chars().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// An IPv4 CIDR (`10.0.0.0/8`).
pub fn is_cidr(s: &str) -> bool {
    let Some((ip, bits)) = s.split_once('/') else {
        return false;
    };
    ip.parse::<std::net::Ipv4Addr>().is_ok() && bits.parse::<u8>().is_ok_and(|b| b <= 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_checks() {
        assert!(quantity("", "100m").is_none());
        assert!(quantity("", "1.5Gi").is_none());
        assert!(quantity("", "1e3").is_none());
        assert!(quantity("", "256MB").is_some());
        assert!(quantity("", "").is_some());
        assert!(duration("", "30s").is_none());
        assert!(duration("", "1h30m").is_none());
        assert!(duration("", "30").is_some());
        assert!(duration("", "s").is_some());
        assert!(hostname("", "portkey.peekoff.com").is_none());
        assert!(hostname("", "*.peekoff.com").is_none());
        assert!(hostname("", "Portkey.com").is_some());
        assert!(hostname("", "a..b").is_some());
        assert!(abs_path("", "/v1/health").is_none());
        assert!(abs_path("", "v1/health").is_some());
        assert!(abs_path("", "/a/../b").is_some());
        assert!(env_name("", "NPM_CONFIG_CACHE").is_none());
        assert!(env_name("", "1X").is_some());
        assert!(dns_label("", "portkey").is_none());
        assert!(dns_label("", "Portkey").is_some());
    }
}
