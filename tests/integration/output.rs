//! out/ is kiln's only where kiln wrote: foreign files survive, clashes are
//! refused, stale files and environments are pruned, unchanged output is not
//! touched, and a half-finished swap is recovered.

use kiln::{MismatchKind, Repo};
use kiln_tests::{copy_inputs, edit, put};
use std::path::Path;

fn render_all(root: &Path) -> kiln::Result<kiln::WriteReport> {
    let repo = Repo::open(root)?;
    kiln::write(
        &repo.out_dir(),
        &kiln::render_repo(&repo, &kiln::Selection::All)?,
    )
}

fn add_env(root: &Path, name: &str) {
    put(root, &format!("overlays/{name}/overlay.yaml"), "{}\n");
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn foreign_files_survive_and_clashes_are_refused() {
    let dir = copy_inputs(false);
    let root = dir.path();
    render_all(root).expect("first render");
    put(root, "out/homelab/README.md", "notes kept by a human\n");
    put(root, "out/homelab/extra/thing.yaml", "a: b\n");
    put(root, "out/NOTES.md", "top-level notes\n");

    // A change forces a rewrite of the environment; the foreign files come along.
    edit(root, "base/service.yaml", "replicas: 1", "replicas: 2");
    let report = render_all(root).expect("second render");
    assert!(report.written.contains(&"homelab".to_string()));
    assert_eq!(
        std::fs::read_to_string(root.join("out/homelab/README.md")).expect("kept"),
        "notes kept by a human\n"
    );
    assert!(root.join("out/homelab/extra/thing.yaml").exists());
    assert!(root.join("out/NOTES.md").exists());

    // A hand-made file where kiln wants to write: refused, nothing written.
    put(root, "out/homelab/README.md", "x");
    std::fs::remove_file(root.join("out/homelab/service-portkey-gateway.yaml")).expect("rm");
    let index = root.join("out/homelab/.kiln-index.json");
    let mut listed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&index).expect("index")).expect("JSON");
    listed["files"]
        .as_object_mut()
        .expect("files")
        .remove("service-portkey-gateway.yaml");
    std::fs::write(&index, serde_json::to_string_pretty(&listed).expect("JSON")).expect("index");
    put(root, "out/homelab/service-portkey-gateway.yaml", "mine\n");
    let before = names(&root.join("out/homelab"));
    let err = render_all(root).expect_err("clash");
    assert!(matches!(err, kiln::Error::ForeignFile { .. }), "{err}");
    assert!(err.to_string().contains("service-portkey-gateway.yaml"));
    assert_eq!(names(&root.join("out/homelab")), before);
    assert_eq!(
        std::fs::read_to_string(root.join("out/homelab/service-portkey-gateway.yaml"))
            .expect("kept"),
        "mine\n"
    );
}

#[test]
fn stale_files_and_environments_are_pruned_but_nothing_else() {
    let dir = copy_inputs(false);
    let root = dir.path();
    add_env(root, "dev");
    render_all(root).expect("render");
    assert!(root.join("out/dev/kustomization.yaml").exists());
    put(root, "out/dev/keep.txt", "mine");
    put(root, "out/handmade/deployment.yaml", "kind: Deployment\n");

    std::fs::remove_dir_all(root.join("overlays/dev")).expect("rm dev");
    let report = render_all(root).expect("render");
    assert_eq!(report.pruned, ["dev"]);
    assert_eq!(names(&root.join("out/dev")), ["keep.txt"]);
    assert!(root.join("out/handmade/deployment.yaml").exists());

    // A strategy removed: its old ConfigMap file goes, under a new name comes the new one.
    let old = names(&root.join("out/homelab"));
    std::fs::remove_file(root.join("strategies/openai-models.json")).expect("rm");
    render_all(root).expect("render");
    let new = names(&root.join("out/homelab"));
    let gone: Vec<_> = old.iter().filter(|n| !new.contains(n)).collect();
    assert_eq!(gone.len(), 1, "{gone:?}");
    assert!(gone[0].starts_with("configmap-portkey-gateway-strategies-"));
}

#[test]
fn an_unchanged_render_touches_no_file() {
    let dir = copy_inputs(false);
    let root = dir.path();
    render_all(root).expect("render");
    let stamp = |p: &Path| {
        std::fs::metadata(p)
            .expect("meta")
            .modified()
            .expect("mtime")
    };
    let files: Vec<_> = std::fs::read_dir(root.join("out/homelab"))
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .collect();
    let before: Vec<_> = files.iter().map(|p| stamp(p)).collect();
    let inode_dir = stamp(&root.join("out/homelab"));
    std::thread::sleep(std::time::Duration::from_millis(20));
    let report = render_all(root).expect("render");
    assert_eq!(
        report.unchanged,
        [
            "aca", "aks", "dev", "eks", "gke", "homelab", "prod", "staging"
        ]
    );
    assert!(report.written.is_empty());
    let after: Vec<_> = files.iter().map(|p| stamp(p)).collect();
    assert_eq!(before, after);
    assert_eq!(inode_dir, stamp(&root.join("out/homelab")));
}

