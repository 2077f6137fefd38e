//! Which resources a patch applies to: kustomize's `target` (group,
//! version, kind, name, namespace, label and annotation selectors).

use serde::Deserialize;
use serde_json::{Map, Value};

/// Which resources a patch applies to (kustomize's `target`). Every given field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Target {
    /// API group (`apps`, `gateway.networking.k8s.io`; empty for core).
    #[serde(default)]
    pub group: Option<String>,
    /// API version (`v1`).
    #[serde(default)]
    pub version: Option<String>,
    /// Kind.
    #[serde(default)]
    pub kind: Option<String>,
    /// metadata.name.
    #[serde(default)]
    pub name: Option<String>,
    /// metadata.namespace.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Label selector: `a=b,c!=d,e,!f,g in (x,y),h notin (z)`.
    #[serde(default)]
    pub label_selector: Option<String>,
    /// Annotation selector, written as a label selector.
    #[serde(default)]
    pub annotation_selector: Option<String>,
}

impl Target {
    /// A target naming exactly this kind, name and namespace (each optional),
    /// as a patch without `target:` selects the resource its body names.
    ///
    /// ```
    /// use kiln_k8s::patch::Target;
    /// use serde_json::json;
    /// let target = Target::naming(Some("Service"), Some("gw.v2"), None);
    /// let selector = target.selector().unwrap();
    /// assert!(selector.matches(&json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "gw.v2"}})));
    /// // Exact names: the `.` is not a pattern here.
    /// assert!(!selector.matches(&json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "gwxv2"}})));
    /// ```
    pub fn naming(kind: Option<&str>, name: Option<&str>, namespace: Option<&str>) -> Target {
        let exact = |s: Option<&str>| s.map(regex::escape);
        Target {
            kind: exact(kind),
            name: exact(name),
            namespace: exact(namespace),
            ..Target::default()
        }
    }

    /// The compiled selector: `group`, `version`, `kind`, `name` and
    /// `namespace` are regular expressions anchored at both ends, as in
    /// kustomize (`name: gateway|redis`; empty or absent matches everything),
    /// labels and annotations Kubernetes selectors; an error names the field
    /// whose expression does not compile.
    ///
    /// ```
    /// use kiln_k8s::patch::Target;
    /// use serde_json::json;
    /// let target: Target = serde_json::from_value(json!({
    ///     "kind": "Deployment|StatefulSet", "labelSelector": "tier in (web, api),!legacy"})).unwrap();
    /// let selector = target.selector().unwrap();
    /// let workload = |kind: &str, labels: serde_json::Value| json!({"apiVersion": "apps/v1", "kind": kind,
    ///     "metadata": {"name": "gw", "labels": labels}});
    /// assert!(selector.matches(&workload("Deployment", json!({"tier": "web"}))));
    /// assert!(!selector.matches(&workload("Deployment", json!({"tier": "web", "legacy": "yes"}))));
    /// assert!(!selector.matches(&workload("DaemonSet", json!({"tier": "web"}))));
    /// let bad: Target = serde_json::from_value(json!({"name": "gw-("})).unwrap();
    /// assert_eq!(bad.selector().unwrap_err().field, "name");
    /// ```
    pub fn selector(&self) -> Result<Selector, SelectorError> {
        let compile = |field: &'static str, given: &Option<String>| {
            given
                .as_deref()
                .filter(|p| !p.is_empty())
                .map(|p| {
                    regex::RegexBuilder::new(&format!("^(?:{p})$"))
                        .size_limit(1 << 20)
                        .build()
                        .map_err(|e| SelectorError {
                            field,
                            message: format!("`{p}` is not a regular expression: {e}"),
                        })
                })
                .transpose()
        };
        Ok(Selector {
            group: compile("group", &self.group)?,
            version: compile("version", &self.version)?,
            kind: compile("kind", &self.kind)?,
            name: compile("name", &self.name)?,
            namespace: compile("namespace", &self.namespace)?,
            labels: self.label_selector.clone(),
            annotations: self.annotation_selector.clone(),
        })
    }
}

/// A target field that does not compile into a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorError {
    /// The field of the target (`name`, `kind`, …).
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl std::fmt::Display for SelectorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "target {}: {}", self.field, self.message)
    }
}

impl std::error::Error for SelectorError {}

