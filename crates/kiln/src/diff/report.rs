//! The reports of a [`Diff`]: text for a terminal, markdown for a
//! pull-request comment, JSON for tools. A change that several environments
//! share is said once, with the environments it is in ([`groups`]); what is
//! particular to one environment follows.

use super::{Change, ChangeKind, Diff};
use kiln_model::emit::Color;
use kiln_model::emit::printable;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The largest markdown body `kiln diff --format markdown` produces: a GitHub PR comment.
pub const COMMENT_LIMIT: usize = 65_536;

/// First line of every markdown diff, so a CI job can find its earlier comment and update it.
pub const COMMENT_MARKER: &str = "<!-- kiln-diff -->";

/// Environment names listed before "… and N more".
const LISTED: usize = 8;

/// A change and the environments it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group<'a> {
    /// The environments, in order.
    pub environments: Vec<&'a str>,
    /// The change as it is in the first of them.
    pub change: &'a Change,
}

/// Every change of `diff` once, with the environments it is in. Changes
/// count as one when they are the same up to each environment's own name
/// (a name prefix, a namespace, a label that holds it): the same resource
/// kind, the same kind of change, the same lines added and removed. Shared
/// changes come first, most environments first; then each environment's own.
///
/// ```
/// use serde_json::json;
/// let cm = |env: &str, v: &str| json!({"apiVersion": "v1", "kind": "ConfigMap",
///     "metadata": {"name": format!("{env}-c"), "namespace": "n"}, "data": {"LOG_LEVEL": v}}).into();
/// let side = |v: &str| kiln::diff::Snapshot::from_iter(
///     ["dev", "prod"].map(|e| (e.to_string(), vec![cm(e, v)])));
/// let diff = kiln::diff::diff(&side("info"), &side("debug"), 3);
/// let groups = kiln::diff::groups(&diff);
/// assert_eq!(groups.len(), 1);
/// assert_eq!(groups[0].environments, ["dev", "prod"]);
/// ```
pub fn groups(diff: &Diff) -> Vec<Group<'_>> {
    let mut order: Vec<Group<'_>> = Vec::new();
    let mut index: BTreeMap<(u8, String, String), usize> = BTreeMap::new();
    for env in &diff.environments {
        for change in &env.changes {
            let key = signature(&env.env, change);
            match index.get(&key) {
                Some(&i) => order[i].environments.push(&env.env),
                None => {
                    index.insert(key, order.len());
                    order.push(Group {
                        environments: vec![&env.env],
                        change,
                    });
                }
            }
        }
    }
    // Stable: within one size, first seen (environment, then resource) first.
    order.sort_by_key(|g| std::cmp::Reverse(g.environments.len()));
    order
}

/// What makes two changes the same: the kind of change, the resource (named
/// without the environment's own name) and the lines added and removed.
fn signature(env: &str, change: &Change) -> (u8, String, String) {
    let kind = match change.kind {
        ChangeKind::Added => 0,
        ChangeKind::Removed => 1,
        ChangeKind::Changed => 2,
        ChangeKind::Renamed { .. } => 3,
    };
    let lines: Vec<String> = change
        .diff
        .lines()
        .filter(|l| {
            (l.starts_with('+') && !l.starts_with("+++"))
                || (l.starts_with('-') && !l.starts_with("---"))
        })
        .map(|l| without_name(l, env))
        .collect();
    (
        kind,
        without_name(&change.id.to_string(), env),
        lines.join("\n"),
    )
}

/// `text` with every whole-word occurrence of `name` (not inside a longer
/// run of letters and digits) replaced by a mark.
fn without_name(text: &str, name: &str) -> String {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (at, _) in text.match_indices(name) {
        let end = at + name.len();
        if at < last || word(text[..at].chars().next_back()) || word(text[end..].chars().next()) {
            continue;
        }
        out.push_str(&text[last..at]);
        out.push('\u{1}');
        last = end;
    }
    out.push_str(&text[last..]);
    out
}

