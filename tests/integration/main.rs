//! Integration tests over the repository's own environments and throwaway repositories.

mod aca;
mod bad_input;
mod chart;
mod check;
mod check_cases;
mod determinism;
mod diff;
mod enterprise;
mod enterprise_options;
mod gitops;
mod golden;
mod import;
mod kustomize_cases;
mod kustomize_diff;
mod kustomize_generated;
mod kustomize_operations;
mod msrv;
mod network_flows;
mod openapi;
mod oracles;
mod output;
mod overlays;
mod readback;
mod seed;
mod strategies;
mod strategy_validation;

use kiln::{EnvironmentOutput, Repo};

/// Renders environment `env` of the repository at `root`.
pub fn render_env(root: &std::path::Path, env: &str) -> EnvironmentOutput {
    let repo = Repo::open(root).expect("repository opens");
    kiln::render(&repo.environment(env).expect("environment resolves")).expect("renders")
}

/// The repository's own environment `env`, each resource as JSON.
pub fn rendered(env: &str) -> Vec<serde_json::Value> {
    render_env(&kiln_tests::repo_root(), env)
        .resources()
        .iter()
        .map(kiln::k8s::Resource::to_value)
        .collect()
}

/// The repository's own homelab environment.
pub fn homelab() -> EnvironmentOutput {
    render_env(&kiln_tests::repo_root(), "homelab")
}
