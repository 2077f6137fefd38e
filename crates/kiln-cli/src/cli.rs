//! The command line's definitions (clap): every command, option and help text.

use clap::{Args, Parser, Subcommand, ValueEnum};
use kiln::Repo;
use std::io::IsTerminal;
use std::path::PathBuf;

/// Compile typed service descriptions, overlays and Portkey strategies into
/// hardened, deterministic Kubernetes YAML for Argo CD or Flux.
#[derive(Debug, Parser)]
#[command(
    name = "kiln",
    version,
    after_help = "\
Repository layout:
  base/service.yaml           the service description
  overlays/<env>/overlay.yaml one directory per environment
  strategies/<name>.json      Portkey routing configs, mounted at /app/configs
  out/<env>/                  rendered output (commit it; Argo CD / Flux sync it)

Examples:
  kiln render                 render every environment into out/
  kiln render --env homelab   render one environment
  kiln render --check         exit 1 if out/ is stale (for CI)
  kiln diff --base origin/main --format markdown
                              what a pull request changes, per environment and resource
  kiln route -s cost-optimized --param max_tokens=8000
                              where Portkey would send such a request
  kiln check                  Pod Security, references, schemas of every environment
  kiln check k8s/ --format sarif
                              the same rules on hand-written manifests, for code scanning
  kiln init my-gitops --repo-url https://git.example.com/gitops.git
                              start a new GitOps repository
  kiln envs                   list environments
  kiln completions bash       shell completions (also zsh, fish, powershell)
  kiln man render             the man page of a command (kiln man: kiln(1))

Exit status: 0 ok, 1 differences found (render --check, diff) or errors (check), 2 bad input or usage."
)]
pub(crate) struct Cli {
    /// Repository root [default: the nearest directory above the working
    /// directory that has base/ and overlays/].
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) repo: Option<PathBuf>,

    /// When to color output.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub(crate) color: Color,

    /// Print only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub(crate) quiet: bool,

    /// Print every file written or compared.
    #[arg(short, long, global = true)]
    pub(crate) verbose: bool,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Render environments into out/<env>/ (all of them unless --env is given).
    ///
    /// Only files kiln wrote itself are ever replaced or removed; a render that
    /// fails writes nothing; an environment whose output is current is not
    /// touched. Rendering all environments also removes kiln's files of
    /// environments that no longer exist.
    Render(RenderArgs),
    /// Show what a change does to every environment, resource by resource.
    ///
    /// Without --base: a fresh render against the files in out/. With --base:
    /// the render of the inputs at REF against the render at --head (default:
    /// the working tree), whether or not out/ is committed or current.
    /// Secret values never appear. Exit status like `git diff --exit-code`:
    /// 0 no differences, 1 differences, 2 error.
    Diff(DiffArgs),
    /// Check rendered environments, or any Kubernetes manifests, for Pod
    /// Security `restricted`, broken references, schema errors, floating
    /// images and plaintext secrets.
    ///
    /// Without PATH: every environment (or --env), built exactly as `render`
    /// would, with the suppressions of the description and overlays. With
    /// PATH: YAML files and directories (multi-document files included);
    /// references resolve among all of them; a PATH that is a kiln repository
    /// root (`kiln check .`) is checked as its environments. Exit status: 0 no errors (warnings
    /// and notes allowed), 1 errors, 2 bad input.
    Check(CheckArgs),
    /// Create a new GitOps repository in DIR: a documented base description,
    /// dev and prod overlays, a strategy, a Makefile (render, diff, check), a
    /// pull-request workflow, a README and kiln.yaml. `make render` in it
    /// renders at once. Refuses a directory that has files (.git aside).
    Init(InitArgs),
    /// Bring an existing deployment of the gateway into kiln, and show what changes.
    ///
    /// Writes base/service.yaml, an overlay and strategies/*.json into a new
    /// repository (--into, missing or empty), or an overlay of the existing
    /// base of a kiln repository. Prints a report: every field imported, every
    /// input value left out and what to do about it, where credentials were
    /// found in plain text (never copied), and what kiln renders differently,
    /// classified (kiln's hardening called out). Nothing is written on error.
    #[command(subcommand)]
    Import(ImportSource),
    /// List the environments (directories of overlays/).
    Envs,
    /// List the Portkey strategies: mode, targets, findings, and the header that selects each.
    ///
    /// The open-source gateway takes a config only as JSON in the
    /// x-portkey-config header of each request: `--header NAME` prints that
    /// header, its `${VAR}` credential references for the client to fill
    /// (e.g. `curl -H "$(kiln strategies --header NAME | envsubst)"`).
    Strategies {
        /// The environment whose strategies to list [default: the files of strategies/].
        #[arg(long, short = 'e', value_name = "NAME")]
        env: Option<String>,
        /// Print only the x-portkey-config header that selects strategy NAME.
        #[arg(long, value_name = "NAME")]
        header: Option<String>,
    },
    /// Show where a request would go: conditional routing evaluated as Portkey does it,
    /// load-balancing shares, fallback order.
    ///
    /// Example: kiln route --strategy cost-optimized --param max_tokens=8000
    Route(RouteArgs),
    /// Print the completion script for SHELL.
    ///
    /// bash: kiln completions bash > ~/.local/share/bash-completion/completions/kiln;
    /// zsh: kiln completions zsh > "${fpath[1]}/_kiln";
    /// fish: kiln completions fish > ~/.config/fish/completions/kiln.fish;
    /// PowerShell: kiln completions powershell >> $PROFILE.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print a man page as roff: kiln(1), or kiln-COMMAND(1) for one command.
    ///
    /// All of them: for c in "" render diff check init import envs strategies route completions man;
    /// do kiln man $c > ~/.local/share/man/man1/kiln${c:+-$c}.1; done
    Man {
        /// The command whose page to print [default: kiln(1)].
        command: Option<String>,
    },
}

