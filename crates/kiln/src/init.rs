//! `kiln init`: a new GitOps repository that renders at once — a documented
//! base description, `dev` and `prod` overlays, one strategy, a Makefile with
//! render/diff/check targets, a pull-request workflow, a README and
//! `kiln.yaml`. It only ever creates files: a directory with anything in it
//! (but `.git`) is refused, and nothing is overwritten.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use {kiln_model::layout::SETTINGS_FILE, kiln_model::settings::Settings};

/// The scaffold's files, relative to the new repository.
const FILES: [(&str, &str); 9] = [
    (
        "base/service.yaml",
        include_str!("../templates/init/base/service.yaml"),
    ),
    (
        "overlays/dev/overlay.yaml",
        include_str!("../templates/init/overlays/dev/overlay.yaml"),
    ),
    (
        "overlays/prod/overlay.yaml",
        include_str!("../templates/init/overlays/prod/overlay.yaml"),
    ),
    (
        "strategies/fallback.json",
        include_str!("../templates/init/strategies/fallback.json"),
    ),
    ("Makefile", include_str!("../templates/init/Makefile")),
    (
        ".github/workflows/kiln.yml",
        include_str!("../templates/init/.github/workflows/kiln.yml"),
    ),
    (
        ".github/workflows/kiln-comment.yml",
        include_str!("../templates/init/.github/workflows/kiln-comment.yml"),
    ),
    ("README.md", include_str!("../templates/init/README.md")),
    (".gitignore", include_str!("../templates/init/gitignore")),
];

/// The kiln the scaffold's Makefile asks for: this version (tag `v<version>`
/// of its source).
const KILN_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Where kiln's source is, if this kiln was built knowing it (`KILN_SOURCE`
/// at build time): the default of [`Options::kiln_git`].
pub const KILN_SOURCE: Option<&str> = option_env!("KILN_SOURCE");

/// A template's text with the pinned kiln filled in.
fn fill(template: &str, kiln_git: &str) -> String {
    template
        .replace("@KILN_VERSION@", KILN_VERSION)
        .replace("@KILN_GIT@", kiln_git)
}

/// What `kiln init` asks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// The Git URL clusters will pull; without it, `kiln.yaml` leaves the
    /// GitOps wiring commented out.
    pub repo_url: Option<String>,
    /// Render Argo CD Applications (the default engine when a URL is given).
    pub argocd: bool,
    /// Render Flux objects.
    pub flux: bool,
    /// Where CI installs kiln from (a Git URL cargo can build at tag
    /// `v<version>`), written into the Makefile as `KILN_GIT`; without it
    /// (and without [`KILN_SOURCE`]) the Makefile leaves it empty and CI says
    /// what to set.
    pub kiln_git: Option<String>,
}

/// `kiln.yaml` for `options`.
fn settings(options: &Options) -> String {
    let head = "# Repository settings of kiln: how clusters sync out/ (kiln's\n# docs/reference/kiln-yaml.md).\n";
    match &options.repo_url {
        None => format!(
            "{head}# Uncomment and set repoURL to render Argo CD Applications into out/argocd/\n# and/or Flux objects into out/flux/.\n# gitops:\n#   repoURL: https://git.example.com/platform/gitops.git\n#   revision: main\n#   argocd: {{}}\n#   flux: {{}}\n"
        ),
        Some(url) => {
            let argocd = options.argocd || !options.flux;
            let mut text = format!(
                "{head}gitops:\n  repoURL: {}\n  revision: main\n",
                kiln_model::emit::yaml(&serde_json::Value::from(url.as_str())).trim_end()
            );
            if argocd {
                text.push_str("  # out/argocd/: an Application per environment and a root app of apps.\n  argocd: {}\n");
            }
            if options.flux {
                text.push_str(
                    "  # out/flux/: a GitRepository and a Kustomization per environment.\n",
                );
                let ssh = url.starts_with("ssh://") || url.starts_with("git@");
                if ssh {
                    text.push_str("  # Flux pulls over ssh with the key in this Secret of its namespace\n  # (`flux bootstrap` creates `flux-system`; else `flux create secret git`).\n  flux:\n    secretRef: flux-system\n");
                } else {
                    text.push_str("  # A private repository: add `secretRef: NAME`, a Secret with username and\n  # password (a token) in Flux's namespace.\n  flux: {}\n");
                }
            }
            text
        }
    }
}

