//! `kiln diff`: what a change does to every environment.

use crate::cli::{Cli, DiffArgs, DiffFormat, stdout_color};
use kiln::Repo;
use std::io::Write as _;
use std::process::ExitCode;

pub(crate) fn diff(cli: &Cli, repo: &Repo, args: &DiffArgs) -> kiln::Result<ExitCode> {
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
