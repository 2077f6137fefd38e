//! `kiln check`: rules that find, before a cluster does, the defects of a
//! GitOps tree — pods that Pod Security `restricted` would reject, references
//! between resources that lead nowhere, fields no Kubernetes type has,
//! floating images and secrets in plain text.
//!
//! The rules run on [`Manifest`]s, documents with where they came from: a
//! rendered environment's (the pipeline makes them) or any YAML files'.
//! [`check`] returns [`Finding`]s sorted by file, line and rule; [`report`]
//! prints them as text, JSON or SARIF. Every rule is listed in [`RULES`]
//! with a stable ID.
//!
//! ```
//! use kiln_check::{self as check, Manifest};
//! let pod = serde_json::json!({
//!     "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
//!     "spec": {"hostNetwork": true, "containers": [{"name": "web", "image": "nginx"}]},
//! });
//! let findings = check::check(&[Manifest::new("pod.yaml", pod)]);
//! assert!(findings.iter().any(|f| f.rule.id == "pss-host-namespaces"));
//! assert!(findings.iter().any(|f| f.rule.id == "image-tag"));
//! ```

mod config_refs;
mod disruption;
mod hygiene;
mod object;
mod pss;
mod references;
pub mod report;
mod schema;

pub use hygiene::is_credential;
pub use kiln_model::finding::{Finding, ObjectRef, has_errors};
pub use kiln_model::rules::{RULES, Rule, Severity, rule};
pub use kiln_model::suppress::{Declared, Suppression};

use object::Object;
use serde_json::Value;
use std::path::PathBuf;

/// One Kubernetes document to check, with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    file: PathBuf,
    line: usize,
    text: Option<String>,
    value: Value,
    /// Written from a typed object (a kiln render): its core kind already is
    /// its Kubernetes type, so the schema rule need not read it back. Only
    /// [`Manifest::rendered`] sets it: a document read from a file is always checked.
    from_typed: bool,
}

impl Manifest {
    /// The file (relative to the repository or the working directory).
    pub fn file(&self) -> &std::path::Path {
        &self.file
    }

    /// 1-based line of the file where the document starts.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The document's own text, used to turn JSON pointers into lines.
    pub fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }

    /// The document. Read-only: a rendered manifest's schema was proven by
    /// its type, which a changed value would no longer be.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// A document with no source text (findings then point at line 1).
    pub fn new(file: impl Into<PathBuf>, value: Value) -> Manifest {
        Manifest {
            file: file.into(),
            line: 1,
            text: None,
            value,
            from_typed: false,
        }
    }

    /// A document read from `file`, starting at `line`, with its own `text`.
    pub fn read(
        file: impl Into<PathBuf>,
        line: usize,
        text: Option<String>,
        value: Value,
    ) -> Manifest {
        Manifest {
            line,
            text,
            ..Manifest::new(file, value)
        }
    }

    /// A document kiln wrote from a typed object (its render), as `text`.
    pub fn rendered(file: impl Into<PathBuf>, text: String, value: Value) -> Manifest {
        Manifest {
            line: 2,
            text: Some(text),
            from_typed: true,
            ..Manifest::new(file, value)
        }
    }
}

/// Runs every rule over `manifests` (references are resolved among them) and
/// returns the findings sorted by file, line, pointer and rule.
pub fn check(manifests: &[Manifest]) -> Vec<Finding> {
    let objects: Vec<Object> = manifests.iter().map(Object::new).collect();
    let mut out = Findings::default();
    for o in &objects {
        schema::check(o, &mut out);
        if o.kind.is_empty() {
            continue;
        }
        if let Some(pod) = &o.pod {
            pss::check(o, pod, &mut out);
            hygiene::pod(o, pod, &mut out);
        }
        hygiene::object(o, &mut out);
    }
    references::check(&objects, &mut out);
    disruption::check(&objects, &mut out);
    let mut findings = out.0;
    findings.sort_by(|a, b| {
        (&a.file, a.line, &a.pointer, a.rule.id).cmp(&(&b.file, b.line, &b.pointer, b.rule.id))
    });
    findings.dedup();
    findings
}

/// Marks each finding a suppression covers (same rule, same kind and name)
/// with its reason. Returns the suppressions of kiln rules that covered nothing.
pub fn apply_suppressions<'a>(
    findings: &mut [Finding],
    suppressions: &'a [Declared],
) -> Vec<&'a Declared> {
    let mut unused = Vec::new();
    for d in suppressions.iter().filter(|d| !d.suppression.is_checkov()) {
        let s = &d.suppression;
        let (kind, name) = s.target();
        let mut used = false;
        for f in findings.iter_mut() {
            if f.rule.id == s.rule && f.object.kind == kind && f.object.name == name {
                f.suppressed = Some(s.reason.clone());
                used = true;
            }
        }
        if !used {
            unused.push(d);
        }
    }
    unused
}

/// Collects findings; the rules push into it.
#[derive(Default)]
pub(crate) struct Findings(Vec<Finding>);

impl Findings {
    pub(crate) fn push(
        &mut self,
        rule: &'static Rule,
        o: &Object,
        pointer: impl Into<String>,
        message: impl Into<String>,
    ) {
        let pointer = pointer.into();
        let m = o.manifest;
        let line = m.text.as_deref().map_or(m.line, |text| {
            m.line + kiln_model::parse::line_of(text, &pointer).saturating_sub(1)
        });
        let object = o.reference();
        // Names and values in manifests may carry control characters: never print them raw.
        let shown = |s: &str| kiln_model::emit::printable(s).into_owned();
        self.0.push(Finding {
            rule,
            file: kiln_model::printable_path(m.file.clone()),
            line,
            object: ObjectRef {
                kind: shown(&object.kind),
                namespace: object.namespace.as_deref().map(shown),
                name: shown(&object.name),
            },
            pointer: shown(&pointer),
            message: shown(&message.into()),
            suppressed: None,
        });
    }
}

pub(crate) use kiln_model::pointer::join as pointer_join;
