//! `kiln`: a thin command line over the kiln library.

use clap::{Args, Parser, Subcommand, ValueEnum};
use kiln::{Prune, Rendered, Repo};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

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
  kiln envs                   list environments

Exit status: 0 ok, 1 --check found differences, 2 bad input or usage."
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
    /// List the environments (directories of overlays/).
    Envs,
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
            eprintln!("{:?}", miette::Report::new(err));
            ExitCode::from(2)
        }
    }
}

fn run(cli: &Cli) -> kiln::Result<ExitCode> {
    let repo = match &cli.repo {
        Some(dir) => Repo::open(dir)?,
        None => Repo::discover(std::env::current_dir().map_err(|e| kiln::Error::Io {
            path: ".".into(),
            source: e,
        })?)?,
    };
    match &cli.command {
        Command::Envs => {
            for env in repo.environments() {
                println!("{env}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Render(args) => render(cli, &repo, args),
    }
}

fn render(cli: &Cli, repo: &Repo, args: &RenderArgs) -> kiln::Result<ExitCode> {
    let (names, prune) = if args.envs.is_empty() {
        (repo.environments().to_vec(), Prune::Stale)
    } else {
        let mut names = args.envs.clone();
        names.sort();
        names.dedup();
        (names, Prune::Keep)
    };
    let rendered = names
        .iter()
        .map(|name| kiln::render(&repo.environment(name)?))
        .collect::<kiln::Result<Vec<Rendered>>>()?;
    let out = repo.out_dir();

    if args.check {
        let differences = kiln::check(&out, &rendered, prune)?;
        if differences.is_empty() {
            if !cli.quiet {
                eprintln!("out/ is up to date ({} environments)", rendered.len());
            }
            return Ok(ExitCode::SUCCESS);
        }
        for d in &differences {
            println!("{:<8} out/{}", d.kind, d.path.display());
        }
        if !cli.quiet {
            eprintln!(
                "{} file(s) in out/ differ from a fresh render: run `kiln render` (or `make render`) and commit out/",
                differences.len()
            );
        }
        return Ok(ExitCode::from(1));
    }

    let report = kiln::write(&out, &rendered, prune)?;
    if !cli.quiet {
        for r in &rendered {
            let state = if report.written.contains(&r.env) {
                "rendered"
            } else {
                "up to date"
            };
            eprintln!(
                "{state:>10} {} → out/{}/ ({} resources)",
                r.env,
                r.env,
                r.resources.len()
            );
            if cli.verbose {
                for f in &r.files {
                    eprintln!("{:>10} out/{}/{}", "", r.env, f.name);
                }
            }
        }
        for env in &report.pruned {
            eprintln!("{:>10} out/{env}/ (environment no longer exists)", "pruned");
        }
    }
    Ok(ExitCode::SUCCESS)
}
