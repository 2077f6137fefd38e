//! Running the tools an import reads its input through (`kubectl kustomize`,
//! `helm template`) as input from a pull request must be run: without the
//! network unless asked, within a time limit, and with output bounded.
//!
//! Neither tool has an offline switch, so the network is closed around it:
//! its HTTP fetches go to a proxy on a closed loopback port (Go's HTTP
//! client honours `HTTPS_PROXY`), and the git kubectl runs for remote bases
//! may use only local repositories (`GIT_ALLOW_PROTOCOL=file`, no ssh). A
//! remote resource then fails at once, without a byte leaving the machine.

use super::Network;
use crate::error::{Error, Result};
use std::ffi::OsStr;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The most YAML an input may produce.
pub(super) const MAX_INPUT_BYTES: usize = 64 << 20;
/// How long a build may take, remote resources included.
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(120);
/// A loopback port nothing listens on (discard): proxied fetches fail at once.
const CLOSED_PROXY: &str = "http://127.0.0.1:9";

/// A tool that turns an input into YAML.
pub(super) struct Tool<'a> {
    /// The program (`kubectl`, `helm`) and its arguments.
    pub program: &'a str,
    pub args: Vec<&'a OsStr>,
    /// What to install when the program is missing, and the alternative.
    pub missing: &'a str,
}

/// The YAML `tool` writes for `input`, and how to name it.
pub(super) fn yaml(tool: &Tool, input: &Path, network: Network) -> Result<(String, String)> {
    let source = std::iter::once(OsStr::new(tool.program))
        .chain(tool.args.iter().copied())
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    let mut command = Command::new(tool.program);
    command
        .args(&tool.args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if network == Network::Off {
        for proxy in ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"] {
            command.env(proxy, CLOSED_PROXY);
        }
        command
            .env_remove("NO_PROXY")
            .env_remove("no_proxy")
            .env("GIT_ALLOW_PROTOCOL", "file")
            .env("GIT_SSH_COMMAND", "false")
            .env("GIT_TERMINAL_PROMPT", "0");
    }
    let (ok, stdout, stderr) = run_bounded(&mut command, tool, &source)?;
    if !ok {
        // The tool quotes the input's own text: one line, escaped, never starting a line.
        let stderr = String::from_utf8_lossy(&stderr);
        let mut message = stderr
            .lines()
            .map(|line| kiln_model::emit::printable(line.trim()).into_owned())
            .filter(|line| !line.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if network == Network::Off && remote_failure(&message) {
            message.push_str(
                " (the input names remote resources; kiln import reaches the network only with --allow-remote)",
            );
        }
        return Err(Error::io(&source, std::io::Error::other(message)));
    }
    if stdout.len() > MAX_INPUT_BYTES {
        return Err(Error::unsafe_path(input, "builds more than 64 MiB of YAML"));
    }
    let text = String::from_utf8(stdout)
        .map_err(|_| Error::unsafe_path(input, "builds YAML that is not UTF-8"))?;
    Ok((source, text))
}

/// Whether the tool's error is about fetching something remote.
fn remote_failure(stderr: &str) -> bool {
    [
        "127.0.0.1:9",
        "proxyconnect",
        "git",
        "http://",
        "https://",
        "ssh",
    ]
    .iter()
    .any(|sign| stderr.contains(sign))
}

/// Runs `command` to its end or [`BUILD_TIMEOUT`] (then kills it), reading
/// at most one byte more than [`MAX_INPUT_BYTES`] of its output and 64 KiB
/// of its errors (the rest is read and dropped): (success, stdout, stderr).
fn run_bounded(
    command: &mut Command,
    tool: &Tool,
    source: &str,
) -> Result<(bool, Vec<u8>, Vec<u8>)> {
    let mut child = command.spawn().map_err(|e| {
        Error::io(
            tool.program,
            std::io::Error::new(e.kind(), format!("{e}: {}", tool.missing)),
        )
    })?;
    let read = |pipe: Option<Box<dyn Read + Send>>, limit: usize| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = (&mut pipe).take(limit as u64 + 1).read_to_end(&mut bytes);
                // The rest is drained, not kept, so the tool is never stuck writing.
                let _ = std::io::copy(&mut pipe, &mut std::io::sink());
            }
            bytes
        })
    };
    let stdout = read(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        MAX_INPUT_BYTES,
    );
    let stderr = read(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        64 << 10,
    );
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| Error::io(source, e))? {
            break Some(status);
        }
        if started.elapsed() > BUILD_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    match status {
        Some(status) => Ok((status.success(), stdout, stderr)),
        None => Err(Error::io(
            source,
            std::io::Error::other(format!(
                "did not finish in {} s; stopped",
                BUILD_TIMEOUT.as_secs()
            )),
        )),
    }
}
