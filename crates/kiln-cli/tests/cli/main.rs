//! The `kiln` binary: each command's exit codes, what a user sees, and that
//! bad input writes nothing.

mod check;
mod diff;
mod harness;
mod render;
mod setup;
mod strategies;
