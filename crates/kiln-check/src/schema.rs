//! Schemas built in: each document of a known kind is read into its type
//! (`k8s-openapi` for core kinds) and written back: a field the type lost on
//! the way is not a field of the kind. Custom resources are validated against
//! their CRD schemas ([`super::crd`]).

use super::Findings;
use super::object::Object;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kiln_k8s::first_difference;
use kiln_model::rules::{NOT_AN_OBJECT, SCHEMA, UNKNOWN_KIND};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub(super) fn check(o: &Object, out: &mut Findings) {
    if !o.manifest.value.is_object() {
        out.push(&NOT_AN_OBJECT, o, "", "the document is not a mapping");
        return;
    }
    for (pointer, present) in [
        ("/apiVersion", !o.api_version.is_empty()),
        ("/kind", !o.kind.is_empty()),
        (
            "/metadata/name",
            !o.name.is_empty() || o.at("/metadata/generateName").is_some(),
        ),
    ] {
        if !present {
            out.push(
                &NOT_AN_OBJECT,
                o,
                pointer,
                format!("`{pointer}` is missing or not a string"),
            );
        }
    }
    if o.kind.is_empty() || o.api_version.is_empty() {
        return;
    }
    let verdict = match kiln_k8s::crd_schema::schema(o.api_version, o.kind) {
        Some(schema) => Some(custom(schema, &o.manifest.value)),
        // Serialized from its k8s-openapi type: reading it back cannot find anything.
        None if o.manifest.from_typed => Some(Ok(())),
        None => strict(o.api_version, o.kind, &o.manifest.value),
    };
    match verdict {
        None => out.push(
            &UNKNOWN_KIND,
            o,
            "/kind",
            format!(
                "no schema for {} {}: its fields are not checked",
                o.api_version, o.kind
            ),
        ),
        Some(Ok(())) => {}
        Some(Err((pointer, message))) => out.push(&SCHEMA, o, pointer, message),
    }
}

/// Reads `value` into `T` and back; the first value that does not survive.
fn round_trip<T: DeserializeOwned + Serialize>(
    kind: &str,
    value: &Value,
) -> Result<(), (String, String)> {
    let typed: T = serde_path_to_error::deserialize(value).map_err(|e| {
        let pointer = kiln_model::parse::pointer(e.path());
        (pointer, format!("not a valid {kind}: {}", e.into_inner()))
    })?;
    let mut back = serde_json::to_value(&typed).unwrap_or(Value::Null);
    // kiln's custom resource types leave apiVersion and kind to the caller.
    if let (Value::Object(back), Value::Object(doc)) = (&mut back, value) {
        for field in ["apiVersion", "kind"] {
            if let Some(v) = doc.get(field) {
                back.entry(field).or_insert_with(|| v.clone());
            }
        }
    }
    match first_difference(value, &back, String::new()) {
        None => Ok(()),
        Some(pointer) => Err((
            pointer.clone(),
            format!("`{pointer}` is not a field of {kind} (or has the wrong type)"),
        )),
    }
}

/// A custom resource: its CRD schema, and `metadata` as the ObjectMeta type.
fn custom(crd: &kiln_k8s::crd_schema::CrdSchema, value: &Value) -> Result<(), (String, String)> {
    if let Some(problem) = crd.violation(value) {
        return Err(problem);
    }
    let metadata = value.get("metadata").unwrap_or(&Value::Null);
    round_trip::<ObjectMeta>("ObjectMeta", metadata).map_err(|(pointer, message)| {
        (
            format!("/metadata{pointer}"),
            message.replace("of ObjectMeta", "of metadata"),
        )
    })
}

macro_rules! kinds {
    ($($core:ty),* $(,)?) => {
        /// Strict check of a known kind; None for a kind kiln has no type for.
        fn strict(api_version: &str, kind: &str, value: &Value) -> Option<Result<(), (String, String)>> {
            use k8s_openapi::Resource;
            $( if api_version == <$core>::API_VERSION && kind == <$core>::KIND {
                return Some(round_trip::<$core>(kind, value));
            } )*
            None
        }
    };
}

use k8s_openapi::api::{apps, autoscaling, batch, core, networking, policy, rbac, scheduling};
kinds! {
    core::v1::Pod, core::v1::Service, core::v1::ConfigMap, core::v1::Secret,
        core::v1::ServiceAccount, core::v1::Namespace, core::v1::PersistentVolumeClaim,
        core::v1::LimitRange, core::v1::ResourceQuota,
        apps::v1::Deployment, apps::v1::StatefulSet, apps::v1::DaemonSet, apps::v1::ReplicaSet,
        batch::v1::Job, batch::v1::CronJob,
        networking::v1::NetworkPolicy, networking::v1::Ingress, networking::v1::IngressClass,
        policy::v1::PodDisruptionBudget, autoscaling::v2::HorizontalPodAutoscaler,
        rbac::v1::Role, rbac::v1::RoleBinding, rbac::v1::ClusterRole, rbac::v1::ClusterRoleBinding,
        scheduling::v1::PriorityClass,
}
