//! The workspace's `rust-version` is true of what it builds: no locked
//! dependency asks for a newer Rust (`cargo metadata`, the lockfile as it
//! is), and Cargo resolves with the MSRV in mind (resolver 3), so a
//! `cargo update` keeps it true. Clippy's `incompatible_msrv` lint (on in
//! `make lint`) holds kiln's own code to it.

use kiln_tests::{repo_root, run};
use std::process::Command;

fn version(text: &str) -> Vec<u32> {
    text.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

#[test]
fn rust_version_covers_every_locked_dependency() {
    let manifest = std::fs::read_to_string(repo_root().join("Cargo.toml")).expect("Cargo.toml");
    // `key = "value"` lines of the workspace manifest (the two keys occur once).
    let value = |key: &str| {
        manifest
            .lines()
            .find_map(|l| {
                l.strip_prefix(key)?
                    .trim()
                    .strip_prefix('=')?
                    .trim()
                    .strip_prefix('"')?
                    .strip_suffix('"')
            })
            .unwrap_or_else(|| panic!("Cargo.toml has no {key}"))
    };
    let declared = value("rust-version");
    assert_eq!(value("resolver"), "3", "MSRV-aware resolution");
    let (ok, stdout, stderr) = run(Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(repo_root()));
    assert!(ok, "cargo metadata: {stderr}");
    let metadata: serde_json::Value = serde_json::from_str(&stdout).expect("metadata JSON");
    let newer: Vec<String> = metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter_map(|p| {
            let wants = p["rust_version"].as_str()?;
            (version(wants) > version(declared))
                .then(|| format!("{} {} wants Rust {wants}", p["name"], p["version"]))
        })
        .collect();
    assert!(
        newer.is_empty(),
        "rust-version = \"{declared}\" is not true: {newer:?}"
    );
}
