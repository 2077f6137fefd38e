//! A pull request is hostile: it controls out/ as much as the inputs. These
//! tests attack the real binary the way CI would meet it: symlinks, FIFOs and
//! oversized files in out/, secrets in what kiln prints, resource bombs,
//! duplicate keys and control characters, concurrent renders, a swap that
//! fails half way and renders killed at random moments.
//!
//! Every run has a memory ceiling (`prlimit --as`) and a hang guard
//! (`timeout`): the guard only turns a hang into a failure, it asserts no speed.

use kiln_tests::{copy_inputs, guarded, outcome as code, put, run, synthetic_repo};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

/// An environment variable that must never reach the output.
const SECRET: &str = "kiln-test-secret-9f3c2e";

fn kiln(root: &Path) -> Command {
    let mut c = guarded(env!("CARGO_BIN_EXE_kiln"));
    c.arg("--repo")
        .arg(root)
        .args(["--color", "never"])
        .env("CI_TOKEN", SECRET);
    c
}

fn rendered() -> tempfile::TempDir {
    let dir = copy_inputs(false);
    let (status, _, stderr) = code(kiln(dir.path()).arg("render"));
    assert_eq!(status, 0, "{stderr}");
    dir
}

fn symlink(target: &str, link: &Path) {
    let _ = std::fs::remove_file(link);
    std::fs::create_dir_all(link.parent().expect("parent")).expect("mkdir");
    std::os::unix::fs::symlink(target, link).expect("symlink");
}

/// Runs every command that reads out/ and expects each to refuse with exit 2,
/// naming `path` and `why`, and never to print the secret or `leak`.
fn every_reader_refuses(root: &Path, path: &str, why: &str, leak: &str) {
    for args in [
        vec!["render", "--check"],
        vec!["render"],
        vec!["diff"],
        vec!["diff", "--format", "markdown"],
        vec!["diff", "--format", "json"],
    ] {
        let (status, stdout, stderr) = code(kiln(root).args(&args));
        let all = format!("{stdout}{stderr}");
        assert_eq!(status, 2, "kiln {args:?} must refuse:\n{all}");
        assert!(
            all.contains(path) && all.contains(why),
            "kiln {args:?} names {path}: {all}"
        );
        let leaked = all.contains(SECRET) || (!leak.is_empty() && all.contains(leak));
        assert!(!leaked, "kiln {args:?} leaked:\n{all}");
    }
}

