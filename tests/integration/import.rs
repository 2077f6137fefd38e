//! `kiln import kustomize` on a hand-written tree of seed 000 (flaws
//! included, tests/fixtures/import/homelab-guide): what it imports, what it
//! reports, and that the result renders and passes `kiln check`.

use kiln::Repo;
use kiln::import::{Import, Options, Why};
use kiln_tests::{copy_tree, put, repo_root};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn fixture() -> PathBuf {
    repo_root().join("tests/fixtures/import/homelab-guide")
}

fn import(input: &Path, into: &Path, env: &str) -> kiln::Result<Import> {
    let options = Options {
        into: into.to_path_buf(),
        env: env.to_string(),
        network: kiln::import::Network::Off,
        adopt: None,
        chart: None,
    };
    kiln::import::kustomize(input, &options)
}

fn count(import: &Import, why: Why) -> usize {
    import.differences().iter().filter(|d| d.why == why).count()
}

fn paths(import: &Import, why: Why, resource: &str) -> Vec<String> {
    import
        .differences()
        .iter()
        .filter(|d| d.why == why && d.resource == resource)
        .map(|d| format!("{}: {:?} -> {:?}", d.path, d.input, d.kiln))
        .collect()
}

#[test]
fn seed_000_tree_imports_renders_passes_check_and_reports_its_flaws() {
    let dir = tempfile::tempdir().expect("tmp");
    let into = dir.path().join("gitops");
    let imported = import(&fixture(), &into, "homelab").expect("imports");
    assert!(!into.exists(), "nothing is written before write()");
    let written = imported.write().expect("writes");
    assert_eq!(
        written,
        [
            "base/service.yaml",
            "overlays/homelab/overlay.yaml",
            "strategies/claude-models.json",
            "strategies/openai-models.json"
        ]
        .map(PathBuf::from)
    );
    let repo = Repo::open(&into).expect("a kiln repository");
    assert!(!kiln::rules::has_errors(
        &kiln::check_repo(&repo, &kiln::Selection::All).expect("checks")
    ));
    let env = repo.environment("homelab").expect("env");
    let d = &env.description();
    assert_eq!(
        (d.image.repository.as_str(), d.image.tag.as_str()),
        ("portkeyai/gateway", "1.12.1")
    );
    assert_eq!(
        d.network_policy.ingress_from_namespaces,
        ["gateway", "monitoring"]
    );
    assert_eq!(d.secrets.keys.len(), 4);
    assert_eq!(
        d.health_path(),
        "/",
        "the open-source gateway answers 400 on /v1/health"
    );

    // Flaw 1: the version label lags the image tag.
    let deployment = "Deployment/portkey-gateway";
    let hardening = paths(&imported, Why::Hardening, deployment);
    for at in ["/metadata/labels", "/spec/template/metadata/labels"] {
        let line = format!("{at}/app.kubernetes.io/version: Some(\"1.12.0\") -> Some(\"1.12.1\")");
        assert!(hardening.contains(&line), "{line} in {hardening:#?}");
    }
    // Flaw 2: namespaces selected by a `name` label.
    assert_eq!(
        paths(&imported, Why::Hardening, "NetworkPolicy/portkey-gateway"),
        [
            "/spec/ingress[0]/from[0]/namespaceSelector/matchLabels/kubernetes.io/metadata.name: None -> Some(\"gateway\")",
            "/spec/ingress[0]/from[0]/namespaceSelector/matchLabels/name: Some(\"gateway\") -> None",
            "/spec/ingress[0]/from[1]/namespaceSelector/matchLabels/kubernetes.io/metadata.name: None -> Some(\"monitoring\")",
            "/spec/ingress[0]/from[1]/namespaceSelector/matchLabels/name: Some(\"monitoring\") -> None",
        ]
    );
    // Flaw 3: selectors only through kustomize's labels: kiln's keep that
    // label and add the instance, and nothing else about them differs. A
    // selector is immutable, so that is a breaking change, reported first.
    assert_eq!(
        paths(&imported, Why::Breaking, deployment)
            .iter()
            .filter(|p| p.starts_with("/spec/selector"))
            .collect::<Vec<_>>(),
        ["/spec/selector/matchLabels/app.kubernetes.io/instance: None -> Some(\"homelab\")"]
    );
    // The container's missing securityContext fields, called out one by one.
    let container = "/spec/template/spec/containers[gateway]/securityContext";
    for field in [
        "allowPrivilegeEscalation",
        "capabilities/drop",
        "seccompProfile/type",
    ] {
        assert!(
            hardening
                .iter()
                .any(|p| p.starts_with(&format!("{container}/{field}: None"))),
            "{field}"
        );
    }
    // Every difference is explained: nothing kiln drops or changes unlisted.
    let counts: BTreeMap<&str, usize> = [
        Why::Hardening,
        Why::Correction,
        Why::Default,
        Why::Convention,
        Why::Rename,
        Why::NotImported,
        Why::Other,
    ]
    .into_iter()
    .map(|w| (w.as_str(), count(&imported, w)))
    .collect();
    assert_eq!(counts["not imported"], 0, "{counts:?}");
    assert_eq!(counts["other"], 0, "{counts:?}");
    assert_eq!(
        counts["correction"], 4,
        "three probe paths and HEALTH_CHECK_PATH"
    );
    // The ConfigMaps' names; the four provider-key variables that named the
    // Secret are gone from the pods (hardening), and so is the Secret: the
    // open-source gateway reads no provider key.
    assert_eq!(counts["renamed reference"], 2, "{counts:?}");
    let dropped = imported.differences().iter().filter(|d| {
        d.why == Why::Hardening
            && d.reason
                .starts_with("the open-source gateway reads no provider key")
    });
    assert_eq!(
        dropped.count(),
        12,
        "four variables: each name, key and Secret"
    );
    let left: Vec<&str> = imported.left_out().iter().map(|l| l.at.as_str()).collect();
    assert_eq!(
        left,
        [
            "Deployment/portkey-gateway /spec/template/spec/containers/0/readinessProbe/httpGet/path",
            "ServiceMonitor/portkey-gateway"
        ]
    );
    assert!(imported.plain_secrets().is_empty());
    let report = kiln::import::markdown(&imported);
    assert!(
        report.contains("### Differences: hardening (44)"),
        "{report}"
    );
    assert!(
        report.contains("```diff\n=== homelab: 0 added, 7 changed, 2 removed"),
        "{report}"
    );
}

