//! Every kind of bad input gets an error that names the file, the place in it
//! and what was expected. (Exit code 2 and "nothing written" are asserted
//! through the binary in crates/kiln-cli/tests.)

use kiln::model::InputError;
use kiln::{Error, Repo};
use kiln_tests::{copy_inputs, put};
use std::path::Path;

fn base(root: &Path) -> String {
    std::fs::read_to_string(root.join("base/service.yaml")).expect("base")
}

fn resolve(root: &Path, env: &str) -> Result<kiln::Environment, Error> {
    Repo::open(root)?.environment(env)
}

fn input_error(result: Result<kiln::Environment, Error>) -> InputError {
    match result {
        Err(Error::Input(e)) => *e,
        Err(other) => panic!("expected an input error, got: {other}"),
        Ok(_) => panic!("bad input was accepted"),
    }
}

/// Replaces `from` with `to` in base/service.yaml and resolves homelab.
fn with_base_edit(from: &str, to: &str) -> InputError {
    with_base_edit_at(from, to).0
}

/// Like [`with_base_edit`], with the 1-based line the edit is on.
fn with_base_edit_at(from: &str, to: &str) -> (InputError, usize) {
    let dir = copy_inputs(false);
    let text = base(dir.path());
    let at = text
        .find(from)
        .unwrap_or_else(|| panic!("fixture has {from:?}"));
    let line = 1 + text[..at].matches('\n').count();
    put(dir.path(), "base/service.yaml", &text.replacen(from, to, 1));
    (input_error(resolve(dir.path(), "homelab")), line)
}

#[test]
fn malformed_yaml_names_file_and_line() {
    let (e, line) = with_base_edit_at("replicas: 1", "replicas: [1");
    assert_eq!(e.file(), Path::new("base/service.yaml"));
    // An unclosed flow sequence is noticed where the next line breaks it.
    assert_eq!(e.line(), Some(line + 1), "{e}");
    assert!(
        e.to_string()
            .starts_with(&format!("base/service.yaml:{}", line + 1)),
        "{e}"
    );
}

#[test]
fn misspelt_field_suggests_the_right_one() {
    let (e, line) = with_base_edit_at("replicas: 1", "replics: 1");
    assert_eq!(e.pointer(), Some("/replics"));
    assert_eq!(e.line(), Some(line), "{e}");
    assert!(e.message().contains("unknown field `replics`"), "{e}");
    assert_eq!(e.suggestion(), Some("did you mean `replicas`?"));

    let e = with_base_edit(
        "sizeLimit: 64Mi, env: [TMPDIR]",
        "sizeLimt: 64Mi, env: [TMPDIR]",
    );
    assert_eq!(e.pointer(), Some("/writable/0/sizeLimt"));
    assert_eq!(e.suggestion(), Some("did you mean `sizeLimit`?"));
}

#[test]
fn wrong_type_names_the_field_and_the_expected_type() {
    let e = with_base_edit("replicas: 1", "replicas: many");
    assert_eq!(e.pointer(), Some("/replicas"));
    assert!(e.message().contains("expected a whole number"), "{e}");

    let e = with_base_edit("logLevel: info", "logLevel: verbose");
    assert_eq!(e.pointer(), Some("/logLevel"));
    assert!(e.message().contains("unknown variant `verbose`"), "{e}");
}

#[test]
fn missing_required_field_is_named() {
    let e = with_base_edit("name: portkey-gateway\n", "");
    assert!(e.message().contains("missing field `name`"), "{e}");
}

