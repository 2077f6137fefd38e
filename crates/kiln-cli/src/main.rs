//! `kiln`: a thin command line over the kiln library.

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use kiln::Repo;
use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// Output never panics: on a closed pipe (`kiln … | head -1`) the rest is dropped
// and the exit status stays what the command decided.
macro_rules! out {
    ($($arg:tt)*) => {{
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}
macro_rules! outln {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}
/// Text from a pull request as kiln prints it: on one line, never starting
/// one (see `kiln::emit::printable`).
fn shown(s: &str) -> std::borrow::Cow<'_, str> {
    kiln::emit::printable(s)
}

macro_rules! errln {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

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
struct Cli {
    /// Repository root [default: the nearest directory above the working
    /// directory that has base/ and overlays/].
    #[arg(long, global = true, value_name = "DIR")]
    repo: Option<PathBuf>,

    /// When to color output.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    color: Color,

    /// Print only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,

    /// Print every file written or compared.
    #[arg(short, long, global = true)]
    verbose: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
enum Command {
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
struct DiffArgs {
    /// Compare against the inputs at this git revision (branch, tag, commit).
    #[arg(long, value_name = "REF")]
    base: Option<String>,
    /// With --base: the other side [default: the working tree].
    #[arg(long, value_name = "REF", requires = "base")]
    head: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    format: DiffFormat,
    /// Lines of context around each change (at most 100000).
    #[arg(long, short = 'U', default_value_t = 3, value_name = "N",
          value_parser = clap::value_parser!(u32).range(..=kiln::diff::MAX_CONTEXT as i64))]
    context: u32,
    /// Only these environments; repeatable.
    #[arg(long = "env", short = 'e', value_name = "NAME")]
    envs: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DiffFormat {
    /// Unified diffs, colored on a terminal.
    Text,
    /// A pull-request comment (at most 65,536 characters).
    Markdown,
    /// Machine-readable (schema kiln.diff/v2, see docs/guide/previews.md).
    Json,
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// YAML files or directories of manifests [default: the rendered environments].
    #[arg(value_name = "PATH", conflicts_with = "envs")]
    paths: Vec<PathBuf>,
    /// Only these environments; repeatable.
    #[arg(long = "env", short = 'e', value_name = "NAME")]
    envs: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    format: CheckFormat,
    /// List the rules (ID, severity, what must be true) and exit.
    #[arg(long)]
    list_rules: bool,
}

#[derive(Debug, Args)]
struct InitArgs {
    /// Where to create the repository (created if missing).
    #[arg(value_name = "DIR", default_value = ".")]
    dir: PathBuf,
    /// The Git URL clusters will pull: renders the GitOps wiring (default engine: Argo CD).
    #[arg(long, value_name = "URL")]
    repo_url: Option<String>,
    /// GitOps engine to wire; repeatable.
    #[arg(long, value_enum, requires = "repo_url", value_name = "ENGINE")]
    engine: Vec<Engine>,
    /// Where CI installs kiln from: a Git URL of kiln's source that cargo can build (written into the Makefile as KILN_GIT).
    #[arg(long, value_name = "URL")]
    kiln_git: Option<String>,
}

#[derive(Debug, Subcommand)]
enum ImportSource {
    /// A kustomize directory (built with `kubectl kustomize`) or a file of built YAML.
    Kustomize(ImportArgs),
    /// The values file of Portkey's Helm chart, as an overlay of an existing repository.
    Helm(ImportArgs),
}

#[derive(Debug, Args)]
struct ImportArgs {
    /// The kustomize directory (or a YAML file `kustomize build` wrote), or the chart's values file.
    #[arg(value_name = "INPUT")]
    input: PathBuf,
    /// The environment the import becomes (overlays/NAME/).
    #[arg(long, short = 'e', value_name = "NAME", default_value = "imported")]
    env: String,
    /// The kiln repository to import into: an existing one gets an overlay, a new one (missing or empty directory) a base.
    #[arg(long, value_name = "DIR", default_value = ".")]
    into: PathBuf,
    /// Chart values only: the Helm release to take over in place (its Deployments keep the chart's selector labels, so apply and sync succeed over the live objects).
    #[arg(long, value_name = "NAME")]
    release: Option<String>,
    /// Chart values only: Portkey's chart (a directory or .tgz, e.g. from `helm pull portkey-ai/gateway --version 1.7.7`), rendered with the `helm` on PATH and compared with kiln's render resource by resource, breaking changes first.
    #[arg(long, value_name = "PATH")]
    chart: Option<PathBuf>,
    /// Also write the report as markdown to FILE.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Print the report; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Let `kubectl kustomize` fetch the tree's remote resources (off: a remote resource fails the import).
    #[arg(long)]
    allow_remote: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Engine {
    /// Argo CD Applications in out/argocd/.
    Argocd,
    /// Flux GitRepository and Kustomizations in out/flux/.
    Flux,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CheckFormat {
    /// Grouped by file and resource, colored on a terminal.
    Text,
    /// Machine-readable (schema kiln.check/v1, see docs/guide/checks.md).
    Json,
    /// SARIF 2.1.0, for code-scanning upload.
    Sarif,
}

#[derive(Debug, Args)]
struct RouteArgs {
    /// The strategy (file name without .json).
    #[arg(long, short = 's', value_name = "NAME")]
    strategy: String,
    /// The environment whose strategies to use [default: the files of strategies/].
    #[arg(long, short = 'e', value_name = "NAME")]
    env: Option<String>,
    /// A metadata entry of the request (x-portkey-metadata), a string; repeatable.
    #[arg(long, value_name = "KEY=VALUE", value_parser = key_value)]
    metadata: Vec<(String, String)>,
    /// The whole x-portkey-metadata object as JSON, for values of other types
    /// (read as the gateway's JSON.parse reads it: 1e400 is Infinity).
    #[arg(long, value_name = "JSON", value_parser = json_object, conflicts_with = "metadata")]
    metadata_json: Option<kiln::js::Object>,
    /// A request body parameter; the value is read as JSON where it parses (8000, true), else as a string.
    #[arg(long, value_name = "KEY=VALUE", value_parser = key_value)]
    param: Vec<(String, String)>,
    /// The request path.
    #[arg(long, value_name = "PATH", default_value = "/v1/chat/completions")]
    path: String,
}

fn json_object(s: &str) -> Result<kiln::js::Object, String> {
    match kiln::js::parse(s) {
        Ok(kiln::js::Value::Object(map)) => Ok(map),
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
struct RenderArgs {
    /// Environment to render; repeat for several.
    #[arg(long = "env", short = 'e', value_name = "NAME")]
    envs: Vec<String>,

    /// Write nothing; exit 1 and list the files of out/ that differ from a fresh render.
    #[arg(long)]
    check: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let tty = std::io::stderr().is_terminal();
    let color = match cli.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => tty && std::env::var_os("NO_COLOR").is_none(),
    };
    // Unwrapped lines off a terminal, so CI logs can be searched for the file and pointer.
    let _ = miette::set_hook(Box::new(move |_| {
        Box::new(
            miette::MietteHandlerOpts::new()
                .color(color)
                .wrap_lines(tty)
                .build(),
        )
    }));
    match run(&cli) {
        Ok(code) => code,
        Err(err) => {
            errln!("{:?}", miette::Report::new(err));
            ExitCode::from(2)
        }
    }
}

fn open_repo(cli: &Cli) -> kiln::Result<Repo> {
    match &cli.repo {
        Some(dir) => Repo::open(dir),
        None => Repo::discover(std::env::current_dir().map_err(|e| kiln::Error::Io {
            path: ".".into(),
            source: e,
        })?),
    }
}

fn run(cli: &Cli) -> kiln::Result<ExitCode> {
    match &cli.command {
        Command::Check(args) => return check(cli, args),
        Command::Init(args) => return init(cli, args),
        Command::Import(source) => return import(cli, source),
        Command::Completions { shell } => return Ok(completions(*shell)),
        Command::Man { command } => return man_page(command.as_deref()),
        _ => {}
    }
    let repo = open_repo(cli)?;
    match &cli.command {
        Command::Check(_)
        | Command::Init(_)
        | Command::Import(_)
        | Command::Completions { .. }
        | Command::Man { .. } => {
            unreachable!("handled above: no repository needed")
        }
        Command::Envs => {
            for env in repo.environments() {
                outln!("{env}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Render(args) => render(cli, &repo, args),
        Command::Diff(args) => diff(cli, &repo, args),
        Command::Strategies { env, header } => match header {
            Some(name) => strategy_header(&repo, env.as_deref(), name),
            None => strategies(&repo, env.as_deref()),
        },
        Command::Route(args) => route(&repo, args),
    }
}

fn completions(shell: clap_complete::Shell) -> ExitCode {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "kiln", &mut script);
    let _ = std::io::stdout().write_all(&script);
    ExitCode::SUCCESS
}

fn man_page(command: Option<&str>) -> kiln::Result<ExitCode> {
    let mut kiln = Cli::command();
    kiln.build();
    let page = match command {
        None => kiln,
        Some(name) => match kiln.find_subcommand(name) {
            Some(sub) => sub.clone(),
            None => {
                let names: Vec<&str> = kiln.get_subcommands().map(|c| c.get_name()).collect();
                not_found("command", name, &names);
                return Ok(ExitCode::from(2));
            }
        },
    };
    let mut roff = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut roff)
        .map_err(|e| kiln::Error::io("the man page", e))?;
    let _ = std::io::stdout().write_all(&roff);
    Ok(ExitCode::SUCCESS)
}

fn init(cli: &Cli, args: &InitArgs) -> kiln::Result<ExitCode> {
    let options = kiln::init::Options {
        repo_url: args.repo_url.clone(),
        argocd: args.engine.contains(&Engine::Argocd),
        flux: args.engine.contains(&Engine::Flux),
        kiln_git: args.kiln_git.clone(),
    };
    let files = kiln::init::init(&args.dir, &options)?;
    if !cli.quiet {
        for f in &files {
            errln!("{:>10} {}", "created", args.dir.join(f).display());
        }
        errln!(
            "\nmake render, make check and make diff run the kiln on your PATH (at least {}).",
            env!("CARGO_PKG_VERSION")
        );
        match options.kiln_git.as_deref().or(kiln::init::KILN_SOURCE) {
            Some(source) => errln!(
                "CI installs kiln {} from {source} (KILN_GIT in the Makefile).",
                env!("CARGO_PKG_VERSION")
            ),
            None => errln!(
                "warning: CI does not know where to install kiln from: set KILN_GIT in the Makefile to a Git URL of kiln's source (or run kiln init --kiln-git URL)"
            ),
        }
        errln!(
            "\nNext: edit the lines marked CHANGE ME, then\n  cd {} && make render   # writes out/; commit everything",
            args.dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn import(cli: &Cli, source: &ImportSource) -> kiln::Result<ExitCode> {
    let (ImportSource::Kustomize(args) | ImportSource::Helm(args)) = source;
    let network = if args.allow_remote {
        kiln::import::Network::On
    } else {
        kiln::import::Network::Off
    };
    let options = kiln::import::Options {
        into: args.into.clone(),
        env: args.env.clone(),
        network,
        adopt: args.release.clone(),
        chart: args.chart.clone(),
    };
    let import = match source {
        ImportSource::Kustomize(_) => {
            if !cli.quiet && args.input.is_dir() {
                errln!(
                    "building {} with kubectl kustomize (network {}) …",
                    shown(&args.input.to_string_lossy()),
                    if args.allow_remote {
                        "on"
                    } else {
                        "off: --allow-remote to fetch remote resources"
                    }
                );
            }
            let started = std::time::Instant::now();
            let import = kiln::import::kustomize(&args.input, &options)?;
            if !cli.quiet {
                errln!(
                    "built, recognised and compared with kiln's render in {:.1} s",
                    started.elapsed().as_secs_f64()
                );
            }
            import
        }
        ImportSource::Helm(_) => kiln::import::helm(&args.input, &options)?,
    };
    if let Some(file) = &args.report {
        import.write_report(file)?;
    }
    outln!("{}", kiln::import::text(&import));
    if args.dry_run {
        return Ok(ExitCode::SUCCESS);
    }
    let files = import.write()?;
    if !cli.quiet {
        for f in &files {
            errln!("{:>10} {}", "created", args.into.join(f).display());
        }
        errln!("\nNext: review the report, then `kiln render` writes out/ (commit everything).");
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether stdout gets ANSI colors.
fn stdout_color(cli: &Cli) -> bool {
    match cli.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    }
}

/// The findings of a repository's environments (all, or `only`), with the
/// GitOps wiring when all are checked.
fn check(cli: &Cli, args: &CheckArgs) -> kiln::Result<ExitCode> {
    use kiln::check::report;
    if args.list_rules {
        for r in kiln::check::RULES {
            outln!("{:<26} {:<8} {}", r.id, r.severity.as_str(), r.summary);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let cwd = std::env::current_dir().map_err(|e| kiln::Error::io(".", e))?;
    // Files are relative to `base`: the repository's root, or the working directory.
    let (base, findings) = if args.paths.is_empty() {
        let repo = open_repo(cli)?;
        let base = cwd.join(repo.root());
        (base, kiln::check_repo(&repo, &args.envs)?)
    } else {
        // A repository root among the paths is checked as kiln renders it, not as manifests.
        let (roots, manifests): (Vec<&PathBuf>, Vec<&PathBuf>) =
            args.paths.iter().partition(|p| Repo::is_root(p));
        let mut all = Vec::new();
        for root in roots {
            let found = kiln::check_repo(&Repo::open(root)?, &args.envs)?;
            all.extend(found.into_iter().map(|mut f| {
                let joined = root.join(&f.file);
                f.file = joined
                    .strip_prefix(".")
                    .map_or(joined.clone(), std::path::Path::to_path_buf);
                f
            }));
        }
        if !manifests.is_empty() {
            let manifests: Vec<PathBuf> = manifests.into_iter().cloned().collect();
            let loaded = kiln::manifests::read(&manifests)?;
            for link in &loaded.skipped {
                errln!(
                    "warning: {}: a symlink, not followed and not checked",
                    kiln::emit::printable(&link.to_string_lossy())
                );
            }
            all.extend(kiln::check::check(&loaded.manifests));
        }
        (cwd, all)
    };
    match args.format {
        CheckFormat::Text => out!("{}", report::text(&findings, stdout_color(cli))),
        CheckFormat::Json => out!("{}", kiln::emit::json(&report::json(&findings))),
        CheckFormat::Sarif => out!("{}", kiln::emit::json(&report::sarif(&findings, &base))),
    }
    Ok(if kiln::check::has_errors(&findings) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn diff(cli: &Cli, repo: &Repo, args: &DiffArgs) -> kiln::Result<ExitCode> {
    use kiln::diff::{between, snapshot, snapshot_of_out};
    let revision = |rev: &str| kiln::git::revision(repo.root(), rev);
    let context = args.context as usize;
    let mut diff = match (&args.base, &args.head) {
        (None, _) => kiln::diff::diff(
            &snapshot_of_out(&repo.out_dir())?,
            &snapshot(kiln::render_repo(repo)?.environments()),
            context,
        ),
        (Some(base), None) => between(revision(base)?.repo(), repo, context)?,
        (Some(base), Some(head)) => {
            let (base, head) = std::thread::scope(|s| {
                let base = s.spawn(|| revision(base));
                let head = revision(head);
                (
                    base.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
                    head,
                )
            });
            between(base?.repo(), head?.repo(), context)?
        }
    };
    if !args.envs.is_empty() {
        diff.environments.retain(|e| args.envs.contains(&e.env));
    }
    match args.format {
        DiffFormat::Text => out!("{}", kiln::diff::text(&diff, stdout_color(cli))),
        DiffFormat::Markdown => {
            out!("{}", kiln::diff::markdown(&diff, kiln::diff::COMMENT_LIMIT))
        }
        DiffFormat::Json => out!("{}", kiln::emit::json(&kiln::diff::json(&diff))),
    }
    Ok(if diff.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The strategies of `env`, or of strategies/ when no environment is named.
fn strategy_set(
    repo: &Repo,
    env: Option<&str>,
) -> kiln::Result<Vec<std::sync::Arc<kiln::strategy::Strategy>>> {
    match env {
        Some(name) => Ok(repo.environment(name)?.strategies),
        None => Ok(repo.strategies().to_vec()),
    }
}

fn strategies(repo: &Repo, env: Option<&str>) -> kiln::Result<ExitCode> {
    let secret_env = env
        .map(|name| repo.environment(name))
        .transpose()?
        .map(|e| {
            e.description
                .secrets
                .keys
                .iter()
                .map(|k| k.env.clone())
                .collect::<Vec<_>>()
        });
    let mut errors = false;
    for s in strategy_set(repo, env)? {
        outln!("{}  ({})", s.name, s.parsed.mode().as_str());
        let env_flag = env.map(|e| format!(" --env {e}")).unwrap_or_default();
        outln!("  header:  kiln strategies{env_flag} --header {}", s.name);
        for (i, t) in s.parsed.targets().iter().enumerate() {
            outln!("  target:  {}", t.label(i));
        }
        if s.parsed.targets().is_empty() {
            outln!("  target:  {}", s.parsed.label(0));
        }
        for f in kiln::strategy::validate(&s.parsed, &s.config, secret_env.as_deref()) {
            errors |= f.severity == kiln::rules::Severity::Error;
            outln!(
                "  {:?}: {} at {}: {}",
                f.severity,
                s.file.display(),
                shown(&f.pointer),
                shown(&f.message)
            );
        }
    }
    Ok(if errors {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `kiln strategies --header NAME`: the one line a client sends.
fn strategy_header(repo: &Repo, env: Option<&str>, name: &str) -> kiln::Result<ExitCode> {
    let set = strategy_set(repo, env)?;
    match set.iter().find(|s| s.name == name) {
        Some(s) => {
            outln!("{}", s.header());
            Ok(ExitCode::SUCCESS)
        }
        None => {
            no_such_strategy(&set, name);
            Ok(ExitCode::from(2))
        }
    }
}

fn no_such_strategy(set: &[std::sync::Arc<kiln::strategy::Strategy>], name: &str) {
    let names: Vec<&str> = set.iter().map(|s| s.name.as_str()).collect();
    not_found("strategy", name, &names);
}

/// "no strategy `x` (did you mean `y`?); there are: …" on stderr.
fn not_found(what: &str, name: &str, names: &[&str]) {
    let hint = kiln::closest(name, names.iter().copied())
        .map(|c| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default();
    errln!("no {what} `{name}`{hint}; there are: {}", names.join(", "));
}

fn route(repo: &Repo, args: &RouteArgs) -> kiln::Result<ExitCode> {
    let set = strategy_set(repo, args.env.as_deref())?;
    let Some(strategy) = set.iter().find(|s| s.name == args.strategy) else {
        no_such_strategy(&set, &args.strategy);
        return Ok(ExitCode::from(2));
    };
    let request = kiln::route::Request {
        metadata: args.metadata_json.clone().unwrap_or_else(|| {
            args.metadata
                .iter()
                .map(|(k, v)| (k.as_str().into(), v.as_str().into()))
                .collect()
        }),
        params: args
            .param
            .iter()
            .map(|(k, v)| {
                let value = kiln::js::parse(v).unwrap_or_else(|_| v.as_str().into());
                (k.as_str().into(), value)
            })
            .collect(),
        path: args.path.clone(),
    };
    // What render refuses, route refuses too: its answer would be about a config that never ships.
    let errors: Vec<_> = kiln::strategy::validate(&strategy.parsed, &strategy.config, None)
        .into_iter()
        .filter(|f| f.severity == kiln::rules::Severity::Error)
        .collect();
    if !errors.is_empty() {
        for f in &errors {
            errln!(
                "error: {} at {}: {}",
                strategy.file.display(),
                shown(&f.pointer),
                shown(&f.message)
            );
        }
        errln!("`kiln render` refuses this strategy; fix it before routing requests through it");
        return Ok(ExitCode::from(2));
    }
    outln!(
        "{} ({}; send it with: kiln strategies{} --header {})",
        strategy.name,
        strategy.parsed.mode().as_str(),
        args.env
            .as_deref()
            .map(|e| format!(" --env {e}"))
            .unwrap_or_default(),
        strategy.name
    );
    match kiln::route::route(&strategy.parsed, &request) {
        Ok(decision) => {
            out!("{decision}");
            Ok(ExitCode::SUCCESS)
        }
        Err(message) => {
            outln!("✗ {}", shown(&message));
            Ok(ExitCode::from(1))
        }
    }
}

fn render(cli: &Cli, repo: &Repo, args: &RenderArgs) -> kiln::Result<ExitCode> {
    // All environments come with the GitOps wiring; a chosen few leave the rest of out/ alone.
    let rendering = if args.envs.is_empty() {
        kiln::render_repo(repo)?
    } else {
        let mut names = args.envs.clone();
        names.sort();
        names.dedup();
        kiln::render_all(repo, &names)?
    };
    let out = repo.out_dir();
    let code = if args.check {
        render_check(cli, &out, &rendering)
    } else {
        write_out(cli, &out, &rendering)
    };
    // Freeing thousands of resources one by one just before exit is work the OS does at once.
    std::mem::forget(rendering);
    code
}

fn write_out(
    cli: &Cli,
    out: &std::path::Path,
    rendering: &kiln::Rendering,
) -> kiln::Result<ExitCode> {
    if kiln::write::busy(out) && !cli.quiet {
        errln!("waiting for another kiln process to finish writing out/ …");
    }
    let report = kiln::write(out, rendering)?;
    if !cli.quiet {
        print_warnings_and_findings(rendering.environments());
        print_written(cli, rendering.environments(), &report);
    }
    Ok(ExitCode::SUCCESS)
}

/// `render --check`: the files of out/ that differ from a fresh render; exit 1 if any.
fn render_check(
    cli: &Cli,
    out: &std::path::Path,
    rendering: &kiln::Rendering,
) -> kiln::Result<ExitCode> {
    let differences = kiln::compare(out, rendering)?;
    if differences.is_empty() {
        if !cli.quiet {
            errln!(
                "out/ is up to date ({} directories)",
                rendering.environments().len()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    for d in &differences {
        outln!("{:<8} out/{}", d.kind, shown(&d.path.to_string_lossy()));
    }
    if !cli.quiet {
        errln!(
            "{} file(s) in out/ differ from a fresh render: run `kiln render` (or `make render`) and commit out/",
            differences.len()
        );
    }
    Ok(ExitCode::from(1))
}

/// Strategy warnings (once each) and the findings that did not stop the render.
fn print_warnings_and_findings(rendered: &[kiln::Rendered]) {
    let mut seen = std::collections::BTreeSet::new();
    for r in rendered {
        for (file, f) in &r.warnings {
            if seen.insert((file.clone(), f.pointer.clone())) {
                errln!(
                    "warning: {} at {}: {}",
                    file.display(),
                    f.pointer,
                    f.message
                );
            }
        }
    }
    for f in rendered.iter().flat_map(|r| &r.findings) {
        let level = if f.suppressed.is_some() {
            "suppressed"
        } else {
            f.severity().as_str()
        };
        let why = f
            .suppressed
            .as_deref()
            .map_or(String::new(), |r| format!(" (reason: {r})"));
        errln!(
            "{level}: {}:{} {} [{}] {}{why}",
            f.file.display(),
            f.line,
            f.object,
            f.rule.id,
            f.message
        );
    }
}

/// What happened to each directory of out/.
fn print_written(cli: &Cli, rendered: &[kiln::Rendered], report: &kiln::WriteReport) {
    for r in rendered {
        let state = if report.written.contains(&r.env) {
            "rendered"
        } else {
            "up to date"
        };
        errln!(
            "{state:>10} {} → out/{}/ ({} resources)",
            r.env,
            r.env,
            r.resources.len()
        );
        if cli.verbose {
            for f in &r.files {
                errln!("{:>10} out/{}/{}", "", r.env, f.name);
            }
        }
    }
    for env in &report.pruned {
        errln!(
            "{:>10} out/{}/ (environment no longer exists)",
            "pruned",
            shown(env)
        );
    }
}
