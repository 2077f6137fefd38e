//! `kiln check`: the rules on a repository's environments or on any manifests.

use crate::cli::{CheckArgs, CheckFormat, Cli, open_repo, stdout_color};
use kiln::Repo;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

/// The findings of a repository's environments (all, or `only`), with the
/// GitOps wiring when all are checked.
pub(crate) fn check(cli: &Cli, args: &CheckArgs) -> kiln::Result<ExitCode> {
    use kiln::rules::report;
    if args.list_rules {
        for r in kiln::rules::RULES {
            outln!("{:<26} {:<8} {}", r.id, r.severity.as_str(), r.summary);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let cwd = std::env::current_dir().map_err(|e| kiln::Error::io(".", e))?;
    // Files are relative to `base`: the repository's root, or the working directory.
    let (base, findings) = if args.paths.is_empty() {
        let repo = open_repo(cli)?;
        let base = cwd.join(repo.root());
        (
            base,
            kiln::check_repo(&repo, &kiln::Selection::of(&args.envs))?,
        )
    } else {
        // A repository root among the paths is checked as kiln renders it, not as manifests.
        let (roots, manifests): (Vec<&PathBuf>, Vec<&PathBuf>) =
            args.paths.iter().partition(|p| Repo::is_root(p));
        let mut all = Vec::new();
        for root in roots {
            let found = kiln::check_repo(&Repo::open(root)?, &kiln::Selection::of(&args.envs))?;
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
                    kiln::model::emit::printable(&link.to_string_lossy())
                );
            }
            all.extend(kiln::rules::check(&loaded.manifests));
        }
        (cwd, all)
    };
    match args.format {
        CheckFormat::Text => out!("{}", report::text(&findings, stdout_color(cli))),
        CheckFormat::Json => out!("{}", kiln::model::emit::json(&report::json(&findings))),
        CheckFormat::Sarif => out!(
            "{}",
            kiln::model::emit::json(&report::sarif(&findings, &base))
        ),
    }
    Ok(if kiln::rules::has_errors(&findings) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