/// `names` for a heading: all of them up to [`LISTED`], else the first ones
/// and how many more.
fn list(names: &[&str], quote: fn(&str) -> String) -> String {
    let shown: Vec<String> = names.iter().take(LISTED).map(|n| quote(n)).collect();
    match names.len().saturating_sub(LISTED) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

fn plain(name: &str) -> String {
    printable(name).into_owned()
}

fn code(name: &str) -> String {
    format!("<code>{}</code>", escape(&printable(name)))
}

/// Resources (added, changed, removed) in one environment.
type Counts = (usize, usize, usize);

/// Environments with the same counts, in order.
fn by_counts(diff: &Diff) -> Vec<(Counts, Vec<&str>)> {
    let mut rows: Vec<(Counts, Vec<&str>)> = Vec::new();
    for env in &diff.environments {
        let counts = env.counts();
        match rows.iter_mut().find(|(c, _)| *c == counts) {
            Some((_, envs)) => envs.push(&env.env),
            None => rows.push((counts, vec![&env.env])),
        }
    }
    rows
}

fn headline(change: &Change) -> String {
    match &change.kind {
        ChangeKind::Added => format!("added {}", change.id),
        ChangeKind::Removed => format!("removed {}", change.id),
        ChangeKind::Changed => format!("changed {}", change.id),
        ChangeKind::Renamed { from } => {
            format!(
                "renamed {} → {} (content changed)",
                from,
                printable(&change.id.name)
            )
        }
    }
}

/// Where a group is: `in dev`, or `in 3 environments: a, b, c`.
fn place(environments: &[&str], quote: fn(&str) -> String) -> String {
    match environments {
        [one] => format!("in {}", quote(one)),
        many => format!("in {} environments: {}", many.len(), list(many, quote)),
    }
}

/// The counts of each environment (those with equal counts on one line),
/// then every change once with the environments it is in, as a unified
/// diff; colored for a terminal.
pub fn text(diff: &Diff, color: Color) -> String {
    let paint = |line: &str| -> String {
        if color == Color::Plain {
            return line.to_string();
        }
        let code = match line.as_bytes().first() {
            Some(b'+') if !line.starts_with("+++") => "32",
            Some(b'-') if !line.starts_with("---") => "31",
            Some(b'@') => "36",
            _ => return line.to_string(),
        };
        format!("\x1b[{code}m{line}\x1b[0m")
    };
    let mut out = String::new();
    for ((a, c, r), envs) in by_counts(diff) {
        let _ = writeln!(
            out,
            "=== {}: {a} added, {c} changed, {r} removed",
            list(&envs, plain)
        );
    }
    for group in groups(diff) {
        let _ = writeln!(
            out,
            "--- {} {}",
            headline(group.change),
            place(&group.environments, plain)
        );
        for line in group.change.diff.lines() {
            let _ = writeln!(out, "{}", paint(line));
        }
    }
    out
}

/// A pull-request comment of at most `limit` characters: a table of the
/// environments' counts, then every change once in a collapsible block with
/// the environments it is in, those that matter most first: images, replicas,
/// strategies, secrets and their references, removals; then the rest; last
/// changes of labels and annotations only.
/// What does not fit is cut, the changes that matter least first: their
/// diffs, largest first (the block stays, with a note), then their blocks;
/// the comment says so. A thousand environments of label noise never push an
/// image change out.
pub fn markdown(diff: &Diff, limit: usize) -> String {
    let mut head = format!("{COMMENT_MARKER}\n### kiln diff\n\n");
    if diff.is_empty() {
        head.push_str("No changes to any environment.\n");
        return head;
    }
    head.push_str("| environments | added | changed | removed |\n|---|---:|---:|---:|\n");
    for ((a, c, r), envs) in by_counts(diff) {
        let _ = writeln!(head, "| {} | {a} | {c} | {r} |", list(&envs, code));
    }
    head.push('\n');
    let groups = groups(diff);
    let blocks: Vec<(String, String)> = groups
        .iter()
        .map(|g| (block(g, true), block(g, false)))
        .collect();
    let shown = fit(&blocks, &groups, limit.saturating_sub(head.len() + 400));
    let mut out = head;
    let listed = shown.iter().filter(|s| **s != Shown::Not).count();
    let cut = shown.iter().filter(|s| **s == Shown::Title).count();
    if cut > 0 {
        let _ = writeln!(
            out,
            "> {cut} of {} diffs were left out to fit the {limit}-character limit, those of labels and annotations first, then the largest; run `kiln diff` locally for all of them.\n",
            groups.len()
        );
    }
    if listed < groups.len() {
        let _ = writeln!(
            out,
            "> {} more changes are not listed to fit the {limit}-character limit (images, replicas, strategies and secret references are listed first); run `kiln diff` locally.\n",
            groups.len() - listed
        );
    }
    let mut order: Vec<usize> = (0..blocks.len()).collect();
    order.sort_by_key(|i| std::cmp::Reverse(weight(groups[*i].change)));
    for i in order {
        let (long, short) = &blocks[i];
        match shown[i] {
            Shown::Whole => out.push_str(long),
            Shown::Title => out.push_str(short),
            Shown::Not => {}
        }
    }
    out
}

/// How much a reviewer needs to see a change, most first: 2 for what
/// changes what runs or whom it trusts (an image, replicas, a strategy, a
/// secret or its reference, a removed resource), 0 for a change of labels
/// and annotations only, 1 for the rest.
fn weight(change: &Change) -> u8 {
    const VITAL: [&str; 8] = [
        "image:",
        "replicas:",
        ".json:",
        "secretKeyRef",
        "secretName",
        "remoteRef",
        "secretStoreRef",
        "envFrom",
    ];
    let changed: Vec<&str> = change
        .diff
        .lines()
        .filter(|l| {
            (l.starts_with('+') && !l.starts_with("+++"))
                || (l.starts_with('-') && !l.starts_with("---"))
        })
        .collect();
    if change.kind == ChangeKind::Changed && !changed.is_empty() && metadata_only(&change.diff) {
        return 0;
    }
    let vital_kind = matches!(change.id.kind.as_str(), "Secret" | "ExternalSecret")
        || change.id.name.contains("strateg");
    let vital_line = changed.iter().any(|l| VITAL.iter().any(|v| l.contains(v)));
    if vital_kind || vital_line || change.kind == ChangeKind::Removed {
        2
    } else {
        1
    }
}

/// Whether every changed line of a unified diff of YAML lies under a
/// `labels:` or `annotations:` map the diff shows (its header in context; a
/// hunk without it counts as more than noise).
fn metadata_only(diff: &str) -> bool {
    let mut section: Option<&str> = None;
    for line in diff
        .lines()
        .filter(|l| !l.starts_with("+++") && !l.starts_with("---") && !l.starts_with("@@"))
    {
        let (sign, body) = line.split_at(line.len().min(1));
        let trimmed = body.trim_start();
        let key = trimmed.split(':').next().unwrap_or_default();
        if body.len() - trimmed.len() <= 6 && trimmed.ends_with(':') && !trimmed.starts_with('-') {
            section = Some(key);
        }
        if (sign == "+" || sign == "-") && !matches!(section, Some("labels" | "annotations")) {
            return false;
        }
    }
    true
}

/// How a change's block is shown in the comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    /// With its diff.
    Whole,
    /// Its title and a note that the diff was left out.
    Title,
    /// Not at all (counted in a note).
    Not,
}

