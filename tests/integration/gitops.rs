//! GitOps wiring: Argo CD Applications and Flux objects from `kiln.yaml`,
//! sync order, and the settings' errors.

use kiln::k8s::Resource;
use kiln_tests::{copy_inputs, put, repo_root};
use serde_json::Value;

fn wiring(settings: &str) -> kiln::Result<Vec<kiln::EnvironmentOutput>> {
    let repo = copy_inputs(false);
    put(repo.path(), "kiln.yaml", settings);
    let repo = kiln::Repo::open(repo.path())?;
    let envs = repo
        .environments()
        .iter()
        .map(|e| repo.environment(e))
        .collect::<kiln::Result<Vec<_>>>()?;
    kiln::gitops::render(repo.settings(), &envs)
}

fn docs(r: &kiln::EnvironmentOutput) -> Vec<Value> {
    r.resources().iter().map(Resource::to_value).collect()
}

fn named<'a>(docs: &'a [Value], name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {name}"))
}

#[test]
fn argocd_gets_an_application_per_environment_and_a_root() {
    let rendered = wiring(
        "gitops:\n  repoURL: https://git.example.com/gitops.git\n  argocd: {}\n  environments:\n    prod: { cluster: https://prod.example.com, dependsOn: [staging] }\n    staging: { cluster: staging, dependsOn: [dev] }\n",
    )
    .expect("renders");
    assert_eq!(rendered.len(), 1);
    assert_eq!(rendered[0].env(), "argocd");
    let docs = docs(&rendered[0]);
    let names: Vec<&str> = docs
        .iter()
        .filter_map(|d| d["metadata"]["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "gitops",
            "portkey-gateway-aks",
            "portkey-gateway-dev",
            "portkey-gateway-eks",
            "portkey-gateway-gke",
            "portkey-gateway-homelab",
            "portkey-gateway-prod",
            "portkey-gateway-staging"
        ]
    );
    let prod = named(&docs, "portkey-gateway-prod");
    assert_eq!(prod["spec"]["source"]["path"], "out/prod");
    assert_eq!(prod["spec"]["source"]["targetRevision"], "main");
    assert_eq!(
        prod["spec"]["destination"]["server"],
        "https://prod.example.com"
    );
    assert_eq!(prod["spec"]["destination"]["namespace"], "portkey");
    assert_eq!(prod["spec"]["syncPolicy"]["automated"]["prune"], true);
    assert_eq!(prod["spec"]["syncPolicy"]["automated"]["selfHeal"], true);
    assert_eq!(
        prod["metadata"]["finalizers"][0],
        "resources-finalizer.argocd.argoproj.io"
    );
    // dependsOn becomes sync waves: dev 0, staging 1, prod 2.
    assert_eq!(
        prod["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"],
        "2"
    );
    let staging = named(&docs, "portkey-gateway-staging");
    assert_eq!(
        staging["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"],
        "1"
    );
    assert_eq!(staging["spec"]["destination"]["name"], "staging");
    let dev = named(&docs, "portkey-gateway-dev");
    assert!(dev["metadata"].get("annotations").is_none());
    assert_eq!(
        dev["spec"]["destination"]["server"],
        kiln::model::settings::IN_CLUSTER
    );
    let root = named(&docs, "gitops");
    assert_eq!(root["spec"]["source"]["path"], "out/argocd");
    assert_eq!(root["metadata"]["namespace"], "argocd");
}

#[test]
fn argocd_options_are_switches() {
    let rendered = wiring(
        "gitops:\n  repoURL: git@git.example.com:platform/gitops.git\n  revision: release\n  path: deploy/out\n  name: platform\n  argocd: { namespace: gitops, project: portkey, automated: false, prune: false }\n",
    )
    .expect("renders");
    let docs = docs(&rendered[0]);
    let homelab = named(&docs, "portkey-gateway-homelab");
    assert_eq!(homelab["metadata"]["namespace"], "gitops");
    assert_eq!(homelab["spec"]["project"], "portkey");
    assert_eq!(homelab["spec"]["source"]["path"], "deploy/out/homelab");
    assert_eq!(homelab["spec"]["source"]["targetRevision"], "release");
    assert!(homelab["spec"]["syncPolicy"].get("automated").is_none());
    assert!(homelab["metadata"].get("finalizers").is_none());
    assert_eq!(
        named(&docs, "platform")["spec"]["source"]["path"],
        "deploy/out/argocd"
    );
}

