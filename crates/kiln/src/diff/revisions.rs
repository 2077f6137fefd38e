//! The diffs `kiln diff` shows: a fresh render against out/, or two
//! revisions of a repository (either one the working tree).

use super::{Diff, between, diff, snapshot, snapshot_of_out};
use crate::error::Result;
use crate::git;
use crate::load::Repo;
use crate::render::render_repo;
use crate::selection::Selection;

/// What a fresh render of `repo` changes in the files of its out/, for the
/// selected environments: what `kiln render` would write.
///
/// ```
/// # fn main() -> Result<(), kiln::Error> {
/// let repo = kiln::Repo::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))?;
/// assert!(kiln::diff::against_out(&repo, &kiln::Selection::All, 3)?.is_empty());
/// # Ok(()) }
/// ```
pub fn against_out(repo: &Repo, selection: &Selection, context: usize) -> Result<Diff> {
    // out/ holds the GitOps wiring beside the environments, and `--env argocd`
    // selects it: render everything, then keep what is selected.
    let rendered = render_repo(repo, &Selection::All)?;
    let mut found = diff(
        &snapshot_of_out(&repo.out_dir())?,
        &snapshot(rendered.environments()),
        context,
    );
    found.select(selection);
    Ok(found)
}

/// What changes from revision `base` of `repo` to `head` (another revision,
/// or `None`: the working tree), for the selected environments. Revisions are
/// read from git (see [`crate::git::revision`]), both at once.
///
/// ```no_run
/// # fn main() -> Result<(), kiln::Error> {
/// let repo = kiln::Repo::discover(".")?;
/// let change = kiln::diff::revisions(&repo, "origin/main", None, &kiln::Selection::All, 3)?;
/// print!("{}", kiln::diff::markdown(&change, kiln::diff::COMMENT_LIMIT));
/// # Ok(()) }
/// ```
pub fn revisions(
    repo: &Repo,
    base: &str,
    head: Option<&str>,
    selection: &Selection,
    context: usize,
) -> Result<Diff> {
    let revision = |rev: &str| git::revision(repo.root(), rev);
    let mut found = match head {
        None => between(revision(base)?.repo(), repo, context)?,
        Some(head) => {
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
    found.select(selection);
    Ok(found)
}
