//! What a change does to every environment: resources added, removed,
//! changed or renamed, each with a unified diff of its canonical YAML (and,
//! for an environment that renders files rather than resources, each file).
//! The sides come from `out/`, from renders, or from two repositories
//! ([`between`]: only environments whose inputs differ are rendered); the
//! reports ([`text`], [`markdown`], [`json()`]) say a change that several
//! environments share once, with the environments it is in.
//!
//! Secrets never leak into a diff: values under a Secret's `data` and
//! `stringData`, and under an ExternalSecret's `spec.template` maps, are
//! replaced by `<redacted>` (or `<redacted: changed>`) before diffing, so a
//! reviewer sees *that* a secret changed, never what it is.

mod report;
mod revisions;
mod sides;

pub use report::{COMMENT_LIMIT, COMMENT_MARKER, Group, groups, json, markdown, text};
pub use revisions::{against_out, revisions};
pub use sides::{between, snapshot, snapshot_of_out};

use kiln_model::emit::printable;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// The output of each environment: environment → its files.
pub type Snapshot = BTreeMap<String, Vec<Item>>;

/// One file of an environment's output, as a diff compares it. Files are
/// matched by name and compared as text; a Kubernetes object whose values
/// may be secret is read and compared as canonical YAML with those values
/// redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Its name in `out/<env>/` (for an item made from a document, one
    /// derived from the document's identity).
    pub file: String,
    /// What it is: a resource's identity, or for a plain file (Azure
    /// Container Apps' `terraform.tfvars.json`) its name alone.
    pub id: ResourceId,
    /// Its contents.
    pub text: String,
}

impl From<Value> for Item {
    /// A Kubernetes object as kiln would write it.
    fn from(doc: Value) -> Item {
        let id = ResourceId::of(&doc);
        Item {
            file: format!(
                "{}_{}_{}_{}.yaml",
                id.api_version, id.kind, id.namespace, id.name
            ),
            text: kiln_model::emit::yaml(&doc),
            id,
        }
    }
}

impl Item {
    /// A plain file, compared as text.
    pub fn file(name: &str, text: String) -> Item {
        Item {
            file: name.to_string(),
            id: ResourceId {
                name: name.to_string(),
                ..ResourceId::default()
            },
            text,
        }
    }

    /// Whether some of its values may be secret, so that it must be read to
    /// be redacted.
    fn may_hold_secrets(&self) -> bool {
        let kind = &self.id.kind;
        matches!(
            kind.as_str(),
            "Secret" | "ExternalSecret" | "ClusterExternalSecret"
        ) || kind.ends_with("List")
    }

    /// Its document. Rendered text is kiln's own, and out/ was read with the
    /// strict reader already.
    fn doc(&self) -> Value {
        kiln_model::parse::own_yaml(&self.text).unwrap_or(Value::Null)
    }

    /// The text compared: the file without kiln's header comment.
    fn body(&self) -> &str {
        self.text
            .strip_prefix(crate::emit::HEADER)
            .unwrap_or(&self.text)
    }
}

const REDACTED: &str = "<redacted>";
const REDACTED_CHANGED: &str = "<redacted: changed>";

/// A resource's identity (a file's: its name alone).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct ResourceId {
    /// apiVersion.
    pub api_version: String,
    /// kind.
    pub kind: String,
    /// metadata.namespace (empty for cluster-scoped objects).
    pub namespace: String,
    /// metadata.name.
    pub name: String,
}

impl ResourceId {
    /// The identity of document `doc`.
    pub fn of(doc: &Value) -> ResourceId {
        let s = |p: &str| {
            doc.pointer(p)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        ResourceId {
            api_version: s("/apiVersion"),
            kind: s("/kind"),
            namespace: s("/metadata/namespace"),
            name: s("/metadata/name"),
        }
    }

    /// What a content-hash rename keeps: apiVersion, kind, namespace and stem.
    fn rename_key(&self) -> (&str, &str, &str, &str) {
        (&self.api_version, &self.kind, &self.namespace, self.stem())
    }

    /// The name without a content-hash suffix (`-` and 10 hex digits), which renames keep.
    fn stem(&self) -> &str {
        match self.name.rsplit_once('-') {
            Some((stem, hash))
                if hash.len() == 10 && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                stem
            }
            _ => &self.name,
        }
    }
}

impl std::fmt::Display for ResourceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kind, name) = (printable(&self.kind), printable(&self.name));
        if kind.is_empty() {
            write!(f, "file {name}")
        } else if self.namespace.is_empty() {
            write!(f, "{kind} {name}")
        } else {
            write!(f, "{kind} {}/{name}", printable(&self.namespace))
        }
    }
}

/// How a resource changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeKind {
    /// Only in the new render.
    Added,
    /// Only in the old render.
    Removed,
    /// In both, different.
    Changed,
    /// The same resource under a new content-hash name (and so changed).
    Renamed {
        /// The old identity.
        from: ResourceId,
    },
}