#[test]
fn flux_gets_a_git_repository_and_a_kustomization_per_environment() {
    let rendered = wiring(
        "gitops:\n  repoURL: https://git.example.com/gitops.git\n  flux: { interval: 1m30s, timeout: 2m, wait: false }\n  environments:\n    prod: { kubeConfigSecret: prod-kubeconfig, dependsOn: [staging] }\n",
    )
    .expect("renders");
    assert_eq!(rendered[0].env(), "flux");
    let docs = docs(&rendered[0]);
    assert_eq!(docs[0]["kind"], "GitRepository", "the source comes first");
    assert_eq!(docs[0]["spec"]["url"], "https://git.example.com/gitops.git");
    assert_eq!(docs[0]["spec"]["ref"]["branch"], "main");
    assert_eq!(
        docs.len(),
        1 + 7,
        "a source and a Kustomization per environment"
    );
    let prod = named(&docs, "portkey-gateway-prod");
    assert_eq!(prod["spec"]["path"], "./out/prod");
    assert_eq!(prod["spec"]["interval"], "1m30s");
    assert_eq!(prod["spec"]["timeout"], "2m");
    assert_eq!(prod["spec"]["prune"], true);
    assert_eq!(prod["spec"]["wait"], false);
    assert_eq!(prod["spec"]["sourceRef"]["name"], "gitops");
    assert_eq!(
        prod["spec"]["dependsOn"][0]["name"],
        "portkey-gateway-staging"
    );
    assert_eq!(
        prod["spec"]["kubeConfig"]["secretRef"]["name"],
        "prod-kubeconfig"
    );
    assert!(
        named(&docs, "portkey-gateway-dev")["spec"]
            .get("dependsOn")
            .is_none()
    );
}

#[test]
fn the_namespace_is_applied_before_everything_under_both_engines() {
    let repo = kiln::Repo::open(repo_root()).expect("repo");
    for env in repo.environments() {
        let rendered = crate::render_env(&repo_root(), env);
        if rendered.resources().is_empty() {
            continue; // Azure Container Apps: Terraform, not Kubernetes
        }
        // Flux and kubectl apply -k: the order of kustomization.yaml (fifo).
        let kustomization = rendered
            .files()
            .iter()
            .find(|f| f.name() == "kustomization.yaml")
            .expect("kustomization");
        let listed = kiln_tests::yaml_documents(kustomization.contents()).remove(0);
        assert_eq!(listed["resources"][0], "namespace-portkey.yaml", "{env}");
        assert_eq!(listed["sortOptions"]["order"], "fifo");
        // Argo CD: the Namespace has the earliest sync wave; nothing else is earlier.
        let wave = |r: &Resource| {
            r.metadata()
                .annotations
                .as_ref()
                .and_then(|a| a.get("argocd.argoproj.io/sync-wave"))
                .map_or(0, |w| w.parse::<i32>().expect("a number"))
        };
        let namespace = &rendered.resources()[0];
        assert_eq!(
            (namespace.kind(), wave(namespace)),
            ("Namespace", -1),
            "{env}"
        );
        for r in rendered.resources().iter().skip(1) {
            assert!(wave(r) > -1, "{env}: {} {}", r.kind(), r.name());
        }
        // The resources that need CRDs are listed, and so applied, after the Namespace.
        let crd_dependent: Vec<usize> = rendered
            .resources()
            .iter()
            .filter(|r| {
                [
                    "HTTPRoute",
                    "HTTPRouteFilter",
                    "ServiceMonitor",
                    "ExternalSecret",
                ]
                .contains(&r.kind())
            })
            .map(|r| {
                let file = serde_json::Value::from(kiln::file_name(r));
                let listed = listed["resources"].as_array().expect("resources");
                listed.iter().position(|f| *f == file).expect("listed")
            })
            .collect();
        assert!(!crd_dependent.is_empty(), "{env}: {crd_dependent:?}");
        assert!(
            crd_dependent.iter().all(|i| *i > 0),
            "{env}: {crd_dependent:?}"
        );
    }
}