#[test]
fn plain_text_credentials_are_reported_never_copied() {
    let dir = tempfile::tempdir().expect("tmp");
    let tree = dir.path().join("tree");
    copy_tree(&fixture(), &tree, false);
    let config = std::fs::read_to_string(tree.join("configmap.yaml")).expect("read");
    put(
        &tree,
        "configmap.yaml",
        &format!("{config}  GROQ_API_KEY: gsk-0123456789abcdef0123456789abcdef\n"),
    );
    put(
        &tree,
        "secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: { name: legacy }\nstringData: { password: hunter2-hunter2 }\n",
    );
    let kustomization = std::fs::read_to_string(tree.join("kustomization.yaml")).expect("read");
    put(
        &tree,
        "kustomization.yaml",
        &kustomization.replace(
            "  - externalsecret.yaml\n",
            "  - externalsecret.yaml\n  - secret.yaml\n",
        ),
    );

    let imported = import(&tree, &dir.path().join("gitops"), "homelab").expect("imports");
    assert_eq!(
        imported.plain_secrets(),
        [
            "ConfigMap/portkey-env /data/GROQ_API_KEY (`GROQ_API_KEY`)",
            "Secret/legacy /stringData/password (`password`)"
        ]
    );
    let everything = format!(
        "{}{}{:?}",
        kiln::import::text(&imported),
        kiln::import::markdown(&imported),
        imported.files()
    );
    for value in ["gsk-0123456789abcdef", "hunter2"] {
        assert!(!everything.contains(value), "{value} leaked");
    }
    assert!(imported.left_out().iter().any(|l| l.at == "Secret/legacy"));
}

