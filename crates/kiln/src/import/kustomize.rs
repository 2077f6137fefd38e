//! `kiln import kustomize`: a kustomize tree's gateway into a description.
//!
//! The tree is built with `kubectl kustomize`, not read file by file: a tree
//! may use any of kustomize's features (generators with hashed names,
//! components, patches, replacements, selectors added by `labels`), and the
//! comparison with kiln's render is only honest against what the tree
//! really produces. A file of already built YAML is read as it is.

use super::document::{At, id, mounted, of_kind};
use super::external::{MAX_INPUT_BYTES, Tool};
use super::kustomize_resources::{
    monitoring, network_policy, plain_secret_objects, route, service_port, strategies,
};
use super::{Found, Import, Network, Options, text_of};
use crate::error::{Error, Result};
use kiln_model::InputError;
use serde_json::{Value, json};
use std::ffi::OsStr;
use std::path::Path;

/// Imports the kustomize directory (or built YAML file) `input` as
/// `options.env` of the repository at `options.into`. Nothing is written:
/// see [`Import::write`].
pub fn kustomize(input: &Path, options: &Options) -> Result<Import> {
    if options.adopt.is_some() || options.chart.is_some() {
        return Err(InputError::new(
            input,
            "--release and --chart are about Portkey's Helm chart: they are for `kiln import helm`",
        )
        .into());
    }
    let (source, text) = build(input, options.network)?;
    let docs = kiln_model::parse::yaml_documents(Path::new(&source), &text)?;
    let found = recognise(&docs).map_err(|e| match e {
        Error::Input(e) => Error::from(e.in_file(&source)),
        other => other,
    })?;
    super::compare::finish(docs, found, options, source).map(|(import, _)| import)
}

/// The input's YAML and how to name it.
fn build(input: &Path, network: Network) -> Result<(String, String)> {
    let meta = std::fs::symlink_metadata(input).map_err(|e| Error::io(input, e))?;
    if meta.is_file() {
        if meta.len() > MAX_INPUT_BYTES as u64 {
            return Err(Error::unsafe_path(input, "is larger than 64 MiB"));
        }
        let text = std::fs::read_to_string(input).map_err(|e| Error::io(input, e))?;
        return Ok((input.display().to_string(), text));
    }
    if !meta.is_dir() {
        return Err(Error::unsafe_path(
            input,
            "is neither a kustomize directory nor a YAML file (symlinks are not followed)",
        ));
    }
    let tool = Tool {
        program: "kubectl",
        args: vec![OsStr::new("kustomize"), input.as_os_str()],
        missing: "kiln import builds the tree with `kubectl kustomize`; install kubectl, or pass the output of `kustomize build DIR` as a file",
    };
    super::external::yaml(&tool, input, network)
}

fn not_found(message: impl Into<String>) -> Error {
    InputError::new("", message).into()
}

/// The one Deployment and its gateway container (named `gateway`, or the only one).
fn gateway(docs: &[Value]) -> Result<(&Value, usize)> {
    let deployments: Vec<&Value> = of_kind(docs, "Deployment").collect();
    let [deployment] = deployments[..] else {
        let names: Vec<String> = deployments.iter().map(|d| id(d)).collect();
        return Err(not_found(format!(
            "found {} Deployments ({}): kiln imports one gateway Deployment",
            names.len(),
            names.join(", ")
        )));
    };
    let containers = deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let index = match containers {
        [_] => 0,
        _ => containers
            .iter()
            .position(|c| c["name"] == "gateway")
            .ok_or_else(|| {
                not_found(format!(
                    "{} has {} containers and none is named `gateway`",
                    id(deployment),
                    containers.len()
                ))
            })?,
    };
    Ok((deployment, index))
}

