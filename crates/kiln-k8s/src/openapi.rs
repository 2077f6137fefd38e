//! How strategic merge treats each list of the core kinds kiln renders, as
//! the Kubernetes OpenAPI definitions say (`x-kubernetes-patch-strategy`,
//! `x-kubernetes-patch-merge-key`, `x-kubernetes-list-map-keys`).
//!
//! The definitions are too large to embed whole (1.4 MB); `openapi/table.rs` is the
//! part that matters here, generated from them (`tests/integration/openapi.rs`
//! regenerates it and fails when it is stale): for each type reachable from
//! a rendered kind, its required fields and the fields that lead to another
//! type or are lists with a patch strategy.
//!
//! The required fields matter because `k8s-openapi`'s types read an absent
//! required field as its default (a container without `name` has `""`).

use crate::patch::{ListMerge, Order};

mod table;

/// One field of a definition: the type it holds (the item type for a list;
/// empty for scalars) and, for a list, its patch strategy and keys.
#[derive(Debug)]
struct Field {
    name: &'static str,
    of: &'static str,
    strategy: &'static str,
    keys: &'static [&'static str],
}

/// A definition and its fields, sorted by name.
#[derive(Debug)]
struct Definition {
    name: &'static str,
    required: &'static [&'static str],
    fields: &'static [Field],
}

/// The strategic-merge rules and required fields of one core kind, from its
/// OpenAPI definition.
///
/// ```
/// use kiln_k8s::openapi::KindSchema;
/// let deployment = KindSchema::of("apps/v1", "Deployment").expect("a core kind");
/// let spread = deployment
///     .list_merge(&["spec", "template", "spec", "topologySpreadConstraints"])
///     .expect("merged by key");
/// assert_eq!(spread.keys, ["topologyKey", "whenUnsatisfiable"]);
/// assert!(deployment.list_merge(&["spec", "template", "spec", "tolerations"]).is_none());
/// assert!(KindSchema::of("gateway.networking.k8s.io/v1", "HTTPRoute").is_none());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct KindSchema {
    root: &'static str,
}

/// The Kubernetes version the table was generated from.
pub const KUBERNETES_VERSION: &str = table::KUBERNETES_VERSION;

impl KindSchema {
    /// The schema of `apiVersion`/`kind`, if it is a core kind kiln renders
    /// (custom resources have no patch strategies: their lists are replaced,
    /// as kustomize does).
    pub fn of(api_version: &str, kind: &str) -> Option<KindSchema> {
        table::KINDS
            .iter()
            .find(|(a, k, _)| *a == api_version && *k == kind)
            .map(|(_, _, root)| KindSchema { root })
    }

    /// How the list at `path` (field names from the object's root, list
    /// items stepped into without an index) merges, or `None` to replace it.
    pub fn list_merge(&self, path: &[&str]) -> Option<ListMerge> {
        let field = self.field(path)?;
        let merges = field.strategy.split(',').any(|s| s == "merge");
        if !merges || field.keys.is_empty() {
            return None;
        }
        // kustomize (kyaml) keeps patch order for a single key and puts new
        // items first for compound keys; the differential test pins both.
        let order = if field.keys.len() == 1 {
            Order::PatchFirst
        } else {
            Order::NewFirst
        };
        Some(ListMerge {
            keys: field.keys,
            order,
        })
    }

    /// The first required field `object` (JSON of this kind) lacks, as a JSON
    /// pointer.
    ///
    /// ```
    /// use kiln_k8s::openapi::KindSchema;
    /// let service = KindSchema::of("v1", "Service").expect("a core kind");
    /// let port = serde_json::json!({"spec": {"ports": [{"name": "http"}]}});
    /// assert_eq!(service.missing_field(&port).as_deref(), Some("/spec/ports/0/port"));
    /// ```
    pub fn missing_field(&self, object: &serde_json::Value) -> Option<String> {
        missing_field(self.root, object, String::new())
    }

    fn field(&self, path: &[&str]) -> Option<&'static Field> {
        let (last, parents) = path.split_last()?;
        let mut here = self.root;
        for name in parents {
            here = lookup(here, name)?.of;
        }
        lookup(here, last)
    }
}

fn definition(name: &str) -> Option<&'static Definition> {
    let at = table::DEFINITIONS
        .binary_search_by(|d| d.name.cmp(name))
        .ok()?;
    Some(&table::DEFINITIONS[at])
}

fn lookup(definition_name: &str, field: &str) -> Option<&'static Field> {
    let fields = definition(definition_name)?.fields;
    let at = fields.binary_search_by(|f| f.name.cmp(field)).ok()?;
    Some(&fields[at])
}

/// [`KindSchema::missing_field`] of `value`, an object of `definition_name` at `at`.
fn missing_field(definition_name: &str, value: &serde_json::Value, at: String) -> Option<String> {
    use serde_json::Value;
    let (Some(d), Value::Object(map)) = (definition(definition_name), value) else {
        return None;
    };
    if let Some(name) = d.required.iter().find(|r| !map.contains_key(**r)) {
        return Some(kiln_model::pointer::join(&at, name));
    }
    d.fields.iter().filter(|f| !f.of.is_empty()).find_map(|f| {
        let here = kiln_model::pointer::join(&at, f.name);
        match map.get(f.name)? {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, item)| missing_field(f.of, item, format!("{here}/{i}"))),
            other => missing_field(f.of, other, here),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_for_binary_search() {
        let names: Vec<&str> = table::DEFINITIONS.iter().map(|d| d.name).collect();
        assert!(names.windows(2).all(|w| w[0] < w[1]));
        for d in table::DEFINITIONS {
            assert!(
                d.fields.windows(2).all(|w| w[0].name < w[1].name),
                "{}",
                d.name
            );
        }
    }

    #[test]
    fn ports_are_keyed_by_port_and_protocol() {
        let service = KindSchema::of("v1", "Service").expect("Service");
        let ports = service.list_merge(&["spec", "ports"]).expect("ports");
        assert_eq!(ports.keys, ["port", "protocol"]);
        assert_eq!(ports.order, Order::NewFirst);
        let deployment = KindSchema::of("apps/v1", "Deployment").expect("Deployment");
        let container = ["spec", "template", "spec", "containers", "ports"];
        assert_eq!(
            deployment.list_merge(&container).map(|m| m.keys),
            Some(&["containerPort", "protocol"][..])
        );
        let env = ["spec", "template", "spec", "containers", "env"];
        assert_eq!(
            deployment.list_merge(&env).map(|m| (m.keys, m.order)),
            Some((&["name"][..], Order::PatchFirst))
        );
        assert!(deployment.list_merge(&["spec", "nothing"]).is_none());
    }
}
