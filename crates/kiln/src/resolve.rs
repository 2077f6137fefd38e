//! Environments: a chain of overlays (`overlays/<env>/overlay.yaml`, each may
//! `extends` another) applied to a base description, giving the
//! [`Environment`] that is rendered.
//!
//! An overlay has two kinds of change. Typed changes (`set`, `strategies`)
//! edit the description before anything is built, so they are validated like
//! the base. Resource changes (`patches` and kustomize's conveniences) edit
//! the built resources, in kustomize's order, layer by layer from the first
//! overlay of the chain to the last; see [`crate::apply_overlays`].

use crate::error::{Error, Result};
use crate::load::Repo;
use kiln_k8s::patch::{ListMerge, Order, Target, selector_is_valid, strategic_merge};
use kiln_k8s::transform::{ImageOverride, LabelsEntry, ReplicaOverride};
use kiln_model::description::Description;
use kiln_model::layout::{DEFAULT_BASE, OVERLAY_FILE, OVERLAYS_DIR};
use kiln_model::strategy::{self, Strategy};
use kiln_model::suppress::{Declared, Suppression};
use kiln_model::values::Problem;
use kiln_model::{InputError, closest, parse};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The longest chain of overlays (`extends`) an environment may have: every
/// environment reads its whole chain, so longer chains would make a
/// repository's cost grow with the square of its size.
pub const MAX_CHAIN: usize = 16;

/// The contents of `overlays/<env>/overlay.yaml`. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Overlay {
    /// Another environment whose overlay applies first.
    #[serde(default)]
    pub extends: Option<String>,
    /// Repository-relative path of the base description (default `base/service.yaml`).
    #[serde(default)]
    pub base: Option<String>,
    /// Typed changes to the description, merged field by field.
    #[serde(default)]
    pub set: Option<Value>,
    /// Strategies added, replaced or removed.
    #[serde(default)]
    pub strategies: StrategyChanges,
    /// Patches of rendered resources, applied in order.
    #[serde(default)]
    pub patches: Vec<PatchEntry>,
    /// kustomize `images`.
    #[serde(default)]
    pub images: Vec<ImageOverride>,
    /// kustomize `replicas`.
    #[serde(default)]
    pub replicas: Vec<ReplicaOverride>,
    /// kustomize `namePrefix`.
    #[serde(default)]
    pub name_prefix: Option<String>,
    /// kustomize `nameSuffix`.
    #[serde(default)]
    pub name_suffix: Option<String>,
    /// kustomize `labels`.
    #[serde(default)]
    pub labels: Vec<LabelsEntry>,
    /// kustomize `commonAnnotations`.
    #[serde(default)]
    pub common_annotations: BTreeMap<String, String>,
    /// kustomize `namespace`.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Accepted findings, added to the base description's (see [`Suppression`]).
    #[serde(default)]
    pub suppress: Vec<Suppression>,
}

/// Per-environment strategy changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategyChanges {
    /// Repository-relative paths of strategy files to add (a file whose name
    /// matches an existing strategy replaces it).
    #[serde(default)]
    pub add: Vec<String>,
    /// Names of strategies to remove.
    #[serde(default)]
    pub remove: Vec<String>,
}

/// One patch: a target and exactly one of `json`, `merge`, `strategic`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchEntry {
    /// The resources to patch; matching none is an error.
    #[serde(default)]
    pub target: Target,
    /// RFC 6902 operations.
    #[serde(default)]
    pub json: Option<json_patch::Patch>,
    /// An RFC 7386 merge patch.
    #[serde(default)]
    pub merge: Option<Value>,
    /// A strategic-merge patch (lists merged by their Kubernetes merge keys).
    #[serde(default)]
    pub strategic: Option<Value>,
    /// kustomize's patch file: refused with what to write instead.
    #[serde(default)]
    pub path: Option<String>,
}

/// One overlay of a chain, with the file it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    /// `overlays/<env>/overlay.yaml`.
    pub file: PathBuf,
    /// Its contents.
    pub overlay: Overlay,
}

