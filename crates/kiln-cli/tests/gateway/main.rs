//! kiln against the real Portkey gateway (`@portkey-ai/gateway`, the version
//! pinned in tests/gateway/package-lock.json, which `make test` installs with
//! `npm ci`): every rendered environment's pod booted and probed as the
//! kubelet would, every strategy routed through it as kiln predicts, the
//! routing simulator differentially tested against the gateway's router on
//! generated cases, and kiln's strategy validation against the gateway's own.
//!
//! No test asserts a time: the only clocks are the pods' own probe windows
//! and a hang guard.

mod boot;
mod documented;
mod harness;
mod pods;
mod router;
mod routes;
mod schema;