/// Recognises the gateway's resources in `docs`.
pub(super) fn recognise(docs: &[Value]) -> Result<Found> {
    let (deployment, index) = gateway(docs)?;
    let d = At::new(deployment);
    let c = format!("/spec/template/spec/containers/{index}");
    let mut found = Found::default();
    let mut used = vec![d.id.clone()];
    found.take(
        "/name",
        deployment["metadata"]["name"].clone(),
        d.from("/metadata/name"),
    );
    let namespace = d
        .get("/metadata/namespace")
        .cloned()
        .unwrap_or(json!("default"));
    found.take(
        "/namespace/name",
        namespace.clone(),
        d.from("/metadata/namespace"),
    );
    if let Some(ns) = of_kind(docs, "Namespace").find(|n| n["metadata"]["name"] == namespace) {
        let n = At::new(ns);
        used.push(n.id.clone());
        let label = "/metadata/labels/pod-security.kubernetes.io~1enforce-version";
        if let Some(v) = n.get(label).filter(|v| *v != "latest") {
            found.take("/namespace/podSecurityVersion", v.clone(), n.from(label));
        }
    }
    image(&mut found, &d, &c)?;
    let replicas = d.get("/spec/replicas").cloned().unwrap_or(json!(1));
    found.take("/replicas", replicas, d.from("/spec/replicas"));
    if let Some(port) = d.get(&format!("{c}/ports/0/containerPort")) {
        found.take(
            "/port",
            port.clone(),
            d.from(&format!("{c}/ports/0/containerPort")),
        );
    }
    container_settings(&mut found, &d, &c);
    let writable_env = writable(&mut found, &d, &c);
    environment(&mut found, docs, &d, &c, &writable_env, &mut used);
    probes(&mut found, &d, &c);
    route(&mut found, docs, &mut used)?;
    network_policy(&mut found, docs, &mut used);
    monitoring(&mut found, docs, &mut used);
    strategies(&mut found, docs, &d, &c, &mut used);
    service_port(&mut found, docs, &mut used);
    for doc in docs.iter().filter(|doc| !used.contains(&id(doc))) {
        plain_secret_objects(&mut found, doc);
        found.leave(
            id(doc),
            "kiln renders no such resource for the gateway: keep it beside kiln's output (another Argo CD/Flux source) or add it to kiln's model",
        );
    }
    Ok(found)
}

fn image(found: &mut Found, d: &At, c: &str) -> Result<()> {
    let at = format!("{c}/image");
    let reference = d.get(&at).and_then(Value::as_str).unwrap_or_default();
    let image = kiln_model::image::ImageRef::parse(reference);
    found.take("/image/repository", json!(image.name), d.from(&at));
    let Some(tag) = image.tag else {
        return Err(not_found(format!(
            "{}: image `{reference}` has no tag; kiln needs a version tag (the version label)",
            d.from(&at)
        )));
    };
    found.take("/image/tag", json!(tag), d.from(&at));
    if let Some(digest) = image.digest {
        found.take("/image/digest", json!(digest), d.from(&at));
    }
    let policy = format!("{c}/imagePullPolicy");
    if let Some(p) = d.get(&policy) {
        found.take("/image/pullPolicy", p.clone(), d.from(&policy));
    }
    Ok(())
}

/// Resources and the user and group the container runs as.
fn container_settings(found: &mut Found, d: &At, c: &str) {
    for (kind, field) in [
        ("requests", "cpu"),
        ("requests", "memory"),
        ("limits", "cpu"),
        ("limits", "memory"),
    ] {
        let at = format!("{c}/resources/{kind}/{field}");
        let to = format!("/resources/{kind}/{field}");
        match d.get(&at) {
            Some(v) => found.take(&to, json!(text_of(v)), d.from(&at)),
            // A partial block (a memory-only limit): kiln's value fills the gap.
            None if d.get(&format!("{c}/resources")).is_some() => {
                let defaults = serde_json::to_value(kiln_model::description::Resources::default())
                    .unwrap_or_default();
                found.take(
                    &to,
                    defaults[kind][field].clone(),
                    format!(
                        "kiln's default ({} sets no {kind}.{field})",
                        d.from(&format!("{c}/resources"))
                    ),
                );
            }
            None => {}
        }
    }
    for (field, to) in [("runAsUser", "/runAs/user"), ("runAsGroup", "/runAs/group")] {
        let container = format!("{c}/securityContext/{field}");
        let pod = format!("/spec/template/spec/securityContext/{field}");
        if let Some((v, at)) = d
            .get(&container)
            .map(|v| (v, container.clone()))
            .or_else(|| d.get(&pod).map(|v| (v, pod.clone())))
        {
            found.take(to, v.clone(), d.from(&at));
        }
    }
}