/// One resource's change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// How.
    pub kind: ChangeKind,
    /// The resource (its new identity for renames).
    pub id: ResourceId,
    /// Unified diff of the canonical YAML, secrets redacted.
    pub diff: String,
}

/// Changes in one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvDiff {
    /// Environment name.
    pub env: String,
    /// Changed resources, sorted by identity; unchanged ones are left out.
    pub changes: Vec<Change>,
}

impl EnvDiff {
    fn count(&self, pick: fn(&ChangeKind) -> bool) -> usize {
        self.changes.iter().filter(|c| pick(&c.kind)).count()
    }

    /// (added, changed (renames included), removed).
    pub fn counts(&self) -> (usize, usize, usize) {
        (
            self.count(|k| matches!(k, ChangeKind::Added)),
            self.count(|k| matches!(k, ChangeKind::Changed | ChangeKind::Renamed { .. })),
            self.count(|k| matches!(k, ChangeKind::Removed)),
        )
    }
}

/// The whole difference between two snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diff {
    /// Environments with at least one change, sorted by name.
    pub environments: Vec<EnvDiff>,
}

impl Diff {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.environments.is_empty()
    }

    /// Keeps the selected environments' changes only.
    pub fn select(&mut self, selection: &crate::selection::Selection) {
        self.environments.retain(|e| selection.includes(&e.env));
    }
}