#[test]
fn symlinks_devices_and_fifos_in_out_are_never_followed_or_read() {
    let dir = rendered();
    let root = dir.path();
    let before = snapshot(&root.join("out"));

    // An index and a kustomization that point at the process environment.
    symlink(
        "/proc/self/environ",
        &root.join("out/ghost/.kiln-index.json"),
    );
    symlink(
        "/proc/self/environ",
        &root.join("out/ghost/kustomization.yaml"),
    );
    every_reader_refuses(root, "out/ghost/", "symlink", "CI_TOKEN");
    std::fs::remove_dir_all(root.join("out/ghost")).expect("clean");

    // A rendered file that points at a system file, a device, or is a FIFO.
    let file = root.join("out/homelab/service-portkey-gateway.yaml");
    symlink("/etc/passwd", &file);
    every_reader_refuses(
        root,
        "out/homelab/service-portkey-gateway.yaml",
        "symlink",
        "root:",
    );
    symlink("/dev/zero", &file);
    every_reader_refuses(
        root,
        "out/homelab/service-portkey-gateway.yaml",
        "symlink",
        "\0",
    );
    std::fs::remove_file(&file).expect("rm");
    let (ok, _, stderr) = run(Command::new("mkfifo").arg(&file));
    assert!(ok, "{stderr}");
    every_reader_refuses(root, "out/homelab/service-portkey-gateway.yaml", "FIFO", "");
    std::fs::remove_file(&file).expect("rm");
    let (status, _, stderr) = code(kiln(root).arg("render"));
    assert_eq!(
        status, 0,
        "a missing file is simply written again: {stderr}"
    );

    // A kustomization listing a file outside the directory, an environment
    // directory that is a symlink, and out/ itself as a symlink.
    symlink(
        "../../base/service.yaml",
        &root.join("out/homelab/deployment-portkey-gateway.yaml"),
    );
    every_reader_refuses(
        root,
        "out/homelab/deployment-portkey-gateway.yaml",
        "symlink",
        "",
    );
    std::fs::remove_dir_all(root.join("out")).expect("clean");
    std::fs::create_dir_all(root.join("elsewhere/homelab")).expect("mkdir");
    symlink("elsewhere", &root.join("out"));
    every_reader_refuses(root, "out", "symlink", "");
    std::fs::remove_file(root.join("out")).expect("rm");

    // A file over the size limit is refused by name, without being read whole.
    let (status, _, stderr) = code(kiln(root).arg("render"));
    assert_eq!(status, 0, "{stderr}");
    let big = root.join("out/homelab/namespace-portkey.yaml");
    let f = std::fs::File::create(&big).expect("create");
    f.set_len(64 << 30).expect("sparse 64 GiB file");
    every_reader_refuses(
        root,
        "out/homelab/namespace-portkey.yaml",
        "larger than",
        "",
    );
    std::fs::remove_file(&big).expect("rm");
    let (status, _, stderr) = code(kiln(root).arg("render"));
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(
        snapshot(&root.join("out")),
        before,
        "a clean render restores out/"
    );
}

#[test]
fn symlinks_and_fifos_among_the_inputs_are_refused() {
    let dir = copy_inputs(false);
    let root = dir.path();
    for (rel, target) in [
        ("kiln.yaml", "/proc/self/environ"),
        ("strategies/leak.json", "/proc/self/environ"),
        ("overlays/dev/overlay.yaml", "/proc/self/environ"),
        ("base/service.yaml", "/dev/zero"),
    ] {
        let path = root.join(rel);
        let saved = std::fs::read(&path).ok();
        symlink(target, &path);
        let (status, stdout, stderr) = code(kiln(root).arg("render"));
        let all = format!("{stdout}{stderr}");
        assert_eq!(status, 2, "{rel}: {all}");
        assert!(all.contains(rel) && all.contains("symlink"), "{rel}: {all}");
        assert!(!all.contains(SECRET), "{rel} leaked: {all}");
        std::fs::remove_file(&path).expect("rm");
        if let Some(bytes) = saved {
            std::fs::write(&path, bytes).expect("restore");
        }
    }
    let fifo = root.join("strategies/pipe.json");
    let (ok, _, stderr) = run(Command::new("mkfifo").arg(&fifo));
    assert!(ok, "{stderr}");
    let (status, _, stderr) = code(kiln(root).arg("render"));
    assert_eq!(status, 2);
    assert!(stderr.contains("strategies/pipe.json"), "{stderr}");
    assert!(!root.join("out").exists(), "nothing written on error");
}

