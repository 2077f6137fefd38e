//! What a change does to every environment: resources added, removed,
//! changed or renamed, each with a unified diff of its canonical YAML.
//!
//! Secrets never leak into a diff: values under a Secret's `data` and
//! `stringData`, and under an ExternalSecret's `spec.template` maps, are
//! replaced by `<redacted>` (or `<redacted: changed>`) before diffing, so a
//! reviewer sees *that* a secret changed, never what it is.

use crate::output::Rendered;
use kiln_model::emit::printable;
use kiln_model::{Error, InputError, Result};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

/// The resources of each environment: environment → documents.
pub type Snapshot = BTreeMap<String, Vec<Value>>;

/// The largest markdown body `kiln diff --format markdown` produces: a GitHub PR comment.
pub const COMMENT_LIMIT: usize = 65_536;

/// First line of every markdown diff, so a CI job can find its earlier comment and update it.
pub const COMMENT_MARKER: &str = "<!-- kiln-diff -->";

const REDACTED: &str = "<redacted>";
const REDACTED_CHANGED: &str = "<redacted: changed>";

/// The documents of rendered environments.
pub fn snapshot(rendered: &[Rendered]) -> Snapshot {
    rendered
        .iter()
        .map(|r| {
            (
                r.env.clone(),
                r.resources.iter().map(|x| x.to_value()).collect(),
            )
        })
        .collect()
}

/// The documents in `out/`: for each `out/<env>/kustomization.yaml`, the files it lists.
/// Directories without a kustomization are not environments and are skipped.
/// `out/` is input a pull request controls: nothing is followed through a
/// symlink, only bounded regular files are read, and errors never quote them.
pub fn snapshot_of_out(out: &Path) -> Result<Snapshot> {
    use crate::safe_fs::{HostileDir, Kind};
    let files = HostileDir::new(out, "out");
    let mut snapshot = Snapshot::new();
    for (name, kind) in files.entries("")?.unwrap_or_default() {
        let kustomization = Path::new(&name).join("kustomization.yaml");
        if name.starts_with('.') || kind != Kind::Dir || files.kind(&kustomization)?.is_none() {
            continue;
        }
        let listing: Value = read_out_yaml(&files, &kustomization)?;
        let mut docs = Vec::new();
        for file in listing["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if file.contains(['/', '\\']) || file.starts_with('.') || file.is_empty() {
                return Err(InputError::new(
                    files.shown(&kustomization),
                    "lists a resource that is not a file of this directory",
                )
                .at("/resources")
                .into());
            }
            docs.push(read_out_yaml(&files, &Path::new(&name).join(file))?);
        }
        snapshot.insert(name, docs);
    }
    Ok(snapshot)
}

/// One YAML file of `out/`, read safely; an error names its place, not its contents.
fn read_out_yaml(files: &crate::safe_fs::HostileDir, rel: &Path) -> Result<Value> {
    let shown = files.shown(rel);
    let Some(text) = files.read_text(rel)? else {
        return Err(
            InputError::new(&shown, "is listed in kustomization.yaml but does not exist").into(),
        );
    };
    kiln_model::parse::yaml(&shown, &text).map_err(|e| match e {
        Error::Input(e) => Error::from(
            e.withhold_content("is not YAML kiln wrote; run `kiln render` to write it again"),
        ),
        other => other,
    })
}

