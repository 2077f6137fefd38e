//! The enterprise gateway's options in throwaway repositories: every
//! documented combination renders clean under `kiln check`, and the bad
//! combinations are refused naming the field.

use kiln_tests::{copy_inputs, put};
use serde_json::{Value, json};

/// A repository whose homelab environment sets `enterprise` (and `extra` description fields).
pub(crate) fn enterprise_env(enterprise: Value, extra: Value) -> kiln::Result<kiln::Inspection> {
    let repo = copy_inputs(false);
    // The enterprise settings run on the enterprise image (the open-source
    // one answers no /v1/health probe: kiln check's probe-path).
    let image = json!({"repository": "docker.io/portkeyai/gateway_enterprise", "tag": "2.13.0"});
    let mut set = json!({"enterprise": enterprise, "image": image});
    if let (Value::Object(set), Value::Object(extra)) = (&mut set, extra) {
        set.extend(extra);
    }
    put(
        repo.path(),
        "overlays/homelab/overlay.yaml",
        &kiln::model::emit::yaml(&json!({"set": set})),
    );
    let r = kiln::Repo::open(repo.path())?;
    kiln::inspect(&r.environment("homelab")?)
}

pub(crate) fn minimal(cloud: &str) -> Value {
    json!({"cloud": cloud, "serviceName": "gw", "clientAuthKey": "auth", "organisationsKey": "orgs"})
}

pub(crate) fn with(mut base: Value, patch: Value) -> Value {
    json_patch::merge(&mut base, &patch);
    base
}

