//! `enterprise.aca`: the settings of an Azure Container Apps environment
//! (Portkey's Terraform module), which renders the variables of Portkey's ACA Terraform module
//! instead of Kubernetes manifests (the pipeline's `kiln_model::aca`).

use crate::values::{Problem, is_cidr};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `enterprise.aca`: what only Azure Container Apps needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Aca {
    /// `project_name` [default: the description's name].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// `environment` [default: the environment's name].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// `azure_region`.
    pub region: String,
    /// `resource_group_name`.
    pub resource_group: String,
    /// `create_resource_group`.
    #[serde(default)]
    pub create_resource_group: bool,
    /// The Key Vault holding every secret (store keys are its secret names).
    pub key_vault: KeyVault,
    /// `registry_type`: `dockerhub` (credentials from `enterprise.pullSecret`) or `acr`.
    #[serde(default = "defaults::registry")]
    pub registry: String,
    /// `acr_id` (registry `acr`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr_id: Option<String>,
    /// Networking.
    #[serde(default)]
    pub network: Network,
    /// How clients reach the apps.
    #[serde(default)]
    pub ingress: AcaIngress,
    /// Replicas and scaling rules of the gateway (and MCP) apps.
    #[serde(default)]
    pub scaling: Scaling,
    /// `tags` on every resource.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// A Key Vault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KeyVault {
    /// Its name.
    pub name: String,
    /// Its resource group.
    pub resource_group: String,
}

/// `network_mode` and its subnets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Network {
    /// `none`, `new` or `existing`.
    #[serde(default = "defaults::network_mode")]
    pub mode: String,
    /// `vnet_cidr` (mode `new`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vnet_cidr: Option<String>,
    /// `vnet_id` (mode `existing`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vnet_id: Option<String>,
    /// `aca_subnet_id` (mode `existing`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aca_subnet_id: Option<String>,
    /// `app_gateway_subnet_id` (mode `existing` with an Application Gateway).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_gateway_subnet_id: Option<String>,
    /// `private_endpoint_subnet_id` (mode `existing`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_endpoint_subnet_id: Option<String>,
}

impl Default for Network {
    fn default() -> Network {
        Network {
            mode: defaults::network_mode(),
            vnet_cidr: None,
            vnet_id: None,
            aca_subnet_id: None,
            app_gateway_subnet_id: None,
            private_endpoint_subnet_id: None,
        }
    }
}

/// `ingress_type`, `public_ingress` and the Application Gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AcaIngress {
    /// `aca` (built-in) or `application_gateway`.
    #[serde(default = "defaults::ingress_type")]
    pub r#type: String,
    /// Reachable from the internet.
    #[serde(default = "defaults::yes")]
    pub public: bool,
    /// Application Gateway with the WAF on (type `application_gateway`).
    #[serde(default)]
    pub waf: bool,
    /// Key Vault secret ID of the TLS certificate (type `application_gateway`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl_cert_secret_id: Option<String>,
}

impl Default for AcaIngress {
    fn default() -> AcaIngress {
        AcaIngress {
            r#type: defaults::ingress_type(),
            public: true,
            waf: false,
            ssl_cert_secret_id: None,
        }
    }
}

/// Scaling rules of a Container App.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Scaling {
    /// Fewest replicas.
    #[serde(default = "defaults::min_replicas")]
    pub min_replicas: u32,
    /// Most replicas.
    #[serde(default = "defaults::max_replicas")]
    pub max_replicas: u32,
    /// Scale out above this CPU percentage.
    #[serde(default = "defaults::cpu_threshold")]
    pub cpu_threshold: u32,
    /// Scale out above this many concurrent requests per replica.
    #[serde(default = "defaults::concurrent_requests")]
    pub concurrent_requests: u32,
}

impl Default for Scaling {
    fn default() -> Scaling {
        Scaling {
            min_replicas: defaults::min_replicas(),
            max_replicas: defaults::max_replicas(),
            cpu_threshold: defaults::cpu_threshold(),
            concurrent_requests: defaults::concurrent_requests(),
        }
    }
}