#[derive(Debug, Args)]
pub(crate) struct DiffArgs {
    /// Compare against the inputs at this git revision (branch, tag, commit).
    #[arg(long, value_name = "REF")]
    pub(crate) base: Option<String>,
    /// With --base: the other side [default: the working tree].
    #[arg(long, value_name = "REF", requires = "base")]
    pub(crate) head: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub(crate) format: DiffFormat,
    /// Lines of context around each change (at most 100000).
    #[arg(long, short = 'U', default_value_t = 3, value_name = "N",
          value_parser = clap::value_parser!(u32).range(..=kiln::diff::MAX_CONTEXT as i64))]
    pub(crate) context: u32,
    /// Only these environments; repeatable.
    #[arg(long = "env", short = 'e', value_name = "NAME")]
    pub(crate) envs: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DiffFormat {
    /// Unified diffs, colored on a terminal.
    Text,
    /// A pull-request comment (at most 65,536 characters).
    Markdown,
    /// Machine-readable (schema kiln.diff/v2, see docs/guide/previews.md).
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// YAML files or directories of manifests [default: the rendered environments].
    #[arg(value_name = "PATH", conflicts_with = "envs")]
    pub(crate) paths: Vec<PathBuf>,
    /// Only these environments; repeatable.
    #[arg(long = "env", short = 'e', value_name = "NAME")]
    pub(crate) envs: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub(crate) format: CheckFormat,
    /// List the rules (ID, severity, what must be true) and exit.
    #[arg(long)]
    pub(crate) list_rules: bool,
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Where to create the repository (created if missing).
    #[arg(value_name = "DIR", default_value = ".")]
    pub(crate) dir: PathBuf,
    /// The Git URL clusters will pull: renders the GitOps wiring (default engine: Argo CD).
    #[arg(long, value_name = "URL")]
    pub(crate) repo_url: Option<String>,
    /// GitOps engine to wire; repeatable.
    #[arg(long, value_enum, requires = "repo_url", value_name = "ENGINE")]
    pub(crate) engine: Vec<Engine>,
    /// Where CI installs kiln from: a Git URL of kiln's source that cargo can build (written into the Makefile as KILN_GIT).
    #[arg(long, value_name = "URL")]
    pub(crate) kiln_git: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ImportSource {
    /// A kustomize directory (built with `kubectl kustomize`) or a file of built YAML.
    Kustomize(ImportArgs),
    /// The values file of Portkey's Helm chart, as an overlay of an existing repository.
    Helm(ImportArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The kustomize directory (or a YAML file `kustomize build` wrote), or the chart's values file.
    #[arg(value_name = "INPUT")]
    pub(crate) input: PathBuf,
    /// The environment the import becomes (overlays/NAME/).
    #[arg(long, short = 'e', value_name = "NAME", default_value = "imported")]
    pub(crate) env: String,
    /// The kiln repository to import into: an existing one gets an overlay, a new one (missing or empty directory) a base.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub(crate) into: PathBuf,
    /// Chart values only: the Helm release to take over in place (its Deployments keep the chart's selector labels, so apply and sync succeed over the live objects).
    #[arg(long, value_name = "NAME")]
    pub(crate) release: Option<String>,
    /// Chart values only: Portkey's chart (a directory or .tgz, e.g. from `helm pull portkey-ai/gateway --version 1.7.7`), rendered with the `helm` on PATH and compared with kiln's render resource by resource, breaking changes first.
    #[arg(long, value_name = "PATH")]
    pub(crate) chart: Option<PathBuf>,
    /// Also write the report as markdown to FILE.
    #[arg(long, value_name = "FILE")]
    pub(crate) report: Option<PathBuf>,
    /// Print the report; write nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Let `kubectl kustomize` fetch the tree's remote resources (off: a remote resource fails the import).
    #[arg(long)]
    pub(crate) allow_remote: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Engine {
    /// Argo CD Applications in out/argocd/.
    Argocd,
    /// Flux GitRepository and Kustomizations in out/flux/.
    Flux,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CheckFormat {
    /// Grouped by file and resource, colored on a terminal.
    Text,
    /// Machine-readable (schema kiln.check/v1, see docs/guide/checks.md).
    Json,
    /// SARIF 2.1.0, for code-scanning upload.
    Sarif,
}

#[derive(Debug, Args)]
pub(crate) struct RouteArgs {
    /// The strategy (file name without .json).
    #[arg(long, short = 's', value_name = "NAME")]
    pub(crate) strategy: String,
    /// The environment whose strategies to use [default: the files of strategies/].
    #[arg(long, short = 'e', value_name = "NAME")]
    pub(crate) env: Option<String>,
    /// A metadata entry of the request (x-portkey-metadata), a string; repeatable.
    #[arg(long, value_name = "KEY=VALUE", value_parser = key_value)]
    pub(crate) metadata: Vec<(String, String)>,
    /// The whole x-portkey-metadata object as JSON, for values of other types
    /// (read as the gateway's JSON.parse reads it: 1e400 is Infinity).
    #[arg(long, value_name = "JSON", value_parser = json_object, conflicts_with = "metadata")]
    pub(crate) metadata_json: Option<kiln::model::js::Object>,
    /// A request body parameter; the value is read as JSON where it parses (8000, true), else as a string.
    #[arg(long, value_name = "KEY=VALUE", value_parser = key_value)]
    pub(crate) param: Vec<(String, String)>,
    /// The request path.
    #[arg(long, value_name = "PATH", default_value = "/v1/chat/completions")]
    pub(crate) path: String,
}

fn json_object(s: &str) -> Result<kiln::model::js::Object, String> {
    match kiln::model::js::parse(s) {
        Ok(kiln::model::js::Value::Object(map)) => Ok(map),
        Ok(_) => Err("expected a JSON object ({…})".into()),
        Err(e) => Err(format!("not JSON {e}")),
    }
}

fn key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("expected KEY=VALUE, got `{s}`"))
}

#[derive(Debug, Args)]
pub(crate) struct RenderArgs {
    /// Environment to render; repeat for several.
    #[arg(long = "env", short = 'e', value_name = "NAME")]
    pub(crate) envs: Vec<String>,

    /// Write nothing; exit 1 and list the files of out/ that differ from a fresh render.
    #[arg(long)]
    pub(crate) check: bool,
}

/// Whether stdout gets ANSI colors.
pub(crate) fn stdout_color(cli: &Cli) -> kiln::model::emit::Color {
    let ansi = match cli.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    if ansi {
        kiln::model::emit::Color::Ansi
    } else {
        kiln::model::emit::Color::Plain
    }
}

/// The repository `--repo` names, or the nearest one above the working directory.
pub(crate) fn open_repo(cli: &Cli) -> kiln::Result<Repo> {
    match &cli.repo {
        Some(dir) => Repo::open(dir),
        None => Repo::discover(std::env::current_dir().map_err(|e| kiln::Error::Io {
            path: ".".into(),
            source: e,
        })?),
    }
}
