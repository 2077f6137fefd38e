//! Where each part of a kiln repository lives, relative to its root.

/// The service descriptions.
pub const BASE_DIR: &str = "base";
/// The description an overlay chain uses unless one of them names another.
pub const DEFAULT_BASE: &str = "base/service.yaml";
/// Directory of environments: `overlays/<env>/overlay.yaml`.
pub const OVERLAYS_DIR: &str = "overlays";
/// The file that makes a directory under `overlays/` an environment.
pub const OVERLAY_FILE: &str = "overlay.yaml";
/// Directory of Portkey strategy files.
pub const STRATEGIES_DIR: &str = "strategies";
/// The repository settings (`kiln.yaml`).
pub const SETTINGS_FILE: &str = "kiln.yaml";
/// Directory of rendered output: `out/<env>/`.
pub const OUT_DIR: &str = "out";
/// Directory of `out/` the Argo CD Applications are written to.
pub const ARGOCD_DIR: &str = "argocd";
/// Directory of `out/` the Flux objects are written to.
pub const FLUX_DIR: &str = "flux";
