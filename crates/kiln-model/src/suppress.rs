//! Suppressions: a finding a team accepts, for one rule on one resource,
//! with the reason written down. Declared under `suppress:` in the base
//! description or an overlay; shown in every report, never silent.
//!
//! A rule ID of checkov (`CKV_K8S_43`) is not a kiln rule: kiln writes it
//! into the resource as checkov's own `checkov.io/skipN` annotation, reason
//! included, so checkov shows the skip and why.

use crate::error::{InputError, Result, closest};
use crate::rules::{RULES, rule};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// One accepted finding, as written in the description or an overlay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suppression {
    /// A kiln rule ID (`kiln check --list-rules`), or a checkov check ID (`CKV_K8S_43`).
    pub rule: String,
    /// `Kind/name` of the rendered resource, e.g. `Deployment/portkey-gateway`.
    pub resource: String,
    /// Why this is acceptable here; shown with the finding.
    pub reason: String,
}

/// A suppression and where it was declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    /// The file (`base/service.yaml`, `overlays/<env>/overlay.yaml`).
    pub file: PathBuf,
    /// Its JSON pointer there (`/suppress/0`).
    pub pointer: String,
    /// The suppression.
    pub suppression: Suppression,
}

impl Suppression {
    /// A checkov check ID rather than a kiln rule.
    pub fn is_checkov(&self) -> bool {
        self.rule.starts_with("CKV_") || self.rule.starts_with("CKV2_")
    }

    /// `(kind, name)` of `resource`.
    pub fn target(&self) -> (&str, &str) {
        self.resource
            .split_once('/')
            .unwrap_or(("", &self.resource))
    }

    /// Checks the fields: a known rule, `Kind/name`, a real reason.
    pub fn validate(&self, file: &std::path::Path, pointer: &str) -> Result<()> {
        let fail = |field: &str, message: String, help: Option<String>| {
            Err(InputError::new(file, message)
                .at(format!("{pointer}/{field}"))
                .with_help(help)
                .into())
        };
        let checkov_id = self.rule.split('_').count() == 3
            && self
                .rule
                .rsplit('_')
                .next()
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if self.is_checkov() && !checkov_id {
            return fail(
                "rule",
                format!("`{}` is not a checkov check ID like CKV_K8S_43", self.rule),
                None,
            );
        }
        if !self.is_checkov() && rule(&self.rule).is_none() {
            let ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
            let help = closest(&self.rule, ids.iter().copied())
                .map(|c| format!("did you mean `{c}`?"))
                .or_else(|| Some("`kiln check --list-rules` lists the rules".into()));
            return fail("rule", format!("unknown rule `{}`", self.rule), help);
        }
        let (kind, name) = self.target();
        if kind.is_empty() || name.is_empty() || name.contains('/') {
            return fail(
                "resource",
                format!("`{}` is not `Kind/name`", self.resource),
                Some("e.g. `Deployment/portkey-gateway`".into()),
            );
        }
        if self.reason.trim().len() < 10 {
            return fail(
                "reason",
                "a suppression needs a reason (a sentence: why is this acceptable here?)".into(),
                None,
            );
        }
        Ok(())
    }
}
