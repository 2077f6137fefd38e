//! Images pinned and labelled with their version, resources bounded, and no
//! secret in plain text.

use super::object::{ContainerView, Object, Pod};
use super::{Findings, pointer_join};
use kiln_model::image::ImageRef;
use kiln_model::rules::{
    IMAGE_TAG, INGRESS_CLASS, INJECTED_HEADER_SIZE, LITERAL_CREDENTIAL, OBJECT_SIZE,
    PLAINTEXT_SECRET, PROBE_PATH, RESOURCES, VERSION_LABEL,
};

const VERSION: &str = "app.kubernetes.io/version";

/// What an injected header may take of Node.js's 16 KiB for a request's
/// headers, leaving 4 KiB to the client's own.
const INJECTED_LIMIT: usize = 12 << 10;
/// What one provider key is counted as, quoted and escaped.
const KEY_BYTES: usize = 256;

/// The size of a credential template once External Secrets fills it in:
/// its text, each `{{"{{"}}` as the two characters it prints and each key
/// lookup as [`KEY_BYTES`].
fn injected_size(template: &str) -> usize {
    let mut size = 0;
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        size += start;
        let Some(end) = rest[start..].find("}}") else {
            return size + rest.len() - start;
        };
        let action = &rest[start..start + end + 2];
        size += if action == "{{\"{{\"}}" { 2 } else { KEY_BYTES };
        rest = &rest[start + end + 2..];
    }
    size + rest.len()
}

/// Environment variable names that say their value is a credential.
const SECRET_NAME_SUFFIXES: [&str; 6] = [
    "_KEY",
    "_TOKEN",
    "_PASSWORD",
    "_SECRET",
    "_PASSWD",
    "_CREDENTIALS",
];

pub(super) fn pod(o: &Object, pod: &Pod, out: &mut Findings) {
    let mut tags = Vec::new();
    for c in pod.containers() {
        if let Some(tag) = image(o, &c, out).filter(|_| !c.ephemeral) {
            tags.push(tag);
        }
        literal_credentials(o, &c, out);
        if !c.ephemeral {
            resources(o, &c, out);
            probe_paths(o, &c, out);
        }
    }
    version_label(o, pod, &tags, out);
}

/// A pinned image; its tag, if it has one.
fn image<'c>(o: &Object, c: &ContainerView<'c>, out: &mut Findings) -> Option<&'c str> {
    let name = c.name;
    match c.image {
        None => out.push(
            &IMAGE_TAG,
            o,
            format!("{}/image", c.pointer),
            format!("container `{name}` has no image"),
        ),
        Some(image) => {
            let digest = image.contains("@sha256:");
            match ImageRef::parse(image).tag {
                Some("latest") if !digest => out.push(
                    &IMAGE_TAG,
                    o,
                    format!("{}/image", c.pointer),
                    format!("container `{name}` uses the floating tag `latest` ({image})"),
                ),
                None if !digest => out.push(
                    &IMAGE_TAG,
                    o,
                    format!("{}/image", c.pointer),
                    format!(
                        "container `{name}` has an untagged image ({image}), which means latest"
                    ),
                ),
                Some(tag) => return Some(tag),
                _ => {}
            }
        }
    }
    None
}

/// A non-empty literal that looks like a key, or is named like a credential
/// (`DB_PASSWORD: hunter2`) and is not a `$(VAR)` reference.
///
/// ```
/// assert!(kiln_check::is_credential("DB_PASSWORD", "hunter2"));
/// assert!(!kiln_check::is_credential("LOG_LEVEL", "info"));
/// ```
pub fn is_credential(name: &str, value: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    // Entra ID client and tenant IDs are public identifiers shaped like tokens.
    let identifier = ["_CLIENT_ID", "_TENANT_ID"]
        .iter()
        .any(|s| upper.ends_with(s));
    if identifier && kiln_model::values::is_uuid(value) {
        return false;
    }
    let named = upper == "PASSWORD" || SECRET_NAME_SUFFIXES.iter().any(|s| upper.ends_with(s));
    !value.is_empty()
        && (kiln_model::credential::contains(value) || (named && !value.contains("$(")))
}

/// The open-source gateway's probes call only paths it answers 2xx: a probe
/// elsewhere fails forever and the kubelet restarts the pod in a loop.
fn probe_paths(o: &Object, c: &ContainerView, out: &mut Findings) {
    let open_source = c.image.is_some_and(|image| {
        let name = ImageRef::parse(image).name;
        name == kiln_model::portkey::IMAGE
            || name.ends_with(&format!("/{}", kiln_model::portkey::IMAGE))
    });
    if !open_source {
        return;
    }
    for (kind, probe) in c.probes {
        let Some(path) = probe
            .and_then(|p| p.http_get.as_ref())
            .and_then(|g| g.path.as_deref())
        else {
            continue;
        };
        if !kiln_model::portkey::PROBE_PATHS.contains(&path) {
            out.push(
                &PROBE_PATH,
                o,
                format!("{}/{kind}/httpGet/path", c.pointer),
                format!(
                    "container `{}`: the open-source gateway does not answer `GET {path}` with 2xx, so its {kind} never passes",
                    c.name
                ),
            );
        }
    }
}

/// No literal value in an env var that looks like a credential or is named like one.
fn literal_credentials(o: &Object, c: &ContainerView, out: &mut Findings) {
    let name = c.name;
    for (i, env) in c.env.iter().enumerate() {
        let Some(value) = env.value.as_deref().filter(|v| !v.is_empty()) else {
            continue;
        };
        if is_credential(&env.name, value) {
            out.push(
                &LITERAL_CREDENTIAL,
                o,
                format!("{}/env/{i}/value", c.pointer),
                format!(
                    "container `{name}` sets {} to a literal value that looks like a credential",
                    env.name
                ),
            );
        }
    }
}

