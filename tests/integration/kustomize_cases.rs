//! The hand-written cases of the kustomize differential: every overlay
//! operation kiln shares with kustomize (RFC 6902, strategic and merge patches,
//! images, replicas, names, labels, annotations, namespace) on the gateway's
//! rendered kinds.

use serde_json::{Value, json};

/// One overlay, as kiln and as kustomize spell it.
#[derive(Default)]
pub(crate) struct Case {
    pub name: &'static str,
    pub kiln: Value,
    pub kustomize: Value,
    /// A level between the environment and the case, spelled the same by
    /// both tools (kiln: an overlay `case-parent` that the case extends;
    /// kustomize: a kustomization the case's takes as its resource). Null: none.
    pub parent: Value,
}

fn api_version(kind: &str) -> &'static str {
    match kind {
        "Deployment" => "apps/v1",
        "HTTPRoute" => "gateway.networking.k8s.io/v1",
        "ServiceMonitor" => "monitoring.coreos.com/v1",
        "NetworkPolicy" => "networking.k8s.io/v1",
        "ExternalSecret" => "external-secrets.io/v1",
        _ => "v1",
    }
}

/// An RFC 6902 patch of the resource `kind`/`name`.
fn json6902(name: &'static str, kind: &str, resource: &str, ops: Value) -> Case {
    let target = json!({"kind": kind, "name": resource});
    Case {
        name,
        kiln: json!({"patches": [{"target": target, "json": ops}]}),
        kustomize: json!({"patches": [{"target": target, "patch": kiln::model::emit::yaml(&ops)}]}),
        ..Default::default()
    }
}

/// A strategic-merge patch (`merge` selects kiln's RFC 7386 form instead, for
/// cases where the two mean the same, as kustomize has no plain merge patch).
fn smp(name: &'static str, kind: &str, resource: &str, body: Value, as_merge: bool) -> Case {
    let target = json!({"kind": kind, "name": resource});
    let mut patch = body.clone();
    patch["apiVersion"] = json!(api_version(kind));
    patch["kind"] = json!(kind);
    patch["metadata"]["name"] = json!(resource);
    let form = if as_merge { "merge" } else { "strategic" };
    Case {
        name,
        kiln: json!({"patches": [{"target": target, form: body}]}),
        kustomize: json!({"patches": [{"target": target, "patch": kiln::model::emit::yaml(&patch)}]}),
        ..Default::default()
    }
}

/// `case` over the environment `env` (kiln's side extends it; kustomize's
/// base is its render).
fn over(env: &str, mut case: Case) -> Case {
    case.kiln["extends"] = json!(env);
    case
}

/// A kustomization field that kiln spells the same way.
fn same(name: &'static str, fields: Value) -> Case {
    Case {
        name,
        kiln: fields.clone(),
        kustomize: fields,
        ..Default::default()
    }
}

const D: &str = "Deployment";
const GW: &str = "portkey-gateway";

