//! `kiln import`: an existing deployment of the gateway into a kiln
//! repository, with proof of what changed.
//!
//! The input is recognised resource by resource into a description (and
//! strategy files), the repository is rendered with it in memory, and kiln's
//! render is compared with what the input produced: every field imported,
//! every input value or resource left out, every credential found in plain
//! text (where, never the value), and every difference, classified (kiln's
//! hardening, a correction, kiln's conventions, renames). Nothing is written
//! until [`Import::write`], and that only creates files.

mod compare;
mod document;
mod external;
mod helm;
mod helm_values;
mod kustomize;
mod kustomize_resources;
mod report;

pub use compare::{Departure, Why};
pub use helm::helm;
pub use kustomize::kustomize;
pub use report::{markdown, text};

use crate::diff::{Diff, ResourceId};
use crate::error::{Error, Result};
use kiln_model::layout::{BASE_DIR, DEFAULT_BASE, OVERLAY_FILE, OVERLAYS_DIR, STRATEGIES_DIR};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What `kiln import` asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The repository to import into: a new one (the directory may not exist
    /// or must be empty) gets `base/service.yaml`; an existing one an overlay.
    pub into: PathBuf,
    /// The environment the import becomes (`overlays/<env>/`).
    pub env: String,
    /// Whether building a kustomize tree may fetch its remote resources.
    pub network: Network,
    /// The Helm release of Portkey's chart the environment takes over in
    /// place (`kiln import helm --release`): its Deployments keep the chart's
    /// selector labels. Only for chart values.
    pub adopt: Option<String>,
    /// Portkey's chart (a directory or `.tgz`), for chart values: rendered with
    /// `helm template` (Helm on `PATH`, no network) and compared with kiln's
    /// render, resource by resource.
    pub chart: Option<PathBuf>,
}

/// Whether `kubectl kustomize` may reach the network for a tree's remote
/// resources (`https://…`, `github.com/…?ref=…`). A tree comes from a pull
/// request as often as not: off unless asked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Network {
    /// Remote resources fail the build, at once.
    #[default]
    Off,
    /// Remote resources are fetched (within the build's time limit).
    On,
}

/// One description field imported, and where its value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// JSON pointer into the description.
    pub to: String,
    /// The input resource and the JSON pointer of the value in it.
    pub from: String,
}

/// An input value or resource kiln does not take, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftOut {
    /// The input resource and pointer.
    pub at: String,
    /// Why, and what to do.
    pub advice: String,
}

/// An import: recognised, rendered and compared; nothing written yet. Its
/// parts are read-only, so what [`Import::write`] creates is what was
/// rendered and compared.
#[derive(Debug, Clone)]
pub struct Import {
    env: String,
    source: String,
    files: BTreeMap<String, String>,
    fields: Vec<Field>,
    left_out: Vec<LeftOut>,
    plain_secrets: Vec<String>,
    renamed: Vec<(ResourceId, ResourceId)>,
    diff: Option<Diff>,
    differences: Vec<Departure>,
    root: PathBuf,
}

impl Import {
    /// The environment it becomes.
    pub fn env(&self) -> &str {
        &self.env
    }

    /// What the input was (for the report).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The files [`Import::write`] creates, repository-relative, with their contents.
    pub fn files(&self) -> &BTreeMap<String, String> {
        &self.files
    }

    /// Every description field imported.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// Every input value or resource left out.
    pub fn left_out(&self) -> &[LeftOut] {
        &self.left_out
    }

    /// Where credentials were found in plain text: not copied.
    pub fn plain_secrets(&self) -> &[String] {
        &self.plain_secrets
    }

    /// Input resources and the kiln resources they became under another name.
    pub fn renamed(&self) -> &[(ResourceId, ResourceId)] {
        &self.renamed
    }

    /// What the input produced against what kiln renders, as `kiln diff`
    /// shows it (`None` for Helm values: kiln cannot render the chart).
    pub fn diff(&self) -> Option<&Diff> {
        self.diff.as_ref()
    }