#[test]
fn a_file_changed_since_the_render_is_noticed_without_reading_the_others() {
    use std::os::unix::fs::MetadataExt;
    let dir = copy_inputs(false);
    let root = dir.path();
    render_all(root).expect("render");
    // Every file kiln wrote, and its index, carry one stamp: what a later
    // render trusts without reading the file.
    let out = root.join("out/homelab");
    let stamps: std::collections::BTreeSet<(i64, i64)> = names(&out)
        .iter()
        .map(|n| {
            let m = std::fs::metadata(out.join(n)).expect("meta");
            (m.mtime(), m.mtime_nsec())
        })
        .collect();
    assert_eq!(stamps.len(), 1, "{stamps:?}");
    // Edits that keep the size: one that changes a byte is found and undone;
    // one that restores it (a new time, the same bytes) is read and left alone.
    let file = out.join("service-portkey-gateway.yaml");
    let original = std::fs::read_to_string(&file).expect("read");
    std::fs::write(&file, original.replace("port: 8787", "port: 8788")).expect("write");
    let report = render_all(root).expect("render");
    assert_eq!(report.written, ["homelab"]);
    assert_eq!(std::fs::read_to_string(&file).expect("read"), original);
    std::fs::write(&file, &original).expect("write");
    let report = render_all(root).expect("render");
    assert!(report.written.is_empty(), "{report:?}");
}

#[test]
fn an_interrupted_swap_is_recovered() {
    let dir = copy_inputs(false);
    let root = dir.path();
    render_all(root).expect("render");
    let good = names(&root.join("out/homelab"));
    // Interrupted between the two renames: the previous output sits aside, a staging dir half full.
    std::fs::rename(root.join("out/homelab"), root.join("out/.kiln-old-homelab")).expect("mv");
    put(root, "out/.kiln-staging-homelab/half.yaml", "x");
    let repo = Repo::open(root).expect("repo");
    let homelab = kiln::render(&repo.environment("homelab").expect("env")).expect("renders");
    kiln::write(&repo.out_dir(), &homelab.into()).expect("write");
    assert_eq!(names(&root.join("out/homelab")), good);
    assert_eq!(
        names(&root.join("out")),
        [
            "aca", "aks", "dev", "eks", "gke", "homelab", "prod", "staging"
        ]
    );
}

#[test]
fn check_reports_missing_changed_and_stale_files() {
    let dir = copy_inputs(false);
    let root = dir.path();
    add_env(root, "dev");
    render_all(root).expect("render");
    let repo = Repo::open(root).expect("repo");
    let rendered = |repo: &Repo| kiln::render_repo(repo, &kiln::Selection::All).expect("renders");
    assert!(
        kiln::compare(&repo.out_dir(), &rendered(&repo))
            .expect("check")
            .is_empty()
    );

    std::fs::remove_file(root.join("out/homelab/namespace-portkey.yaml")).expect("rm");
    put(root, "out/homelab/service-portkey-gateway.yaml", "edited\n");
    std::fs::remove_dir_all(root.join("overlays/dev")).expect("rm dev");
    let repo = Repo::open(root).expect("repo");
    let found = kiln::compare(&repo.out_dir(), &rendered(&repo)).expect("check");
    let has = |path: &str, kind| {
        found
            .iter()
            .any(|d| d.path == Path::new(path) && d.kind == kind)
    };
    assert!(
        has("homelab/namespace-portkey.yaml", MismatchKind::Missing),
        "{found:?}"
    );
    assert!(
        has(
            "homelab/service-portkey-gateway.yaml",
            MismatchKind::Changed
        ),
        "{found:?}"
    );
    assert!(
        has("dev/kustomization.yaml", MismatchKind::Stale),
        "{found:?}"
    );
    // check wrote nothing.
    assert!(!root.join("out/homelab/namespace-portkey.yaml").exists());
}

#[cfg(unix)]
#[test]
fn out_through_a_symlink_is_refused() {
    let dir = copy_inputs(false);
    let elsewhere = tempfile::tempdir().expect("tmp");
    std::os::unix::fs::symlink(elsewhere.path(), dir.path().join("out")).expect("link");
    let err = render_all(dir.path()).expect_err("symlinked out/");
    assert!(matches!(err, kiln::Error::UnsafePath { .. }), "{err}");
    assert!(names(elsewhere.path()).is_empty());
}