/// The emptyDir mounts, and the variables that point at them (returned).
fn writable(found: &mut Found, d: &At, c: &str) -> Vec<String> {
    let env = d.get(&format!("{c}/env")).and_then(Value::as_array);
    let mut dirs = Vec::new();
    let mut pointing = Vec::new();
    for (_, mount, volume) in mounted(d, c) {
        if volume.get("emptyDir").is_none() {
            continue;
        }
        let path = mount["mountPath"].clone();
        let vars: Vec<String> = env
            .into_iter()
            .flatten()
            .filter(|e| e["value"] == path)
            .filter_map(|e| e["name"].as_str().map(str::to_string))
            .collect();
        pointing.extend(vars.iter().cloned());
        // kiln bounds every emptyDir; an unbounded one gets the smallest default.
        let size = volume["emptyDir"]["sizeLimit"].as_str().unwrap_or("64Mi");
        dirs.push(json!({ "path": path, "sizeLimit": size, "env": vars }));
    }
    // A container that could write anywhere had no need to say where: kiln's
    // read-only root then comes with kiln's writable directories.
    let read_only =
        d.get(&format!("{c}/securityContext/readOnlyRootFilesystem")) == Some(&json!(true));
    if dirs.is_empty() && !read_only {
        return pointing;
    }
    found.take(
        "/writable",
        json!(dirs),
        d.from(&format!("{c}/volumeMounts")),
    );
    pointing
}

/// The container's variables: its ConfigMap's into `config` (`LOG_LEVEL`
/// into `logLevel`; the ones kiln sets itself compared, not copied), secret
/// references through their ExternalSecret into `secrets`, literals into
/// `config`. Credentials in plain text are noted, never copied.
fn environment(
    found: &mut Found,
    docs: &[Value],
    d: &At,
    c: &str,
    writable: &[String],
    used: &mut Vec<String>,
) {
    let env_from = d.get(&format!("{c}/envFrom")).and_then(Value::as_array);
    for (i, from) in env_from.into_iter().flatten().enumerate() {
        let Some(name) = from["configMapRef"]["name"].as_str() else {
            found.leave(d.from(&format!("{c}/envFrom/{i}")), "kiln reads variables from its own ConfigMap only: move them into `config` or `secrets.keys`");
            continue;
        };
        let Some(map) = of_kind(docs, "ConfigMap").find(|m| m["metadata"]["name"] == name) else {
            continue;
        };
        let m = At::new(map);
        used.push(m.id.clone());
        for (key, value) in map["data"].as_object().into_iter().flatten() {
            let at = kiln_model::pointer::join("/data", key);
            variable(found, &m, &at, key, value);
        }
    }
    let mut keys = Vec::new();
    let env = d.get(&format!("{c}/env")).and_then(Value::as_array);
    for (i, var) in env.into_iter().flatten().enumerate() {
        let at = format!("{c}/env/{i}");
        let name = var["name"].as_str().unwrap_or_default();
        if let Some(value) = var.get("value") {
            if !writable.iter().any(|w| w == name) {
                variable(found, d, &format!("{at}/value"), name, value);
            }
        } else if let Some(key_ref) = var.pointer("/valueFrom/secretKeyRef") {
            keys.push((name.to_string(), key_ref.clone(), d.from(&at)));
        } else {
            found.leave(
                d.from(&at),
                "kiln sets variables from values, its ConfigMap or the secret store only",
            );
        }
    }
    secret_keys(found, docs, &keys, used);
}

/// One variable of the ConfigMap or the container.
fn variable(found: &mut Found, m: &At, at: &str, key: &str, value: &Value) {
    let text = text_of(value);
    if kiln_check::is_credential(key, &text) {
        found
            .plain_secrets
            .push(format!("{} (`{key}`)", m.from(at)));
        found.leave(
            m.from(at),
            format!("a credential in plain text: put it into the secret store and add `{{env: {key}, remoteKey: <its key in the store>}}` to `secrets.keys`"),
        );
    } else if key == "LOG_LEVEL" {
        found.take("/logLevel", json!(text), m.from(at));
    } else if !kiln_model::description::RESERVED_CONFIG.contains(&key) {
        found.take(
            &kiln_model::pointer::join("/config", key),
            json!(text),
            m.from(at),
        );
    }
}