mod defaults {
    pub fn registry() -> String {
        "dockerhub".into()
    }
    pub fn network_mode() -> String {
        "none".into()
    }
    pub fn ingress_type() -> String {
        "aca".into()
    }
    pub fn yes() -> bool {
        true
    }
    pub fn min_replicas() -> u32 {
        1
    }
    pub fn max_replicas() -> u32 {
        3
    }
    pub fn cpu_threshold() -> u32 {
        70
    }
    pub fn concurrent_requests() -> u32 {
        100
    }
}

impl Aca {
    /// What is wrong with these settings; `pull_secret`: whether the
    /// enterprise settings name the registry credentials.
    pub(crate) fn problem(&self, pull_secret: bool) -> Option<Problem> {
        choice_problem(self)
            .or_else(|| registry_problem(self, pull_secret))
            .or_else(|| network_problem(self))
            .or_else(|| scaling_problem(self))
    }
}

/// The fields that take one of a few words.
fn choice_problem(a: &Aca) -> Option<Problem> {
    let one_of = |p: &str, v: &str, allowed: &[&str]| {
        (!allowed.contains(&v)).then(|| {
            Problem::new(
                format!("/enterprise{p}"),
                format!("`{v}` is not one of {}", allowed.join(", ")),
            )
        })
    };
    one_of("/aca/registry", &a.registry, &["dockerhub", "acr"])
        .or_else(|| {
            one_of(
                "/aca/network/mode",
                &a.network.mode,
                &["none", "new", "existing"],
            )
        })
        .or_else(|| {
            one_of(
                "/aca/ingress/type",
                &a.ingress.r#type,
                &["aca", "application_gateway"],
            )
        })
}

/// Docker Hub needs credentials, ACR its ID.
fn registry_problem(a: &Aca, pull_secret: bool) -> Option<Problem> {
    let fail = |p: &str, m: &str| Some(Problem::new(format!("/enterprise{p}"), m.to_string()));
    match a.registry.as_str() {
        "dockerhub" if !pull_secret => {
            return fail(
                "/pullSecret",
                "registry `dockerhub` needs the Docker credentials' Key Vault secret names in pullSecret",
            );
        }
        "acr" if a.acr_id.is_none() => return fail("/aca/acrId", "registry `acr` needs acrId"),
        _ => {}
    }
    None
}

/// A network that exists where the ingress needs one.
fn network_problem(a: &Aca) -> Option<Problem> {
    let fail = |p: &str, m: &str| Some(Problem::new(format!("/enterprise{p}"), m.to_string()));
    let n = &a.network;
    if n.mode == "existing"
        && (n.vnet_id.is_none()
            || n.aca_subnet_id.is_none()
            || n.private_endpoint_subnet_id.is_none())
    {
        return fail(
            "/aca/network",
            "mode `existing` needs vnetId, acaSubnetId and privateEndpointSubnetId",
        );
    }
    if n.mode == "existing"
        && a.ingress.r#type == "application_gateway"
        && n.app_gateway_subnet_id.is_none()
    {
        return fail(
            "/aca/network/appGatewaySubnetId",
            "an Application Gateway in an existing network needs its subnet",
        );
    }
    if n.vnet_cidr.as_deref().is_some_and(|c| !is_cidr(c)) {
        return fail("/aca/network/vnetCidr", "not an IPv4 CIDR like 10.0.0.0/16");
    }
    if a.ingress.r#type == "application_gateway" && n.mode == "none" {
        return fail(
            "/aca/ingress/type",
            "an Application Gateway needs a virtual network (network.mode `new` or `existing`)",
        );
    }
    None
}

fn scaling_problem(a: &Aca) -> Option<Problem> {
    let fail = |p: &str, m: &str| Some(Problem::new(format!("/enterprise{p}"), m.to_string()));
    if a.scaling.min_replicas > a.scaling.max_replicas || a.scaling.max_replicas == 0 {
        return fail(
            "/aca/scaling",
            "minReplicas must be at most maxReplicas, and maxReplicas at least 1",
        );
    }
    if a.scaling.cpu_threshold == 0 || a.scaling.cpu_threshold > 100 {
        return fail("/aca/scaling/cpuThreshold", "must be a percentage (1-100)");
    }
    None
}