#[test]
fn invalid_values_are_reported_by_pointer() {
    for (from, to, pointer) in [
        (
            "hosts: [portkey.peekoff.com]",
            "hosts: [Portkey.peekoff.com]",
            "/route/hosts/0",
        ),
        ("tag: \"1.12.1\"", "tag: latest", "/image/tag"),
        (
            "memory: 256Mi",
            "memory: 256MB",
            "/resources/requests/memory",
        ),
        ("runAs: { user: 1000", "runAs: { user: 0", "/runAs/user"),
        ("interval: 30s", "interval: 30", "/monitoring/interval"),
        (
            "path: /var/run, sizeLimit: 8Mi",
            "path: /tmp, sizeLimit: 8Mi",
            "/writable/5/path",
        ),
        ("env: OPENAI_API_KEY", "env: TMPDIR", "/secrets/keys/3/env"),
    ] {
        let e = with_base_edit(from, to);
        assert_eq!(e.pointer(), Some(pointer), "{e}");
        assert_eq!(e.file(), Path::new("base/service.yaml"));
    }
}

#[test]
fn missing_base_and_unknown_environment() {
    let dir = copy_inputs(false);
    std::fs::remove_file(dir.path().join("base/service.yaml")).expect("rm");
    let e = input_error(resolve(dir.path(), "homelab"));
    assert_eq!(e.file(), Path::new("base/service.yaml"));

    let dir = copy_inputs(false);
    match resolve(dir.path(), "homelb") {
        Err(Error::UnknownEnvironment {
            name,
            known,
            suggestion,
        }) => {
            assert_eq!(name, "homelb");
            assert!(known.contains(&"homelab".to_string()), "{known:?}");
            assert_eq!(suggestion.as_deref(), Some("did you mean `homelab`?"));
        }
        other => panic!("{other:?}"),
    }
    // An environment name is never a path.
    assert!(matches!(
        resolve(dir.path(), "../homelab"),
        Err(Error::UnknownEnvironment { .. })
    ));
}

#[test]
fn overlay_paths_cannot_leave_the_repository() {
    for (base, reason) in [
        ("../outside.yaml", "leaves the repository"),
        ("base/../../outside.yaml", "leaves the repository"),
        ("/etc/passwd", "absolute path"),
    ] {
        let dir = copy_inputs(false);
        put(
            dir.path(),
            "overlays/homelab/overlay.yaml",
            &format!("base: {base}\n"),
        );
        let e = input_error(resolve(dir.path(), "homelab"));
        assert_eq!(e.file(), Path::new("overlays/homelab/overlay.yaml"));
        assert_eq!(e.pointer(), Some("/base"));
        assert!(e.message().contains(reason), "{base}: {e}");
    }
}

#[test]
fn overlay_unknown_field_and_other_base() {
    let dir = copy_inputs(false);
    put(
        dir.path(),
        "overlays/homelab/overlay.yaml",
        "bsae: base/service.yaml\n",
    );
    let e = input_error(resolve(dir.path(), "homelab"));
    assert_eq!(e.suggestion(), Some("did you mean `base`?"));

    // A base that exists elsewhere in the repository is fine.
    let text = base(dir.path());
    put(
        dir.path(),
        "base/other.yaml",
        &text.replace("replicas: 1", "replicas: 4"),
    );
    put(
        dir.path(),
        "overlays/homelab/overlay.yaml",
        "base: base/other.yaml\n",
    );
    let env = resolve(dir.path(), "homelab").expect("other base");
    assert_eq!(env.description().replicas, 4);
}

#[test]
fn bad_strategy_json_names_file_line_and_column() {
    let dir = copy_inputs(false);
    put(
        dir.path(),
        "strategies/broken.json",
        "{\n  \"strategy\": {\"mode\": }\n}\n",
    );
    let e = input_error(resolve(dir.path(), "homelab"));
    assert_eq!(e.file(), Path::new("strategies/broken.json"));
    assert_eq!(e.line(), Some(2));
    assert!(e.column().is_some());

    let dir = copy_inputs(false);
    put(dir.path(), "strategies/notes.txt", "hello");
    let e = input_error(resolve(dir.path(), "homelab"));
    assert_eq!(e.file(), Path::new("strategies/notes.txt"));

    let dir = copy_inputs(false);
    put(dir.path(), "strategies/list.json", "[1, 2]");
    let e = input_error(resolve(dir.path(), "homelab"));
    assert!(e.message().contains("JSON object"), "{e}");
}