    /// Every field-level difference, classified.
    pub fn differences(&self) -> &[Departure] {
        &self.differences
    }
}

impl Import {
    /// Creates the files (never replacing one) and returns their paths,
    /// relative to the repository.
    pub fn write(&self) -> Result<Vec<PathBuf>> {
        crate::init::create_files(&self.root, &self.files)
    }

    /// Writes the report as markdown to `file`, created or replaced; a
    /// symlink, FIFO or device there (a pull request can plant one) is
    /// refused, never followed.
    pub fn write_report(&self, file: &Path) -> Result<()> {
        crate::safe_fs::write_report(file, markdown(self).as_bytes())
    }
}

/// What recognising an input found, before it is rendered.
#[derive(Debug, Default)]
struct Found {
    description: Map<String, Value>,
    strategies: BTreeMap<String, String>,
    fields: Vec<Field>,
    left_out: Vec<LeftOut>,
    plain_secrets: Vec<String>,
    /// The input has no strategies: an overlay keeps the repository's.
    keeps_strategies: bool,
}

impl Found {
    /// Sets the description field at `to` (a JSON pointer), noting where it came from.
    fn take(&mut self, to: &str, value: Value, from: String) {
        let mut at = &mut self.description;
        let parts = kiln_model::pointer::segments(to);
        let Some((last, parents)) = parts.split_last() else {
            return;
        };
        for part in parents {
            let parent = at.entry(part.to_string()).or_insert(Value::Null);
            if !parent.is_object() {
                *parent = Value::Object(Map::new());
            }
            let Value::Object(map) = parent else {
                unreachable!("made a map above")
            };
            at = map;
        }
        at.insert(last.to_string(), value);
        self.fields.push(Field {
            to: to.to_string(),
            from,
        });
    }

    /// Notes that the credential at `at` belongs in the secret store under `key`.
    fn belongs_in_store(&mut self, at: &str, key: &str) {
        self.plain_secrets
            .push(format!("{at}: put it into the secret store under `{key}`"));
    }

    fn leave(&mut self, at: String, advice: impl Into<String>) {
        self.left_out.push(LeftOut {
            at,
            advice: advice.into(),
        });
    }
}

/// Renders environment `options.env` with `files` staged over the
/// repository at `options.into`. An error in a staged file says that it was
/// not written and where its values came from.
fn render_staged(
    files: &BTreeMap<String, String>,
    options: &Options,
    source: &str,
) -> Result<(crate::Environment, crate::EnvironmentOutput)> {
    let staged = || -> Result<_> {
        let repo = crate::Repo::staged(&options.into, files.clone())?;
        let env = repo.environment(&options.env)?;
        let rendered = crate::render(&env)?;
        Ok((env, rendered))
    };
    staged().map_err(|e| match e {
        Error::Input(e) if files.contains_key(&e.file().to_string_lossy().into_owned()) => {
            Error::from(e.with_help(Some(format!(
                "this is the file `kiln import` would write, from {source}; nothing was written"
            ))))
        }
        other => other,
    })
}