#[test]
fn bad_combinations_are_errors_naming_the_field() {
    let gke = || minimal("gke");
    let eks = || minimal("eks");
    for (enterprise, extra, pointer, expected) in [
        (
            with(
                gke(),
                json!({"identity": {"awsRoleArn": "arn:aws:iam::1:role/x"}}),
            ),
            json!({}),
            "/set/enterprise/identity/awsRoleArn",
            "not of gke",
        ),
        (
            with(
                gke(),
                json!({"cache": {"managed": {"url": "redis://10.0.0.3:6379", "tls": true}}}),
            ),
            json!({}),
            "/set/enterprise/cache/managed/caKey",
            "server CA",
        ),
        (
            with(eks(), json!({"serverMode": "all"})),
            json!({}),
            "/set/enterprise/mcp/host",
            "two host names",
        ),
        (
            with(
                eks(),
                json!({"serverMode": "all", "mcp": {"host": "portkey.peekoff.com"}}),
            ),
            json!({}),
            "/set/enterprise/mcp/host",
            "host name of its own",
        ),
        (
            with(eks(), json!({"mcp": {"port": 9000}})),
            json!({}),
            "/set/enterprise/mcp",
            "serverMode",
        ),
        (
            with(
                eks(),
                json!({"cache": {"managed": {"url": "redis://c:6379", "workloadAuth": true}}}),
            ),
            json!({}),
            "/set/enterprise/cache/managed/workloadAuth",
            "needs gke",
        ),
        (
            with(
                eks(),
                json!({"cache": {"managed": {"url": "rediss://c:6380"}}}),
            ),
            json!({}),
            "/set/enterprise/cache/managed/tls",
            "tls: true",
        ),
        (
            with(eks(), json!({"cache": {"managed": {"url": "redis://c"}}})),
            json!({}),
            "/set/enterprise/cache/managed/url",
            "redis://host:port",
        ),
        (
            with(
                eks(),
                json!({"logStore": {"s3": {"bucket": "b", "region": "r"}}}),
            ),
            json!({}),
            "/set/enterprise/logStore/s3",
            "awsRoleArn",
        ),
        (
            with(
                gke(),
                json!({"logStore": {"s3": {"bucket": "b", "region": "r"}, "gcs": {"bucket": "b", "region": "r"}}}),
            ),
            json!({}),
            "/set/enterprise/logStore",
            "exactly one",
        ),
        (
            with(
                gke(),
                json!({"logStore": {"gcs": {"bucket": "b", "region": "r", "auth": "hmac"}}}),
            ),
            json!({}),
            "/set/enterprise/logStore/gcs",
            "accessKeyKey",
        ),
        (
            with(
                gke(),
                json!({"logStore": {"gcs": {"bucket": "b", "region": "r"}}}),
            ),
            json!({}),
            "/set/enterprise/logStore/gcs/auth",
            "gcpServiceAccount",
        ),
        (
            with(
                minimal("aks"),
                json!({"logStore": {"azure": {"account": "a", "container": "c"}}}),
            ),
            json!({}),
            "/set/enterprise/logStore/azure",
            "azureClientId",
        ),
        (
            with(
                minimal("aks"),
                json!({"logStore": {"azure": {"account": "a", "container": "c", "auth": "entra"}}}),
            ),
            json!({}),
            "/set/enterprise/logStore/azure",
            "entraSecretKey",
        ),
        (
            with(eks(), json!({"identity": {"awsRoleArn": "role/x"}})),
            json!({}),
            "/set/enterprise/identity/awsRoleArn",
            "IAM role ARN",
        ),
        (
            with(
                eks(),
                json!({"expose": {"ingress": {}, "loadBalancer": {}}}),
            ),
            json!({}),
            "/set/enterprise/expose",
            "exactly one",
        ),
        (
            with(
                gke(),
                json!({"expose": {"ingress": {"sourceRanges": ["10.0.0.0/8"]}}}),
            ),
            json!({}),
            "/set/enterprise/expose/ingress/sourceRanges",
            "Cloud Armor",
        ),
        (
            with(
                eks(),
                json!({"expose": {"loadBalancer": {"sourceRanges": ["10.0.0.0"]}}}),
            ),
            json!({}),
            "/set/enterprise/expose/loadBalancer/sourceRanges/0",
            "CIDR",
        ),
        (
            with(
                eks(),
                json!({"dataService": {"image": "docker.io/portkeyai/data-service:latest"}}),
            ),
            json!({}),
            "/set/enterprise/dataService/image",
            "pinned",
        ),
        (
            eks(),
            json!({"config": {"CACHE_STORE": "redis"}}),
            "/set/enterprise/cache",
            "already set at /config/CACHE_STORE",
        ),
        (
            with(
                gke(),
                json!({"expose": {"ingress": {"certificateArn": "arn:aws:acm:us-east-1:1:certificate/x"}}}),
            ),
            json!({}),
            "/set/enterprise/expose/ingress/certificateArn",
            "not gke",
        ),
        (
            with(
                eks(),
                json!({"expose": {"ingress": {"certificateArn": "arn:aws:iam::1:role/x"}}}),
            ),
            json!({}),
            "/set/enterprise/expose/ingress/certificateArn",
            "not an ACM certificate ARN",
        ),
        (
            with(
                eks(),
                json!({"serverMode": "mcp", "mcp": {"baseUrl": "https://mcp.example.com"},
                       "expose": {"ingress": {}}}),
            ),
            json!({}),
            "/set/enterprise/mcp/baseUrl",
            "no HTTPS listener",
        ),
        (
            with(
                minimal("aks"),
                json!({"cache": {"managed": {"url": "rediss://c.redis.cache.windows.net:6380", "tls": true}}}),
            ),
            json!({}),
            "/set/enterprise/cache/managed",
            "passwordKey (an access key) or identity.azureClientId",
        ),
    ] {
        let err = match enterprise_env(enterprise.clone(), extra) {
            Err(e) => e,
            Ok(_) => panic!("accepted: {enterprise}"),
        };
        let kiln::Error::Input(e) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(
            e.file(),
            std::path::Path::new("overlays/homelab/overlay.yaml"),
            "{err}"
        );
        assert_eq!(e.pointer(), Some(pointer), "{enterprise}: {err}");
        assert!(err.to_string().contains(expected), "{enterprise}: {err}");
    }
}

