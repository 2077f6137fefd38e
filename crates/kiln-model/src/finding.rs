//! Findings of `kiln check` as plain data; the rules that make them are in
//! `kiln-check`, their IDs and severities in [`crate::rules`].

use crate::rules::{Rule, Severity};
use std::path::PathBuf;

/// One problem a rule found in a Kubernetes object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule that found it.
    pub rule: &'static Rule,
    /// The file of the document.
    pub file: PathBuf,
    /// 1-based line of the offending value, as near as the source allows.
    pub line: usize,
    /// The object (kind, namespace, name).
    pub object: ObjectRef,
    /// JSON pointer of the offending value inside the document.
    pub pointer: String,
    /// What is wrong, in this object.
    pub message: String,
    /// Why the finding is accepted, if a suppression covers it.
    pub suppressed: Option<String>,
}

impl Finding {
    /// The finding's severity (its rule's).
    pub fn severity(&self) -> Severity {
        self.rule.severity
    }

    /// An error that no suppression covers.
    pub fn is_blocking(&self) -> bool {
        self.severity() == Severity::Error && self.suppressed.is_none()
    }
}

/// Which object a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectRef {
    /// `kind`, empty if the document has none.
    pub kind: String,
    /// `metadata.namespace`, if set.
    pub namespace: Option<String>,
    /// `metadata.name`, empty if unset.
    pub name: String,
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.kind.is_empty() {
            "document"
        } else {
            &self.kind
        };
        match &self.namespace {
            Some(ns) => write!(f, "{kind} {ns}/{}", self.name),
            None => write!(f, "{kind} {}", self.name),
        }
    }
}

/// True when any finding is an error no suppression covers.
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(Finding::is_blocking)
}
