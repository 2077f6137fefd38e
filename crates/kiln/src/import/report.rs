//! The import's report, as text for a terminal or markdown for a pull request.

use super::{Import, Why};
use std::fmt::Write;

/// The report as plain text.
pub fn text(import: &Import) -> String {
    render(import, &Style::TEXT)
}

/// The report as markdown.
pub fn markdown(import: &Import) -> String {
    render(import, &Style::MARKDOWN)
}

/// How headings, items and the diff are written.
struct Style {
    heading: &'static str,
    item: &'static str,
    code: fn(&str) -> String,
    fence: (&'static str, &'static str),
}

impl Style {
    const TEXT: Style = Style {
        heading: "",
        item: "  ",
        code: |s| s.to_string(),
        fence: ("", ""),
    };
    const MARKDOWN: Style = Style {
        heading: "### ",
        item: "- ",
        code: |s| format!("`{}`", s.replace('`', "'")),
        fence: ("```diff\n", "```\n"),
    };
}

fn render(import: &Import, s: &Style) -> String {
    let mut out = String::new();
    let code = s.code;
    let _ = writeln!(
        out,
        "{}kiln import: {} as environment {}\n",
        s.heading,
        code(&import.source),
        code(&import.env)
    );
    section(
        &mut out,
        s,
        "Files written",
        import.files.keys().map(|f| code(f)),
    );
    section(
        &mut out,
        s,
        "Imported",
        import
            .fields
            .iter()
            .map(|f| format!("{} ← {}", code(&f.to), code(&f.from))),
    );
    section(
        &mut out,
        s,
        "Not imported",
        import
            .left_out
            .iter()
            .map(|l| format!("{}: {}", code(&l.at), l.advice)),
    );
    section(
        &mut out,
        s,
        "Credentials in plain text (not copied: they belong in the secret store)",
        import.plain_secrets.iter().map(|p| code(p)),
    );
    section(
        &mut out,
        s,
        "Renamed",
        import
            .renamed
            .iter()
            .map(|(a, b)| format!("{} → {}", code(&a.to_string()), code(&b.to_string()))),
    );
    differences(&mut out, s, import);
    resources(&mut out, s, import);
    out
}

/// Every classified difference, a section per reason.
fn differences(out: &mut String, s: &Style, import: &Import) {
    let code = s.code;
    let mut whys: Vec<Why> = import.differences.iter().map(|d| d.why).collect();
    whys.sort();
    whys.dedup();
    for why in whys {
        let lines = import.differences.iter().filter(|d| d.why == why).map(|d| {
            let shown = |v: &Option<String>| v.clone().unwrap_or_else(|| "(absent)".into());
            format!(
                "{} {}: {} → {} ({})",
                code(&d.resource),
                code(&d.path),
                code(&shown(&d.input)),
                code(&shown(&d.kiln)),
                d.reason
            )
        });
        section(out, s, &format!("Differences: {}", why.as_str()), lines);
    }
}

/// The resource diff, or why there is none.
fn resources(out: &mut String, s: &Style, import: &Import) {
    let _ = writeln!(
        out,
        "{}Resources: what the input produced → what kiln renders\n",
        s.heading
    );
    match &import.diff {
        Some(diff) => {
            out.push_str(s.fence.0);
            out.push_str(&crate::diff::text(diff, kiln_model::emit::Color::Plain));
            out.push_str(s.fence.1);
        }
        None => out.push_str("kiln cannot render a Helm chart; the differences above compare the gateway's environment, which the chart takes verbatim from `environment.data`.\n"),
    }
}

fn section(out: &mut String, s: &Style, title: &str, lines: impl Iterator<Item = String>) {
    let lines: Vec<String> = lines.collect();
    let _ = writeln!(out, "{}{title} ({})", s.heading, lines.len());
    if !s.heading.is_empty() {
        out.push('\n');
    }
    for line in &lines {
        let _ = writeln!(out, "{}{line}", s.item);
    }
    out.push('\n');
}