#[test]
fn secret_values_never_reach_any_diff_format() {
    let dir = rendered();
    let root = dir.path();
    // A Secret and a List holding one, as out/ might hold them in a pull request…
    let secret = |name: &str, value: &str| {
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: portkey\nstringData:\n  PASSWORD: {value}\n"
        )
    };
    put(
        root,
        "out/homelab/secret-plain.yaml",
        &secret("plain", "out-secret-value-1"),
    );
    put(
        root,
        "out/homelab/list-all.yaml",
        "apiVersion: v1\nkind: List\nmetadata:\n  name: all\nitems:\n  - apiVersion: v1\n    kind: Secret\n    metadata:\n      name: listed\n    data:\n      K: bGlzdGVkLXNlY3JldA==\n",
    );
    let kustomization = root.join("out/homelab/kustomization.yaml");
    let text = std::fs::read_to_string(&kustomization).expect("read");
    std::fs::write(
        &kustomization,
        text.replace(
            "resources:\n",
            "resources:\n  - secret-plain.yaml\n  - list-all.yaml\n",
        ),
    )
    .expect("write");
    // …and an overlay that writes a credential into the ExternalSecret's template.
    put(
        root,
        "overlays/homelab/overlay.yaml",
        "set:\n  route:\n    strategiesByName: { implementation: envoy-gateway }\npatches:\n  - target: { kind: ExternalSecret, name: portkey-gateway-strategy-all-models }\n    merge: { spec: { target: { template: { type: Opaque, engineVersion: v2, data: { DSN: \"host=db user=u password=template-secret-2\" } } } } }\n",
    );
    for format in ["text", "markdown", "json"] {
        let (status, stdout, stderr) = code(kiln(root).args(["diff", "--format", format]));
        assert_eq!(status, 1, "{stderr}");
        let all = format!("{stdout}{stderr}");
        for value in [
            "out-secret-value-1",
            "bGlzdGVkLXNlY3JldA==",
            "template-secret-2",
        ] {
            assert!(!all.contains(value), "{format} leaked {value}:\n{all}");
        }
        assert!(all.contains("redacted"), "{format}: {all}");
    }
}

#[test]
fn resource_bombs_are_refused_within_a_memory_ceiling() {
    let dir = rendered();
    let root = dir.path();
    let refuse = |overlay: &str, expect: &[&str]| {
        put(root, "overlays/dev/overlay.yaml", overlay);
        let (status, _, stderr) = code(kiln(root).arg("render"));
        assert_eq!(status, 2, "{stderr}");
        for e in expect {
            assert!(stderr.contains(e), "expected {e:?} in:\n{stderr}");
        }
    };
    // JSON patch `copy` doubling: each operation copies the map into itself,
    // so 24 of them would make 2^24 copies of the Deployment's spec.
    let copies: String = (0..24)
        .map(|i| format!("      - {{ op: copy, from: /spec/template/metadata/annotations, path: /spec/template/metadata/annotations/c{i} }}\n"))
        .collect();
    refuse(
        &format!(
            "patches:\n  - target: {{ kind: Deployment }}\n    json:\n      - {{ op: copy, from: /spec, path: /spec/template/metadata/annotations/spec }}\n{copies}"
        ),
        &[
            "overlays/dev/overlay.yaml",
            "/patches/0/json/",
            "copies more than",
        ],
    );
    // One 1 MiB string repeated by 3,000 aliases.
    let big = "x".repeat(1 << 20);
    let aliases = vec!["*big"; 3000].join(", ");
    refuse(
        &format!("set:\n  labels: {{ a: &big {big} }}\n  route:\n    hosts: [{aliases}]\n"),
        &["overlays/dev/overlay.yaml", "aliases are expanded"],
    );
    // 80,000 nested flow mappings.
    let deep = "{a: ".repeat(80_000) + &"}".repeat(80_000);
    refuse(
        &format!("set: {deep}\n"),
        &["overlays/dev/overlay.yaml", "deeper than 64"],
    );
    // An extends chain of 2,000 overlays.
    for i in 0..2000 {
        let parent = if i == 0 {
            "prod".to_string()
        } else {
            format!("c{:04}", i - 1)
        };
        put(
            root,
            &format!("overlays/c{i:04}/overlay.yaml"),
            &format!("extends: {parent}\n"),
        );
    }
    refuse("", &["chains more than 16 overlays"]);
    for i in 0..2000 {
        std::fs::remove_dir_all(root.join(format!("overlays/c{i:04}"))).expect("rm");
    }
    // A strategy whose ConfigMap Kubernetes would refuse (over 1 MiB).
    let targets: Vec<String> = (0..20_000)
        .map(|i| format!("{{\"provider\": \"openai\", \"api_key\": \"${{OPENAI_API_KEY}}\", \"override_params\": {{\"model\": \"gpt-4o-mini-{i:06}\"}}}}"))
        .collect();
    put(
        root,
        "strategies/huge.json",
        &format!(
            "{{\"strategy\": {{\"mode\": \"loadbalance\"}}, \"targets\": [{}]}}",
            targets.join(",\n")
        ),
    );
    refuse("", &["object-size", "1 MiB"]);
    std::fs::remove_file(root.join("strategies/huge.json")).expect("rm");
}

