//! `kiln.yaml`: the repository's settings, of which today the GitOps wiring:
//! where the repository is, which engines (Argo CD, Flux) sync it, and each
//! environment's destination and ordering. The objects themselves are
//! rendered by the pipeline (`kiln::gitops`).

use crate::error::{InputError, Result, closest};
use crate::layout::{ARGOCD_DIR, FLUX_DIR, SETTINGS_FILE};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// Argo CD's in-cluster API server, the default destination.
pub const IN_CLUSTER: &str = "https://kubernetes.default.svc";

/// `kiln.yaml`: repository-wide settings. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The GitOps wiring; none is rendered without it.
    #[serde(default)]
    pub gitops: Option<GitOps>,
}

/// Where the repository is and how each engine syncs it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GitOps {
    /// The Git URL clusters pull (`https://…`, `ssh://…` or `git@host:path`).
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    /// Branch to follow.
    #[serde(default = "defaults::revision")]
    pub revision: String,
    /// Where `out/` is inside the Git repository (default `out`).
    #[serde(default = "defaults::path")]
    pub path: String,
    /// Name of the root Application and of the Flux GitRepository.
    #[serde(default = "defaults::name")]
    pub name: String,
    /// Render Argo CD Applications into `out/argocd/` (`argocd: {}` for the defaults).
    #[serde(default)]
    pub argocd: Option<ArgoCd>,
    /// Render Flux objects into `out/flux/` (`flux: {}` for the defaults).
    #[serde(default)]
    pub flux: Option<Flux>,
    /// Per-environment destination and ordering; environments not listed go
    /// to the cluster the engine runs in.
    #[serde(default)]
    pub environments: BTreeMap<String, Target>,
}

/// Argo CD options.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ArgoCd {
    /// Namespace Argo CD runs in.
    #[serde(default = "defaults::argocd_namespace")]
    pub namespace: String,
    /// AppProject of the Applications.
    #[serde(default = "defaults::project")]
    pub project: String,
    /// Sync automatically on every commit.
    #[serde(default = "defaults::yes")]
    pub automated: bool,
    /// Delete what is no longer in `out/` (and, through the finalizer, an
    /// Application's resources when it is deleted).
    #[serde(default = "defaults::yes")]
    pub prune: bool,
    /// Undo changes made in the cluster by hand.
    #[serde(default = "defaults::yes")]
    pub self_heal: bool,
}

/// Flux options.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Flux {
    /// Namespace the Flux controllers watch for their objects.
    #[serde(default = "defaults::flux_namespace")]
    pub namespace: String,
    /// How often Flux fetches the repository and reconciles.
    #[serde(default = "defaults::interval")]
    pub interval: String,
    /// How long an apply (and health check) may take.
    #[serde(default = "defaults::timeout")]
    pub timeout: String,
    /// Delete what is no longer in `out/`.
    #[serde(default = "defaults::yes")]
    pub prune: bool,
    /// Wait until every applied object is ready (health checks of all of them).
    #[serde(default = "defaults::yes")]
    pub wait: bool,
    /// The Secret (in Flux's namespace) Flux pulls the repository with: an
    /// SSH key (`identity`, `known_hosts`) for an ssh URL, `username` and
    /// `password` (a token) for a private https one. Required for ssh URLs.
    #[serde(default)]
    pub secret_ref: Option<String>,
}

/// One environment's destination and ordering.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Target {
    /// Argo CD destination: an API server URL (`https://…`) or a cluster name
    /// registered in Argo CD [default: the in-cluster server].
    #[serde(default)]
    pub cluster: Option<String>,
    /// Flux: a Secret (in Flux's namespace) with the kubeconfig of a remote
    /// cluster [default: the cluster Flux runs in].
    #[serde(default)]
    pub kube_config_secret: Option<String>,
    /// Environments whose objects must be applied (and healthy) first: Flux
    /// `dependsOn`, Argo CD a later sync wave of the Application.
    #[serde(default)]
    pub depends_on: Vec<String>,
}

mod defaults {
    pub fn revision() -> String {
        "main".into()
    }
    pub fn path() -> String {
        crate::layout::OUT_DIR.into()
    }
    pub fn name() -> String {
        "gitops".into()
    }
    pub fn argocd_namespace() -> String {
        "argocd".into()
    }
    pub fn project() -> String {
        "default".into()
    }
    pub fn flux_namespace() -> String {
        "flux-system".into()
    }
    pub fn interval() -> String {
        "10m".into()
    }
    pub fn timeout() -> String {
        "5m".into()
    }
    pub fn yes() -> bool {
        true
    }
}

impl GitOps {
    /// Checks what serde cannot: the URL, names, durations, environments and `dependsOn` cycles.
    pub fn validate(&self, environments: &[String]) -> Result<()> {
        self.source_problem()?;
        self.engines_problem(environments)?;
        self.environments_problem(environments)
    }

