//! [`Resource`]: one typed Kubernetes object, of any kind kiln renders.

use crate::crds::{
    Application, EnvoyRouteFilter, ExternalSecret, FluxKustomization, GitRepository, HttpRoute,
    ServiceMonitor,
};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;
use std::fmt;

/// Why a document is not an object kiln renders.
///
/// ```
/// use kiln_k8s::{Fault, Resource};
/// use serde_json::json;
/// let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}});
/// assert_eq!(Resource::from_value(&pod).unwrap_err().fault, Fault::NotRendered);
/// let service = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
///                      "spec": {"portz": [{"port": 80}]}});
/// let e = Resource::from_value(&service).unwrap_err();
/// assert_eq!(e.fault, Fault::NotAField("/spec/portz".into()));
/// assert_eq!(e.to_string(), "not a valid v1 Service: `/spec/portz` is not a field of it (or has the wrong shape)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    /// The document's `apiVersion`.
    pub api_version: String,
    /// The document's `kind`.
    pub kind: String,
    /// What is wrong.
    pub fault: Fault,
}

/// What is wrong with a document read as a Kubernetes object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// A kind kiln does not render.
    NotRendered,
    /// A custom resource breaks its CRD schema at `pointer`.
    Schema {
        /// JSON pointer of the offending value.
        pointer: String,
        /// What the schema wants.
        message: String,
    },
    /// A value of the wrong type, as the type's deserializer words it.
    Type(String),
    /// A required field (this JSON pointer) is absent.
    Missing(String),
    /// This JSON pointer is not a field of the kind, or has the wrong shape.
    NotAField(String),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (api_version, kind) = (&self.api_version, &self.kind);
        let why = match &self.fault {
            Fault::NotRendered => return write!(f, "kiln does not render {api_version} {kind}"),
            Fault::Schema { pointer, message } => format!("`{pointer}`: {message}"),
            Fault::Type(message) => message.clone(),
            Fault::Missing(pointer) => format!("`{pointer}` is required"),
            Fault::NotAField(pointer) => {
                format!("`{pointer}` is not a field of it (or has the wrong shape)")
            }
        };
        write!(f, "not a valid {api_version} {kind}: {why}")
    }
}

impl std::error::Error for ReadError {}

