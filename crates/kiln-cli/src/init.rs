//! `kiln init`: a new GitOps repository.

use crate::cli::{Cli, Engine, InitArgs};
use std::io::Write as _;
use std::process::ExitCode;

pub(crate) fn init(cli: &Cli, args: &InitArgs) -> kiln::Result<ExitCode> {
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
