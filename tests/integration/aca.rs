//! Azure Container Apps: the same description rendered as the variables of
//! Portkey's Azure Container Apps Terraform module, only those variables, and
//! the bad combinations refused.

use crate::enterprise_options::{enterprise_env, minimal, with};
use crate::render_env;
use kiln_tests::{copy_inputs, put, repo_root};
use serde_json::{Value, json};

fn tfvars(env: &str) -> Value {
    let rendered = render_env(&repo_root(), env);
    assert!(
        rendered.resources().is_empty(),
        "ACA renders no Kubernetes objects"
    );
    let file = rendered
        .files()
        .iter()
        .find(|f| f.name() == kiln::aca::TFVARS)
        .expect("tfvars");
    serde_json::from_str(file.contents()).expect("JSON")
}

fn assert_only_module_variables(vars: &Value) {
    for name in vars.as_object().expect("object").keys() {
        assert!(
            kiln::aca::VARIABLES.contains(&name.as_str()),
            "`{name}` is not a variable of the ACA module"
        );
    }
}

#[test]
fn aca_renders_the_terraform_module_variables_from_the_same_description() {
    let vars = tfvars("aca");
    assert_only_module_variables(&vars);
    assert_eq!(vars["registry_type"], "dockerhub");
    assert_eq!(
        vars["docker_credentials"],
        json!({"key_vault_name": "portkey-kv", "key_vault_rg": "portkey-rg", "username_secret": "docker-username", "password_secret": "docker-password"})
    );
    assert_eq!(vars["server_mode"], "all");
    assert_eq!(
        vars["gateway_image"],
        json!({"image": "portkeyai/gateway_enterprise", "tag": "2.13.0"})
    );
    assert_eq!(vars["gateway_config"]["min_replicas"], 2);
    assert_eq!(vars["mcp_config"]["port"], 8788);
    assert_eq!(vars["ingress_type"], "application_gateway");
    assert_eq!(
        vars["app_gateway_config"]["gateway_host"],
        "ai.aca.peekoff.com"
    );
    assert_eq!(
        vars["app_gateway_config"]["mcp_host"],
        "mcp.aca.peekoff.com"
    );
    assert_eq!(vars["redis_config"]["redis_type"], "redis");
    assert_eq!(
        vars["storage_config"]["container_name"],
        "portkey-log-store"
    );
    assert_eq!(vars["control_plane_private_link"]["outbound"], true);
    assert_eq!(
        vars["environment_variables"]["gateway"]["ANALYTICS_STORE"],
        "control_plane"
    );
    // Secrets are Key Vault secret names, never values.
    let secrets = vars["secrets"]["gateway"].as_object().expect("secrets");
    assert_eq!(secrets["PORTKEY_CLIENT_AUTH"], "portkey-client-auth");
    assert_eq!(secrets["ORGANISATIONS_TO_SYNC"], "organisations-to-sync");
    for value in secrets.values().chain(
        vars["environment_variables"]["gateway"]
            .as_object()
            .expect("env")
            .values(),
    ) {
        assert!(
            !kiln::model::strategy::looks_like_key(value.as_str().unwrap_or_default()),
            "{value}"
        );
    }
    // ACA is deployed by Terraform: no GitOps Application points at it.
    let all = kiln::render_repo(
        &kiln::Repo::open(repo_root()).expect("repo"),
        &kiln::Selection::All,
    )
    .expect("renders");
    let wiring: Vec<&kiln::EnvironmentOutput> = all
        .environments()
        .iter()
        .filter(|r| r.env() == "argocd" || r.env() == "flux")
        .collect();
    assert_eq!(wiring.len(), 2);
    for r in wiring {
        assert!(
            r.resources().iter().any(|x| x.name().ends_with("-aks")),
            "{}",
            r.env()
        );
        assert!(
            r.resources().iter().all(|x| !x.name().ends_with("-aca")),
            "{}",
            r.env()
        );
    }
}

fn aca(patch: Value) -> Value {
    with(
        with(
            minimal("aca"),
            json!({"pullSecret": {"usernameKey": "u", "passwordKey": "p"}, "aca": {"region": "eastus", "resourceGroup": "rg", "keyVault": {"name": "kv", "resourceGroup": "rg"}}}),
        ),
        patch,
    )
}