#[test]
fn a_diff_of_a_huge_change_finishes() {
    let dir = copy_inputs(false);
    let root = dir.path();
    // 50,000 settings (a ConfigMap just under 1 MiB), every value changed.
    let config = |v: &str| -> String {
        (0..50_000)
            .map(|i| format!("    K{i:05}: {v}{i}\n"))
            .collect()
    };
    let base = std::fs::read_to_string(root.join("base/service.yaml")).expect("base");
    put(
        root,
        "base/service.yaml",
        &format!("{base}\nconfig:\n{}", config("a").replace("    ", "  ")),
    );
    let (status, _, stderr) = code(kiln(root).args(["render", "--env", "homelab"]));
    assert_eq!(status, 0, "{stderr}");
    put(
        root,
        "base/service.yaml",
        &format!("{base}\nconfig:\n{}", config("b").replace("    ", "  ")),
    );
    let (status, stdout, stderr) = code(kiln(root).args(["diff", "--env", "homelab"]));
    assert_eq!(status, 1, "{stderr}");
    assert!(stdout.contains("-  K49999: a49999") && stdout.contains("+  K49999: b49999"));
}

#[test]
fn duplicate_keys_and_refused_control_characters_point_home() {
    let dir = copy_inputs(false);
    let root = dir.path();
    put(
        root,
        "overlays/dev/overlay.yaml",
        "set:\n  config:\n    FEATURE: \"on\"\n    OTHER: x\n    FEATURE: \"off\"\n",
    );
    let (status, _, stderr) = code(kiln(root).arg("render"));
    assert_eq!(status, 2);
    assert!(stderr.contains("overlays/dev/overlay.yaml:5"), "{stderr}");
    assert!(stderr.contains("/set/config/FEATURE"), "{stderr}");
    assert!(
        stderr.contains("first at line 3, again at line 5"),
        "{stderr}"
    );

    put(
        root,
        "overlays/dev/overlay.yaml",
        "set:\n  config:\n    X: \"a\\x7fb\"\n",
    );
    let (status, _, stderr) = code(kiln(root).arg("render"));
    assert_eq!(status, 2);
    assert!(
        stderr.contains("/set/config/X") && stderr.contains("U+007F"),
        "{stderr}"
    );

    put(root, "overlays/dev/overlay.yaml", "");
    put(
        root,
        "strategies/dup.json",
        "{\n  \"strategy\": {\"mode\": \"single\"},\n  \"targets\": [{\"provider\": \"openai\"}],\n  \"strategy\": {\"mode\": \"fallback\"}\n}\n",
    );
    let (status, _, stderr) = code(kiln(root).arg("render"));
    assert_eq!(status, 2);
    assert!(stderr.contains("strategies/dup.json"), "{stderr}");
    assert!(
        stderr.contains("first at line 2, again at line 4"),
        "{stderr}"
    );
    assert!(!root.join("out").exists(), "nothing written on error");
}

