//! `kiln import helm`: the values of Portkey's Helm chart (Portkey's GKE, EKS and AKS Helm guides)
//! into an overlay of an existing kiln repository.
//!
//! The chart's values carry no namespace, route or secret store, so the
//! import needs a repository with a base (`kiln init` makes one). Credentials
//! in the values (the licence, registry password, Redis password, HMAC keys)
//! are never copied: kiln reads them from the secret store under the keys
//! the report names. The report compares the gateway's environment, which
//! the chart takes verbatim from `environment.data`, with kiln's; the chart's
//! whole rendering is compared with kiln's in tests/integration/chart.rs.
//! `Options::adopt` takes a running release over in place.

use super::compare::{Departure, Why};
use super::external::Tool;
use super::helm_values::{Chart, store_key};
use super::{Found, Import, Options};
use crate::error::{Error, Result};
use kiln_model::InputError;
use kiln_model::description::enterprise::Value as EnvValue;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::path::Path;

/// Imports the chart values file `values` as `options.env`, an overlay of
/// the repository at `options.into`. Nothing is written: see [`Import::write`].
pub fn helm(values: &Path, options: &Options) -> Result<Import> {
    let source = values.display().to_string();
    let meta = std::fs::symlink_metadata(values).map_err(|e| Error::io(values, e))?;
    if !meta.is_file() || meta.len() > 16 << 20 {
        return Err(Error::unsafe_path(
            values,
            "is not a values file (a regular file of at most 16 MiB)",
        ));
    }
    let text = std::fs::read_to_string(values).map_err(|e| Error::io(values, e))?;
    let doc: Value = kiln_model::parse::yaml(values, &text)?;
    if !crate::Repo::is_root(&options.into) {
        return Err(InputError::new(
            values,
            "the chart's values have no namespace, route or secret store: import them into a kiln repository (`kiln init DIR`, then `kiln import helm VALUES --into DIR`)",
        )
        .into());
    }
    let repo = crate::Repo::open(&options.into)?;
    let base = repo.base(kiln_model::layout::DEFAULT_BASE, None)?;
    let base = serde_json::to_value(&base).map_err(|e| Error::io(&source, e.into()))?;
    let mut found = Chart::new(doc.clone())
        .recognise(base)
        .map_err(|message| InputError::new(values, message))?;
    if let Some(release) = &options.adopt {
        found.take(
            "/enterprise/adoptHelmRelease",
            json!(release),
            "--release".into(),
        );
    }
    let data = doc["environment"]["data"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    match &options.chart {
        None => finish(found, &data, options, source),
        Some(chart) => {
            let docs = template(chart, values, &found, options)?;
            let (mut import, env) = super::compare::finish(docs, found, options, source)?;
            import
                .differences
                .extend(compare_environment(&data, &env.description));
            import.differences.sort_by_key(|d| d.why);
            Ok(import)
        }
    }
}

/// The release Helm would install from `chart` with these values (named as
/// the release taken over, else as Portkey's guides name it), in the
/// description's namespace; Helm on `PATH`, without the network.
fn template(chart: &Path, values: &Path, found: &Found, options: &Options) -> Result<Vec<Value>> {
    let release = options.adopt.as_deref().unwrap_or("portkey-gateway");
    let namespace = found.description["namespace"]["name"]
        .as_str()
        .unwrap_or("default");
    let tool = Tool {
        program: "helm",
        args: vec![
            OsStr::new("template"),
            OsStr::new(release),
            chart.as_os_str(),
            OsStr::new("--namespace"),
            OsStr::new(namespace),
            OsStr::new("--values"),
            values.as_os_str(),
        ],
        missing: "--chart renders Portkey's chart with Helm: install helm (https://helm.sh/docs/intro/install/), or leave --chart out",
    };
    let (source, text) = super::external::yaml(&tool, chart, super::Network::Off)?;
    let docs = kiln_model::parse::yaml_documents(Path::new(&source), &text)?;
    // Helm installs what the chart leaves without a namespace into the release's.
    Ok(docs
        .into_iter()
        .filter(|d| !d.is_null())
        .map(|mut d| {
            if d["metadata"].get("namespace").is_none() && d["metadata"].is_object() {
                d["metadata"]["namespace"] = json!(namespace);
            }
            d
        })
        .collect())
}

/// Why kiln's value of a variable differs from the values', or is added.
const KILN_VARIABLES: [(&str, Why, &str); 6] = [
    (
        "REDIS_TLS_CERTS",
        Why::Convention,
        "kiln mounts the CA from the store at its own path",
    ),
    (
        "REDIS_URL",
        Why::Convention,
        "kiln's built-in Redis is named after the service",
    ),
    (
        "AZURE_MANAGED_CLIENT_ID",
        Why::Correction,
        "names the pod's managed identity, so the node's is not used",
    ),
    (
        "SOURCE_SYNC_API_BASEPATH",
        Why::Correction,
        "a private link moves every control-plane URL to it, as Portkey's private-link steps list",
    ),
    (
        "CONFIG_READER_PATH",
        Why::Correction,
        "a private link moves every control-plane URL to it, as Portkey's private-link steps list",
    ),
    (
        "DATASERVICE_BASEPATH",
        Why::Default,
        "the chart sets it too when the Data Service is enabled",
    ),
];

/// Stages the overlay, renders and checks it in memory, and compares the
/// gateway's environment with `environment.data`.
fn finish(
    found: Found,
    data: &Map<String, Value>,
    options: &Options,
    source: String,
) -> Result<Import> {
    let files = super::stage(&found, options, &source)?;
    let (env, _) = super::render_staged(&files, options, &source)?;
    let differences = compare_environment(data, &env.description);
    let mut left_out = found.left_out;
    left_out.sort_by(|a, b| a.at.cmp(&b.at));
    Ok(Import {
        env: options.env.clone(),
        source,
        files,
        fields: found.fields,
        left_out,
        plain_secrets: found.plain_secrets,
        renamed: Vec::new(),
        diff: None,
        differences,
        root: options.into.clone(),
    })
}

/// The gateway's variables as kiln sets them against `environment.data`,
/// which the chart passes to the container as they are.
fn compare_environment(
    data: &Map<String, Value>,
    d: &kiln_model::description::Description,
) -> Vec<Departure> {
    let mut kiln: BTreeMap<String, EnvValue> = d
        .enterprise
        .iter()
        .flat_map(|e| e.variables(&d.name))
        .map(|s| (s.name.to_string(), s.value))
        .collect();
    for (name, value) in &d.config {
        kiln.entry(name.clone())
            .or_insert_with(|| EnvValue::Literal(value.clone()));
    }
    let names: BTreeSet<&String> = data.keys().chain(kiln.keys()).collect();
    let resource = format!("Deployment/{}", d.name);
    let mut out = Vec::new();
    for name in names {
        let input = data.get(name.as_str()).map(super::text_of);
        let secret = store_key(name).is_some()
            || input
                .as_deref()
                .is_some_and(|v| kiln_check::is_credential(name, v));
        let shown_input = input.as_ref().map(|v| {
            if secret {
                "<a plain value, not shown>".to_string()
            } else {
                v.clone()
            }
        });
        let (why, reason, shown_kiln) = match (&input, kiln.get(name.as_str())) {
            (Some(i), Some(EnvValue::Literal(k))) if i == k => continue,
            (Some(_), Some(EnvValue::Secret(key))) => (
                Why::Hardening,
                "read from the secret store, never a plain value",
                Some(format!("secret store key `{key}`")),
            ),
            (_, Some(EnvValue::Literal(k))) => {
                let (why, reason) = KILN_VARIABLES
                    .iter()
                    .find(|(n, _, _)| n == name)
                    .map_or((Why::Other, "kiln's value"), |(_, why, reason)| {
                        (*why, *reason)
                    });
                (why, reason, Some(k.clone()))
            }
            (Some(_), None) => (Why::NotImported, "kiln does not set it", None),
            (None, Some(EnvValue::Secret(key))) => (
                Why::Other,
                "kiln sets it",
                Some(format!("secret store key `{key}`")),
            ),
            (None, None) => continue,
        };
        out.push(Departure {
            resource: resource.clone(),
            path: kiln_model::pointer::join("/env", name),
            input: shown_input,
            kiln: shown_kiln,
            why,
            reason,
        });
    }
    out
}
