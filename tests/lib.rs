//! Shared helpers for kiln's integration tests: the repository's own inputs,
//! throwaway copies of them, and the external oracles (kubectl, the Python
//! tools `make test` installs into `.venv`, the CRD schemas kiln vendors).
//!
//! A missing oracle fails the test with instructions; it is never skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root (this crate lives in `tests/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The inputs of a repository, the parts `kiln render` reads.
pub const INPUT_DIRS: [&str; 3] = ["base", "overlays", "strategies"];

/// Copies the repository's inputs into a fresh temporary directory. With
/// `reverse`, every directory's entries are created in reverse name order,
/// so file-system order differs from the original.
pub fn copy_inputs(reverse: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for name in INPUT_DIRS {
        copy_tree(&repo_root().join(name), &dir.path().join(name), reverse);
    }
    dir
}

/// Copies directory `from` to `to` (created), entries in name order or, with `reverse`, the other way.
pub fn copy_tree(from: &Path, to: &Path, reverse: bool) {
    std::fs::create_dir_all(to).expect("create dir");
    let mut entries: Vec<_> = std::fs::read_dir(from)
        .expect("read dir")
        .map(|e| e.expect("entry"))
        .collect();
    entries.sort_by_key(|e| e.file_name());
    if reverse {
        entries.reverse();
    }
    for entry in entries {
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target, reverse);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Writes `contents` to `rel` under `root`, creating parent directories.
pub fn put(root: &Path, rel: &str, contents: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, contents).expect("write");
}

/// The path in environment variable `var`, else `default`; a missing file
/// fails the test, saying `how` to get it.
pub fn installed(var: &str, default: PathBuf, how: &str) -> PathBuf {
    let path = std::env::var_os(var).map(PathBuf::from).unwrap_or(default);
    assert!(path.exists(), "{} is missing: {how}", path.display());
    path
}

/// A program from the test virtualenv (`KILN_VENV`, default `.venv`).
pub fn venv_bin(program: &str) -> PathBuf {
    let venv = installed(
        "KILN_VENV",
        repo_root().join(".venv"),
        "run the tests with `make test`, which installs the Python oracles into .venv",
    );
    venv.join("bin").join(program)
}

/// The Helm `make test` installs (`KILN_HELM`, default .tools/helm/helm).
pub fn helm() -> PathBuf {
    installed(
        "KILN_HELM",
        repo_root().join(".tools/helm/helm"),
        "run the tests with `make test`, which installs Helm",
    )
}

/// The CRD schemas kiln embeds (`crates/kiln-k8s/schemas`, vendored from
/// the datree CRDs catalog with its licence), laid out as
/// `<group>/<kind>_<version>.json` for the Python oracle.
pub fn crd_schemas() -> PathBuf {
    repo_root().join("crates/kiln-k8s/schemas")
}

/// Address space a guarded run may use: a bomb that expands would blow through it.
pub const MEMORY_CEILING: &str = "--as=1073741824";
/// Seconds before a guarded run counts as hung.
pub const HANG_GUARD: &str = "300";

/// The program `bin` under a memory ceiling (`prlimit --as`) and a hang
/// guard (`timeout`): the guard only turns a hang into a failure, it asserts
/// no speed.
pub fn guarded(bin: impl AsRef<Path>) -> Command {
    let mut c = Command::new("timeout");
    c.args([HANG_GUARD, "prlimit", MEMORY_CEILING])
        .arg(bin.as_ref());
    c
}