#[test]
fn an_existing_repository_gets_an_overlay_that_means_the_same() {
    let dir = tempfile::tempdir().expect("tmp");
    let fresh = import(&fixture(), &dir.path().join("fresh"), "homelab").expect("imports");
    fresh.write().expect("writes");
    let expected = Repo::open(dir.path().join("fresh"))
        .and_then(|r| r.environment("homelab"))
        .expect("env")
        .description()
        .clone();

    let existing = kiln_tests::copy_inputs(false);
    let imported = import(&fixture(), existing.path(), "legacy").expect("imports");
    let files: Vec<&String> = imported.files().keys().collect();
    assert_eq!(
        files,
        [
            "overlays/legacy/overlay.yaml",
            "overlays/legacy/strategies/claude-models.json",
            "overlays/legacy/strategies/openai-models.json"
        ]
    );
    imported.write().expect("writes");
    let repo = Repo::open(existing.path()).expect("repo");
    let env = repo.environment("legacy").expect("env");
    assert_eq!(env.description(), &expected);
    let names: Vec<&str> = env.strategies().iter().map(|s| s.name()).collect();
    assert_eq!(names, ["claude-models", "openai-models"]);
    assert!(!kiln::rules::has_errors(
        &kiln::check_repo(&repo, &kiln::Selection::of(&["legacy".into()])).expect("checks")
    ));

    let again = import(&fixture(), existing.path(), "legacy").expect_err("env exists");
    assert!(again.to_string().contains("exists already"), "{again}");
}

#[test]
fn a_directory_that_is_not_empty_nor_a_repository_is_refused_untouched() {
    let dir = tempfile::tempdir().expect("tmp");
    put(dir.path(), "notes.txt", "mine");
    let err = import(&fixture(), dir.path(), "homelab").expect_err("not empty");
    assert!(
        err.to_string().contains("notes.txt") || format!("{err:?}").contains("notes.txt"),
        "{err:?}"
    );
    let entries: Vec<_> = std::fs::read_dir(dir.path()).expect("list").collect();
    assert_eq!(entries.len(), 1);

    let not_a_tree = dir.path().join("notes.txt");
    let err =
        import(&not_a_tree, &dir.path().join("x"), "homelab").expect_err("not YAML of a gateway");
    assert!(err.to_string().contains("found 0 Deployments"), "{err}");
    assert!(!dir.path().join("x").exists());
}

/// A description's enterprise part without the store key names (kiln
/// proposes its own for the credentials it finds), for comparison.
fn without_store_keys(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(map) => map
            .into_iter()
            .filter(|(k, _)| !k.ends_with("Key"))
            .map(|(k, v)| (k, without_store_keys(v)))
            .collect(),
        other => other,
    }
}

