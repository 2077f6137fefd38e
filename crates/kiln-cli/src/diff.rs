//! `kiln diff`: what a change does to every environment.

use crate::cli::{Cli, DiffArgs, DiffFormat, stdout_color};
use kiln::Repo;
use std::io::Write as _;
use std::process::ExitCode;

pub(crate) fn diff(cli: &Cli, repo: &Repo, args: &DiffArgs) -> kiln::Result<ExitCode> {
    let selection = kiln::Selection::of(&args.envs);
    let context = args.context as usize;
    let diff = match &args.base {
        None => kiln::diff::against_out(repo, &selection, context)?,
        Some(base) => kiln::diff::revisions(repo, base, args.head.as_deref(), &selection, context)?,
    };
    match args.format {
        DiffFormat::Text => out!("{}", kiln::diff::text(&diff, stdout_color(cli))),
        DiffFormat::Markdown => {
            out!("{}", kiln::diff::markdown(&diff, kiln::diff::COMMENT_LIMIT))
        }
        DiffFormat::Json => out!("{}", kiln::model::emit::json(&kiln::diff::json(&diff))),
    }
    Ok(if diff.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
