//! Running the `kiln` binary and reading what it left behind.

use std::path::Path;
use std::process::Command;

pub fn kiln(root: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kiln"));
    c.arg("--repo").arg(root).arg("--color").arg("never");
    c
}

pub fn code(c: &mut Command) -> (i32, String, String) {
    let out = c.output().expect("kiln runs");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    if dir.exists() {
        for entry in std::fs::read_dir(dir).expect("dir") {
            let entry = entry.expect("entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type().expect("type").is_dir() {
                files.extend(
                    tree(&entry.path())
                        .into_iter()
                        .map(|(n, b)| (format!("{name}/{n}"), b)),
                );
            } else {
                files.push((name, std::fs::read(entry.path()).expect("read")));
            }
        }
    }
    files.sort();
    files
}

/// `kiln check` outside any repository, on hand-written manifests.
pub fn check_paths(dir: &Path, args: &[&str]) -> (i32, String, String) {
    code(
        Command::new(env!("CARGO_BIN_EXE_kiln"))
            .current_dir(dir)
            .args(["--color", "never", "check"])
            .args(args),
    )
}

pub fn kiln_bare() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kiln"));
    c.args(["--color", "never"]);
    c
}
