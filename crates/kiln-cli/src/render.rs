//! `kiln render`: write out/, or compare it with a fresh render (`--check`).

use crate::cli::{Cli, RenderArgs};
use crate::print::shown;
use kiln::Repo;
use std::io::Write as _;
use std::process::ExitCode;

pub(crate) fn render(cli: &Cli, repo: &Repo, args: &RenderArgs) -> kiln::Result<ExitCode> {
    let rendering = kiln::render_repo(repo, &kiln::Selection::of(&args.envs))?;
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
    rendering: &kiln::RenderOutput,
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
    rendering: &kiln::RenderOutput,
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
fn print_warnings_and_findings(rendered: &[kiln::EnvironmentOutput]) {
    let mut seen = std::collections::BTreeSet::new();
    for r in rendered {
        for (file, f) in r.warnings() {
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
    for f in rendered.iter().flat_map(|r| r.findings()) {
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
fn print_written(cli: &Cli, rendered: &[kiln::EnvironmentOutput], report: &kiln::WriteReport) {
    for r in rendered {
        let state = if report.written.iter().any(|w| w == r.env()) {
            "rendered"
        } else {
            "up to date"
        };
        errln!(
            "{state:>10} {} → out/{}/ ({} resources)",
            r.env(),
            r.env(),
            r.resources().len()
        );
        if cli.verbose {
            for f in r.files() {
                errln!("{:>10} out/{}/{}", "", r.env(), f.name());
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