/// A scalar as text: a string as it is, anything else as JSON.
fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The files that put `found` into the repository at `options.into`: a new
/// repository's base, or an overlay of an existing one.
fn stage(found: &Found, options: &Options, source: &str) -> Result<BTreeMap<String, String>> {
    let env = &options.env;
    let overlay = format!("{OVERLAYS_DIR}/{env}/{OVERLAY_FILE}");
    let root = &options.into;
    let mut files = BTreeMap::new();
    let head = format!("# Imported by `kiln import` from {source}.\n");
    if crate::Repo::is_root(root) {
        let existing = root.join(OVERLAYS_DIR).join(env);
        if std::fs::symlink_metadata(&existing).is_ok() {
            return Err(Error::unsafe_path(
                existing,
                "exists already: import into a new environment (--env NAME)",
            ));
        }
        let repo = crate::Repo::open(root)?;
        let base = repo.base(DEFAULT_BASE, None)?;
        let base = serde_json::to_value(&base).map_err(|e| Error::io(DEFAULT_BASE, e.into()))?;
        let mut text = head;
        let set = changes(
            &base,
            &Value::Object(found.description.clone()),
            &mut Vec::new(),
        );
        if let Some(set) = set {
            text.push_str(&kiln_model::emit::yaml(&serde_json::json!({ "set": set })));
        }
        text.push_str(&overlay_strategies(found, &repo, env, &mut files));
        files.insert(overlay, text);
    } else {
        crate::init::ensure_empty(root)?;
        let mut base = head;
        base.push_str(&kiln_model::emit::yaml(&Value::Object(
            found.description.clone(),
        )));
        files.insert(format!("{BASE_DIR}/service.yaml"), base);
        files.insert(
            overlay,
            format!("# {env}: the imported deployment, as base/ describes it.\n"),
        );
        for (name, text) in &found.strategies {
            files.insert(format!("{STRATEGIES_DIR}/{name}.json"), text.clone());
        }
    }
    Ok(files)
}

/// The overlay's `strategies:` section: the imported strategies added (in
/// the overlay's directory), the repository's others removed.
fn overlay_strategies(
    found: &Found,
    repo: &crate::Repo,
    env: &str,
    files: &mut BTreeMap<String, String>,
) -> String {
    if found.keeps_strategies {
        return String::new();
    }
    let mut add = Vec::new();
    for (name, text) in &found.strategies {
        let rel = format!("{OVERLAYS_DIR}/{env}/strategies/{name}.json");
        files.insert(rel.clone(), text.clone());
        add.push(Value::from(rel));
    }
    let remove: Vec<Value> = repo
        .strategies()
        .iter()
        .map(|s| s.name().to_string())
        .filter(|name| !found.strategies.contains_key(name))
        .map(Value::from)
        .collect();
    let mut section = Map::new();
    if !add.is_empty() {
        section.insert("add".into(), Value::Array(add));
    }
    if !remove.is_empty() {
        section.insert("remove".into(), Value::Array(remove));
    }
    if section.is_empty() {
        return String::new();
    }
    kiln_model::emit::yaml(&serde_json::json!({ "strategies": section }))
}

/// The `set` that turns description `old` into `new`: changed fields,
/// `null` for removed map entries, keyed lists whole with `$patch: delete`
/// for removed items, other lists whole. `None` when they agree.
fn changes(old: &Value, new: &Value, path: &mut Vec<String>) -> Option<Value> {
    if old == new {
        return None;
    }
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut set = Map::new();
            for (key, value) in n {
                path.push(key.clone());
                let change = match o.get(key) {
                    Some(before) => changes(before, value, path),
                    None => Some(value.clone()),
                };
                path.pop();
                if let Some(change) = change {
                    set.insert(key.clone(), change);
                }
            }
            for key in o.keys().filter(|k| !n.contains_key(*k)) {
                set.insert(key.clone(), Value::Null);
            }
            Some(Value::Object(set))
        }
        (Value::Array(o), Value::Array(n)) => Some(list_changes(o, n, path)),
        _ => Some(new.clone()),
    }
}

fn list_changes(old: &[Value], new: &[Value], path: &[String]) -> Value {
    let parts: Vec<&str> = path.iter().map(String::as_str).collect();
    let Some(merge) = crate::resolve::description_keys(&parts) else {
        return Value::Array(new.to_vec());
    };
    let key = merge.keys[0];
    // Every item, in order (the merge puts the patch's items first), then
    // the removals.
    let mut items = new.to_vec();
    for gone in old
        .iter()
        .filter(|o| !new.iter().any(|n| n.get(key) == o.get(key)))
    {
        items.push(serde_json::json!({ key: gone.get(key), "$patch": "delete" }));
    }
    Value::Array(items)
}