/// Every documented option, combined: per cloud each cache, log store, server
/// mode and exposure, with the Data Service, private link and registry
/// credentials switched on in turn. Each renders, and kiln check finds nothing.
#[test]
fn every_option_combination_renders_and_passes_kiln_check() {
    let clouds: [(&str, Value, Vec<Value>, Vec<Value>); 3] = [
        (
            "gke",
            json!({"gcpServiceAccount": "gw@p.iam.gserviceaccount.com"}),
            vec![
                json!(null),
                json!({"url": "redis://10.0.0.3:6379"}),
                json!({"url": "redis://10.0.0.3:6378", "tls": true, "caKey": "ca", "cluster": true, "workloadAuth": true}),
            ],
            vec![
                json!(null),
                json!({"gcs": {"bucket": "b", "region": "europe-west1"}}),
                json!({"gcs": {"bucket": "b", "region": "europe-west1", "auth": "hmac", "accessKeyKey": "ak", "secretKeyKey": "sk"}, "pathFormat": "{id}.json"}),
            ],
        ),
        (
            "eks",
            json!({"awsRoleArn": "arn:aws:iam::123456789012:role/gw"}),
            vec![
                json!(null),
                json!({"url": "redis://cache.example.com:6379", "tls": true}),
                json!({"url": "rediss://cache.example.com:6380", "tls": true, "cluster": true, "passwordKey": "redis-auth"}),
            ],
            vec![
                json!(null),
                json!({"s3": {"bucket": "b", "region": "us-east-1"}}),
                json!({"s3": {"bucket": "b", "region": "us-east-1"}, "pathFormat": "{id}.json"}),
            ],
        ),
        (
            "aks",
            json!({"azureClientId": "3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f"}),
            vec![
                json!(null),
                json!({"url": "rediss://c.redis.cache.windows.net:6380", "tls": true, "passwordKey": "k"}),
                json!({"url": "redis://10.1.0.4:6379"}),
            ],
            vec![
                json!(null),
                json!({"azure": {"account": "a", "container": "c"}}),
                json!({"azure": {"account": "a", "container": "c", "auth": "entra", "entraClientId": "app", "entraTenantId": "tenant", "entraSecretKey": "entra-secret"}}),
            ],
        ),
    ];
    let modes = [
        json!({}),
        json!({"serverMode": "mcp", "mcp": {"port": 8790}}),
        json!({"serverMode": "all", "mcp": {"host": "mcp.example.com", "baseUrl": "http://mcp.example.com"}}),
    ];
    let exposures = [
        json!(null),
        json!({"ingress": {"internal": true}}),
        json!({"loadBalancer": {"internal": false, "sourceRanges": ["192.0.2.0/24"]}}),
    ];
    let mut rendered = 0;
    let mut kinds = std::collections::BTreeSet::new();
    for (cloud, identity, caches, logs) in &clouds {
        for (c, cache) in caches.iter().enumerate() {
            for (l, log) in logs.iter().enumerate() {
                for (m, mode) in modes.iter().enumerate() {
                    for (x, expose) in exposures.iter().enumerate() {
                        let turn = c + l + m + x;
                        let mut e = with(
                            minimal(cloud),
                            json!({"identity": identity, "logStore": log, "expose": expose}),
                        );
                        if !cache.is_null() {
                            e = with(e, json!({"cache": {"managed": cache}}));
                        }
                        e = with(e, mode.clone());
                        if turn % 2 == 0 {
                            e = with(
                                e,
                                json!({"dataService": {}, "pullSecret": {"usernameKey": "u", "passwordKey": "p"}}),
                            );
                        }
                        if turn % 3 == 0 {
                            e = with(
                                e,
                                json!({"controlPlane": {"privateLink": "https://cp.example.com"}}),
                            );
                        }
                        let checked = enterprise_env(e.clone(), json!({}))
                            .unwrap_or_else(|err| panic!("{e}: {err}"));
                        assert!(
                            !kiln::rules::has_errors(&checked.findings),
                            "{e}:\n{}",
                            kiln::rules::report::text(
                                &checked.findings,
                                kiln::model::emit::Color::Plain
                            )
                        );
                        kinds.extend(checked.resources.iter().map(|r| r.kind()));
                        rendered += 1;
                    }
                }
            }
        }
    }
    assert_eq!(rendered, 3 * 3 * 3 * 3 * 3);
    for kind in [
        "ServiceAccount",
        "Ingress",
        "HTTPRoute",
        "ExternalSecret",
        "NetworkPolicy",
    ] {
        assert!(kinds.contains(kind), "{kind} never rendered");
    }
}