/// Creates the scaffold in `dir` (created if missing) and returns the files
/// written, relative to it.
///
/// ```
/// # fn main() -> Result<(), kiln::Error> {
/// let dir = tempfile::tempdir().expect("tmp");
/// let files = kiln::init::init(dir.path(), &kiln::init::Options::default())?;
/// assert!(files.iter().any(|f| f.ends_with("base/service.yaml")));
/// let repo = kiln::Repo::open(dir.path())?;
/// assert_eq!(repo.environments(), ["dev", "prod"]);
/// assert!(kiln::init::init(dir.path(), &Default::default()).is_err()); // not empty any more
/// # Ok(()) }
/// ```
pub fn init(dir: &Path, options: &Options) -> Result<Vec<PathBuf>> {
    let settings_text = settings(options);
    // Validated before anything is written: a bad URL leaves no half repository.
    let parsed: Settings = kiln_model::parse::yaml(Path::new(SETTINGS_FILE), &settings_text)?;
    if let Some(g) = &parsed.gitops {
        g.validate(&["dev".to_string(), "prod".to_string()])?;
    }
    let kiln_git = options
        .kiln_git
        .as_deref()
        .or(KILN_SOURCE)
        .unwrap_or_default();
    if !kiln_git.is_empty() {
        kiln_git_problem(kiln_git)?;
    }
    ensure_empty(dir)?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let files = FILES
        .iter()
        .map(|(rel, template)| (*rel, fill(template, kiln_git)))
        .chain([(SETTINGS_FILE, settings_text)]);
    create_files(dir, files)
}

/// A `--kiln-git` URL that cargo can install from and that may be committed.
fn kiln_git_problem(url: &str) -> Result<()> {
    let refuse = |why: String| Err(Error::from(kiln_model::InputError::new("--kiln-git", why)));
    let scheme = ["https://", "http://", "ssh://", "git://", "file://"]
        .iter()
        .any(|s| url.starts_with(s));
    if !scheme
        || url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '$' || c == '`')
    {
        return refuse(format!(
            "`{url}` is not a Git URL cargo installs from (https://…, ssh://…, git://…, file://…)"
        ));
    }
    let authority = url.split("://").nth(1).and_then(|r| r.split('/').next());
    let password = authority
        .and_then(|a| a.rsplit_once('@'))
        .is_some_and(|(user, _)| user.contains(':'));
    if password || kiln_model::credential::contains(url) {
        // Not quoted: the password would be printed.
        return refuse(
            "the URL has credentials in it; it is written into the Makefile and committed".into(),
        );
    }
    Ok(())
}

/// Creates each file (a path relative to `dir`, and its contents) with its
/// parent directories, never replacing one, even one that appeared
/// meanwhile; returns the relative paths.
pub(crate) fn create_files<R: AsRef<str>, C: AsRef<str>>(
    dir: &Path,
    files: impl IntoIterator<Item = (R, C)>,
) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (rel, contents) in files {
        let rel = PathBuf::from(rel.as_ref());
        crate::safe_fs::create_beneath(dir, &rel, contents.as_ref().as_bytes())?;
        written.push(rel);
    }
    Ok(written)
}

/// Makes sure `dir` is missing or a directory with nothing in it but
/// `.git`; a symlink or a file there is refused. Nothing is created.
pub(crate) fn ensure_empty(dir: &Path) -> Result<()> {
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    if !meta.is_dir() {
        return Err(Error::unsafe_path(
            dir,
            "is not a directory (symlinks are not followed)",
        ));
    }
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name != ".git")
        .collect();
    if found.is_empty() {
        return Ok(());
    }
    found.sort();
    Err(Error::NotEmpty {
        dir: dir.to_path_buf(),
        found,
    })
}