/// A resolved environment: everything needed to render `out/<name>/`. Only
/// [`crate::Repo::environment`] makes one, so its name is always one of the
/// repository's environments (a plain directory name the write stage can trust).
#[derive(Debug, Clone, PartialEq)]
pub struct Environment {
    pub(crate) name: String,
    pub(crate) description: Description,
    pub(crate) strategies: Vec<Arc<Strategy>>,
    pub(crate) layers: Vec<Layer>,
    pub(crate) base: PathBuf,
    pub(crate) warnings: Vec<(PathBuf, Problem)>,
    pub(crate) suppressions: Vec<Declared>,
}

impl Environment {
    /// The environment's name (its directory under `overlays/`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The description after every overlay's typed changes.
    pub fn description(&self) -> &Description {
        &self.description
    }

    /// The strategies the environment mounts, sorted by name (shared with the repository).
    pub fn strategies(&self) -> &[Arc<Strategy>] {
        &self.strategies
    }

    /// The overlay chain, first (outermost parent) to last (this environment).
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// The base description file the chain starts from.
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// Strategy warnings (legal, but probably not meant): file and finding.
    pub fn warnings(&self) -> &[(PathBuf, Problem)] {
        &self.warnings
    }

    /// Suppressions of the base description and of every overlay of the chain.
    pub fn suppressions(&self) -> &[Declared] {
        &self.suppressions
    }
}

fn overlay_file(env: &str) -> PathBuf {
    Path::new(OVERLAYS_DIR).join(env).join(OVERLAY_FILE)
}

/// Reads the chain ending at `name`, parent first.
fn chain(repo: &Repo, name: &str) -> Result<Vec<Layer>> {
    let mut seen: Vec<String> = Vec::new();
    let mut layers = Vec::new();
    let mut next = Some(name.to_string());
    while let Some(env) = next {
        if let Some(start) = seen.iter().position(|e| *e == env) {
            let mut cycle = seen[start..].to_vec();
            cycle.push(env);
            let file = overlay_file(seen.last().map_or(name, String::as_str));
            return Err(InputError::new(
                file,
                format!("`extends` makes a cycle: {}", cycle.join(" → ")),
            )
            .at("/extends")
            .into());
        }
        let file = overlay_file(&env);
        if layers.len() == MAX_CHAIN {
            let last = overlay_file(seen.last().map_or(name, String::as_str));
            return Err(InputError::new(
                last,
                format!("`extends` chains more than {MAX_CHAIN} overlays (from `{name}`); flatten the chain"),
            )
            .at("/extends")
            .into());
        }
        let text = repo.read(&file.to_string_lossy(), None)?;
        let overlay: Overlay = parse::yaml(&file, &text)?;
        if let Some(parent) = &overlay.extends
            && !repo.environments().iter().any(|e| e == parent)
        {
            return Err(InputError::new(
                &file,
                format!("`extends: {parent}` names no environment"),
            )
            .at("/extends")
            .with_help(
                closest(parent, repo.environments().iter().map(String::as_str))
                    .map(|c| format!("did you mean `{c}`?")),
            )
            .into());
        }
        validate_overlay(&file, &overlay)?;
        next = overlay.extends.clone();
        seen.push(env);
        layers.push(Layer { file, overlay });
    }
    layers.reverse();
    Ok(layers)
}