/// Exit status, stdout and stderr of a [`guarded`] run; a hang, a panic or
/// a crash (a signal, such as an abort on exhausted memory) fails the test here.
pub fn outcome(c: &mut Command) -> (i32, String, String) {
    let out = c.output().expect("the program runs");
    let status = out
        .status
        .code()
        .unwrap_or_else(|| panic!("killed by a signal: {c:?}"));
    assert_ne!(status, 124, "hung: {c:?}");
    assert_ne!(status, 101, "panicked: {c:?}");
    assert_ne!(status, 134, "aborted: {c:?}");
    (
        status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `command`, returning (success, stdout, stderr); panics if it cannot start.
pub fn run(command: &mut Command) -> (bool, String, String) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `kubectl` from the machine image (a missing kubectl fails the test).
pub fn kubectl() -> Command {
    Command::new("kubectl")
}

/// Parses a multi-document YAML stream with a YAML 1.2 reader.
pub fn yaml_documents(text: &str) -> Vec<serde_json::Value> {
    use serde::Deserialize;
    serde_yaml::Deserializer::from_str(text)
        .map(|doc| serde_json::Value::deserialize(doc).expect("valid YAML"))
        .filter(|v| !v.is_null())
        .collect()
}

/// Reads YAML files with PyYAML (a YAML 1.1 reader, like Go's sigs.k8s.io/yaml)
/// and returns each file's documents as JSON.
pub fn yaml_1_1_documents(files: &[PathBuf]) -> Vec<Vec<serde_json::Value>> {
    let script = repo_root().join("tests/oracle/yaml11.py");
    let (ok, stdout, stderr) = run(Command::new(venv_bin("python")).arg(script).args(files));
    assert!(ok, "PyYAML failed: {stderr}");
    serde_json::from_str(&stdout).expect("yaml11.py prints JSON")
}

/// Makes `dir` a git repository on branch `main` with everything in it
/// committed as `message`.
pub fn git_commit_all(dir: &Path, message: &str) {
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", message]);
}

/// Runs git in `dir` with a throwaway identity; panics if it fails. Returns stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let (ok, stdout, stderr) = run(Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args));
    assert!(ok, "git {args:?}: {stderr}");
    stdout
}

/// The overlay of synthetic environment `i`: the operations kiln and kustomize
/// share (namespace, prefix, annotations, replicas, a JSON patch).
fn synthetic_overlay(i: usize) -> (String, String) {
    let kiln = format!(
        "namespace: ns-e{i:05}\nnamePrefix: e{i:05}-\ncommonAnnotations: {{ team: t{i} }}\n\
         replicas: [ {{ name: portkey-gateway, count: {} }} ]\n\
         patches:\n  - target: {{ kind: HTTPRoute }}\n    json: [ {{ op: replace, path: /spec/hostnames/0, value: e{i:05}.example.com }} ]\n",
        i % 5 + 1
    );
    let kustomize = format!(
        "resources: [../../base]\nnamespace: ns-e{i:05}\nnamePrefix: e{i:05}-\ncommonAnnotations: {{ team: t{i} }}\n\
         replicas: [ {{ name: portkey-gateway, count: {} }} ]\n\
         patches:\n  - target: {{ kind: HTTPRoute }}\n    patch: '[{{\"op\": \"replace\", \"path\": \"/spec/hostnames/0\", \"value\": \"e{i:05}.example.com\"}}]'\n",
        i % 5 + 1
    );
    (kiln, kustomize)
}

/// Writes a synthetic repository of `envs` environments under `root`: this
/// repository's base and strategies, and `overlays/e00000…` with the
/// operations both tools share. Returns the environment names.
pub fn synthetic_repo(root: &Path, envs: usize) -> Vec<String> {
    for name in ["base", "strategies"] {
        copy_tree(&repo_root().join(name), &root.join(name), false);
    }
    (0..envs)
        .map(|i| {
            let name = format!("e{i:05}");
            put(
                root,
                &format!("overlays/{name}/overlay.yaml"),
                &synthetic_overlay(i).0,
            );
            name
        })
        .collect()
}

/// The kustomize tree equivalent to [`synthetic_repo`]: `base/` holds the
/// rendered base resources, `envs/<env>/kustomization.yaml` one overlay per
/// environment, and `all/kustomization.yaml` every environment at once.
pub fn synthetic_kustomize_tree(root: &Path, base_files: &[(String, String)], envs: usize) {
    for (name, contents) in base_files {
        put(root, &format!("base/{name}"), contents);
    }
    let mut all = String::from("resources:\n");
    for i in 0..envs {
        put(
            root,
            &format!("envs/e{i:05}/kustomization.yaml"),
            &synthetic_overlay(i).1,
        );
        all.push_str(&format!("  - ../envs/e{i:05}\n"));
    }
    put(root, "all/kustomization.yaml", &all);
}

/// The item of JSON list `list` whose `key` equals `value`; panics naming what is missing.
pub fn item(list: &serde_json::Value, key: &str, value: &serde_json::Value) -> serde_json::Value {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .find(|x| x[key] == *value)
        .unwrap_or_else(|| panic!("no item with {key} = {value} in {list}"))
        .clone()
}

/// Replaces the first `from` in `root/file` with `to`; `from` must be there.
pub fn edit(root: &Path, file: &str, from: &str, to: &str) {
    let text = std::fs::read_to_string(root.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert!(text.contains(from), "{file} has {from:?}");
    put(root, file, &text.replacen(from, to, 1));
}
