//! `kiln strategies` and `kiln route`: the strategies, their headers, and where a request goes.

use crate::cli::RouteArgs;

use crate::print::{not_found, shown};
use kiln::Repo;
use std::io::Write as _;
use std::process::ExitCode;

/// The strategies of `env`, or of strategies/ when no environment is named.
fn strategy_set(
    repo: &Repo,
    env: Option<&str>,
) -> kiln::Result<Vec<std::sync::Arc<kiln::model::strategy::Strategy>>> {
    match env {
        Some(name) => Ok(repo.environment(name)?.strategies().to_vec()),
        None => Ok(repo.strategies().to_vec()),
    }
}

pub(crate) fn strategies(repo: &Repo, env: Option<&str>) -> kiln::Result<ExitCode> {
    let secret_env = env
        .map(|name| repo.environment(name))
        .transpose()?
        .map(|e| {
            e.description()
                .secrets
                .keys
                .iter()
                .map(|k| k.env.clone())
                .collect::<Vec<_>>()
        });
    let mut errors = false;
    for s in strategy_set(repo, env)? {
        outln!("{}  ({})", s.name(), s.parsed().mode().as_str());
        let env_flag = env.map(|e| format!(" --env {e}")).unwrap_or_default();
        outln!("  header:  kiln strategies{env_flag} --header {}", s.name());
        for (i, t) in s.parsed().targets().iter().enumerate() {
            outln!("  target:  {}", t.label(i));
        }
        if s.parsed().targets().is_empty() {
            outln!("  target:  {}", s.parsed().label(0));
        }
        for f in s.findings(secret_env.as_deref()) {
            errors |= f.severity == kiln::model::rules::Severity::Error;
            outln!(
                "  {:?}: {} at {}: {}",
                f.severity,
                s.file().display(),
                shown(&f.pointer),
                shown(&f.message)
            );
        }
    }
    Ok(if errors {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `kiln strategies --header NAME`: the one line a client sends.
pub(crate) fn strategy_header(
    repo: &Repo,
    env: Option<&str>,
    name: &str,
) -> kiln::Result<ExitCode> {
    let set = strategy_set(repo, env)?;
    match set.iter().find(|s| s.name() == name) {
        Some(s) => {
            outln!("{}", s.header());
            Ok(ExitCode::SUCCESS)
        }
        None => {
            no_such_strategy(&set, name);
            Ok(ExitCode::from(2))
        }
    }
}

fn no_such_strategy(set: &[std::sync::Arc<kiln::model::strategy::Strategy>], name: &str) {
    let names: Vec<&str> = set.iter().map(|s| s.name()).collect();
    not_found("strategy", name, &names);
}

pub(crate) fn route(repo: &Repo, args: &RouteArgs) -> kiln::Result<ExitCode> {
    let set = strategy_set(repo, args.env.as_deref())?;
    let Some(strategy) = set.iter().find(|s| s.name() == args.strategy) else {
        no_such_strategy(&set, &args.strategy);
        return Ok(ExitCode::from(2));
    };
    let request = kiln::model::routing::Request {
        metadata: args.metadata_json.clone().unwrap_or_else(|| {
            args.metadata
                .iter()
                .map(|(k, v)| (k.as_str().into(), v.as_str().into()))
                .collect()
        }),
        params: args
            .param
            .iter()
            .map(|(k, v)| {
                let value = kiln::model::js::parse(v).unwrap_or_else(|_| v.as_str().into());
                (k.as_str().into(), value)
            })
            .collect(),
        path: args.path.clone(),
    };
    // What render refuses, route refuses too: its answer would be about a config that never ships.
    let errors: Vec<_> = strategy
        .findings(None)
        .into_iter()
        .filter(|f| f.severity == kiln::model::rules::Severity::Error)
        .collect();
    if !errors.is_empty() {
        for f in &errors {
            errln!(
                "error: {} at {}: {}",
                strategy.file().display(),
                shown(&f.pointer),
                shown(&f.message)
            );
        }
        errln!("`kiln render` refuses this strategy; fix it before routing requests through it");
        return Ok(ExitCode::from(2));
    }
    outln!(
        "{} ({}; send it with: kiln strategies{} --header {})",
        strategy.name(),
        strategy.parsed().mode().as_str(),
        args.env
            .as_deref()
            .map(|e| format!(" --env {e}"))
            .unwrap_or_default(),
        strategy.name()
    );
    match kiln::model::routing::route(strategy.parsed(), &request) {
        Ok(decision) => {
            out!("{decision}");
            Ok(ExitCode::SUCCESS)
        }
        Err(why) => {
            outln!("✗ {}", shown(&why.to_string()));
            Ok(ExitCode::from(1))
        }
    }
}