fn validate_overlay(file: &Path, o: &Overlay) -> Result<()> {
    let err = |pointer: String, message: String| -> Error {
        InputError::new(file, message).at(pointer).into()
    };
    if let Some(set) = &o.set
        && !set.is_object()
    {
        return Err(err(
            "/set".into(),
            "expected a mapping of description fields".into(),
        ));
    }
    for (i, p) in o.patches.iter().enumerate() {
        if p.path.is_some() {
            return Err(err(
                format!("/patches/{i}/path"),
                "kiln keeps each patch in its overlay (one file to review): put the file's content under `strategic:` (a patch in YAML) or `json:` (an RFC 6902 list)".into(),
            ));
        }
        let given = [p.json.is_some(), p.merge.is_some(), p.strategic.is_some()];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(err(
                format!("/patches/{i}"),
                "give exactly one of `json` (RFC 6902), `merge` (RFC 7386) or `strategic`".into(),
            ));
        }
        for (field, selector) in [
            ("labelSelector", &p.target.label_selector),
            ("annotationSelector", &p.target.annotation_selector),
        ] {
            if let Some(sel) = selector
                && !selector_is_valid(sel)
            {
                return Err(err(
                    format!("/patches/{i}/target/{field}"),
                    format!("`{sel}` is not a selector such as `a=b,c!=d,e in (x,y),f notin (z)`"),
                ));
            }
        }
    }
    for (field, value) in [
        ("namePrefix", &o.name_prefix),
        ("nameSuffix", &o.name_suffix),
        ("namespace", &o.namespace),
    ] {
        if let Some(v) = value {
            let ok = !v.is_empty()
                && v.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && (field != "namespace" || !(v.starts_with('-') || v.ends_with('-')));
            if !ok {
                return Err(err(
                    format!("/{field}"),
                    format!("`{v}` must be lower-case letters, digits and '-'"),
                ));
            }
        }
    }
    Ok(())
}

/// Lists in the description that overlays merge item by item, and their keys.
pub(crate) fn description_keys(path: &[&str]) -> Option<ListMerge> {
    let keys: &'static [&'static str] = match path {
        ["writable"] => &["path"],
        ["secrets", "keys"] => &["env"],
        ["topologySpread"] => &["topologyKey"],
        _ => return None,
    };
    Some(ListMerge {
        keys,
        order: Order::PatchFirst,
    })
}

/// The file and pointer to blame for a problem at `pointer` of the merged
/// description: the last overlay whose `set` touched it, else the base.
fn blame(
    layers: &[Layer],
    base: &Path,
    pointer: &str,
    message: String,
    help: Option<String>,
) -> Error {
    let segments: Vec<&str> = pointer.split('/').skip(1).collect();
    for layer in layers.iter().rev() {
        let Some(set) = &layer.overlay.set else {
            continue;
        };
        let touched = (1..=segments.len()).rev().any(|n| {
            let prefix: String = segments[..n].iter().map(|s| format!("/{s}")).collect();
            set.pointer(&prefix).is_some()
        });
        if touched {
            return InputError::new(&layer.file, message)
                .at(format!("/set{pointer}"))
                .with_help(help)
                .into();
        }
    }
    InputError::new(base, message)
        .at(pointer)
        .with_help(help)
        .into()
}

pub(crate) fn resolve(repo: &Repo, name: &str) -> Result<Environment> {
    let layers = chain(repo, name)?;

    // The nearest overlay that names a base wins.
    let (base, origin) = layers
        .iter()
        .rev()
        .find_map(|l| {
            l.overlay
                .base
                .as_deref()
                .map(|b| (b, Some((l.file.as_path(), "/base"))))
        })
        .unwrap_or((DEFAULT_BASE, None));
    let base_file = PathBuf::from(base);
    let base_file = base_file.as_path();
    let description = repo.base(base, origin)?;

    let description = if layers.iter().any(|l| l.overlay.set.is_some()) {
        let mut value = serde_json::to_value(&description)
            .map_err(|e| InputError::new(base_file, e.to_string()))?;
        for layer in &layers {
            if let Some(set) = &layer.overlay.set {
                strategic_merge(&mut value, set, &description_keys).map_err(|e| {
                    Error::from(
                        InputError::new(&layer.file, e.message).at(format!("/set{}", e.pointer)),
                    )
                })?;
            }
        }
        parse::from_value::<Description>(value)
            .map_err(|e| blame(&layers, base_file, &e.pointer, e.message, e.help))?
    } else {
        description
    };
    if let Err(kiln_model::Error::Input(e)) = description.validate(base_file) {
        let help = e.suggestion().map(str::to_string);
        let pointer = e.pointer().unwrap_or_default();
        return Err(blame(
            &layers,
            base_file,
            pointer,
            e.message().to_string(),
            help,
        ));
    }

    let strategies = strategies(repo, &layers)?;
    let secret_env: Vec<String> = description
        .secrets
        .keys
        .iter()
        .map(|k| k.env.clone())
        .collect();
    let warnings = strategy::check_all(&strategies, &secret_env)?;
    by_name_problem(&description, &strategies).map_or(Ok(()), |(pointer, message)| {
        Err(blame(&layers, base_file, &pointer, message, None))
    })?;
    let declared = |file: &Path, list: &[Suppression]| -> Vec<Declared> {
        list.iter()
            .enumerate()
            .map(|(i, s)| Declared {
                file: file.to_path_buf(),
                pointer: format!("/suppress/{i}"),
                suppression: s.clone(),
            })
            .collect()
    };
    let mut suppressions = declared(base_file, &description.suppress);
    for layer in &layers {
        suppressions.extend(declared(&layer.file, &layer.overlay.suppress));
    }
    for d in &suppressions {
        d.suppression.validate(&d.file, &d.pointer)?;
    }
    Ok(Environment {
        name: name.to_string(),
        description,
        strategies,
        layers,
        base: base_file.to_path_buf(),
        warnings,
        suppressions,
    })
}