macro_rules! resources {
    ($( $(#[$doc:meta])* $variant:ident($ty:ty) = $api_version:literal, $kind:literal, rank $rank:literal; )*) => {
        /// A typed Kubernetes object. Core kinds are `k8s-openapi` types; custom
        /// resources are kiln's typed structs in [`crate::crds`].
        #[derive(Debug, Clone, PartialEq)]
        #[allow(clippy::large_enum_variant)]
        pub enum Resource {
            $( $(#[$doc])* $variant($ty), )*
        }

        impl Resource {
            /// `apiVersion`, e.g. `apps/v1`.
            pub fn api_version(&self) -> &'static str {
                match self { $( Resource::$variant(_) => $api_version, )* }
            }

            /// `kind`, e.g. `Deployment`.
            pub fn kind(&self) -> &'static str {
                match self { $( Resource::$variant(_) => $kind, )* }
            }

            /// The object's metadata.
            pub fn metadata(&self) -> &ObjectMeta {
                match self { $( Resource::$variant(r) => &r.metadata, )* }
            }

            /// The object's metadata, to change.
            pub fn metadata_mut(&mut self) -> &mut ObjectMeta {
                match self { $( Resource::$variant(r) => &mut r.metadata, )* }
            }

            /// Position in apply order: lower is applied first.
            pub fn apply_rank(&self) -> u8 {
                match self { $( Resource::$variant(_) => $rank, )* }
            }

            /// Reads a Kubernetes object (JSON) back into its type. Fails for a
            /// kind kiln does not render, a field its type does not have, or a
            /// value of the wrong type, naming the JSON pointer. A custom
            /// resource is held to its CRD schema ([`crate::crd_schema`]).
            pub fn from_value(value: &Value) -> Result<Resource, ReadError> {
                Resource::read(value).map(|(typed, _)| typed)
            }

            /// Like [`Resource::from_value`], with the object's canonical
            /// JSON ([`Resource::to_value`] of what was read), which the
            /// check computes anyway.
            pub fn read(value: &Value) -> Result<(Resource, Value), ReadError> {
                let api_version = value["apiVersion"].as_str().unwrap_or_default();
                let kind = value["kind"].as_str().unwrap_or_default();
                let fail = |fault| ReadError {
                    api_version: api_version.to_string(),
                    kind: kind.to_string(),
                    fault,
                };
                // A custom resource may hold whatever its CRD schema allows, modelled or not.
                if let Some((pointer, message)) = crate::crd_schema::schema(api_version, kind)
                    .and_then(|crd| crd.violation(value))
                {
                    return Err(fail(Fault::Schema { pointer, message }));
                }
                // Deserialized from the borrowed value: no copy. Unknown fields are
                // caught by the round-trip comparison below, for every kind alike.
                let typed = match (api_version, kind) {
                    $( ($api_version, $kind) => <$ty as serde::Deserialize>::deserialize(value)
                        .map(Resource::$variant), )*
                    _ => return Err(fail(Fault::NotRendered)),
                };
                let typed = typed.map_err(|e| fail(Fault::Type(e.to_string())))?;
                // The core types read an absent required field as its default.
                if let Some(pointer) = crate::openapi::KindSchema::of(api_version, kind)
                    .and_then(|schema| schema.missing_field(value))
                {
                    return Err(fail(Fault::Missing(pointer)));
                }
                let canonical = typed.to_value();
                match difference(value, &canonical, String::new(), true) {
                    None => Ok((typed, canonical)),
                    Some(pointer) => Err(fail(Fault::NotAField(pointer))),
                }
            }

            /// The object as JSON, with `apiVersion` and `kind` set.
            pub fn to_value(&self) -> Value {
                let value = match self {
                    $( Resource::$variant(r) => serde_json::to_value(r), )*
                };
                // Serialising these types cannot fail: no maps with non-string keys, no custom Serialize.
                let mut value = value.unwrap_or(Value::Null);
                if let Value::Object(map) = &mut value {
                    map.insert("apiVersion".into(), Value::from(self.api_version()));
                    map.insert("kind".into(), Value::from(self.kind()));
                }
                value
            }
        }
    };
}

// Apply order: the Namespace (with its Pod Security labels) first, then the
// NetworkPolicy so no pod ever runs unfenced, configuration and secrets before
// the workloads that read them, routing and monitoring last.
resources! {
    /// core/v1 Namespace.
    Namespace(Namespace) = "v1", "Namespace", rank 0;
    /// networking.k8s.io/v1 NetworkPolicy.
    NetworkPolicy(NetworkPolicy) = "networking.k8s.io/v1", "NetworkPolicy", rank 1;
    /// core/v1 ConfigMap.
    ConfigMap(ConfigMap) = "v1", "ConfigMap", rank 2;
    /// core/v1 ServiceAccount (enterprise: the pods' cloud identity).
    ServiceAccount(ServiceAccount) = "v1", "ServiceAccount", rank 2;
    /// external-secrets.io/v1 ExternalSecret.
    ExternalSecret(ExternalSecret) = "external-secrets.io/v1", "ExternalSecret", rank 3;
    /// core/v1 Service.
    Service(Service) = "v1", "Service", rank 4;
    /// apps/v1 Deployment.
    Deployment(Deployment) = "apps/v1", "Deployment", rank 5;
    /// policy/v1 PodDisruptionBudget.
    PodDisruptionBudget(PodDisruptionBudget) = "policy/v1", "PodDisruptionBudget", rank 6;
    /// autoscaling/v2 HorizontalPodAutoscaler.
    HorizontalPodAutoscaler(HorizontalPodAutoscaler) = "autoscaling/v2", "HorizontalPodAutoscaler", rank 6;
    /// networking.k8s.io/v1 Ingress (enterprise: a cloud load balancer).
    Ingress(Ingress) = "networking.k8s.io/v1", "Ingress", rank 7;
    /// gateway.envoyproxy.io/v1alpha1 HTTPRouteFilter (strategies served by name).
    EnvoyRouteFilter(EnvoyRouteFilter) = "gateway.envoyproxy.io/v1alpha1", "HTTPRouteFilter", rank 6;
    /// gateway.networking.k8s.io/v1 HTTPRoute.
    HttpRoute(HttpRoute) = "gateway.networking.k8s.io/v1", "HTTPRoute", rank 7;
    /// monitoring.coreos.com/v1 ServiceMonitor.
    ServiceMonitor(ServiceMonitor) = "monitoring.coreos.com/v1", "ServiceMonitor", rank 8;
    /// argoproj.io/v1alpha1 Application (GitOps wiring, `out/argocd/`).
    Application(Application) = "argoproj.io/v1alpha1", "Application", rank 9;
    /// source.toolkit.fluxcd.io/v1 GitRepository (GitOps wiring, `out/flux/`).
    GitRepository(GitRepository) = "source.toolkit.fluxcd.io/v1", "GitRepository", rank 9;
    /// kustomize.toolkit.fluxcd.io/v1 Kustomization (GitOps wiring, `out/flux/`).
    FluxKustomization(FluxKustomization) = "kustomize.toolkit.fluxcd.io/v1", "Kustomization", rank 10;
}

impl Resource {
    /// `metadata.name` (empty if unset).
    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or_default()
    }

    /// `metadata.namespace`, for namespaced objects.
    pub fn namespace(&self) -> Option<&str> {
        self.metadata().namespace.as_deref()
    }
}

/// The first JSON pointer at which `a` (as written) and `b` (read into a type
/// and back) differ. An explicit `null` equals an absent field, and a number
/// equals the string a type wrote it back as (`cpu: 1` is the quantity "1").
pub fn first_difference(a: &Value, b: &Value, at: String) -> Option<String> {
    difference(a, b, at, false)
}

/// [`first_difference`]; with `empty_is_absent`, an absent field also equals
/// the `""` a k8s-openapi type writes for it (an optional reference's `name`,
/// read by the API server alike), for callers that check required fields
/// themselves.
fn difference(a: &Value, b: &Value, at: String, empty_is_absent: bool) -> Option<String> {
    // Most objects read back unchanged: compare before building any pointer.
    if a == b {
        return None;
    }
    let deeper = |p, q, at| difference(p, q, at, empty_is_absent);
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => x
            .keys()
            .chain(y.keys().filter(|k| !x.contains_key(*k)))
            .find_map(|k| match (x.get(k), y.get(k)) {
                (Some(p), Some(q)) if p == q => None,
                (Some(p), Some(q)) => deeper(p, q, kiln_model::pointer::join(&at, k)),
                (Some(Value::Null), None) => None,
                (None, Some(Value::String(s))) if empty_is_absent && s.is_empty() => None,
                _ => Some(kiln_model::pointer::join(&at, k)),
            }),
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .filter(|(_, (p, q))| p != q)
            .find_map(|(i, (p, q))| deeper(p, q, format!("{at}/{i}"))),
        (Value::Number(n), Value::String(s)) if n.to_string() == *s => None,
        _ => Some(if at.is_empty() { "/".into() } else { at }),
    }
}
