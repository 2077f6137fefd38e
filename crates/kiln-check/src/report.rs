//! Findings as text (for people), JSON (`kiln.check/v1`, for scripts) and
//! SARIF 2.1.0 (for code-scanning upload, e.g. GitHub's).

use super::{Finding, RULES, Rule, Severity};
use kiln_model::emit::Color;
use serde_json::{Value, json};
use std::path::Path;
use url::Url;

/// Counts of unsuppressed errors, warnings and notes, and of suppressed findings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Errors no suppression covers.
    pub errors: usize,
    /// Warnings no suppression covers.
    pub warnings: usize,
    /// Notes no suppression covers.
    pub notes: usize,
    /// Findings a suppression covers.
    pub suppressed: usize,
}

/// Counts `findings` by severity.
pub fn summary(findings: &[Finding]) -> Summary {
    let mut s = Summary::default();
    for f in findings {
        match (f.suppressed.is_some(), f.severity()) {
            (true, _) => s.suppressed += 1,
            (false, Severity::Error) => s.errors += 1,
            (false, Severity::Warning) => s.warnings += 1,
            (false, Severity::Note) => s.notes += 1,
        }
    }
    s
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        write!(
            f,
            "{}, {}, {}, {} suppressed",
            plural(self.errors, "error"),
            plural(self.warnings, "warning"),
            plural(self.notes, "note"),
            self.suppressed
        )
    }
}

/// Findings grouped by file and object, then a summary line, painted as `color` says.
pub fn text(findings: &[Finding], color: Color) -> String {
    let paint = |code: &str, s: &str| {
        if color == Color::Ansi {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let mut out = String::new();
    let mut group = None;
    for f in findings {
        let here = (&f.file, &f.object);
        if group != Some(here) {
            out.push_str(&format!(
                "{}: {}\n",
                paint("1", &f.file.display().to_string()),
                f.object
            ));
            group = Some(here);
        }
        let level = match (f.suppressed.is_some(), f.severity()) {
            (true, _) => paint("2", "suppressed"),
            (false, Severity::Error) => paint("1;31", "error"),
            (false, Severity::Warning) => paint("1;33", "warning"),
            (false, Severity::Note) => paint("1;36", "note"),
        };
        out.push_str(&format!(
            "  {}:{level}[{}] {}\n",
            f.line, f.rule.id, f.message
        ));
        if !f.pointer.is_empty() {
            out.push_str(&format!("      at {}\n", f.pointer));
        }
        match &f.suppressed {
            Some(reason) => out.push_str(&format!("      reason: {reason}\n")),
            None => out.push_str(&format!("      help: {}\n", f.rule.help)),
        }
    }
    out.push_str(&format!("{}\n", summary(findings)));
    out
}

fn finding_json(f: &Finding) -> Value {
    json!({
        "rule": f.rule.id,
        "severity": f.severity().as_str(),
        "file": uri(f),
        "line": f.line,
        "object": {"kind": f.object.kind, "namespace": f.object.namespace, "name": f.object.name},
        "pointer": f.pointer,
        "message": f.message,
        "help": f.rule.help,
        "suppressed": f.suppressed,
    })
}

/// `kiln.check/v1`: `{version, summary: {errors, warnings, notes, suppressed}, findings: [...]}`.
pub fn json(findings: &[Finding]) -> Value {
    let s = summary(findings);
    json!({
        "version": "kiln.check/v1",
        "summary": {"errors": s.errors, "warnings": s.warnings, "notes": s.notes, "suppressed": s.suppressed},
        "findings": findings.iter().map(finding_json).collect::<Vec<_>>(),
    })
}

/// Forward slashes, as SARIF's URIs and every platform's CI want.
fn uri(f: &Finding) -> String {
    f.file.to_string_lossy().replace('\\', "/")
}

fn rule_json(r: &Rule) -> Value {
    json!({
        "id": r.id,
        "shortDescription": {"text": r.summary},
        "help": {"text": r.help},
        "defaultConfiguration": {"level": r.severity.as_str()},
    })
}

/// The base of relative artifact URIs in SARIF (code scanning services map it
/// to the checkout).
const SRCROOT: &str = "SRCROOT";

/// Where a finding's file is: relative to `base` (with `uriBaseId`) when it is
/// inside it, else an absolute `file://` URI (percent-encoding by `url`).
fn artifact_location(f: &Finding, base: &Path, base_uri: Option<&Url>) -> Value {
    let file = Url::from_file_path(base.join(&f.file));
    let relative = base_uri
        .zip(file.as_ref().ok())
        .and_then(|(b, u)| b.make_relative(u));
    match (relative, file) {
        (Some(rel), _) if !rel.starts_with("../") => json!({"uri": rel, "uriBaseId": SRCROOT}),
        (_, Ok(uri)) => json!({"uri": uri.as_str()}),
        (_, Err(())) => json!({"uri": uri(f)}),
    }
}

/// A SARIF 2.1.0 log with one run of kiln: every rule, and one result per
/// finding located by file and line (the JSON pointer is in `properties`).
/// Files are URIs relative to `base` (an absolute directory, the run's
/// `SRCROOT`) when they are inside it, others absolute `file://` URIs. Suppressed findings carry
/// an `external` suppression with the reason.
///
/// ```
/// use kiln_check::{Manifest, check, report};
/// let pod = serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
///     "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
/// let findings = check(&[Manifest::new("/work/repo/k8s/pod.yaml", pod)]);
/// let log = report::sarif(&findings, std::path::Path::new("/work/repo"));
/// let location = &log["runs"][0]["results"][0]["locations"][0]["physicalLocation"];
/// assert_eq!(location["artifactLocation"]["uri"], "k8s/pod.yaml");
/// assert_eq!(location["artifactLocation"]["uriBaseId"], "SRCROOT");
/// assert_eq!(log["runs"][0]["originalUriBaseIds"]["SRCROOT"]["uri"], "file:///work/repo/");
/// ```
pub fn sarif(findings: &[Finding], base: &Path) -> Value {
    let base_uri = Url::from_directory_path(base).ok();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let mut result = json!({
                "ruleId": f.rule.id,
                "ruleIndex": RULES.iter().position(|r| r.id == f.rule.id).unwrap_or_default(),
                "level": f.severity().as_str(),
                "message": {"text": format!("{}: {}", f.object, f.message)},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": artifact_location(f, base, base_uri.as_ref()),
                        "region": {"startLine": f.line},
                    },
                    "logicalLocations": [{
                        "name": f.object.name,
                        "fullyQualifiedName": f.object.to_string(),
                        "kind": "resource",
                    }],
                }],
                "properties": {"pointer": f.pointer},
            });
            if let Some(reason) = &f.suppressed {
                result["suppressions"] = json!([{"kind": "external", "justification": reason}]);
            }
            result
        })
        .collect();
    let mut run = json!({
        "tool": {"driver": {
            "name": "kiln",
            "version": env!("CARGO_PKG_VERSION"),
            "informationUri": env!("CARGO_PKG_REPOSITORY"),
            "rules": RULES.iter().map(|r| rule_json(r)).collect::<Vec<_>>(),
        }},
        "results": results,
    });
    if let Some(b) = &base_uri {
        run["originalUriBaseIds"] = json!({SRCROOT: {"uri": b.as_str()}});
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [run],
    })
}