/// A resource's identity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
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
    fn of(doc: &Value) -> ResourceId {
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
        if self.namespace.is_empty() {
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
}

/// Compares `old` with `new`, with `context` lines around each change.
///
/// ```
/// use serde_json::json;
/// let cm = |v: &str| json!({"apiVersion": "v1", "kind": "ConfigMap",
///     "metadata": {"name": "c", "namespace": "n"}, "data": {"LOG_LEVEL": v}});
/// let old = kiln::diff::Snapshot::from([("dev".to_string(), vec![cm("info")])]);
/// let new = kiln::diff::Snapshot::from([("dev".to_string(), vec![cm("debug")])]);
/// let diff = kiln::diff::diff(&old, &new, 3);
/// assert_eq!(diff.environments[0].counts(), (0, 1, 0));
/// assert!(diff.environments[0].changes[0].diff.contains("-  LOG_LEVEL: info\n+  LOG_LEVEL: debug"));
/// ```
pub fn diff(old: &Snapshot, new: &Snapshot, context: usize) -> Diff {
    let envs: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let empty = Vec::new();
    let mut environments = Vec::new();
    for env in envs {
        let changes = env_changes(
            old.get(env).unwrap_or(&empty),
            new.get(env).unwrap_or(&empty),
            context,
        );
        if !changes.is_empty() {
            environments.push(EnvDiff {
                env: env.clone(),
                changes,
            });
        }
    }
    Diff { environments }
}

fn env_changes(old: &[Value], new: &[Value], context: usize) -> Vec<Change> {
    let index = |docs: &[Value]| -> BTreeMap<ResourceId, Value> {
        docs.iter()
            .map(|d| (ResourceId::of(d), d.clone()))
            .collect()
    };
    let (old, new) = (index(old), index(new));
    // Removed resources by what a content-hash rename keeps: kind, namespace and stem.
    let mut removed: BTreeMap<(&str, &str, &str, &str), Vec<&ResourceId>> = BTreeMap::new();
    for id in old.keys().filter(|id| !new.contains_key(*id)) {
        removed.entry(id.rename_key()).or_default().push(id);
    }
    let mut changes = Vec::new();
    for (id, doc) in &new {
        match old.get(id) {
            Some(before) if before == doc => {}
            Some(before) => changes.push(change(
                ChangeKind::Changed,
                id,
                Some(before),
                Some(doc),
                context,
            )),
            None => {
                // A hash-suffixed name that replaced one of the same stem is a rename.
                let from = (id.stem() != id.name)
                    .then(|| removed.get_mut(&id.rename_key()))
                    .flatten()
                    .and_then(|ids| (!ids.is_empty()).then(|| ids.remove(0)));
                match from {
                    Some(from) => changes.push(change(
                        ChangeKind::Renamed { from: from.clone() },
                        id,
                        old.get(from),
                        Some(doc),
                        context,
                    )),
                    None => changes.push(change(ChangeKind::Added, id, None, Some(doc), context)),
                }
            }
        }
    }
    for id in removed.into_values().flatten() {
        changes.push(change(ChangeKind::Removed, id, old.get(id), None, context));
    }
    changes.sort_by(|a, b| a.id.cmp(&b.id));
    changes
}

fn change(
    kind: ChangeKind,
    id: &ResourceId,
    old: Option<&Value>,
    new: Option<&Value>,
    context: usize,
) -> Change {
    let (mut old, mut new) = (old.cloned(), new.cloned());
    redact(old.as_mut(), new.as_mut());
    let text = |d: &Option<Value>| d.as_ref().map(kiln_model::emit::yaml).unwrap_or_default();
    let (a, b) = (text(&old), text(&new));
    let from = match &kind {
        ChangeKind::Renamed { from } => from.to_string(),
        _ => id.to_string(),
    };
    let diff = unified_diff(&a, &b, context, &format!("a/{from}"), &format!("b/{id}"));
    Change {
        kind,
        id: id.clone(),
        diff,
    }
}

/// A unified diff of two texts, with `context` lines around each change.
/// imara-diff's histogram algorithm stays near-linear on huge changes (it
/// falls back to a bounded Myers search) and is deterministic.
fn unified_diff(a: &str, b: &str, context: usize, from: &str, to: &str) -> String {
    use imara_diff::{Algorithm, BasicLineDiffPrinter, Diff, InternedInput, UnifiedDiffConfig};
    let input = InternedInput::new(a, b);
    let mut diff = Diff::compute(Algorithm::Histogram, &input);
    diff.postprocess_lines(&input);
    let mut config = UnifiedDiffConfig::default();
    config.context_len(u32::try_from(context).unwrap_or(u32::MAX));
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

/// Unified diffs, one per changed resource, grouped by environment; colored for a terminal.
pub fn text(diff: &Diff, color: bool) -> String {
    let paint = |line: &str| -> String {
        if !color {
            return line.to_string();
        }
        let code = match line.as_bytes().first() {
            Some(b'+') if !line.starts_with("+++") => "32",
            Some(b'-') if !line.starts_with("---") => "31",
            Some(b'@') => "36",
            _ => return line.to_string(),
        };
        format!("\x1b[{code}m{line}\x1b[0m")
    };
    let mut out = String::new();
    for env in &diff.environments {
        let (a, c, r) = env.counts();
        let _ = writeln!(
            out,
            "=== {}: {a} added, {c} changed, {r} removed",
            printable(&env.env)
        );
        for change in &env.changes {
            let _ = writeln!(out, "--- {}", headline(change));
            for line in change.diff.lines() {
                let _ = writeln!(out, "{}", paint(line));
            }
        }
    }
    out
}

fn headline(change: &Change) -> String {
    match &change.kind {
        ChangeKind::Added => format!("added {}", change.id),
        ChangeKind::Removed => format!("removed {}", change.id),
        ChangeKind::Changed => format!("changed {}", change.id),
        ChangeKind::Renamed { from } => {
            format!(
                "renamed {} → {} (content changed)",
                from,
                printable(&change.id.name)
            )
        }
    }
}

/// A pull-request comment: a summary table, then every resource in a
/// collapsible block. At most `limit` characters: the largest diffs are cut
/// first, and the comment says which.
pub fn markdown(diff: &Diff, limit: usize) -> String {
    let mut head = format!("{COMMENT_MARKER}\n### kiln diff\n\n");
    if diff.is_empty() {
        head.push_str("No changes to any environment.\n");
        return head;
    }
    head.push_str("| environment | added | changed | removed |\n|---|---:|---:|---:|\n");
    for env in &diff.environments {
        let (a, c, r) = env.counts();
        let _ = writeln!(
            head,
            "| {} | {a} | {c} | {r} |",
            escape(&printable(&env.env))
        );
    }
    head.push('\n');

    // Every block, in order; the largest are dropped (to a one-line note) until the comment fits.
    let block = |env: &str, change: &Change, body: bool| -> String {
        let title = format!(
            "<details><summary><code>{}</code> {}</summary>\n\n",
            escape(&printable(env)),
            escape(&headline(change))
        );
        if body {
            let fence = if change.diff.contains("```") {
                "~~~~"
            } else {
                "```"
            };
            format!("{title}{fence}diff\n{}{fence}\n</details>\n", change.diff)
        } else {
            format!(
                "{title}_diff left out to fit the comment ({} lines)_\n</details>\n",
                change.diff.lines().count()
            )
        }
    };
    let all: Vec<(&str, &Change)> = diff
        .environments
        .iter()
        .flat_map(|e| e.changes.iter().map(move |c| (e.env.as_str(), c)))
        .collect();
    // Each block is built once at each size; cutting the largest first keeps a running total.
    let lengths: Vec<(usize, usize)> = all
        .iter()
        .map(|(e, c)| (block(e, c, true).len(), block(e, c, false).len()))
        .collect();
    let mut full: Vec<bool> = vec![true; all.len()];
    let mut by_size: Vec<usize> = (0..all.len()).collect();
    by_size.sort_by_key(|i| std::cmp::Reverse(all[*i].1.diff.len()));
    let note_room = 200;
    let mut size = head.len() + note_room + lengths.iter().map(|(long, _)| long).sum::<usize>();
    let mut cut = 0;
    for i in by_size {
        if size <= limit {
            break;
        }
        full[i] = false;
        size = size - lengths[i].0 + lengths[i].1;
        cut += 1;
    }
    let mut out = head.clone();
    if cut > 0 {
        let _ = writeln!(
            out,
            "> {cut} of {} diffs were left out to fit the {limit}-character limit, largest first; run `kiln diff` locally for all of them.\n",
            all.len()
        );
    }
    for ((env, change), f) in all.iter().zip(&full) {
        out.push_str(&block(env, change, *f));
    }
    if out.len() > limit {
        // Even the summaries do not fit: keep the table and say so.
        out = head;
        let _ = writeln!(
            out,
            "> Too many changes to list within {limit} characters; run `kiln diff` locally."
        );
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Machine-readable form; the schema is documented in the README and stable.
pub fn json(diff: &Diff) -> Value {
    let id = |id: &ResourceId| json!({"apiVersion": id.api_version, "kind": id.kind, "namespace": id.namespace, "name": id.name});
    json!({
        "schema": "kiln.diff/v1",
        "changed": !diff.is_empty(),
        "environments": diff.environments.iter().map(|e| {
            let (a, c, r) = e.counts();
            json!({
                "name": e.env,
                "added": a, "changed": c, "removed": r,
                "resources": e.changes.iter().map(|ch| {
                    let (kind, from) = match &ch.kind {
                        ChangeKind::Added => ("added", None),
                        ChangeKind::Removed => ("removed", None),
                        ChangeKind::Changed => ("changed", None),
                        ChangeKind::Renamed { from } => ("renamed", Some(id(from))),
                    };
                    let mut v = json!({"change": kind, "resource": id(&ch.id), "diff": ch.diff});
                    if let Some(from) = from {
                        v["from"] = from;
                    }
                    v
                }).collect::<Vec<_>>(),
            })
        }).collect::<Vec<_>>(),
    })
}