pub(crate) fn cases() -> Vec<Case> {
    let replicas = json!({"spec": {"replicas": 4}});
    let named_body = json!({"apiVersion": "apps/v1", "kind": D, "metadata": {"name": GW, "namespace": "portkey"}, "spec": {"replicas": 4}});
    vec![
        // A body that names another resource while a target is given: the
        // target decides, the body's name is ignored (no rename).
        Case {
            name: "smp body name with a target",
            kiln: json!({"patches": [{"target": {"kind": D, "name": GW}, "strategic": {"metadata": {"name": "other"}, "spec": {"replicas": 4}}}]}),
            kustomize: json!({"patches": [{"target": {"kind": D, "name": GW}, "patch": kiln::model::emit::yaml(&json!({"apiVersion": "apps/v1", "kind": D, "metadata": {"name": "other"}, "spec": {"replicas": 4}}))}]}),
            ..Default::default()
        },
        // No target: the body's kind and name select the resource.
        Case {
            name: "smp without a target",
            kiln: json!({"patches": [{"strategic": named_body}]}),
            kustomize: json!({"patches": [{"patch": kiln::model::emit::yaml(&named_body)}]}),
            ..Default::default()
        },
        // After a parent's namePrefix, a child's patches name resources and
        // write references by the names as built; the references follow the
        // rename at the end.
        Case {
            name: "child patch by original names after a parent's prefix",
            kiln: json!({"extends": "case-parent", "patches": [
                {"target": {"kind": "HTTPRoute", "name": GW}, "json": [{"op": "test", "path": "/spec/rules/0/backendRefs/0/name", "value": GW}]},
                {"target": {"kind": "HTTPRoute", "name": GW}, "strategic": {"spec": {"rules": [{"backendRefs": [{"name": GW, "port": 8787}]}]}}},
            ]}),
            kustomize: json!({"patches": [
                {"target": {"kind": "HTTPRoute", "name": GW}, "patch": kiln::model::emit::yaml(&json!([{"op": "test", "path": "/spec/rules/0/backendRefs/0/name", "value": GW}]))},
                {"target": {"kind": "HTTPRoute", "name": GW}, "patch": kiln::model::emit::yaml(&json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": GW}, "spec": {"rules": [{"backendRefs": [{"name": GW, "port": 8787}]}]}}))},
            ]}),
            parent: json!({"namePrefix": "team-"}),
        },
        // A reference to a resource a child deletes keeps the name as built.
        Case {
            name: "child deletes a referenced resource after a parent's prefix",
            kiln: json!({"extends": "case-parent", "patches": [{"target": {"kind": "Service", "name": GW}, "strategic": {"$patch": "delete"}}]}),
            kustomize: json!({"patches": [{"target": {"kind": "Service", "name": GW}, "patch": kiln::model::emit::yaml(&json!({"$patch": "delete", "apiVersion": "v1", "kind": "Service", "metadata": {"name": GW}}))}]}),
            parent: json!({"namePrefix": "team-"}),
        },
        // `$patch: delete` at the top of a strategic patch deletes the resource.
        Case {
            name: "smp delete the resource",
            kiln: json!({"patches": [{"target": {"kind": "NetworkPolicy"}, "strategic": {"$patch": "delete"}}]}),
            kustomize: json!({"patches": [{"target": {"kind": "NetworkPolicy"}, "patch": kiln::model::emit::yaml(&json!({"$patch": "delete", "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": GW}}))}]}),
            ..Default::default()
        },
        // The same label key in two entries, one with selectors: the last value everywhere.
        same(
            "labels key in two entries",
            json!({"labels": [
                {"pairs": {"team": "a", "other": "o"}, "includeSelectors": true},
                {"pairs": {"team": "b", "x": "z"}, "includeSelectors": false}
            ]}),
        ),
        // Set-based label selectors and annotation selectors.
        Case {
            name: "target by set-based label selector",
            kiln: json!({"patches": [{"target": {"labelSelector": "app.kubernetes.io/component in (gateway,x),app.kubernetes.io/name notin (other)"}, "json": [{"op": "add", "path": "/metadata/labels/selected", "value": "yes"}]}]}),
            kustomize: json!({"patches": [{"target": {"labelSelector": "app.kubernetes.io/component in (gateway,x),app.kubernetes.io/name notin (other)"}, "patch": kiln::model::emit::yaml(&json!([{"op": "add", "path": "/metadata/labels/selected", "value": "yes"}]))}]}),
            ..Default::default()
        },
        Case {
            name: "target by annotation selector",
            kiln: json!({"patches": [{"target": {"kind": D, "annotationSelector": "checkov.io/skip1"}, "json": [{"op": "replace", "path": "/spec/replicas", "value": 3}]}]}),
            kustomize: json!({"patches": [{"target": {"kind": D, "annotationSelector": "checkov.io/skip1"}, "patch": kiln::model::emit::yaml(&json!([{"op": "replace", "path": "/spec/replicas", "value": 3}]))}]}),
            ..Default::default()
        },
        // An images entry named with the tag the image has.
        same(
            "images name with its tag",
            json!({"images": [{"name": "portkeyai/gateway:1.12.1", "newTag": "1.13.0"}]}),
        ),
        smp("smp replicas", D, GW, replicas, false),
        // RFC 6902, every operation.
        json6902(
            "6902 add scalar",
            D,
            GW,
            json!([{"op": "add", "path": "/spec/minReadySeconds", "value": 10}]),
        ),
        json6902(
            "6902 add map entry",
            D,
            GW,
            json!([{"op": "add", "path": "/metadata/labels/tier", "value": "web"}]),
        ),
        json6902(
            "6902 add at index",
            D,
            GW,
            json!([{"op": "add", "path": "/spec/template/spec/containers/0/env/0", "value": {"name": "A_FIRST", "value": "1"}}]),
        ),
        json6902(
            "6902 add append -",
            D,
            GW,
            json!([{"op": "add", "path": "/spec/template/spec/containers/0/env/-", "value": {"name": "Z_LAST", "value": "on"}}]),
        ),
        json6902(
            "6902 remove field",
            D,
            GW,
            json!([{"op": "remove", "path": "/spec/revisionHistoryLimit"}]),
        ),
        json6902(
            "6902 remove list item",
            D,
            GW,
            json!([{"op": "remove", "path": "/spec/template/spec/containers/0/env/0"}]),
        ),
        json6902(
            "6902 replace scalar",
            D,
            GW,
            json!([{"op": "replace", "path": "/spec/replicas", "value": 4}]),
        ),
        json6902(
            "6902 replace object",
            D,
            GW,
            json!([{"op": "replace", "path": "/spec/template/spec/containers/0/resources/limits", "value": {"cpu": "1", "memory": "1Gi"}}]),
        ),
        json6902(
            "6902 move with ~1",
            D,
            GW,
            json!([{"op": "move", "from": "/metadata/labels/app.kubernetes.io~1part-of", "path": "/metadata/labels/part-of"}]),
        ),
        json6902(
            "6902 copy",
            D,
            GW,
            json!([{"op": "copy", "from": "/metadata/labels/app.kubernetes.io~1name", "path": "/metadata/labels/copied"}]),
        ),
        json6902(
            "6902 test then replace",
            D,
            GW,
            json!([{"op": "test", "path": "/spec/replicas", "value": 1}, {"op": "replace", "path": "/spec/replicas", "value": 2}]),
        ),
        json6902(
            "6902 failing test",
            D,
            GW,
            json!([{"op": "test", "path": "/spec/replicas", "value": 7}, {"op": "replace", "path": "/spec/replicas", "value": 2}]),
        ),
        json6902(
            "6902 ~0 escape",
            D,
            GW,
            json!([{"op": "add", "path": "/spec/template/metadata/annotations/x~0y", "value": "1"}]),
        ),
        json6902(
            "6902 missing path",
            D,
            GW,
            json!([{"op": "remove", "path": "/spec/nothing/here"}]),
        ),
        json6902(
            "6902 on a custom resource",
            "HTTPRoute",
            GW,
            json!([{"op": "replace", "path": "/spec/hostnames/0", "value": "other.example.com"}]),
        ),
        json6902(
            "6902 on a Service",
            "Service",
            GW,
            json!([{"op": "replace", "path": "/spec/type", "value": "NodePort"}]),
        ),
        Case {
            name: "6902 by label selector",
            kiln: json!({"patches": [{"target": {"labelSelector": "app.kubernetes.io/component=gateway"}, "json": [{"op": "add", "path": "/metadata/labels/patched", "value": "yes"}]}]}),
            kustomize: json!({"patches": [{"target": {"labelSelector": "app.kubernetes.io/component=gateway"}, "patch": "- {op: add, path: /metadata/labels/patched, value: \"yes\"}\n"}]}),
            ..Default::default()
        },
        // RFC 7386 merge patches, where kustomize's patch means the same.
        smp(
            "merge null deletes",
            D,
            GW,
            json!({"spec": {"revisionHistoryLimit": null}}),
            true,
        ),
        smp(
            "merge nested objects",
            D,
            GW,
            json!({"spec": {"template": {"metadata": {"annotations": {"team": "ai", "tier": "1"}}}}}),
            true,
        ),
        // (Not a label: kustomize v5.5 turns `null` in a string map into the string "null",
        // where RFC 7386 and strategic merge delete the key, as kiln does.)
        smp(
            "merge deletes a nested field",
            D,
            GW,
            json!({"spec": {"template": {"spec": {"securityContext": {"fsGroup": null}}}}}),
            true,
        ),
        smp(
            "merge replaces a CR list",
            "HTTPRoute",
            GW,
            json!({"spec": {"hostnames": ["a.example.com", "b.example.com"]}}),
            true,
        ),
        // Over gke: only an image that serves metrics has a ServiceMonitor.
        over(
            "gke",
            smp(
                "merge on ServiceMonitor",
                "ServiceMonitor",
                GW,
                json!({"spec": {"endpoints": [{"port": "http", "path": "/stats", "interval": "15s", "scheme": "http"}]}}),
                true,
            ),
        ),
        smp(
            "merge on NetworkPolicy",
            "NetworkPolicy",
            GW,
            json!({"spec": {"policyTypes": ["Ingress"], "egress": null}}),
            true,
        ),
        // Strategic merge by each merge key, with directives.
        smp(
            "smp container by name",
            D,
            GW,
            json!({"spec": {"template": {"spec": {"containers": [{"name": "gateway", "image": "portkeyai/gateway:1.13.0"}]}}}}),
            false,
        ),
        smp(
            "smp new container",
            D,
            GW,
            json!({"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "busybox:1.37"}]}}}}),
            false,
        ),
        smp(
            "smp initContainers",
            D,
            GW,
            json!({"spec": {"template": {"spec": {"initContainers": [{"name": "init", "image": "busybox:1.37", "command": ["true"]}]}}}}),
            false,
        ),
        smp(
            "smp env by name",
            D,
            GW,
            json!({"spec": {"template": {"spec": {"containers": [{"name": "gateway", "env": [{"name": "TMPDIR", "value": "/var/tmp"}]}]}}}}),
            false,
        ),
        smp(
            "smp env new item",
            D,
            GW,
            json!({"spec": {"template": {"spec": {"containers": [{"name": "gateway", "env": [{"name": "NEW_VAR", "value": "12:30"}]}]}}}}),
            false,
        ),
        smp(
            "smp env $patch delete",
            D,
            GW,
            json!({"spec": {"template": {"spec": {"containers": [{"name": "gateway", "env": [{"name": "TMPDIR", "$patch": "delete"}]}]}}}}),
            false,
        ),
        smp(
            "smp env $patch replace",
            D,
            GW,
            json!({"spec": {"template": {"spec": {"containers": [{"name": "gateway", "env": [{"$patch": "replace"}, {"name": "ONLY", "value": "1"}]}]}}}}),
            false,
        ),
        smp(
            "smp volumes by name",
            D,
            GW,
            json!({"spec": {"template": {"spec": {"volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}]}}}}),
            false,
        ),
        smp(
            "smp volumeMounts by mountPath",
            D,
            GW,
            json!({"spec": {"template": {"spec": {"containers": [{"name": "gateway", "volumeMounts": [{"mountPath": "/var/log", "name": "var-log", "readOnly": true}]}]}}}}),
            false,
        ),
        smp(
            "smp container ports by containerPort",
            D,
            GW,
            json!({"spec": {"template": {"spec": {"containers": [{"name": "gateway", "ports": [{"containerPort": 9090, "name": "metrics"}]}]}}}}),
            false,
        ),
        smp(
            "smp Service ports by port",
            "Service",
            GW,
            json!({"spec": {"ports": [{"port": 8787, "protocol": "TCP", "targetPort": 8080}, {"port": 9090, "protocol": "TCP", "name": "metrics"}]}}),
            false,
        ),
        smp(
            "smp imagePullSecrets",
            D,
            GW,
            json!({"spec": {"template": {"spec": {"imagePullSecrets": [{"name": "regcred"}]}}}}),
            false,
        ),
        smp(
            "smp $patch replace map",
            D,
            GW,
            json!({"spec": {"template": {"spec": {"containers": [{"name": "gateway", "resources": {"$patch": "replace", "limits": {"cpu": "2"}}}]}}}}),
            false,
        ),
        smp(
            "smp $patch delete map",
            D,
            GW,
            json!({"spec": {"template": {"spec": {"containers": [{"name": "gateway", "startupProbe": {"$patch": "delete"}}]}}}}),
            false,
        ),
        smp(
            "smp null deletes",
            D,
            GW,
            json!({"spec": {"template": {"spec": {"enableServiceLinks": null}}}}),
            false,
        ),
        // kustomize's conveniences.
        same(
            "images newTag",
            json!({"images": [{"name": "portkeyai/gateway", "newTag": "1.13.0"}]}),
        ),
        same(
            "images digest",
            json!({"images": [{"name": "portkeyai/gateway", "digest": "sha256:4b825dc642cb6eb9a060e54bf8d69288fbee4904f0ea1b2f3c1e8c52f9a5d1e0"}]}),
        ),
        same(
            "images newName",
            json!({"images": [{"name": "portkeyai/gateway", "newName": "registry.example.com/mirror/gateway"}]}),
        ),
        same(
            "replicas",
            json!({"replicas": [{"name": "portkey-gateway", "count": 5}]}),
        ),
        same("namePrefix", json!({"namePrefix": "eu-"})),
        same("nameSuffix", json!({"nameSuffix": "-blue"})),
        same(
            "namePrefix and nameSuffix",
            json!({"namePrefix": "eu-", "nameSuffix": "-blue"}),
        ),
        same(
            "labels without selectors",
            json!({"labels": [{"pairs": {"team": "ai", "cost-center": "0777"}}]}),
        ),
        same(
            "labels with selectors",
            json!({"labels": [{"pairs": {"tier": "web"}, "includeSelectors": true}]}),
        ),
        same(
            "labels in templates",
            json!({"labels": [{"pairs": {"tier": "web"}, "includeTemplates": true}]}),
        ),
        same(
            "commonAnnotations",
            json!({"commonAnnotations": {"owner": "platform", "on-call": "yes"}}),
        ),
        same("namespace", json!({"namespace": "ai-gateway"})),
        same(
            "namespace with prefix",
            json!({"namespace": "ai-gateway", "namePrefix": "eu-"}),
        ),
        same(
            "patch then labels",
            json!({
                "labels": [{"pairs": {"tier": "web"}, "includeSelectors": true}],
                "replicas": [{"name": "portkey-gateway", "count": 2}],
                "commonAnnotations": {"owner": "platform"},
            }),
        ),
    ]
}