/// Compares `old` with `new`, with `context` lines around each change.
///
/// ```
/// use serde_json::json;
/// let cm = |v: &str| json!({"apiVersion": "v1", "kind": "ConfigMap",
///     "metadata": {"name": "c", "namespace": "n"}, "data": {"LOG_LEVEL": v}});
/// let old = kiln::diff::Snapshot::from([("dev".to_string(), vec![cm("info").into()])]);
/// let new = kiln::diff::Snapshot::from([("dev".to_string(), vec![cm("debug").into()])]);
/// let diff = kiln::diff::diff(&old, &new, 3);
/// assert_eq!(diff.environments[0].counts(), (0, 1, 0));
/// assert!(diff.environments[0].changes[0].diff.contains("-  LOG_LEVEL: info\n+  LOG_LEVEL: debug"));
/// ```
pub fn diff(old: &Snapshot, new: &Snapshot, context: usize) -> Diff {
    let envs: Vec<&String> = old
        .keys()
        .chain(new.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let empty = Vec::new();
    let environments = crate::parallel::in_parallel(&envs, |env| EnvDiff {
        env: env.to_string(),
        changes: env_changes(
            old.get(*env).unwrap_or(&empty),
            new.get(*env).unwrap_or(&empty),
            context,
        ),
    })
    .into_iter()
    .filter(|e| !e.changes.is_empty())
    .collect();
    Diff { environments }
}

fn by_file(items: &[Item]) -> BTreeMap<&str, &Item> {
    items.iter().map(|i| (i.file.as_str(), i)).collect()
}

fn env_changes(old: &[Item], new: &[Item], context: usize) -> Vec<Change> {
    let (old, new) = (by_file(old), by_file(new));
    let mut changes = Vec::new();
    let mut added = Vec::new();
    for (file, item) in &new {
        match old.get(file) {
            Some(before) if before.text == item.text => {}
            Some(before) => changes.push(change(
                ChangeKind::Changed,
                Some(before),
                Some(item),
                context,
            )),
            None => added.push(*item),
        }
    }
    // Removed resources by what a content-hash rename keeps: kind, namespace and stem.
    let mut removed: BTreeMap<(&str, &str, &str, &str), Vec<&Item>> = BTreeMap::new();
    for (_, item) in old.iter().filter(|(file, _)| !new.contains_key(*file)) {
        removed.entry(item.id.rename_key()).or_default().push(item);
    }
    for item in added {
        // A hash-suffixed name that replaced one of the same stem is a rename.
        let from = (item.id.stem() != item.id.name)
            .then(|| removed.get_mut(&item.id.rename_key()))
            .flatten()
            .and_then(|items| (!items.is_empty()).then(|| items.remove(0)));
        match from {
            Some(from) => changes.push(change(
                ChangeKind::Renamed {
                    from: from.id.clone(),
                },
                Some(from),
                Some(item),
                context,
            )),
            None => changes.push(change(ChangeKind::Added, None, Some(item), context)),
        }
    }
    for item in removed.into_values().flatten() {
        changes.push(change(ChangeKind::Removed, Some(item), None, context));
    }
    changes.sort_by(|a, b| a.id.cmp(&b.id));
    changes
}

fn change(kind: ChangeKind, old: Option<&Item>, new: Option<&Item>, context: usize) -> Change {
    let id = new.or(old).map(|i| i.id.clone()).unwrap_or_default();
    let from = match &kind {
        ChangeKind::Renamed { from } => from.to_string(),
        _ => id.to_string(),
    };
    let (a, b) = texts(old, new);
    let diff = unified_diff(&a, &b, context, &format!("a/{from}"), &format!("b/{id}"));
    Change { kind, id, diff }
}

/// The texts compared: as written, but where either side's values may be
/// secret, canonical YAML of both with those values redacted.
fn texts(old: Option<&Item>, new: Option<&Item>) -> (String, String) {
    if !old.into_iter().chain(new).any(Item::may_hold_secrets) {
        let body = |i: Option<&Item>| i.map(|i| i.body().to_string()).unwrap_or_default();
        return (body(old), body(new));
    }
    let (mut old_doc, mut new_doc) = (old.map(Item::doc), new.map(Item::doc));
    redact(old_doc.as_mut(), new_doc.as_mut());
    let yaml = |doc: Option<Value>| doc.map(|d| kiln_model::emit::yaml(&d)).unwrap_or_default();
    (yaml(old_doc), yaml(new_doc))
}

/// The most lines of context around a change: more than any rendered file
/// has, and small enough that imara-diff's arithmetic cannot overflow.
pub const MAX_CONTEXT: usize = 100_000;

/// A unified diff of two texts, with `context` lines (at most
/// [`MAX_CONTEXT`]) around each change. imara-diff's histogram algorithm
/// stays near-linear on huge changes (it falls back to a bounded Myers
/// search) and is deterministic.
fn unified_diff(a: &str, b: &str, context: usize, from: &str, to: &str) -> String {
    use imara_diff::{Algorithm, BasicLineDiffPrinter, Diff, InternedInput, UnifiedDiffConfig};
    let input = InternedInput::new(a, b);
    let mut diff = Diff::compute(Algorithm::Histogram, &input);
    diff.postprocess_lines(&input);
    let mut config = UnifiedDiffConfig::default();
    config.context_len(u32::try_from(context.min(MAX_CONTEXT)).unwrap_or(0));
    let body = diff
        .unified_diff(&BasicLineDiffPrinter(&input.interner), config, &input)
        .to_string();
    format!("--- {from}\n+++ {to}\n{body}")
}

/// The maps of `doc` whose values are secret: a Secret's `data` and
/// `stringData` (and the last-applied annotation, which repeats them), an
/// ExternalSecret's target template, and the same inside List kinds.
fn secret_maps(doc: &Value) -> Vec<String> {
    let mut found = Vec::new();
    collect_secret_maps(doc, "", &mut found);
    found
}

fn collect_secret_maps(doc: &Value, at: &str, found: &mut Vec<String>) {
    const LAST_APPLIED: &str =
        "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration";
    let own: &[&str] = match doc["kind"].as_str() {
        Some("Secret") => &["/data", "/stringData", LAST_APPLIED],
        Some("ExternalSecret") => &["/spec/target/template/data", LAST_APPLIED],
        Some("ClusterExternalSecret") => &[
            "/spec/externalSecretSpec/target/template/data",
            LAST_APPLIED,
        ],
        _ => &[],
    };
    found.extend(own.iter().map(|p| format!("{at}{p}")));
    if doc["kind"].as_str().is_some_and(|k| k.ends_with("List")) {
        for (i, item) in doc["items"].as_array().into_iter().flatten().enumerate() {
            collect_secret_maps(item, &format!("{at}/items/{i}"), found);
        }
    }
}

/// Replaces every secret value on both sides: `<redacted>` where old and new
/// agree, `<redacted: changed>` on the new side where they differ. A secret
/// place that holds a single value rather than a map is replaced whole.
fn redact(old: Option<&mut Value>, new: Option<&mut Value>) {
    let pointers: BTreeSet<String> = old
        .as_deref()
        .into_iter()
        .chain(new.as_deref())
        .flat_map(secret_maps)
        .collect();
    let (mut old, mut new) = (old, new);
    for pointer in &pointers {
        let before = old.as_deref().and_then(|d| d.pointer(pointer)).cloned();
        let after = new.as_deref().and_then(|d| d.pointer(pointer)).cloned();
        if let Some(place) = old.as_deref_mut().and_then(|d| d.pointer_mut(pointer)) {
            redact_place(place, |_| true);
        }
        if let Some(place) = new.as_deref_mut().and_then(|d| d.pointer_mut(pointer)) {
            redact_place(place, |key| match key {
                Some(k) => {
                    before.as_ref().and_then(|b| b.get(k)) == after.as_ref().and_then(|a| a.get(k))
                }
                None => before == after,
            });
        }
    }
}

/// Redacts a map's values (or a single value); `same(key)` says whether that one is unchanged.
fn redact_place(place: &mut Value, same: impl Fn(Option<&str>) -> bool) {
    let mark = |same: bool| json!(if same { REDACTED } else { REDACTED_CHANGED });
    match place {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                *v = mark(same(Some(k)));
            }
        }
        other => *other = mark(same(None)),
    }
}
