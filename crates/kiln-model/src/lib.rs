//! The bottom layer of kiln: what a kiln repository says, as types, and the
//! one reader and one writer of its text.
//!
//! - input: [`description`] (the service description), [`enterprise`] and [`aca`]
//!   (the enterprise gateway's options), [`strategy`] (Portkey routing
//!   configs), [`routing`] (where a request would go; [`portkey`] holds what
//!   the Portkey gateway accepts), [`settings`]
//!   (`kiln.yaml`), [`layout`] (where each lives), [`image`] (image references);
//! - findings of `kiln check` as plain data: [`finding`], [`rules`] and
//!   [`suppress`]ions;
//! - text: [`parse`] reads YAML and JSON into these types, with limits and
//!   errors that point home ([`Error`], [`InputError`]); [`emit`] writes
//!   canonical YAML and JSON that every YAML reader agrees on.
//!
//! Nothing here knows about Kubernetes objects, checks or the pipeline:
//! `kiln-k8s`, `kiln-check` and `kiln` build on it, in that order.

pub mod backtracking;
pub mod credential;
pub mod description;
pub mod emit;
mod error;
pub mod finding;
pub mod image;
pub mod js;
pub mod layout;
pub mod parse;
pub mod pointer;
pub mod portkey;
pub mod routing;
pub mod rules;
pub mod settings;
pub mod strategy;
pub mod suppress;
pub mod values;

pub use description::{aca, enterprise};
pub use error::{Error, InputError, Result, closest, printable_path};
