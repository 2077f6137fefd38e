//! The hardened defaults of the description, named in its serde attributes.

use super::WritableDir;

pub fn replicas() -> i32 {
    1
}
pub fn port() -> u16 {
    8787
}
pub fn pss_version() -> String {
    "v1.33".into()
}
pub fn probe_timeout() -> i32 {
    5
}
pub fn cpu_utilization() -> i32 {
    75
}
pub fn max_skew() -> i32 {
    1
}
pub fn refresh_interval() -> String {
    "1h".into()
}
pub fn writable() -> Vec<WritableDir> {
    let dir = |path: &str, size: &str, env: &[&str]| WritableDir {
        path: path.into(),
        size_limit: size.into(),
        env: env.iter().map(|e| e.to_string()).collect(),
    };
    vec![
        dir("/tmp", "64Mi", &["TMPDIR"]),
        dir("/home/node/.npm", "128Mi", &["NPM_CONFIG_CACHE"]),
        dir("/home/node/.config", "16Mi", &["XDG_CONFIG_HOME"]),
        dir("/app/cache", "256Mi", &["XDG_CACHE_HOME"]),
        dir("/var/log", "64Mi", &[]),
        dir("/var/run", "8Mi", &[]),
    ]
}
