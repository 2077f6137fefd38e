//! Hand-written manifests for `kiln check PATH`: any YAML stream, read and
//! checked by every rule.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let file = dir.path().join("manifests.yaml");
    if std::fs::write(&file, data).is_err() {
        return;
    }
    if let Ok(manifests) = kiln::manifests::load(&[file]) {
        let findings = kiln::rules::check(&manifests);
        let _ = kiln::rules::report::text(&findings, true);
        let _ = kiln::rules::report::sarif(&findings);
    }
});
