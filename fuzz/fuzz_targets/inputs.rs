//! A pull request's inputs: an overlay (YAML) and a strategy (JSON), loaded
//! and rendered on top of the repository's own base. Any outcome but a panic,
//! a hang or unbounded memory is fine: libFuzzer's -timeout and -rss_limit_mb
//! catch the other two.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A copy of the repository's base and strategies, made once per process.
fn repo() -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, root) = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for sub in ["base", "strategies"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
            for entry in std::fs::read_dir(source.join(sub)).expect("read") {
                let entry = entry.expect("entry");
                std::fs::copy(entry.path(), dir.path().join(sub).join(entry.file_name()))
                    .expect("copy");
            }
        }
        std::fs::create_dir_all(dir.path().join("overlays/fuzz")).expect("mkdir");
        let root = dir.path().to_path_buf();
        (dir, root)
    });
    root
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // Overlay first, then (after a NUL) a strategy.
    let (overlay, strategy) = text.split_once('\0').unwrap_or((&text, "{}"));
    let root = repo();
    std::fs::write(root.join("overlays/fuzz/overlay.yaml"), overlay).expect("write");
    std::fs::write(root.join("strategies/fuzz.json"), strategy).expect("write");
    if let Ok(repo) = kiln::Repo::open(root) {
        if let Ok(env) = repo.environment("fuzz") {
            let _ = kiln::render(&env);
        }
    }
});
