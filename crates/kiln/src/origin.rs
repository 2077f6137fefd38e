//! Where a refused render-time finding came from. `kiln check` runs on the
//! rendered objects, whose files are never written when it refuses them, while
//! the user edits the inputs. So each refused finding is pointed at the input
//! line that most likely set the offending value: the scalar whose keys end
//! like the finding's pointer (the longest such run wins; then the same value;
//! then the nearest overlay), with the rendered file kept in its message.
//! When no input has such a key, the finding names the rendered file.

use crate::check::{inspect, manifests_of};
use crate::error::Error;
use crate::load::Repo;
use crate::resolve::Environment;
use kiln_check::{Finding, Manifest};
use kiln_model::layout::SETTINGS_FILE;
use kiln_model::parse::scalars;
use kiln_model::pointer::segments;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// An input file and its scalars: pointer, line, value.
type Scanned<'a> = (&'a Path, Vec<(String, usize, String)>);

/// `error` with the findings of a refusal of environment `env` (`None`: the
/// GitOps wiring of `envs`) pointed at its inputs; an input error with the
/// line of its pointer; any other error as it is.
pub(crate) fn at_inputs(
    repo: &Repo,
    env: Option<&Environment>,
    envs: &[Environment],
    error: Error,
) -> Error {
    let Error::Check { env: dir, findings } = error else {
        return repo.locate(error);
    };
    let (manifests, files) = match env {
        Some(env) => {
            let manifests = inspect(env).map(|i| i.manifests).unwrap_or_default();
            let mut files: Vec<PathBuf> = env.layers.iter().rev().map(|l| l.file.clone()).collect();
            files.push(env.base.clone());
            (manifests, files)
        }
        None => {
            let manifests = crate::gitops::resources(repo.settings(), envs)
                .into_iter()
                .find(|(d, _)| *d == dir)
                .map(|(d, resources)| manifests_of(&d, &resources))
                .unwrap_or_default();
            (manifests, vec![PathBuf::from(SETTINGS_FILE)])
        }
    };
    let inputs: Vec<(PathBuf, String)> = files
        .into_iter()
        .filter_map(|f| {
            let text = repo.read(&f.to_string_lossy(), None).ok()?;
            Some((f, text))
        })
        .collect();
    Error::Check {
        env: dir,
        findings: locate(findings, &manifests, &inputs),
    }
}

/// `findings` of `manifests`, each pointed at the line of `inputs` (file and
/// text, nearest first) that most likely caused it.
fn locate(
    findings: Vec<Finding>,
    manifests: &[Manifest],
    inputs: &[(PathBuf, String)],
) -> Vec<Finding> {
    let scanned: Vec<Scanned> = inputs
        .iter()
        .map(|(file, text)| (file.as_path(), scalars(text)))
        .collect();
    findings
        .into_iter()
        .map(|mut f| {
            let value = manifests
                .iter()
                .find(|m| m.file() == f.file)
                .and_then(|m| m.value().pointer(&f.pointer));
            if let Some((file, line)) = likely_source(&f.pointer, value, &scanned) {
                f.message = format!(
                    "{} (rendered as {}, not written)",
                    f.message,
                    f.file.display()
                );
                f.file = file.to_path_buf();
                f.line = line;
            }
            f
        })
        .collect()
}

/// Keys of a pointer, list indexes left out (they differ between a
/// description and what it renders).
fn keys(pointer: &str) -> Vec<String> {
    segments(pointer)
        .into_iter()
        .filter(|s| s.parse::<usize>().is_err())
        .collect()
}

fn likely_source<'a>(
    pointer: &str,
    value: Option<&Value>,
    scanned: &[Scanned<'a>],
) -> Option<(&'a Path, usize)> {
    let wanted = keys(pointer);
    let shown = match value {
        Some(Value::String(s)) => Some(s.clone()),
        Some(v @ (Value::Number(_) | Value::Bool(_))) => Some(v.to_string()),
        _ => None,
    };
    let mut best: Option<(usize, &Path, usize)> = None;
    for (file, nodes) in scanned {
        for (at, line, scalar) in nodes {
            let theirs = keys(at);
            // The finding's last keys may name the scalar or one of its parents.
            let run = (1..=theirs.len())
                .map(|end| {
                    wanted
                        .iter()
                        .rev()
                        .zip(theirs[..end].iter().rev())
                        .take_while(|(a, b)| a == b)
                        .count()
                })
                .max()
                .unwrap_or(0);
            if run == 0 {
                continue;
            }
            let score = run * 2 + usize::from(shown.as_ref() == Some(scalar));
            if best.is_none_or(|(s, ..)| score > s) {
                best = Some((score, file, *line));
            }
        }
    }
    best.map(|(_, file, line)| (file, line))
}