/// `secrets`: each secret reference through the ExternalSecret that makes its Secret.
fn secret_keys(
    found: &mut Found,
    docs: &[Value],
    keys: &[(String, Value, String)],
    used: &mut Vec<String>,
) {
    let mut entries = Vec::new();
    for (env, key_ref, from) in keys {
        let made_by = of_kind(docs, "ExternalSecret").find(|es| {
            let target = es["spec"]["target"]["name"]
                .as_str()
                .or(es["metadata"]["name"].as_str());
            target == key_ref["name"].as_str()
        });
        let Some(es) = made_by else {
            found.plain_secrets.push(format!(
                "{from} (Secret `{}`)",
                key_ref["name"].as_str().unwrap_or("?")
            ));
            found.leave(from.clone(), "reads a Secret no ExternalSecret makes: put its value into the secret store and add it to `secrets.keys`");
            continue;
        };
        let e = At::new(es);
        if !used.contains(&e.id) {
            used.push(e.id.clone());
            if let Some(store) = e.get("/spec/secretStoreRef/name") {
                found.take(
                    "/secrets/store",
                    store.clone(),
                    e.from("/spec/secretStoreRef/name"),
                );
            }
            if e.get("/spec/dataFrom").is_some() {
                found.leave(
                    e.from("/spec/dataFrom"),
                    "kiln names each key the gateway reads (`secrets.keys`); keys that only `dataFrom` brings are not imported: add those the gateway needs",
                );
            }
            if let Some(every) = e.get("/spec/refreshInterval") {
                found.take(
                    "/secrets/refreshInterval",
                    every.clone(),
                    e.from("/spec/refreshInterval"),
                );
            }
        }
        let data = es["spec"]["data"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        // The key itself, or (a templated Secret) the store value its template reads.
        let wanted = key_ref["key"].as_str().unwrap_or_default();
        let via_template = es["spec"]["target"]["template"]["data"][wanted]
            .as_str()
            .and_then(template_lookup);
        let position = data
            .iter()
            .position(|item| item["secretKey"] == wanted)
            .or_else(|| {
                let name = via_template?;
                data.iter().position(|item| item["secretKey"] == name)
            });
        match position {
            Some(i) => {
                let remote = &data[i]["remoteRef"];
                let mut key = json!({ "env": env, "remoteKey": remote["key"] });
                if let Some(property) = remote.get("property") {
                    key["property"] = property.clone();
                }
                entries.push((key, e.from(&format!("/spec/data/{i}"))));
            }
            None => found.leave(
                from.clone(),
                format!(
                    "{} has no key `{}`",
                    e.id,
                    key_ref["key"].as_str().unwrap_or("?")
                ),
            ),
        }
    }
    if entries.is_empty() {
        found.take("/secrets/keys", json!([]), String::from("(none)"));
    }
    let froms: Vec<String> = entries.iter().map(|(_, f)| f.clone()).collect();
    let list: Vec<Value> = entries.into_iter().map(|(v, _)| v).collect();
    if !list.is_empty() {
        found.take("/secrets/keys", Value::Array(list), froms.join(", "));
    }
}

/// The store value a template reads when it is a plain lookup
/// (`{{ .openai }}`): its name. Anything more (functions, several values)
/// is not a key kiln can name.
fn template_lookup(template: &str) -> Option<&str> {
    let inner = template
        .trim()
        .strip_prefix("{{")?
        .strip_suffix("}}")?
        .trim();
    let name = inner.strip_prefix('.')?;
    (!name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
    .then_some(name)
}

/// The three probes' timing, and the path they call.
fn probes(found: &mut Found, d: &At, c: &str) {
    for probe in ["startup", "readiness", "liveness"] {
        let at = format!("{c}/{probe}Probe");
        if d.get(&at).is_none() {
            continue;
        }
        // Kubernetes' defaults where the input leaves a field out: what runs.
        for (field, default) in [
            ("periodSeconds", 10),
            ("failureThreshold", 3),
            ("timeoutSeconds", 1),
        ] {
            let value = d
                .get(&format!("{at}/{field}"))
                .cloned()
                .unwrap_or(json!(default));
            found.take(
                &format!("/probes/{probe}/{field}"),
                value,
                d.from(&format!("{at}/{field}")),
            );
        }
    }
    let at = format!("{c}/readinessProbe/httpGet/path");
    let Some(path) = d.get(&at).and_then(Value::as_str) else {
        return;
    };
    if path == "/v1" || path.starts_with("/v1/") {
        found.leave(d.from(&at), format!("the open-source gateway answers `GET {path}` with 400, so these pods never become ready; kiln probes `/`"));
    } else if path != kiln_model::portkey::HEALTH_PATH {
        found.take("/healthPath", json!(path), d.from(&at));
    }
}