#[test]
fn without_settings_there_is_no_wiring_and_stale_wiring_is_pruned() {
    let repo = copy_inputs(false);
    put(
        repo.path(),
        "kiln.yaml",
        &format!(
            "gitops: {{ repoURL: 'https://git.example.com/g.git', argocd: {{}}, flux: {{}}, environments: {{ {} }} }}\n",
            // Every environment but homelab in a cluster of its own (rule environment-collision).
            ["aks", "dev", "eks", "gke", "prod", "staging"]
                .map(|e| format!("{e}: {{ cluster: {e}, kubeConfigSecret: {e} }}"))
                .join(", ")
        ),
    );
    let open = || kiln::Repo::open(repo.path()).expect("repo");
    let all = kiln::render_repo(&open(), &kiln::Selection::All).expect("renders");
    kiln::write(&open().out_dir(), &all).expect("writes");
    assert!(repo.path().join("out/argocd/kustomization.yaml").is_file());
    assert!(
        repo.path()
            .join("out/flux/gitrepository-gitops.yaml")
            .is_file()
    );
    std::fs::remove_file(repo.path().join("kiln.yaml")).expect("rm");
    let all = kiln::render_repo(&open(), &kiln::Selection::All).expect("renders");
    assert_eq!(all.environments().len(), 8, "the environments only");
    kiln::write(&open().out_dir(), &all).expect("writes");
    assert!(!repo.path().join("out/argocd").exists());
    assert!(!repo.path().join("out/flux").exists());
}

#[test]
fn bad_settings_are_errors_naming_the_place() {
    for (settings, pointer, expected) in [
        (
            "gitops: { repoURL: ftp://x, argocd: {} }",
            "/gitops/repoURL",
            "not a Git URL",
        ),
        (
            "gitops: { repoURL: 'https://x/g.git' }",
            "/gitops",
            "names no engine",
        ),
        (
            "gitops: { repoURL: 'https://x/g.git', flux: { interval: 10 minutes } }",
            "/gitops/flux/interval",
            "not a duration",
        ),
        (
            "gitops: { repoURL: 'https://x/g.git', argocd: {}, path: ../out }",
            "/gitops/path",
            "without `..`",
        ),
        (
            "gitops: { repoURL: 'https://x/g.git', argocd: {}, environments: { prd: {} } }",
            "/gitops/environments/prd",
            "did you mean `prod`?",
        ),
        (
            "gitops: { repoURL: 'https://x/g.git', argocd: {}, environments: { prod: { dependsOn: [prod] } } }",
            "/gitops/environments/prod/dependsOn/0",
            "not another environment",
        ),
        (
            "gitops: { repoURL: 'https://x/g.git', argocd: {}, environments: { prod: { dependsOn: [dev] }, dev: { dependsOn: [prod] } } }",
            "/gitops/environments/dev/dependsOn",
            "cycle: dev → prod → dev",
        ),
        (
            "gitops: { repoURL: 'https://x/g.git', argocd: { selfheal: true } }",
            "/gitops/argocd/selfheal",
            "selfHeal",
        ),
    ] {
        let err = wiring(&format!("{settings}\n")).expect_err(expected);
        let kiln::Error::Input(e) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(e.file(), std::path::Path::new("kiln.yaml"));
        assert!(e.pointer().is_some_and(|p| p.starts_with(pointer)), "{err}");
        assert!(
            format!("{err} {:?}", e.suggestion()).contains(expected),
            "{settings}: {err} {:?}",
            e.suggestion()
        );
    }
}

#[test]
fn an_environment_named_like_an_engine_is_refused() {
    let repo = copy_inputs(false);
    put(repo.path(), "overlays/flux/overlay.yaml", "{}\n");
    put(
        repo.path(),
        "kiln.yaml",
        "gitops: { repoURL: 'https://x/g.git', flux: {} }\n",
    );
    let err = kiln::Repo::open(repo.path()).expect_err("clash");
    assert!(err.to_string().contains("share out/flux/"), "{err}");
}