    /// The repository URL as Flux's GitRepository takes it. Flux's schema
    /// accepts only `http`, `https` and `ssh` URLs, so the scp-like
    /// `git@host:path` that git and Argo CD take becomes `ssh://git@host/path`:
    /// the same repository on hosted Git (GitHub, GitLab, Bitbucket); on a
    /// server where an scp path is relative to the home directory, write the
    /// `ssh://` URL in `kiln.yaml` yourself.
    ///
    /// ```
    /// let g: kiln_model::settings::Settings =
    ///     serde_yaml::from_str("gitops: { repoURL: 'git@github.com:me/gitops.git', flux: {} }").unwrap();
    /// assert_eq!(g.gitops.unwrap().flux_url(), "ssh://git@github.com/me/gitops.git");
    /// ```
    pub fn flux_url(&self) -> String {
        match self
            .repo_url
            .strip_prefix("git@")
            .and_then(|r| r.split_once(':'))
        {
            Some((host, path)) => format!("ssh://git@{host}/{}", path.trim_start_matches('/')),
            None => self.repo_url.clone(),
        }
    }

    /// Where the clusters pull from: URL, branch, path in the repository, name.
    fn source_problem(&self) -> Result<()> {
        let fail = |pointer: &str, message: String, help: Option<String>| -> Result<()> {
            Err(InputError::new(SETTINGS_FILE, message)
                .at(format!("/gitops{pointer}"))
                .with_help(help)
                .into())
        };
        let url = &self.repo_url;
        let scheme = ["https://", "http://", "ssh://", "git@"]
            .iter()
            .any(|s| url.starts_with(s));
        if !scheme || url.chars().any(char::is_whitespace) {
            return fail(
                "/repoURL",
                format!("`{url}` is not a Git URL (https://…, ssh://… or git@host:path)"),
                None,
            );
        }
        if has_credentials(url) {
            // The URL is written into out/, so into Git and every cluster: no password there.
            return fail(
                "/repoURL",
                "has credentials in it (user:token@), which would be committed into out/ and synced to every cluster".into(),
                Some("use the plain URL; give Argo CD the token as a repository Secret (label argocd.argoproj.io/secret-type: repository) and Flux as `gitops.flux.secretRef`".into()),
            );
        }
        if self.revision.is_empty()
            || self
                .revision
                .chars()
                .any(|c| c.is_whitespace() || c == '~' || c == '^' || c == ':')
        {
            return fail(
                "/revision",
                format!("`{}` is not a branch name", self.revision),
                None,
            );
        }
        let path_ok = !self.path.is_empty()
            && !self.path.starts_with('/')
            && self
                .path
                .split('/')
                .all(|p| !p.is_empty() && p != "." && p != "..");
        if !path_ok {
            return fail(
                "/path",
                format!(
                    "`{}` must be a relative path inside the Git repository, without `..`",
                    self.path
                ),
                None,
            );
        }
        if let Some(crate::values::Problem { message, .. }) =
            crate::values::dns_label("", &self.name)
        {
            return fail("/name", message, None);
        }
        Ok(())
    }

    /// At least one engine, no environment named like its directory, and Flux durations.
    fn engines_problem(&self, environments: &[String]) -> Result<()> {
        let fail = |pointer: &str, message: String, help: Option<String>| -> Result<()> {
            Err(InputError::new(SETTINGS_FILE, message)
                .at(format!("/gitops{pointer}"))
                .with_help(help)
                .into())
        };
        if self.argocd.is_none() && self.flux.is_none() {
            return fail(
                "",
                "names no engine".into(),
                Some("add `argocd: {}` and/or `flux: {}`".into()),
            );
        }
        for (dir, on) in [
            (ARGOCD_DIR, self.argocd.is_some()),
            (FLUX_DIR, self.flux.is_some()),
        ] {
            if on && environments.iter().any(|e| e == dir) {
                return fail(
                    "",
                    format!("environment `{dir}` would share out/{dir}/ with the {dir} wiring"),
                    Some(format!("rename overlays/{dir}/")),
                );
            }
        }
        if let Some(f) = &self.flux {
            let ssh = self.flux_url().starts_with("ssh://");
            match &f.secret_ref {
                None if ssh => {
                    return fail(
                        "/flux/secretRef",
                        "is needed for an ssh URL: Flux pulls over ssh only with a key".into(),
                        Some("create a Secret with `identity` and `known_hosts` in Flux's namespace (`flux create secret git NAME --url=…`) and name it here".into()),
                    );
                }
                Some(name) => {
                    if let Some(crate::values::Problem { message, .. }) =
                        crate::values::dns_label("", name)
                    {
                        return fail("/flux/secretRef", message, None);
                    }
                }
                None => {}
            }
            for (field, value) in [("interval", &f.interval), ("timeout", &f.timeout)] {
                if !is_duration(value) {
                    return fail(
                        &format!("/flux/{field}"),
                        format!("`{value}` is not a duration like 10m, 1h30m or 45s"),
                        None,
                    );
                }
            }
        }
        Ok(())
    }