/// cpu and memory requests and limits.
fn resources(o: &Object, c: &ContainerView, out: &mut Findings) {
    let name = c.name;
    let resources = c.resources;
    let mut missing = Vec::new();
    for (part, map) in [
        ("requests", resources.and_then(|r| r.requests.as_ref())),
        ("limits", resources.and_then(|r| r.limits.as_ref())),
    ] {
        for kind in ["cpu", "memory"] {
            if !map.is_some_and(|m| m.contains_key(kind)) {
                missing.push(format!("{part}.{kind}"));
            }
        }
    }
    if !missing.is_empty() {
        out.push(
            &RESOURCES,
            o,
            format!("{}/resources", c.pointer),
            format!("container `{name}` does not set {}", missing.join(", ")),
        );
    }
}

/// The version label or annotation, on the object or its pod template, names an image tag.
fn version_label(o: &Object, pod: &Pod, tags: &[&str], out: &mut Findings) {
    let places = [
        ("/metadata/labels", &o.labels),
        (
            "/metadata/annotations",
            &super::object::string_map(o.at("/metadata/annotations")),
        ),
        (&*format!("{}/metadata/labels", pod.pointer), &pod.labels),
        (
            &*format!("{}/metadata/annotations", pod.pointer),
            &pod.annotations,
        ),
    ];
    for (at, map) in places {
        if let Some(version) = map.get(VERSION)
            && !tags.is_empty()
            && !tags.contains(&version.as_str())
        {
            out.push(
                &VERSION_LABEL,
                o,
                pointer_join(at, VERSION),
                format!(
                    "{VERSION} is `{version}` but the image tag is `{}`",
                    tags.join("`, `")
                ),
            );
        }
    }
}

/// The largest object Kubernetes stores: ConfigMaps and Secrets are refused
/// above 1 MiB of data, and etcd refuses requests not much larger.
pub const MAX_OBJECT_BYTES: u64 = 1 << 20;

pub(super) fn object(o: &Object, out: &mut Findings) {
    let size = kiln_model::emit::json_len(&o.manifest.value);
    if size > MAX_OBJECT_BYTES {
        out.push(
            &OBJECT_SIZE,
            o,
            "",
            format!(
                "the object is {:.1} MiB as JSON; Kubernetes stores objects of at most 1 MiB",
                size as f64 / f64::from(1 << 20)
            ),
        );
    }
    match (o.api_version, o.kind) {
        ("v1", "Secret") => {
            for field in ["data", "stringData"] {
                if o.at(&format!("/{field}"))
                    .and_then(|d| d.as_object())
                    .is_some_and(|d| !d.is_empty())
                {
                    out.push(
                        &PLAINTEXT_SECRET,
                        o,
                        format!("/{field}"),
                        "a Secret with data would put its values in Git (base64 is not encryption)",
                    );
                }
            }
        }
        ("v1", "ConfigMap") => {
            let data = o.at("/data").and_then(|d| d.as_object());
            for (key, value) in data.into_iter().flatten() {
                if value.as_str().is_some_and(|v| is_credential(key, v)) {
                    out.push(
                        &LITERAL_CREDENTIAL,
                        o,
                        pointer_join("/data", key),
                        format!("ConfigMap key `{key}` holds a literal value that looks like a credential or is named like one"),
                    );
                }
            }
        }
        ("external-secrets.io/v1", "ExternalSecret") => {
            let at = "/spec/target/template/data/credential";
            if let Some(size) = o.at(at).and_then(|t| t.as_str()).map(injected_size)
                && size > INJECTED_LIMIT
            {
                out.push(
                    &INJECTED_HEADER_SIZE,
                    o,
                    at,
                    format!(
                        "the injected value comes to about {size} bytes (limit {INJECTED_LIMIT})"
                    ),
                );
            }
        }
        ("networking.k8s.io/v1", "Ingress") => {
            let class = "/metadata/annotations/kubernetes.io~1ingress.class";
            if o.at("/spec/ingressClassName").is_some() && o.at(class).is_some() {
                out.push(
                    &INGRESS_CLASS,
                    o,
                    "/spec/ingressClassName",
                    "the Ingress sets both spec.ingressClassName and the kubernetes.io/ingress.class annotation, which the API server refuses on create",
                );
            }
        }
        _ => {}
    }
    if o.kind != "Secret" {
        embedded_credentials(o, &o.manifest.value, String::new(), out);
    }
}

/// A credential inside any string of the object (an annotation, a URL, a
/// header, an argument): a password in a URL, a bearer token, a webhook URL,
/// a provider key ([`kiln_model::credential::spans`]). Container env values
/// and ConfigMap data have their own finding; a Secret is one.
fn embedded_credentials(o: &Object, value: &serde_json::Value, at: String, out: &mut Findings) {
    match value {
        serde_json::Value::String(s) => {
            let own_rule = (o.kind == "ConfigMap" && at.starts_with("/data/"))
                || (at.contains("/env/") && at.ends_with("/value"));
            if !own_rule && !kiln_model::credential::spans(s).is_empty() {
                out.push(
                    &LITERAL_CREDENTIAL,
                    o,
                    at,
                    "holds a credential (a password in a URL, a bearer token, a webhook URL or a provider key); it would be committed and readable by anyone who can read the object",
                );
            }
        }
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                embedded_credentials(o, v, pointer_join(&at, key), out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                embedded_credentials(o, v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}