/// How each block is shown for the blocks to take at most `room`
/// characters. The lightest [`weight`] gives way first, wholly, before a
/// heavier one loses anything: its diffs go (the largest first), then its
/// blocks (the last first); then the next weight's.
fn fit(blocks: &[(String, String)], groups: &[Group<'_>], room: usize) -> Vec<Shown> {
    let mut shown = vec![Shown::Whole; blocks.len()];
    let mut size: usize = blocks.iter().map(|(long, _)| long.len()).sum();
    let weights: Vec<u8> = groups.iter().map(|g| weight(g.change)).collect();
    for w in 0..=2 {
        let mut class: Vec<usize> = (0..blocks.len()).filter(|i| weights[*i] == w).collect();
        class.sort_by_key(|i| std::cmp::Reverse(groups[*i].change.diff.len()));
        for &i in &class {
            if size <= room {
                return shown;
            }
            shown[i] = Shown::Title;
            size = size - blocks[i].0.len() + blocks[i].1.len();
        }
        class.sort_by_key(|i| std::cmp::Reverse(*i));
        for &i in &class {
            if size <= room {
                return shown;
            }
            size -= blocks[i].1.len();
            shown[i] = Shown::Not;
        }
    }
    shown
}

fn block(group: &Group<'_>, with_diff: bool) -> String {
    let change = group.change;
    let title = format!(
        "<details><summary>{} {}</summary>\n\n",
        escape(&headline(change)),
        place(&group.environments, code)
    );
    if with_diff {
        let fence = if change.diff.contains("```") {
            "~~~~"
        } else {
            "```"
        };
        format!("{title}{fence}diff\n{}{fence}\n</details>\n", change.diff)
    } else {
        format!(
            "{title}_diff left out to fit the comment ({} lines)_\n</details>\n",
            change.diff.lines().count()
        )
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Machine-readable form (schema `kiln.diff/v2`, documented in docs/guide/previews.md):
/// each environment's counts, and each change once with the environments it
/// is in (its resource and diff as in the first of them).
pub fn json(diff: &Diff) -> Value {
    let id = |id: &super::ResourceId| json!({"apiVersion": id.api_version, "kind": id.kind, "namespace": id.namespace, "name": id.name});
    let environments: Vec<Value> = diff
        .environments
        .iter()
        .map(|e| {
            let (a, c, r) = e.counts();
            json!({"name": e.env, "added": a, "changed": c, "removed": r})
        })
        .collect();
    let changes: Vec<Value> = groups(diff)
        .iter()
        .map(|g| {
            let ch = g.change;
            let kind = match &ch.kind {
                ChangeKind::Added => "added",
                ChangeKind::Removed => "removed",
                ChangeKind::Changed => "changed",
                ChangeKind::Renamed { .. } => "renamed",
            };
            let mut v = json!({"environments": g.environments, "change": kind, "resource": id(&ch.id), "diff": ch.diff});
            if let ChangeKind::Renamed { from } = &ch.kind {
                v["from"] = id(from);
            }
            v
        })
        .collect();
    json!({
        "schema": "kiln.diff/v2",
        "changed": !diff.is_empty(),
        "environments": environments,
        "changes": changes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whole_words_are_an_environment_s_name() {
        assert_eq!(
            without_name("e1-gw ns-e1 e1.example.com e12 xe1", "e1"),
            "\u{1}-gw ns-\u{1} \u{1}.example.com e12 xe1"
        );
        assert_eq!(without_name("devtools dev", "dev"), "devtools \u{1}");
    }

    #[test]
    fn long_lists_are_shortened() {
        let names: Vec<String> = (0..10).map(|i| format!("e{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        assert_eq!(
            list(&names, plain),
            "e0, e1, e2, e3, e4, e5, e6, e7 and 2 more"
        );
        assert_eq!(list(&names[..2], plain), "e0, e1");
    }
}