#[cfg(unix)]
#[test]
fn symlinks_are_never_followed() {
    use std::os::unix::fs::symlink;
    let outside = tempfile::tempdir().expect("tmp");
    put(
        outside.path(),
        "service.yaml",
        &base(&kiln_tests::repo_root()),
    );
    put(outside.path(), "s.json", "{}");

    // The base description as a symlink.
    let dir = copy_inputs(false);
    std::fs::remove_file(dir.path().join("base/service.yaml")).expect("rm");
    symlink(
        outside.path().join("service.yaml"),
        dir.path().join("base/service.yaml"),
    )
    .expect("ln");
    let err = resolve(dir.path(), "homelab").expect_err("symlinked base");
    assert!(err.to_string().contains("symlink"), "{err}");

    // A strategy as a symlink.
    let dir = copy_inputs(false);
    symlink(
        outside.path().join("s.json"),
        dir.path().join("strategies/s.json"),
    )
    .expect("ln");
    let err = Repo::open(dir.path()).expect_err("symlinked strategy");
    assert!(matches!(err, Error::UnsafePath { .. }), "{err}");
    assert!(err.to_string().contains("strategies/s.json"), "{err}");

    // An environment directory as a symlink.
    let dir = copy_inputs(false);
    symlink(
        dir.path().join("overlays/homelab"),
        dir.path().join("overlays/linked"),
    )
    .expect("ln");
    let err = Repo::open(dir.path()).expect_err("symlinked overlay");
    assert!(matches!(err, Error::UnsafePath { .. }), "{err}");
}

mod no_panics {
    use kiln_tests::{copy_inputs, put};
    use proptest::prelude::*;

    /// Valid YAML/JSON fragments mixed with noise, so inputs get past the parser sometimes.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "\\PC{0,200}",
            prop::collection::vec(
                prop::sample::select(vec![
                    "replicas: -1\n",
                    "set: {}\n",
                    "extends: homelab\n",
                    "patches: [{}]\n",
                    "name: x\n",
                    "- a\n",
                    "{\"strategy\": {\"mode\": \"conditional\"}}",
                    "[",
                    "}",
                    "namePrefix: \"\"\n",
                    "set: {route: {hosts: []}}\n",
                    "images: [{name: a}]\n",
                    "targets: [{weight: -1}]",
                    "&a [*a]\n",
                    "!!binary x\n",
                    "~\n",
                    "0x10\n",
                ]),
                0..6,
            )
            .prop_map(|parts| parts.concat()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Whatever the inputs say, kiln answers with a result or an error, never a panic.
        #[test]
        fn arbitrary_inputs_never_panic(file in 0usize..4, contents in text()) {
            let dir = copy_inputs(false);
            let target = ["base/service.yaml", "overlays/homelab/overlay.yaml", "strategies/all-models.json", "overlays/x/overlay.yaml"][file];
            put(dir.path(), target, &contents);
            if let Ok(repo) = kiln::Repo::open(dir.path()) {
                for env in repo.environments() {
                    let _ = repo.environment(env).and_then(|e| kiln::render(&e));
                }
            }
        }
    }
}

#[test]
fn a_health_path_the_open_source_gateway_refuses_is_an_error() {
    let e = with_base_edit("port: 8787", "healthPath: /v1/health");
    assert_eq!(e.file(), Path::new("base/service.yaml"));
    assert_eq!(e.pointer(), Some("/healthPath"));
    assert!(e.message().contains("answers 400"), "{e}");
    // Any other clean path is the user's to choose (a custom image may serve it).
    let dir = copy_inputs(false);
    let text = base(dir.path()).replacen("port: 8787", "port: 8787\nhealthPath: /ping", 1);
    put(dir.path(), "base/service.yaml", &text);
    assert!(resolve(dir.path(), "homelab").is_ok());
}
