//! How traffic reaches the gateway and where it may go: HTTPRoutes (or the
//! cloud's Ingress) and the NetworkPolicy.

use super::Names;
use super::expose;
use super::gateway::named_ports;
use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kiln_k8s::Resource;
use kiln_k8s::crds::*;
use kiln_model::description::Description;
use std::collections::BTreeMap;

/// Response headers set on every response unless the description overrides them.
pub const DEFAULT_RESPONSE_HEADERS: [(&str, &str); 6] = [
    (
        "Content-Security-Policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
    (
        "Permissions-Policy",
        "camera=(), geolocation=(), microphone=(), payment=()",
    ),
    ("Referrer-Policy", "no-referrer"),
    (
        "Strict-Transport-Security",
        "max-age=31536000; includeSubDomains",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
];

/// How traffic reaches the gateway: HTTPRoutes on the shared Gateway, or
/// with enterprise `expose` the cloud's Ingress (a LoadBalancer Service needs
/// neither). With MCP on its own host, it gets a route of its own.
pub(crate) fn routes(d: &Description, names: &Names) -> Vec<Resource> {
    if let Some((e, x)) = d
        .enterprise
        .as_ref()
        .and_then(|e| Some((e, e.expose.as_ref()?)))
    {
        return x
            .ingress
            .iter()
            .map(|i| Resource::Ingress(expose::ingress(d, e, i, names)))
            .collect();
    }
    // No route: clients reach the Service in the cluster (or through an
    // Ingress kept beside kiln's output).
    let Some(route) = &d.route else {
        return Vec::new();
    };
    let Some(e) = &d.enterprise else {
        return vec![Resource::HttpRoute(gateway_route(d, route, names))];
    };
    let mut by_port: Vec<(i32, Vec<String>)> = Vec::new();
    for (host, port, _) in expose::host_ports(d, e) {
        match by_port.iter_mut().find(|(p, _)| *p == port) {
            Some((_, hosts)) => hosts.push(host),
            None => by_port.push((port, vec![host])),
        }
    }
    by_port
        .into_iter()
        .enumerate()
        .map(|(i, (port, hosts))| {
            let name = if i == 0 {
                names.name.clone()
            } else {
                format!("{}-mcp", names.name)
            };
            Resource::HttpRoute(http_route(route, names, &name, hosts, port))
        })
        .collect()
}

/// The open-source gateway's one HTTPRoute: every host to the Service's port.
pub(crate) fn gateway_route(
    d: &Description,
    route: &kiln_model::description::Route,
    names: &Names,
) -> HttpRoute {
    http_route(
        route,
        names,
        &names.name,
        route.hosts.clone(),
        d.service_port().into(),
    )
}

fn http_route(
    route: &kiln_model::description::Route,
    names: &Names,
    name: &str,
    hosts: Vec<String>,
    port: i32,
) -> HttpRoute {
    let mut headers: Vec<Header> = DEFAULT_RESPONSE_HEADERS
        .iter()
        .filter(|(name, _)| {
            !route
                .response_headers
                .keys()
                .any(|k| k.eq_ignore_ascii_case(name))
        })
        .map(|(name, value)| header(name, value))
        .chain(
            route
                .response_headers
                .iter()
                .map(|(name, value)| header(name, value)),
        )
        .collect();
    headers.sort_by_key(|h| h.name.to_ascii_lowercase());
    let gateway = &route.gateway;
    HttpRoute {
        metadata: names.meta(name),
        spec: HttpRouteSpec {
            parent_refs: Some(vec![ParentRef {
                name: gateway.name.clone(),
                namespace: Some(gateway.namespace.clone()),
                section_name: gateway.section_name.clone(),
                ..Default::default()
            }]),
            hostnames: (!hosts.is_empty()).then_some(hosts),
            rules: Some(vec![HttpRouteRule {
                matches: Some(vec![HttpRouteMatch {
                    path: Some(PathMatch {
                        type_: Some("PathPrefix".into()),
                        value: Some("/".into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                }]),
                filters: Some(vec![HttpRouteFilter {
                    type_: "ResponseHeaderModifier".into(),
                    response_header_modifier: Some(HeaderModifier {
                        set: Some(headers),
                        ..Default::default()
                    }),
                    ..Default::default()
                }]),
                backend_refs: Some(vec![BackendRef {
                    name: names.name.clone(),
                    port: Some(port),
                    ..Default::default()
                }]),
                ..Default::default()
            }]),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn header(name: &str, value: &str) -> Header {
    Header {
        name: name.to_string(),
        value: value.to_string(),
        ..Default::default()
    }
}

pub(crate) fn tcp_or_udp(port: i32, protocol: &str) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(port)),
        protocol: Some(protocol.into()),
        ..Default::default()
    }
}

/// Where the gateway (and the Data Service, which shares its needs) may
/// connect: DNS, the TCP ports of LLM providers and the control plane
/// (`networkPolicy.egressTcpPorts`), and the cache.
pub(crate) fn egress_rules(d: &Description, names: &Names) -> Vec<NetworkPolicyEgressRule> {
    let mut egress = vec![NetworkPolicyEgressRule {
        ports: Some(vec![tcp_or_udp(53, "UDP"), tcp_or_udp(53, "TCP")]),
        ..Default::default()
    }];
    if !d.network_policy.egress_tcp_ports.is_empty() {
        egress.push(NetworkPolicyEgressRule {
            ports: Some(
                d.network_policy
                    .egress_tcp_ports
                    .iter()
                    .map(|p| tcp_or_udp((*p).into(), "TCP"))
                    .collect(),
            ),
            ..Default::default()
        });
    }
    if let Some(e) = &d.enterprise {
        match &e.cache.managed {
            // The built-in Redis, in this namespace.
            None => egress.push(to_component(
                names,
                "redis",
                kiln_model::enterprise::REDIS_PORT,
            )),
            // A managed cache outside the cluster: its ports, anywhere (the cloud's firewall scopes it).
            Some(m) => egress.push(NetworkPolicyEgressRule {
                ports: Some(cache_ports(e.cloud, m)),
                ..Default::default()
            }),
        }
        egress.extend(metadata_rules(e));
    }
    egress
}

/// The managed cache's ports: the URL's, and in cluster mode the ports its
/// data nodes answer on — Memorystore's 11000–13047 (Google's firewall
/// guidance) and Azure's 13000–13999 (15000–15999 over TLS) per shard.
/// ElastiCache serves every node on the configuration endpoint's port.
fn cache_ports(
    cloud: kiln_model::enterprise::Cloud,
    m: &kiln_model::enterprise::ManagedCache,
) -> Vec<NetworkPolicyPort> {
    use kiln_model::enterprise::{Cloud, REDIS_PORT, redis_port};
    let mut ports = vec![tcp_or_udp(
        redis_port(&m.url).unwrap_or(REDIS_PORT).into(),
        "TCP",
    )];
    let range = match (m.cluster, cloud) {
        (false, _) | (true, Cloud::Eks) => None,
        (true, Cloud::Gke) => Some((11000, 13047)),
        (true, Cloud::Aks | Cloud::Aca) if m.tls => Some((15000, 15999)),
        (true, Cloud::Aks | Cloud::Aca) => Some((13000, 13999)),
    };
    if let Some((from, to)) = range {
        ports.push(NetworkPolicyPort {
            end_port: Some(to),
            ..tcp_or_udp(from, "TCP")
        });
    }
    ports
}

/// The node-local endpoints that hand out cloud credentials, where the
/// identity in use needs them: GKE's metadata server for Workload Identity on
/// every path GKE's Workload Identity docs name for NetworkPolicy
/// (169.254.169.254:80 on Dataplane V2; 169.254.169.252:988 from
/// 1.21.0-gke.1000 on without it; 127.0.0.1:988 before), EKS Pod Identity's
/// agent, and Azure's IMDS for managed-identity log writes.
fn metadata_rules(e: &kiln_model::enterprise::Enterprise) -> Vec<NetworkPolicyEgressRule> {
    let mut to: Vec<(&str, i32)> = Vec::new();
    if e.identity.gcp_service_account.is_some() {
        to.extend([
            ("169.254.169.254/32", 80),
            ("169.254.169.252/32", 988),
            ("127.0.0.1/32", 988),
        ]);
    }
    if e.identity.aws_pod_identity {
        to.push(("169.254.170.23/32", 80));
    }
    if e.managed_blob_logs() {
        to.push(("169.254.169.254/32", 80));
    }
    to.into_iter()
        .map(|(cidr, port)| NetworkPolicyEgressRule {
            to: Some(vec![NetworkPolicyPeer {
                ip_block: Some(k8s_openapi::api::networking::v1::IPBlock {
                    cidr: cidr.into(),
                    ..Default::default()
                }),
                ..Default::default()
            }]),
            ports: Some(vec![tcp_or_udp(port, "TCP")]),
        })
        .collect()
}

/// The pods of this namespace that `labels` select, as a policy peer.
pub(crate) fn pod_peer(labels: BTreeMap<String, String>) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        pod_selector: Some(LabelSelector {
            match_labels: Some(labels),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Egress to the pods `selector` picks, on `port`.
pub(crate) fn to_pods(selector: BTreeMap<String, String>, port: u16) -> NetworkPolicyEgressRule {
    NetworkPolicyEgressRule {
        to: Some(vec![pod_peer(selector)]),
        ports: Some(vec![tcp_or_udp(port.into(), "TCP")]),
    }
}

/// Egress to a companion's pods on `port`.
pub(crate) fn to_component(names: &Names, suffix: &str, port: u16) -> NetworkPolicyEgressRule {
    to_pods(names.companion_selector(suffix), port)
}

/// Every pod of the namespace `ns` (by the name label the API server sets).
fn namespace_peer(ns: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(LabelSelector {
            match_labels: Some(BTreeMap::from([(
                "kubernetes.io/metadata.name".to_string(),
                ns.to_string(),
            )])),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub(crate) fn network_policy(d: &Description, names: &Names) -> NetworkPolicy {
    let from = d
        .network_policy
        .ingress_from_namespaces
        .iter()
        .map(|ns| namespace_peer(ns))
        .collect();
    let mut egress = egress_rules(d, names);
    if d.enterprise
        .as_ref()
        .is_some_and(|e| e.data_service.is_some())
    {
        egress.push(to_component(
            names,
            "dataservice",
            kiln_model::enterprise::DATA_SERVICE_PORT,
        ));
    }
    let app_ports: Vec<NetworkPolicyPort> = named_ports(d)
        .into_iter()
        .map(|(_, p)| tcp_or_udp(p, "TCP"))
        .collect();
    let mut ingress_rules = vec![NetworkPolicyIngressRule {
        from: Some(from),
        ports: Some(app_ports.clone()),
    }];
    if d.serves_metrics() {
        // Prometheus scrapes the metrics on the gateway's port, from its namespace only.
        ingress_rules.push(NetworkPolicyIngressRule {
            from: Some(vec![namespace_peer(&d.monitoring.namespace)]),
            ports: Some(vec![tcp_or_udp(d.port.into(), "TCP")]),
        });
    }
    if d.enterprise
        .as_ref()
        .is_some_and(|e| e.data_service.is_some())
    {
        // The Data Service calls the gateway (GATEWAY_BASE_URL).
        ingress_rules.push(NetworkPolicyIngressRule {
            from: Some(vec![pod_peer(names.companion_selector("dataservice"))]),
            ports: Some(vec![tcp_or_udp(d.port.into(), "TCP")]),
        });
    }
    if let Some((e, x)) = d
        .enterprise
        .as_ref()
        .and_then(|e| e.expose.as_ref().map(|x| (e, x)))
    {
        ingress_rules.push(NetworkPolicyIngressRule {
            from: Some(expose::network_peers(e, x)),
            ports: Some(app_ports),
        });
    }
    NetworkPolicy {
        metadata: names.meta(&names.name),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(names.pods.clone()),
                ..Default::default()
            }),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: Some(ingress_rules),
            egress: Some(egress),
        }),
    }
}
