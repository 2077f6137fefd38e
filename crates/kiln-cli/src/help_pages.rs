//! `kiln completions` and `kiln man`: generated from the command line's definitions.

use crate::cli::Cli;

use crate::print::not_found;
use clap::CommandFactory;
use std::io::Write as _;
use std::process::ExitCode;

pub(crate) fn completions(shell: clap_complete::Shell) -> ExitCode {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "kiln", &mut script);
    let _ = std::io::stdout().write_all(&script);
    ExitCode::SUCCESS
}

pub(crate) fn man_page(command: Option<&str>) -> kiln::Result<ExitCode> {
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
