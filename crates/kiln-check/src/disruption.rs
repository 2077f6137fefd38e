//! Disruption budgets a node drain can satisfy. A PodDisruptionBudget that
//! requires every replica of what it selects to stay up makes `kubectl drain`
//! (and a managed cluster's node upgrade) wait for an eviction that is never
//! allowed.

use super::Findings;
use super::object::Object;
use super::references::{label_selector, selects};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kiln_model::rules::PDB_DRAIN;
use serde::Deserialize;

pub(super) fn check(objects: &[Object], out: &mut Findings) {
    let budgets = objects
        .iter()
        .filter(|o| o.api_version == "policy/v1" && o.kind == "PodDisruptionBudget");
    for pdb in budgets {
        // policy/v1: an empty selector selects every pod of the namespace; none selects none.
        let Some(selector) = label_selector(pdb.at("/spec/selector")) else {
            continue;
        };
        let workloads = objects.iter().filter(|w| {
            w.namespace == pdb.namespace
                && matches!(w.kind, "Deployment" | "StatefulSet" | "ReplicaSet")
                && w.pod
                    .as_ref()
                    .is_some_and(|p| selects(&selector, &p.labels))
        });
        for w in workloads {
            let replicas = least_replicas(w, objects);
            if let Some((field, why)) = blocks_drain(pdb, replicas) {
                out.push(
                    &PDB_DRAIN,
                    pdb,
                    format!("/spec/{field}"),
                    format!(
                        "{why} with {replicas} replica{} of {} `{}`: a node drain can never evict one of its pods",
                        if replicas == 1 { "" } else { "s" },
                        w.kind,
                        w.name
                    ),
                );
            }
        }
    }
}

/// The fewest replicas `workload` runs: a HorizontalPodAutoscaler's
/// minReplicas if one scales it, else `spec.replicas` (default 1).
fn least_replicas(workload: &Object, objects: &[Object]) -> i64 {
    let scaled_by = objects.iter().find(|h| {
        h.kind == "HorizontalPodAutoscaler"
            && h.namespace == workload.namespace
            && h.at("/spec/scaleTargetRef/kind").and_then(|v| v.as_str()) == Some(workload.kind)
            && h.at("/spec/scaleTargetRef/name").and_then(|v| v.as_str()) == Some(workload.name)
    });
    let (object, field) = match scaled_by {
        Some(hpa) => (hpa, "/spec/minReplicas"),
        None => (workload, "/spec/replicas"),
    };
    object.at(field).and_then(|v| v.as_i64()).unwrap_or(1)
}

/// The field and why, when the budget allows no eviction at `replicas`.
/// Percentages round up, as the disruption controller rounds them.
fn blocks_drain(pdb: &Object, replicas: i64) -> Option<(&'static str, String)> {
    let field = |name: &str| {
        pdb.at(&format!("/spec/{name}"))
            .and_then(|v| IntOrString::deserialize(v).ok())
    };
    let scaled = |v: &IntOrString| match v {
        IntOrString::Int(n) => Some(i64::from(*n)),
        IntOrString::String(s) => {
            let percent: i64 = s.strip_suffix('%')?.parse().ok()?;
            Some((percent * replicas + 99) / 100)
        }
    };
    let shown = |v: &IntOrString| match v {
        IntOrString::Int(n) => n.to_string(),
        IntOrString::String(s) => s.clone(),
    };
    if let Some(min) = field("minAvailable")
        && scaled(&min).is_some_and(|n| n >= replicas)
    {
        return Some(("minAvailable", format!("minAvailable {}", shown(&min))));
    }
    if let Some(max) = field("maxUnavailable")
        && scaled(&max) == Some(0)
    {
        return Some(("maxUnavailable", format!("maxUnavailable {}", shown(&max))));
    }
    None
}