#[test]
fn aca_bad_combinations_are_errors() {
    for (enterprise, pointer, expected) in [
        (
            minimal("aca"),
            "/set/enterprise/aca",
            "needs the `aca` settings",
        ),
        (
            with(
                minimal("eks"),
                json!({"aca": {"region": "r", "resourceGroup": "g", "keyVault": {"name": "k", "resourceGroup": "g"}}}),
            ),
            "/set/enterprise/aca",
            "for cloud `aca`",
        ),
        (
            aca(json!({"pullSecret": null})),
            "/set/enterprise/pullSecret",
            "dockerhub",
        ),
        (
            aca(json!({"aca": {"registry": "acr"}})),
            "/set/enterprise/aca/acrId",
            "acrId",
        ),
        (
            aca(json!({"aca": {"ingress": {"type": "application_gateway"}}})),
            "/set/enterprise/aca/ingress/type",
            "virtual network",
        ),
        (
            aca(json!({"aca": {"network": {"mode": "existing"}}})),
            "/set/enterprise/aca/network",
            "vnetId",
        ),
        (
            aca(json!({"aca": {"scaling": {"minReplicas": 5, "maxReplicas": 2}}})),
            "/set/enterprise/aca/scaling",
            "at most",
        ),
        (
            aca(json!({"dataService": {}})),
            "/set/enterprise/dataService",
            "does not run the Data Service",
        ),
        (
            aca(json!({"identity": {"azureClientId": "3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f"}})),
            "/set/enterprise/identity",
            "managed identity of its own",
        ),
        (
            aca(json!({"expose": {"ingress": {}}})),
            "/set/enterprise/expose",
            "aca.ingress",
        ),
        (
            aca(
                json!({"logStore": {"azure": {"account": "a", "container": "c", "auth": "entra"}}}),
            ),
            "/set/enterprise/logStore/azure/auth",
            "managed",
        ),
    ] {
        let err = match enterprise_env(enterprise.clone(), json!({})) {
            Err(e) => e,
            Ok(_) => panic!("accepted: {enterprise}"),
        };
        let kiln::Error::Input(e) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(e.pointer(), Some(pointer), "{enterprise}: {err}");
        assert!(err.to_string().contains(expected), "{enterprise}: {err}");
    }
}

#[test]
fn every_aca_option_combination_renders_only_module_variables() {
    let repo = copy_inputs(false);
    let mut rendered = 0;
    for mode in [
        json!({}),
        json!({"serverMode": "mcp"}),
        json!({"serverMode": "all", "mcp": {"host": "mcp.example.com", "baseUrl": "https://mcp.example.com"}}),
    ] {
        for cache in [
            json!(null),
            json!({"url": "rediss://c.redis.cache.windows.net:6380", "tls": true, "cluster": true, "passwordKey": "redis-key"}),
        ] {
            for (network, ingress) in [
                (
                    json!({"mode": "none"}),
                    json!({"type": "aca", "public": false}),
                ),
                (
                    json!({"mode": "new", "vnetCidr": "10.9.0.0/16"}),
                    json!({"type": "application_gateway", "waf": true, "sslCertSecretId": "https://kv.vault.azure.net/secrets/cert"}),
                ),
                (
                    json!({"mode": "existing", "vnetId": "v", "acaSubnetId": "s1", "appGatewaySubnetId": "s2", "privateEndpointSubnetId": "s3"}),
                    json!({"type": "application_gateway"}),
                ),
            ] {
                for registry in [
                    json!({}),
                    json!({"registry": "acr", "acrId": "/subscriptions/x/acr"}),
                ] {
                    let mut e = aca(
                        json!({"aca": {"network": network, "ingress": ingress}, "logStore": {"azure": {"account": "a", "container": "c"}, "pathFormat": "{id}.json"}}),
                    );
                    e = with(e, mode.clone());
                    e = with(e, json!({"aca": registry}));
                    if !cache.is_null() {
                        e = with(e, json!({"cache": {"managed": cache}}));
                    }
                    put(
                        repo.path(),
                        "overlays/homelab/overlay.yaml",
                        &kiln::model::emit::yaml(&json!({"set": {"enterprise": e}})),
                    );
                    let r = kiln::Repo::open(repo.path()).expect("repo");
                    let out = kiln::render(
                        &r.environment("homelab")
                            .unwrap_or_else(|err| panic!("{e}: {err}")),
                    )
                    .unwrap_or_else(|err| panic!("{e}: {err}"));
                    let vars: Value =
                        serde_json::from_str(out.files()[0].contents()).expect("JSON");
                    assert_only_module_variables(&vars);
                    assert_eq!(vars["environment"], "homelab");
                    rendered += 1;
                }
            }
        }
    }
    assert_eq!(rendered, 3 * 2 * 3 * 2);
}