#[test]
fn control_bytes_never_reach_the_terminal_raw() {
    let dir = copy_inputs(false);
    let root = dir.path();
    std::fs::create_dir_all(root.join("overlays/evil\x1b]0;owned\x07\x1b[2J")).expect("mkdir");
    let (status, stdout, stderr) = code(kiln(root).arg("render"));
    assert_eq!(status, 2);
    assert!(
        !format!("{stdout}{stderr}").contains('\x1b'),
        "raw ESC printed: {stderr:?}"
    );
    assert!(stderr.contains("\\u{1b}"), "{stderr}");
    std::fs::remove_dir(root.join("overlays/evil\x1b]0;owned\x07\x1b[2J")).expect("rm");

    put(
        root,
        "manifests/pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: \"web\\e[2Jx\"\nspec:\n  hostNetwork: true\n  containers: [{name: c, image: nginx}]\n",
    );
    let (status, stdout, stderr) = code(kiln(root).arg("check").arg(root.join("manifests")));
    assert_eq!(status, 1, "{stderr}");
    assert!(
        !format!("{stdout}{stderr}").contains('\x1b'),
        "raw ESC printed: {stdout:?}"
    );
    assert!(stdout.contains("web\\u{1b}[2Jx"), "{stdout}");
}

#[test]
fn route_refuses_a_strategy_that_render_refuses() {
    let dir = copy_inputs(false);
    let root = dir.path();
    put(
        root,
        "strategies/broken.json",
        r#"{"strategy": {"mode": "conditional", "default": "a", "conditions": [{"query": {"metadata.user": {"$regex": "("}}, "then": "b"}]},
            "targets": [{"name": "a", "provider": "openai"}, {"name": "b", "provider": "openai"}]}"#,
    );
    let (status, _, stderr) =
        code(kiln(root).args(["route", "-s", "broken", "--metadata", "user=x"]));
    assert_eq!(status, 2, "{stderr}");
    assert!(
        stderr.contains("strategies/broken.json") && stderr.contains("$regex"),
        "{stderr}"
    );
}

#[test]
fn a_closed_pipe_ends_output_quietly() {
    let dir = rendered();
    for args in [
        vec!["strategies"],
        vec!["envs"],
        vec!["check", "--list-rules"],
        vec!["check"],
        vec!["route", "-s", "claude-models"],
        vec!["diff", "--format", "json"],
        vec!["man"],
        vec!["completions", "bash"],
        vec!["--help"],
        vec!["render", "--help"],
        vec!["--version"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kiln"))
            .arg("--repo")
            .arg(dir.path())
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        drop(child.stdout.take()); // the reader is gone before kiln writes
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            matches!(out.status.code(), Some(0..=2)),
            "kiln {args:?}: {:?} {stderr}",
            out.status
        );
        assert!(!stderr.contains("panicked"), "kiln {args:?}: {stderr}");
    }
}

/// Every file under `dir`, relative path → bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.map(|e| e.expect("entry")) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let t = entry.file_type().expect("type");
            if t.is_dir() {
                for (rel, bytes) in snapshot(&entry.path()) {
                    files.insert(format!("{name}/{rel}"), bytes);
                }
            } else {
                files.insert(name, std::fs::read(entry.path()).expect("read"));
            }
        }
    }
    files
}

/// The files of each environment directory of out/.
fn by_env(out: &Path) -> BTreeMap<String, BTreeMap<String, Vec<u8>>> {
    let mut envs: BTreeMap<String, BTreeMap<String, Vec<u8>>> = BTreeMap::new();
    for (rel, bytes) in snapshot(out) {
        let (env, file) = rel.split_once('/').unwrap_or(("", &rel));
        envs.entry(env.to_string())
            .or_default()
            .insert(file.to_string(), bytes);
    }
    envs
}

/// Switches every environment of the synthetic repository between two generations.
fn generation(root: &Path, g: usize) {
    let base = root.join("base/service.yaml");
    let text = std::fs::read_to_string(&base).expect("base");
    let text = text
        .replace("logLevel: debug\n", "")
        .replace("logLevel: info\n", "");
    let level = if g.is_multiple_of(2) { "info" } else { "debug" };
    std::fs::write(&base, format!("{text}logLevel: {level}\n")).expect("write");
}