/// A compiled [`Target`].
#[derive(Debug, Clone)]
pub struct Selector {
    group: Option<regex::Regex>,
    version: Option<regex::Regex>,
    kind: Option<regex::Regex>,
    name: Option<regex::Regex>,
    namespace: Option<regex::Regex>,
    labels: Option<String>,
    annotations: Option<String>,
}

impl Selector {
    /// Whether `doc` (a Kubernetes object as JSON) is selected.
    pub fn matches(&self, doc: &Value) -> bool {
        let text = |p: &str| doc.pointer(p).and_then(Value::as_str).unwrap_or_default();
        let api_version = text("/apiVersion");
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let is = |want: &Option<regex::Regex>, have: &str| {
            want.as_ref().is_none_or(|w| w.is_match(have))
        };
        is(&self.group, group)
            && is(&self.version, version)
            && is(&self.kind, text("/kind"))
            && is(&self.name, text("/metadata/name"))
            && is(&self.namespace, text("/metadata/namespace"))
            && self.labels.as_deref().is_none_or(|sel| {
                let labels = doc.pointer("/metadata/labels").and_then(Value::as_object);
                selector_matches(sel, labels)
            })
            && self.annotations.as_deref().is_none_or(|sel| {
                let annotations = doc
                    .pointer("/metadata/annotations")
                    .and_then(Value::as_object);
                selector_matches(sel, annotations)
            })
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = [
            ("group", &self.group),
            ("version", &self.version),
            ("kind", &self.kind),
            ("name", &self.name),
            ("namespace", &self.namespace),
            ("labelSelector", &self.label_selector),
            ("annotationSelector", &self.annotation_selector),
        ]
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
        .collect();
        if parts.is_empty() {
            f.write_str("every resource")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// Checks a label selector as Kubernetes writes one: equality terms (`a=b`,
/// `a==b`, `a!=b`), existence (`a`, `!a`) and set terms (`a in (x,y)`,
/// `a notin (x)`), comma-separated.
///
/// ```
/// use kiln_k8s::patch::selector_is_valid;
/// assert!(selector_is_valid("app=gw,tier in (web, api),!legacy"));
/// assert!(!selector_is_valid("tier in (web"));
/// ```
pub fn selector_is_valid(selector: &str) -> bool {
    terms(selector).is_some_and(|terms| {
        terms.iter().all(|term| {
            let term = term.trim();
            !term.is_empty()
                && match set_term(term) {
                    Some((key, _, values)) => !key.is_empty() && !values.is_empty(),
                    None => !term.contains(['(', ')', ' ']),
                }
        })
    })
}

/// The comma-separated terms of a selector (commas inside parentheses
/// belong to a set term); `None` if the parentheses do not pair.
fn terms(selector: &str) -> Option<Vec<&str>> {
    let mut terms = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in selector.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.checked_sub(1)?,
            ',' if depth == 0 => {
                terms.push(&selector[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    (depth == 0).then(|| {
        terms.push(&selector[start..]);
        terms
    })
}

/// A set term `key in (a, b)` / `key notin (a)`: key, whether `in`, values.
fn set_term(term: &str) -> Option<(&str, bool, Vec<&str>)> {
    let (head, rest) = term.split_once('(')?;
    let values = rest.trim().strip_suffix(')')?;
    let head = head.trim();
    let (key, within) = if let Some(key) = head.strip_suffix(" notin") {
        (key, false)
    } else {
        (head.strip_suffix(" in")?, true)
    };
    let values: Vec<&str> = values
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    Some((key.trim(), within, values))
}

fn selector_matches(selector: &str, labels: Option<&Map<String, Value>>) -> bool {
    let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
    let terms = terms(selector).unwrap_or_default();
    terms.into_iter().map(str::trim).all(|term| {
        if let Some((k, within, values)) = set_term(term) {
            // `notin` also holds where the key is absent, as in Kubernetes.
            get(k).is_some_and(|v| values.contains(&v)) == within
        } else if let Some((k, v)) = term.split_once("!=") {
            get(k.trim()) != Some(v.trim())
        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            get(k.trim()) == Some(v.trim())
        } else if let Some(k) = term.strip_prefix('!') {
            get(k).is_none()
        } else {
            get(term).is_some()
        }
    })
}
