//! What the rules look at: a manifest's identity, labels and pod template,
//! and how manifests are loaded from files or taken from a render.

use super::{Manifest, ObjectRef};
use k8s_openapi::api::core::v1::{
    ContainerPort, EnvFromSource, EnvVar, PodSpec, Probe, ResourceRequirements, SecurityContext,
};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// A manifest with the parts the rules need picked out.
pub(crate) struct Object<'a> {
    pub manifest: &'a Manifest,
    pub api_version: &'a str,
    pub kind: &'a str,
    pub name: &'a str,
    /// `metadata.namespace`, or "" (the namespace the manifests are applied to).
    pub namespace: &'a str,
    pub labels: BTreeMap<String, String>,
    pub pod: Option<Pod>,
}

/// A pod template (or a Pod's own spec), typed.
pub(crate) struct Pod {
    /// Pointer of the template object (`/spec/template`; "" for a Pod).
    pub pointer: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub spec: PodSpec,
}

/// One container of any of the three lists, with its pointer.
pub(crate) struct ContainerView<'a> {
    pub pointer: String,
    pub name: &'a str,
    pub image: Option<&'a str>,
    pub security_context: Option<&'a SecurityContext>,
    pub ports: &'a [ContainerPort],
    pub env: &'a [EnvVar],
    pub env_from: &'a [EnvFromSource],
    pub resources: Option<&'a ResourceRequirements>,
    pub probes: [(&'static str, Option<&'a Probe>); 3],
    /// Ephemeral containers (debugging) need no resources or probes.
    pub ephemeral: bool,
}

impl Pod {
    /// `/spec/template/spec`.
    pub fn spec_pointer(&self) -> String {
        format!("{}/spec", self.pointer)
    }

    /// containers, initContainers and ephemeralContainers, in that order.
    pub fn containers(&self) -> Vec<ContainerView<'_>> {
        // Container and EphemeralContainer are distinct types with the same fields.
        macro_rules! view {
            ($c:expr, $pointer:expr, $ephemeral:expr) => {
                ContainerView {
                    pointer: $pointer,
                    name: &$c.name,
                    image: $c.image.as_deref(),
                    security_context: $c.security_context.as_ref(),
                    ports: $c.ports.as_deref().unwrap_or_default(),
                    env: $c.env.as_deref().unwrap_or_default(),
                    env_from: $c.env_from.as_deref().unwrap_or_default(),
                    resources: $c.resources.as_ref(),
                    probes: [
                        ("livenessProbe", $c.liveness_probe.as_ref()),
                        ("readinessProbe", $c.readiness_probe.as_ref()),
                        ("startupProbe", $c.startup_probe.as_ref()),
                    ],
                    ephemeral: $ephemeral,
                }
            };
        }
        let at = self.spec_pointer();
        let spec = &self.spec;
        let init = spec.init_containers.as_deref().unwrap_or_default();
        let ephemeral = spec.ephemeral_containers.as_deref().unwrap_or_default();
        let mut views = Vec::new();
        for (field, list) in [
            ("containers", spec.containers.as_slice()),
            ("initContainers", init),
        ] {
            views.extend(
                list.iter()
                    .enumerate()
                    .map(|(i, c)| view!(c, format!("{at}/{field}/{i}"), false)),
            );
        }
        views.extend(
            ephemeral
                .iter()
                .enumerate()
                .map(|(i, c)| view!(c, format!("{at}/ephemeralContainers/{i}"), true)),
        );
        views
    }
}

/// Where each kind keeps its pod template.
fn pod_template_pointer(kind: &str) -> Option<&'static str> {
    match kind {
        "Pod" => Some(""),
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "ReplicationController"
        | "Job" => Some("/spec/template"),
        "CronJob" => Some("/spec/jobTemplate/spec/template"),
        _ => None,
    }
}

pub(crate) fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

impl<'a> Object<'a> {
    pub fn new(manifest: &'a Manifest) -> Object<'a> {
        let v = &manifest.value;
        let text = |p: &str| v.pointer(p).and_then(Value::as_str).unwrap_or_default();
        let kind = text("/kind");
        let pod = pod_template_pointer(kind).and_then(|at| {
            let template = v.pointer(at)?;
            // A template that is not a valid PodSpec is reported by the schema rule.
            let spec = PodSpec::deserialize(template.get("spec")?).ok()?;
            Some(Pod {
                pointer: at.to_string(),
                labels: string_map(template.pointer("/metadata/labels")),
                annotations: string_map(template.pointer("/metadata/annotations")),
                spec,
            })
        });
        Object {
            manifest,
            api_version: text("/apiVersion"),
            kind,
            name: text("/metadata/name"),
            namespace: text("/metadata/namespace"),
            labels: string_map(v.pointer("/metadata/labels")),
            pod,
        }
    }

    pub fn reference(&self) -> ObjectRef {
        ObjectRef {
            kind: self.kind.to_string(),
            namespace: (!self.namespace.is_empty()).then(|| self.namespace.to_string()),
            name: self.name.to_string(),
        }
    }

    /// The value at `pointer`, if any.
    pub fn at(&self, pointer: &str) -> Option<&'a Value> {
        self.manifest.value.pointer(pointer)
    }
}
