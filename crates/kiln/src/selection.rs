//! Which environments a command works on.

/// All environments of a repository, or these. All of them brings the
/// repository-wide parts too: the GitOps wiring, the check for environments
/// that collide in a cluster, and, when written, the removal of environments
/// that no longer exist. A selection touches nothing else.
///
/// ```
/// use kiln::Selection;
/// assert_eq!(Selection::of(&[]), Selection::All);
/// let some = Selection::of(&["prod".to_string(), "dev".to_string(), "prod".to_string()]);
/// assert_eq!(some, Selection::Only(vec!["dev".to_string(), "prod".to_string()]));
/// assert!(some.includes("dev") && !some.includes("staging"));
/// assert!(Selection::All.includes("staging"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every environment, and the repository-wide parts.
    All,
    /// These environments only (sorted, each once).
    Only(Vec<String>),
}

impl Selection {
    /// The environments a command line names (`--env`, repeatable): none named means all.
    pub fn of(names: &[String]) -> Selection {
        if names.is_empty() {
            return Selection::All;
        }
        let mut names = names.to_vec();
        names.sort();
        names.dedup();
        Selection::Only(names)
    }

    /// Whether environment `env` is selected.
    pub fn includes(&self, env: &str) -> bool {
        match self {
            Selection::All => true,
            Selection::Only(names) => names.iter().any(|n| n == env),
        }
    }
}
