//! `kiln`: a thin command line over the kiln library.

use clap::Parser;
use cli::{Cli, Color, Command};
use std::io::{IsTerminal, Write as _};
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

macro_rules! errln {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod check;
mod cli;
mod diff;
mod help_pages;
mod import;
mod init;
mod print;
mod render;
mod strategies;

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

fn run(cli: &Cli) -> kiln::Result<ExitCode> {
    match &cli.command {
        Command::Check(args) => return check::check(cli, args),
        Command::Init(args) => return init::init(cli, args),
        Command::Import(source) => return import::import(cli, source),
        Command::Completions { shell } => return Ok(help_pages::completions(*shell)),
        Command::Man { command } => return help_pages::man_page(command.as_deref()),
        _ => {}
    }
    let repo = cli::open_repo(cli)?;
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
        Command::Render(args) => render::render(cli, &repo, args),
        Command::Diff(args) => diff::diff(cli, &repo, args),
        Command::Strategies { env, header } => match header {
            Some(name) => strategies::strategy_header(&repo, env.as_deref(), name),
            None => strategies::strategies(&repo, env.as_deref()),
        },
        Command::Route(args) => strategies::route(&repo, args),
    }
}
