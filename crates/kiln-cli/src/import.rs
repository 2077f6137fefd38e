//! `kiln import`: a kustomize tree or Helm values into a kiln repository.

use crate::cli::{Cli, ImportSource};
use crate::print::shown;
use std::io::Write as _;
use std::process::ExitCode;

pub(crate) fn import(cli: &Cli, source: &ImportSource) -> kiln::Result<ExitCode> {
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
