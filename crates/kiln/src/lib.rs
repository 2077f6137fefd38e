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
//! The pipeline, one module per stage, named for it, data flowing one way:
//!
//! | stage | module | entry point |
//! |---|---|---|
//! | load the repository | [`load`] | [`Repo::open`], [`Repo::discover`] |
//! | resolve an environment | [`resolve`] | [`Repo::environment`] → [`Environment`] |
//! | build typed resources | [`build`](mod@build) | [`build()`] → [`k8s::Resource`]s |
//! | patch (overlays' resource changes) | [`patch`] | [`apply_overlays`] |
//! | check (Pod Security, references, schemas) | [`check`](mod@check) | [`inspect`] → [`Inspection`] |
//! | emit canonical files | [`emit`] | [`emit_files`]; all of it: [`render()`] → [`EnvironmentOutput`] |
//! | write `out/` | [`write`](mod@write) | [`write()`], [`compare`] |
//!
//! The layers below are re-exported as modules: [`model`] (kiln-model: the
//! description, strategies and the routing simulator, settings, findings,
//! reading and writing text), [`k8s`] (kiln-k8s: typed Kubernetes objects,
//! patches, transforms) and [`rules`] (kiln-check: the rules of `kiln
//! check`). Each layer has its own error; this crate's [`Error`] takes
//! kiln-model's in (as [`Error::Input`]) and adds the pipeline's own
//! failures: paths, git, `out/`, checks.
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
pub mod build;
pub mod check;
pub mod diff;
mod dir_handle;
pub mod emit;
mod error;
pub mod git;
pub mod gitops;
pub mod import;
pub mod init;
pub mod load;
pub mod manifests;
mod origin;
mod parallel;
pub mod patch;
mod render;
pub mod resolve;
mod safe_fs;
mod selection;
mod source;
pub mod write;

pub use build::build;
pub use check::{Inspection, file_name, inspect, manifests_of};
pub use emit::{EnvironmentOutput, OutputFile, RenderOutput, emit_files};
pub use error::{Error, Result};
pub use load::Repo;
pub use patch::apply_overlays;
pub use render::{check_repo, render, render_repo};
pub use resolve::Environment;
pub use selection::Selection;
pub use write::{FileMismatch, MismatchKind, WriteReport, compare, write};

// The layers below, each as one module.
pub use kiln_check as rules;
pub use kiln_k8s as k8s;
pub use kiln_model as model;

/// The library guide's examples, compiled and run as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/guide/library.md")]
pub struct LibraryGuideDoctests;
