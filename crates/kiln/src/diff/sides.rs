//! The two sides of a diff: what `out/` holds, what a render produces, and
//! the renders of two repositories (revisions, or a revision and the working
//! tree) where only environments whose resolved inputs differ are rendered.

use super::{Diff, Item, ResourceId, Snapshot, diff};
use crate::emit::EnvironmentOutput;
use crate::error::{Error, Result};
use crate::load::Repo;
use crate::parallel::in_parallel;
use crate::resolve::Environment;
use crate::safe_fs::{HostileDir, Kind};
use kiln_model::InputError;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The output of rendered environments: each file kiln writes but the
/// kustomization (whose changes are those of the resources it lists).
pub fn snapshot(rendered: &[EnvironmentOutput]) -> Snapshot {
    rendered
        .iter()
        .map(|r| {
            let ids: BTreeMap<String, ResourceId> = r
                .resources
                .iter()
                .map(|x| {
                    let id = ResourceId {
                        api_version: x.api_version().to_string(),
                        kind: x.kind().to_string(),
                        namespace: x.namespace().unwrap_or_default().to_string(),
                        name: x.name().to_string(),
                    };
                    (crate::file_name(x), id)
                })
                .collect();
            let items = r
                .files
                .iter()
                .filter(|f| f.name != KUSTOMIZATION)
                .map(|f| match ids.get(&f.name) {
                    Some(id) => Item {
                        file: f.name.clone(),
                        id: id.clone(),
                        text: f.contents.clone(),
                    },
                    None => Item::file(&f.name, f.contents.clone()),
                })
                .collect();
            (r.env.clone(), items)
        })
        .collect()
}

const KUSTOMIZATION: &str = "kustomization.yaml";

/// What `out/` holds: for each `out/<env>/kustomization.yaml`, the documents
/// it lists; for a directory without one, the files its `.kiln-index.json`
/// lists (Azure Container Apps' Terraform variables). Other directories are
/// not environments and are skipped. `out/` is input a pull request
/// controls: nothing is followed through a symlink, only bounded regular
/// files are read, and errors never quote them.
pub fn snapshot_of_out(out: &Path) -> Result<Snapshot> {
    let files = HostileDir::new(out, "out");
    let mut snapshot = Snapshot::new();
    for (name, kind) in files.entries("")?.unwrap_or_default() {
        if name.starts_with('.') || kind != Kind::Dir {
            continue;
        }
        let kustomization = Path::new(&name).join(KUSTOMIZATION);
        let index = Path::new(&name).join(crate::write::INDEX_FILE);
        if files.kind(&kustomization)?.is_some() {
            snapshot.insert(name.clone(), resources_of(&files, &name, &kustomization)?);
        } else if files.kind(&index)?.is_some() {
            snapshot.insert(name.clone(), indexed_files(&files, &name, &index)?);
        }
    }
    Ok(snapshot)
}

/// The documents `kustomization` lists, each checked to be YAML kiln can read.
fn resources_of(files: &HostileDir, env: &str, kustomization: &Path) -> Result<Vec<Item>> {
    let listing: Value = read_out_yaml(files, kustomization)?.1;
    let mut docs = Vec::new();
    for file in listing["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let file = plain_file_name(files, kustomization, file, "/resources")?;
        let (text, doc) = read_out_yaml(files, &Path::new(env).join(file))?;
        docs.push(Item {
            file: file.to_string(),
            id: ResourceId::of(&doc),
            text,
        });
    }
    Ok(docs)
}