#[test]
fn concurrent_renders_take_turns_and_leftovers_are_reported_then_cleared() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path();
    synthetic_repo(root, 60);
    for round in 0..10 {
        generation(root, round);
        let spawn = || {
            kiln(root)
                .arg("render")
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        };
        let (a, b) = (spawn(), spawn());
        for child in [a, b] {
            let out = child.wait_with_output().expect("wait");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "round {round}: {stderr}");
        }
        let (status, stdout, stderr) = code(kiln(root).args(["render", "--check"]));
        assert_eq!(status, 0, "round {round}: {stdout}{stderr}");
    }
    put(root, "out/.kiln-staging-e00001/junk.yaml", "half written\n");
    let (status, stdout, _) = code(kiln(root).args(["render", "--check"]));
    assert_eq!(status, 1);
    assert!(
        stdout.contains("leftover") && stdout.contains(".kiln-staging-e00001"),
        "{stdout}"
    );
    let (status, _, stderr) = code(kiln(root).arg("render"));
    assert_eq!(status, 0, "{stderr}");
    assert!(!root.join("out/.kiln-staging-e00001").exists());
    let (status, _, _) = code(kiln(root).args(["render", "--check"]));
    assert_eq!(status, 0);
}

#[test]
fn a_swap_that_fails_changes_no_environment() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path();
    let envs = synthetic_repo(root, 20);
    generation(root, 0);
    let (status, _, stderr) = code(kiln(root).arg("render"));
    assert_eq!(status, 0, "{stderr}");
    let before = snapshot(&root.join("out"));
    // The last environment to be swapped cannot be (an immutable directory).
    let last = root.join("out").join(envs.last().expect("envs"));
    let (ok, _, stderr) = run(Command::new("chattr").arg("+i").arg(&last));
    assert!(
        ok,
        "chattr +i needs root on ext4, as on this project's machines: {stderr}"
    );
    generation(root, 1);
    let (status, _, stderr) = code(kiln(root).arg("render"));
    let _ = run(Command::new("chattr").arg("-i").arg(&last));
    assert_eq!(status, 2, "{stderr}");
    assert_eq!(
        snapshot(&root.join("out")),
        before,
        "every environment is as it was"
    );
    let (status, _, stderr) = code(kiln(root).arg("render"));
    assert_eq!(status, 0, "{stderr}");
    assert_ne!(snapshot(&root.join("out")), before);
}

#[test]
fn a_render_killed_at_any_moment_leaves_every_environment_whole() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path();
    synthetic_repo(root, 150);
    // Both generations, rendered whole first.
    let mut generations = Vec::new();
    for g in 0..2 {
        generation(root, g);
        let (status, _, stderr) = code(kiln(root).arg("render"));
        assert_eq!(status, 0, "{stderr}");
        generations.push(by_env(&root.join("out")));
    }
    let started = std::time::Instant::now();
    generation(root, 0);
    let (status, _, _) = code(kiln(root).arg("render"));
    assert_eq!(status, 0);
    let full = started.elapsed().as_millis().max(50) as u64;
    // Fixed seed: the same moments on every run.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 1..=25 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = seed % (full + full / 4);
        generation(root, round);
        let mut child = Command::new(env!("CARGO_BIN_EXE_kiln"))
            .arg("--repo")
            .arg(root)
            .arg("render")
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(std::time::Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
        let now = by_env(&root.join("out"));
        for (env, files) in &generations[0] {
            if env.starts_with(".kiln-") {
                continue;
            }
            let current = now
                .get(env)
                .unwrap_or_else(|| panic!("round {round}: {env} is missing"));
            assert!(
                current == files || Some(current) == generations[1].get(env),
                "round {round} (killed after {delay} ms): {env} is neither generation"
            );
        }
    }
    generation(root, 1);
    let (status, _, stderr) = code(kiln(root).arg("render"));
    assert_eq!(status, 0, "{stderr}");
    let clean: BTreeMap<_, _> = by_env(&root.join("out"));
    assert!(
        clean.keys().all(|k| !k.starts_with(".kiln-")),
        "leftovers cleared"
    );
    assert_eq!(clean, generations[1]);
}