#[test]
fn the_seeds_chart_values_import_as_this_repositorys_enterprise_environments() {
    for cloud in ["gke", "eks", "aks"] {
        let values = repo_root().join(format!("tests/fixtures/import/helm/{cloud}.yaml"));
        let repo = kiln_tests::copy_inputs(false);
        let options = Options {
            into: repo.path().to_path_buf(),
            env: format!("{cloud}-imported"),
            network: kiln::import::Network::Off,
            // overlays/eks takes over the guide's release in place.
            adopt: (cloud == "eks").then(|| "portkey-gateway".to_string()),
            chart: None,
        };
        let imported = kiln::import::helm(&values, &options).expect("imports");
        assert_eq!(
            imported.files().len(),
            1,
            "only the overlay: {:?}",
            imported.files().keys()
        );
        imported.write().expect("writes");
        let repo = Repo::open(repo.path()).expect("repo");
        let ours = repo.environment(cloud).expect("env").description().clone();
        let theirs = repo
            .environment(&options.env)
            .expect("env")
            .description()
            .clone();
        assert!(!kiln::rules::has_errors(
            &kiln::check_repo(
                &repo,
                &kiln::Selection::of(std::slice::from_ref(&options.env))
            )
            .expect("checks")
        ));
        // The values were written from overlays/<cloud>: the import gives it back.
        assert_eq!(theirs.image, ours.image, "{cloud}");
        assert_eq!(theirs.replicas, ours.replicas, "{cloud}");
        if cloud != "aks" {
            // aks is exposed by a LoadBalancer Service: no host in the values, none rendered.
            assert_eq!(theirs.hosts(), ours.hosts(), "{cloud}");
        }
        let json = |d: &kiln::model::description::Description| {
            without_store_keys(serde_json::to_value(&d.enterprise).expect("json"))
        };
        assert_eq!(json(&theirs), json(&ours), "{cloud}");

        // Every credential in the values is reported by place, and appears nowhere.
        assert!(
            imported.plain_secrets().len() >= 4,
            "{cloud}: {:?}",
            imported.plain_secrets()
        );
        let everything = format!(
            "{}{}{:?}",
            kiln::import::text(&imported),
            kiln::import::markdown(&imported),
            imported.files()
        );
        for value in [
            "dckr_pat_",
            "pk-client-auth-0123",
            "9f8e7d6c-5b4a",
            "azure-redis-access-key-0123",
        ] {
            assert!(!everything.contains(value), "{cloud}: {value} leaked");
        }
        // The environment differs from what the chart sets exactly here.
        let secrets =
            ["/env/ORGANISATIONS_TO_SYNC", "/env/PORTKEY_CLIENT_AUTH"].map(|p| (Why::Hardening, p));
        let expected: Vec<(Why, &str)> = match cloud {
            "gke" => secrets.to_vec(),
            "eks" => [
                (Why::Correction, "/env/CONFIG_READER_PATH"),
                (Why::Default, "/env/DATASERVICE_BASEPATH"),
                (Why::Convention, "/env/REDIS_URL"),
                (Why::Correction, "/env/SOURCE_SYNC_API_BASEPATH"),
            ]
            .into_iter()
            .chain(secrets)
            .collect(),
            _ => [
                (Why::Correction, "/env/AZURE_MANAGED_CLIENT_ID"),
                (Why::Hardening, "/env/REDIS_PASSWORD"),
            ]
            .into_iter()
            .chain(secrets)
            .collect(),
        };
        let mut found: Vec<(Why, &str)> = imported
            .differences()
            .iter()
            .map(|d| (d.why, d.path.as_str()))
            .collect();
        let mut expected = expected;
        found.sort();
        expected.sort();
        assert_eq!(found, expected, "{cloud}");
    }
}

#[test]
fn chart_values_need_a_version_tag_and_a_repository() {
    let dir = tempfile::tempdir().expect("tmp");
    let values = repo_root().join("tests/fixtures/import/helm/gke.yaml");
    let options = Options {
        into: dir.path().join("new"),
        env: "gke".into(),
        network: kiln::import::Network::Off,
        adopt: None,
        chart: None,
    };
    let err = kiln::import::helm(&values, &options).expect_err("no repository");
    assert!(err.to_string().contains("kiln init"), "{err}");

    let text = std::fs::read_to_string(&values).expect("read");
    put(
        dir.path(),
        "latest.yaml",
        &text.replace("tag: \"2.13.0\"", "tag: \"latest\""),
    );
    let repo = kiln_tests::copy_inputs(false);
    let options = Options {
        into: repo.path().to_path_buf(),
        env: "new".into(),
        network: kiln::import::Network::Off,
        adopt: None,
        chart: None,
    };
    let err = kiln::import::helm(&dir.path().join("latest.yaml"), &options).expect_err("latest");
    assert!(format!("{err:?}").contains("gatewayImage.tag"), "{err:?}");
    assert!(!repo.path().join("overlays/new").exists());
}
