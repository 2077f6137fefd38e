//! External access of the enterprise gateway through the cloud's own load
//! balancers (Portkey's GKE, EKS and AKS Helm guides): an Ingress (ALB on EKS, GCE on GKE, NGINX
//! application routing on AKS) or the Service as a LoadBalancer (NLB, GCP L4,
//! Azure LB), each health-checking the gateway's health path. Host-based
//! routing sends `route.hosts` to the AI gateway and `mcp.host` to MCP.

use super::{MCP_PORT_NAME, Names, PORT_NAME};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, NetworkPolicyPeer, ServiceBackendPort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kiln_model::description::Description;
use kiln_model::enterprise::{Cloud, Enterprise, Expose, IngressExpose, LoadBalancerExpose};
use std::collections::BTreeMap;

/// The namespace of AKS's application-routing NGINX controllers.
pub const AKS_INGRESS_NAMESPACE: &str = "app-routing-system";

fn annotations(pairs: &[(&str, String)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// `(host, port)` pairs the gateway serves: the AI gateway on `route.hosts`,
/// MCP on its own host (or on `route.hosts` when it is all there is).
pub(crate) fn host_ports(d: &Description, e: &Enterprise) -> Vec<(String, i32, &'static str)> {
    let mut out = Vec::new();
    if e.server_mode.gateway() {
        out.extend(
            d.hosts()
                .iter()
                .map(|h| (h.clone(), i32::from(d.service_port()), super::PORT_NAME)),
        );
    }
    if e.server_mode.mcp() {
        let hosts = e
            .mcp
            .as_ref()
            .and_then(|m| m.host.clone())
            .map_or_else(|| d.hosts().to_vec(), |h| vec![h]);
        out.extend(
            hosts
                .into_iter()
                .map(|h| (h, i32::from(e.mcp_port()), super::MCP_PORT_NAME)),
        );
    }
    out
}

fn ingress_class(cloud: Cloud, i: &IngressExpose) -> String {
    i.class_name.clone().unwrap_or_else(|| {
        match (cloud, i.internal) {
            (Cloud::Eks, _) => "alb",
            (Cloud::Gke, false) => "gce",
            (Cloud::Gke, true) => "gce-internal",
            (Cloud::Aks | Cloud::Aca, false) => "nginx-static",
            (Cloud::Aks | Cloud::Aca, true) => "nginx-internal",
        }
        .into()
    })
}

/// The ALB's listeners: HTTPS beside HTTP (redirected) when it has a certificate.
fn alb_listen_ports(i: &IngressExpose) -> String {
    if i.certificate_arn.is_some() {
        r#"[{"HTTP": 80}, {"HTTPS": 443}]"#.into()
    } else {
        r#"[{"HTTP": 80}]"#.into()
    }
}

/// The Ingress's annotations: the cloud controller's health check, scheme,
/// listeners and source ranges.
fn ingress_annotations(
    d: &Description,
    e: &Enterprise,
    i: &IngressExpose,
) -> BTreeMap<String, String> {
    let health = d.health_path().to_string();
    let ranges = i.source_ranges.join(",");
    let mut a = match e.cloud {
        Cloud::Eks => annotations(&[
            (
                "alb.ingress.kubernetes.io/scheme",
                if i.internal {
                    "internal"
                } else {
                    "internet-facing"
                }
                .into(),
            ),
            ("alb.ingress.kubernetes.io/target-type", "ip".into()),
            ("alb.ingress.kubernetes.io/healthcheck-path", health),
            (
                "alb.ingress.kubernetes.io/listen-ports",
                alb_listen_ports(i),
            ),
            (
                "alb.ingress.kubernetes.io/manage-backend-security-group-rules",
                "true".into(),
            ),
        ]),
        Cloud::Gke => annotations(&[("ingress.gcp.kubernetes.io/healthcheck-path", health)]),
        Cloud::Aks | Cloud::Aca => annotations(&[(
            "service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path",
            health,
        )]),
    };
    if let Some(arn) = &i.certificate_arn {
        a.insert(
            "alb.ingress.kubernetes.io/certificate-arn".into(),
            arn.clone(),
        );
        a.insert(
            "alb.ingress.kubernetes.io/ssl-redirect".into(),
            "443".into(),
        );
    }
    // GKE's ingress controller acts on the class annotation; an ingressClassName
    // without an IngressClass object of that name creates no load balancer.
    if e.cloud == Cloud::Gke {
        a.insert(
            "kubernetes.io/ingress.class".into(),
            ingress_class(e.cloud, i),
        );
    }
    if !ranges.is_empty() {
        match e.cloud {
            Cloud::Eks => a.insert("alb.ingress.kubernetes.io/inbound-cidrs".into(), ranges),
            Cloud::Aks | Cloud::Aca => a.insert(
                "nginx.ingress.kubernetes.io/whitelist-source-range".into(),
                ranges,
            ),
            // Validation refuses source ranges on GCE Ingress (Cloud Armor's job).
            Cloud::Gke => None,
        };
    }
    a
}

/// The Ingress in front of the gateway.
pub(crate) fn ingress(
    d: &Description,
    e: &Enterprise,
    i: &IngressExpose,
    names: &Names,
) -> Ingress {
    let a = ingress_annotations(d, e, i);
    let mut metadata = names.meta(&names.name);
    metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .extend(a);
    let rules = host_ports(d, e)
        .into_iter()
        .map(|(host, port, _)| IngressRule {
            host: Some(host),
            http: Some(HTTPIngressRuleValue {
                paths: vec![HTTPIngressPath {
                    path: Some("/".into()),
                    path_type: "Prefix".into(),
                    backend: IngressBackend {
                        service: Some(IngressServiceBackend {
                            name: names.name.clone(),
                            port: Some(ServiceBackendPort {
                                number: Some(port),
                                ..Default::default()
                            }),
                        }),
                        ..Default::default()
                    },
                }],
            }),
        })
        .collect();
    Ingress {
        metadata,
        spec: Some(IngressSpec {
            ingress_class_name: (e.cloud != Cloud::Gke).then(|| ingress_class(e.cloud, i)),
            rules: Some(rules),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Annotations of the Service as a cloud LoadBalancer.
pub(crate) fn load_balancer_annotations(
    d: &Description,
    e: &Enterprise,
    lb: &LoadBalancerExpose,
) -> BTreeMap<String, String> {
    let internal = lb.internal.to_string();
    match e.cloud {
        Cloud::Eks => annotations(&[
            (
                "service.beta.kubernetes.io/aws-load-balancer-type",
                "nlb".into(),
            ),
            (
                "service.beta.kubernetes.io/aws-load-balancer-internal",
                internal,
            ),
            (
                "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type",
                "ip".into(),
            ),
            (
                "service.beta.kubernetes.io/aws-load-balancer-healthcheck-path",
                d.health_path().to_string(),
            ),
            (
                "service.beta.kubernetes.io/aws-load-balancer-healthcheck-protocol",
                "http".into(),
            ),
            (
                "service.beta.kubernetes.io/aws-load-balancer-healthcheck-port",
                health_port(d).1.to_string(),
            ),
            (
                "service.beta.kubernetes.io/aws-load-balancer-manage-backend-security-group-rules",
                "true".into(),
            ),
        ]),
        Cloud::Gke if lb.internal => {
            annotations(&[("networking.gke.io/load-balancer-type", "Internal".into())])
        }
        Cloud::Gke => annotations(&[("cloud.google.com/l4-rbs", "enabled".into())]),
        Cloud::Aks | Cloud::Aca => annotations(&[
            (
                "service.beta.kubernetes.io/azure-load-balancer-internal",
                internal,
            ),
            (
                "service.beta.kubernetes.io/azure-load-balancer-health-probe-protocol",
                "http".into(),
            ),
            (
                "service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path",
                d.health_path().to_string(),
            ),
        ]),
    }
}

/// Who may reach the gateway's ports besides `networkPolicy.ingressFromNamespaces`:
/// AKS's in-cluster NGINX controllers by namespace; a cloud load balancer
/// outside the cluster from any address (its own source ranges do the limiting).
pub(crate) fn network_peers(e: &Enterprise, x: &Expose) -> Vec<NetworkPolicyPeer> {
    if x.ingress.is_some() && matches!(e.cloud, Cloud::Aks | Cloud::Aca) {
        return vec![NetworkPolicyPeer {
            namespace_selector: Some(LabelSelector {
                match_labels: Some(BTreeMap::from([(
                    "kubernetes.io/metadata.name".to_string(),
                    AKS_INGRESS_NAMESPACE.to_string(),
                )])),
                ..Default::default()
            }),
            ..Default::default()
        }];
    }
    vec![NetworkPolicyPeer {
        ip_block: Some(k8s_openapi::api::networking::v1::IPBlock {
            cidr: "0.0.0.0/0".into(),
            ..Default::default()
        }),
        ..Default::default()
    }]
}

/// The named port that answers health checks: MCP's when it is all that is
/// served (the AI gateway's port is closed then), else the gateway's.
pub(crate) fn health_port(d: &Description) -> (&'static str, u16) {
    match &d.enterprise {
        Some(e) if !e.server_mode.gateway() => (MCP_PORT_NAME, e.mcp_port()),
        _ => (PORT_NAME, d.port),
    }
}