/// The files `index` lists, as text.
fn indexed_files(files: &HostileDir, env: &str, index: &Path) -> Result<Vec<Item>> {
    let text = files.read_text(index)?.unwrap_or_default();
    let listing: Value = serde_json::from_str(&text).map_err(|_| {
        InputError::new(
            files.shown(index),
            "is not an index kiln wrote; run `kiln render` to write it again",
        )
    })?;
    let mut items = Vec::new();
    for name in listing["files"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
    {
        let name = plain_file_name(files, index, name, "/files")?;
        let rel = Path::new(env).join(name);
        let Some(text) = files.read_text(&rel)? else {
            return Err(InputError::new(
                files.shown(&rel),
                "is listed in the index but does not exist",
            )
            .into());
        };
        items.push(Item::file(name, text));
    }
    Ok(items)
}

/// `name` from a listing, if it is a plain file of the listing's own directory.
fn plain_file_name<'a>(
    files: &HostileDir,
    listing: &Path,
    name: &'a str,
    pointer: &str,
) -> Result<&'a str> {
    if name.contains(['/', '\\']) || name.starts_with('.') || name.is_empty() {
        return Err(InputError::new(
            files.shown(listing),
            "lists a file that is not a file of this directory",
        )
        .at(pointer)
        .into());
    }
    Ok(name)
}

/// One YAML file of `out/`, read safely, and what it holds; an error names
/// its place, not its contents.
fn read_out_yaml(files: &HostileDir, rel: &Path) -> Result<(String, Value)> {
    let shown = files.shown(rel);
    let Some(text) = files.read_text(rel)? else {
        return Err(
            InputError::new(&shown, "is listed in kustomization.yaml but does not exist").into(),
        );
    };
    let doc = kiln_model::parse::yaml(&shown, &text).map_err(|kiln_model::Error::Input(e)| {
        Error::from(
            e.withhold_content("is not YAML kiln wrote; run `kiln render` to write it again"),
        )
    })?;
    Ok((text, doc))
}

/// What changes from repository `old` to `new` (two revisions, or a revision
/// and the working tree), every environment and the GitOps wiring. Each
/// environment is resolved on both sides; only those whose resolved inputs
/// differ are rendered, both sides at once.
pub fn between(old: &Repo, new: &Repo, context: usize) -> Result<Diff> {
    let (old_envs, new_envs) = std::thread::scope(|s| {
        let old_side = s.spawn(|| resolve_all(old));
        let new_envs = resolve_all(new);
        (join(old_side), new_envs)
    });
    let (old_envs, new_envs) = (old_envs?, new_envs?);
    let names: BTreeSet<&String> = old_envs.keys().chain(new_envs.keys()).collect();
    let changed: Vec<&String> = names
        .into_iter()
        .filter(|n| old_envs.get(*n) != new_envs.get(*n))
        .collect();
    let (old_snapshot, new_snapshot) = std::thread::scope(|s| {
        let old_side = s.spawn(|| side(old, &old_envs, &changed));
        let new_snapshot = side(new, &new_envs, &changed);
        (join(old_side), new_snapshot)
    });
    Ok(diff(&old_snapshot?, &new_snapshot?, context))
}

fn join<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Every environment of `repo`, resolved.
fn resolve_all(repo: &Repo) -> Result<BTreeMap<String, Environment>> {
    in_parallel(repo.environments(), |name| repo.environment(name))
        .into_iter()
        .map(|env| env.map(|e| (e.name.clone(), e)))
        .collect::<Result<_>>()
        .map_err(|e| revision_context(repo, e))
}

/// The renders of `changed` among `envs`, and the wiring of all of them.
fn side(
    repo: &Repo,
    envs: &BTreeMap<String, Environment>,
    changed: &[&String],
) -> Result<Snapshot> {
    let to_render: Vec<&Environment> = changed.iter().filter_map(|n| envs.get(*n)).collect();
    let mut rendered = in_parallel(&to_render, |env| crate::render(env))
        .into_iter()
        .collect::<Result<Vec<_>>>()
        .map_err(|e| revision_context(repo, e))?;
    let all: Vec<Environment> = envs.values().cloned().collect();
    rendered.extend(
        crate::gitops::render(repo.settings(), &all).map_err(|e| revision_context(repo, e))?,
    );
    Ok(snapshot(&rendered))
}

fn revision_context(repo: &Repo, e: Error) -> Error {
    match repo.revision() {
        Some(rev) => e.at_revision(rev),
        None => e,
    }
}
