//! The Kubernetes layer of kiln, above `kiln-model`: the objects kiln renders
//! as types, and the operations kustomize also has.
//!
//! - [`Resource`]: one rendered object, a core kind from `k8s-openapi` or one
//!   of kiln's typed custom resources ([`crds`]: HTTPRoute, ServiceMonitor,
//!   ExternalSecret, Argo CD Application, Flux Kustomization/GitRepository);
//! - [`crd_schema`]: the published CRD schemas of those custom resources,
//!   which decide what a custom resource may hold;
//! - [`openapi`]: each core kind's strategic-merge keys, from the Kubernetes
//!   OpenAPI definitions;
//! - [`patch`]: RFC 6902 JSON patches (with a bound on what `copy` may
//!   duplicate), RFC 7386 merge patches and strategic merge;
//! - [`transform`]: kustomize's conveniences (namespace, name prefix/suffix,
//!   labels, annotations, replicas, images) on documents.

pub mod crd_schema;
pub mod crds;
pub mod openapi;
pub mod patch;
mod resource;
pub mod transform;

pub use resource::{Fault, ReadError, Resource, first_difference};