/// Strategies served by name become Kubernetes object names (no `_`), and
/// the default is one of them.
fn by_name_problem(d: &Description, strategies: &[Arc<Strategy>]) -> Option<(String, String)> {
    let by_name = d.route.as_ref()?.strategies_by_name.as_ref()?;
    if let Some(s) = strategies.iter().find(|s| s.name().contains('_')) {
        return Some((
            "/route/strategiesByName".into(),
            format!(
                "strategy `{}` names Kubernetes objects when served by name, which allow no `_`: rename its file with `-`",
                s.name()
            ),
        ));
    }
    let default = by_name.default.as_deref()?;
    (!strategies.iter().any(|s| s.name() == default)).then(|| {
        (
            "/route/strategiesByName/default".into(),
            format!(
                "`{default}` is not a strategy of this environment{}",
                closest(default, strategies.iter().map(|s| s.name()))
                    .map(|c| format!(": did you mean `{c}`?"))
                    .unwrap_or_default()
            ),
        )
    })
}

fn strategies(repo: &Repo, layers: &[Layer]) -> Result<Vec<Arc<Strategy>>> {
    let mut strategies: BTreeMap<String, Arc<Strategy>> = repo
        .strategies()
        .iter()
        .map(|s| (s.name().to_string(), s.clone()))
        .collect();
    for layer in layers {
        let changes = &layer.overlay.strategies;
        for (i, name) in changes.remove.iter().enumerate() {
            if strategies.remove(name).is_none() {
                return Err(InputError::new(
                    &layer.file,
                    format!("no strategy `{name}` to remove"),
                )
                .at(format!("/strategies/remove/{i}"))
                .with_help(
                    closest(name, strategies.keys().map(String::as_str))
                        .map(|c| format!("did you mean `{c}`?")),
                )
                .into());
            }
        }
        for (i, path) in changes.add.iter().enumerate() {
            let pointer = format!("/strategies/add/{i}");
            let text = repo.read(path, Some((&layer.file, &pointer)))?;
            let s = strategy::from_file(Path::new(path), &text)?;
            strategies.insert(s.name().to_string(), Arc::new(s));
        }
    }
    Ok(strategies.into_values().collect())
}

impl Repo {
    /// Resolves environment `name`: its overlay chain applied to its base.
    ///
    /// ```
    /// # fn main() -> Result<(), kiln::Error> {
    /// let repo = kiln::Repo::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))?;
    /// let env = repo.environment("homelab")?;
    /// assert_eq!(env.description().image.reference(), "portkeyai/gateway:1.12.1");
    /// assert!(matches!(repo.environment("homelb"), Err(kiln::Error::UnknownEnvironment { .. })));
    /// # Ok(()) }
    /// ```
    pub fn environment(&self, name: &str) -> Result<Environment> {
        if !self.environments().iter().any(|e| e == name) {
            return Err(Error::UnknownEnvironment {
                name: name.to_string(),
                known: self.environments().to_vec(),
                suggestion: closest(name, self.environments().iter().map(String::as_str))
                    .map(|c| format!("did you mean `{c}`?")),
            });
        }
        resolve(self, name).map_err(|e| self.locate(e))
    }
}
