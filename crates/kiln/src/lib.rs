//! kiln compiles a typed service description, per-environment overlays and
//! Portkey routing strategies into hardened, deterministic Kubernetes YAML.
//!
//! This crate is the pipeline, on top of three layers that Cargo keeps
//! apart (each depends only on those before it):
//!
//! ```text
//! kiln-model   the description, strategies, settings, findings; reading and writing text
//!   <- kiln-k8s    typed Kubernetes objects, patches, kustomize's transforms
//!     <- kiln-check  the rules of `kiln check` over manifests
//!       <- kiln        this crate: the pipeline, and the library's front door
//!         <- kiln-cli    the `kiln` command
//! ```
//!
//! The pipeline, one module per stage, data flowing one way:
//!
//! | stage | module | entry point |
//! |---|---|---|
//! | load the repository | [`repo`] | [`Repo::open`], [`Repo::discover`] |
//! | resolve an environment | [`overlay`] | [`Repo::environment`] → [`Environment`] |
//! | build typed resources | `build` | [`build`] → [`Resource`]s |
//! | patch (overlays' resource changes) | `apply` | [`apply_overlays`] |
//! | check (Pod Security, references, schemas) | `inspect` | [`inspect`] → [`Inspection`] |
//! | emit canonical files | `output` | [`emit_files`]; all of it: [`render()`] → [`Rendered`] |
//! | write `out/` | [`write`](mod@write) | [`write()`], [`compare`] |
//!
//! Beside the pipeline: [`gitops`] (Argo CD and Flux objects for `out/`),
//! [`aca`] (Azure Container Apps as Terraform variables), [`diff`] and
//! [`git`] (what a change does), [`init`] (a new repository), [`manifests`]
//! (hand-written manifests for `kiln check PATH`).
//!
//! ```no_run
//! # fn main() -> Result<(), kiln::Error> {
//! let repo = kiln::Repo::discover(".")?;
//! let rendered = kiln::render_repo(&repo, &kiln::Selection::All)?;
//! let report = kiln::write(&repo.out_dir(), &rendered)?; // removes what no longer exists
//! println!("wrote {:?}", report.written);
//! # Ok(()) }
//! ```

pub mod aca;
mod apply;
mod build;
pub mod diff;
mod dir_handle;
pub mod git;
pub mod gitops;
pub mod import;
pub mod init;
mod inspect;
pub mod manifests;
mod origin;
mod output;
pub mod overlay;
mod parallel;
mod render;
pub mod repo;
mod safe_fs;
mod selection;
mod source;
pub mod write;

pub use apply::apply_overlays;
pub use build::build;
pub use inspect::{Inspection, file_name, inspect, manifests_of};
pub use output::{OutputFile, Rendered, Rendering, emit_files};
pub use overlay::Environment;
pub use render::{check_repo, render, render_repo};
pub use repo::Repo;
pub use selection::Selection;
pub use write::{Difference, DifferenceKind, WriteReport, compare, write};

// The layers below, under the names library users know them by.
pub use kiln_check as check;
pub use kiln_k8s::{Resource, crds, openapi, patch, transform};
pub use kiln_model::{
    Error, InputError, Result, closest, emit, enterprise, finding, gateway, image, js, layout,
    pointer, route, rules, settings, spec, strategy, suppress, values,
};

/// The library guide's examples, compiled and run as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/guide/library.md")]
pub struct LibraryGuideDoctests;