    /// Each environment listed exists, depends on others that exist, without cycles.
    fn environments_problem(&self, environments: &[String]) -> Result<()> {
        let known: BTreeSet<&str> = environments.iter().map(String::as_str).collect();
        let fail = |pointer: &str, message: String, help: Option<String>| -> Result<()> {
            Err(InputError::new(SETTINGS_FILE, message)
                .at(format!("/gitops{pointer}"))
                .with_help(help)
                .into())
        };
        for (env, target) in &self.environments {
            let at = crate::pointer::join("/environments", env);
            if !known.contains(env.as_str()) {
                let help = closest(env, environments.iter().map(String::as_str))
                    .map(|c| format!("did you mean `{c}`?"));
                return fail(
                    &at,
                    format!("no environment `{env}` (overlays/{env}/overlay.yaml)"),
                    help,
                );
            }
            for (i, dep) in target.depends_on.iter().enumerate() {
                if !known.contains(dep.as_str()) || dep == env {
                    let help = closest(dep, environments.iter().map(String::as_str))
                        .map(|c| format!("did you mean `{c}`?"));
                    return fail(
                        &format!("{at}/dependsOn/{i}"),
                        format!("`{dep}` is not another environment"),
                        help,
                    );
                }
            }
            if let Some(c) = &target.cluster
                && (c.is_empty() || c.chars().any(char::is_whitespace))
            {
                return fail(
                    &format!("{at}/cluster"),
                    format!("`{c}` is neither an API server URL nor a cluster name"),
                    None,
                );
            }
        }
        if let Err(cycle) = self.waves() {
            return fail(
                &format!(
                    "{}/dependsOn",
                    crate::pointer::join("/environments", &cycle[0])
                ),
                format!("dependsOn makes a cycle: {}", cycle.join(" → ")),
                None,
            );
        }
        Ok(())
    }

    /// The environments `env` waits for.
    pub fn depends_on(&self, env: &str) -> &[String] {
        self.environments
            .get(env)
            .map_or(&[], |t| t.depends_on.as_slice())
    }

    /// The Argo CD sync wave of every environment with a target: 0 for one
    /// that depends on nothing, else one more than its deepest dependency.
    /// Call after [`GitOps::validate`], which refuses cycles.
    pub fn sync_waves(&self) -> BTreeMap<&str, usize> {
        self.waves().unwrap_or_default()
    }

    /// One depth-first walk of `dependsOn` (linear in environments and
    /// edges, without recursion, so neither a wide lattice nor a long chain
    /// from a pull request costs more than its size): each environment's
    /// wave, or the first cycle met, closed on its first environment.
    fn waves(&self) -> std::result::Result<BTreeMap<&str, usize>, Vec<String>> {
        let mut waves: BTreeMap<&str, usize> = BTreeMap::new();
        for start in self.environments.keys() {
            if waves.contains_key(start.as_str()) {
                continue;
            }
            // The path being walked: an environment and its next dependency's index.
            let mut path: Vec<(&str, usize)> = vec![(start, 0)];
            let mut on_path: BTreeSet<&str> = BTreeSet::from([start.as_str()]);
            while let Some((env, next)) = path.last_mut() {
                let env: &str = env;
                let deps = self.depends_on(env);
                let Some(dep) = deps.get(*next) else {
                    let wave = deps.iter().map(|d| waves[d.as_str()] + 1).max();
                    waves.insert(env, wave.unwrap_or(0));
                    on_path.remove(env);
                    path.pop();
                    continue;
                };
                *next += 1;
                if on_path.contains(dep.as_str()) {
                    let at = path.iter().position(|(e, _)| *e == dep).unwrap_or(0);
                    let mut cycle: Vec<String> =
                        path[at..].iter().map(|(e, _)| e.to_string()).collect();
                    cycle.push(dep.clone());
                    return Err(cycle);
                }
                if !waves.contains_key(dep.as_str()) {
                    on_path.insert(dep);
                    path.push((dep, 0));
                }
            }
        }
        Ok(waves)
    }
}

/// Whether an http(s) URL carries a user or password (`https://user:token@host/…`).
fn has_credentials(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    authority.contains('@')
}

/// Go durations as Flux's schemas accept them: `10m`, `1h30m`, `45s`, `1.5h`.
fn is_duration(s: &str) -> bool {
    crate::js::regex_test(r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$", &s.into()) == Some(true)
}
