//! kiln compiles a typed service description, per-environment overlays and
//! Portkey routing strategies into hardened, deterministic Kubernetes YAML.
//!
//! The pipeline, one module per stage, data flowing one way:
//!
//! | stage | module | entry point |
//! |---|---|---|
//! | load the repository | [`repo`] | [`Repo::open`], [`Repo::discover`] |
//! | resolve an environment | [`overlay`] | [`Repo::environment`] → [`Environment`] |
//! | build typed resources | [`render`](mod@render) | [`build`] → [`Resource`]s |
//! | patch (overlays' resource changes) | [`patch`], [`transform`] | [`apply_overlays`] |
//! | check (Pod Security, references, schemas) | [`check`](mod@check) | [`checked`] → [`Checked`] |
//! | emit canonical bytes | [`emit`](mod@emit), [`render`](mod@render) | [`emit_files`]; all of it: [`render()`] → [`Rendered`] |
//! | write `out/` | [`write`](mod@write) | [`write()`], [`compare`] |
//!
//! Beside the pipeline: [`enterprise`] (the enterprise gateway's options) and
//! [`aca`] (Azure Container Apps as Terraform variables), [`gitops`] (Argo CD
//! and Flux objects for `out/`), [`init`] (a new repository), [`diff`],
//! [`strategy`] and [`route`] (Portkey routing configs).
//!
//! ```no_run
//! # fn main() -> Result<(), kiln::Error> {
//! let repo = kiln::Repo::discover(".")?;
//! let rendered = kiln::render_all(&repo, repo.environments())?;
//! let report = kiln::write(&repo.out_dir(), &rendered, kiln::Prune::Stale)?;
//! println!("wrote {:?}", report.written);
//! # Ok(()) }
//! ```

pub mod aca;
pub mod check;
mod component;
pub mod crds;
pub mod diff;
pub mod emit;
pub mod enterprise;
mod error;
mod expose;
pub mod git;
pub mod gitops;
pub mod init;
pub mod overlay;
mod parse;
pub mod patch;
pub mod render;
pub mod repo;
mod resource;
pub mod route;
mod safe_fs;
pub mod spec;
pub mod strategy;
pub mod transform;
pub mod write;

pub use error::{Error, InputError, Result};
pub use overlay::Environment;
pub use render::{
    Checked, OutputFile, Rendered, apply_overlays, build, checked, emit_files, render, render_all,
    render_repo,
};
pub use repo::Repo;
pub use resource::Resource;
pub use write::{Difference, DifferenceKind, Prune, WriteReport, compare, write};

/// The README's examples, compiled as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
