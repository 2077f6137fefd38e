//! Conditional routing's conditions: what the gateway's router can evaluate,
//! and what kiln refuses because the router would read it otherwise than
//! written (each marked `kiln:`).

use super::{Config, StrategySpec};
use crate::js;
use crate::rules::Severity::{Error, Warning};
use crate::values::{Problem, push};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// Operators Portkey's conditional router understands.
pub const OPERATORS: [&str; 9] = [
    "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$regex",
];

/// Request fields a condition can test: `<root>.<key>`.
pub const CONTEXT_ROOTS: [&str; 3] = ["metadata", "params", "url"];

/// Properties every JavaScript object has: a query naming one reads a
/// function, not the request (kiln: refused).
const OBJECT_PROTOTYPE: [&str; 12] = [
    "constructor",
    "__proto__",
    "hasOwnProperty",
    "isPrototypeOf",
    "propertyIsEnumerable",
    "toLocaleString",
    "toString",
    "valueOf",
    "__defineGetter__",
    "__defineSetter__",
    "__lookupGetter__",
    "__lookupSetter__",
];

pub(super) fn conditional(s: &StrategySpec, targets: &[Config], at: &str, out: &mut Vec<Problem>) {
    let names: Vec<&str> = targets.iter().filter_map(|t| t.name.as_deref()).collect();
    let Some(conditions) = &s.conditions else {
        push(
            out,
            Error,
            format!("{at}/strategy"),
            "conditional mode needs `conditions`: the gateway fails every request without them",
        );
        return;
    };
    let mut reached = BTreeSet::new();
    let mut named = |name: &str, pointer: String, out: &mut Vec<Problem>| {
        if names.contains(&name) {
            reached.insert(name.to_string());
        } else {
            let hint = crate::error::closest(name, names.iter().copied())
                .map(|c| format!(" (did you mean `{c}`?)"))
                .unwrap_or_default();
            push(
                out,
                Error,
                pointer,
                format!(
                    "no target is named `{name}`{hint}: the gateway fails requests routed here; targets: {}",
                    names.join(", ")
                ),
            );
        }
    };
    for (i, c) in conditions.iter().enumerate() {
        named(&c.then, format!("{at}/strategy/conditions/{i}/then"), out);
        query(
            &c.query,
            &format!("{at}/strategy/conditions/{i}/query"),
            out,
        );
    }
    // An empty default is falsy in JavaScript: no default at all.
    match s.default.as_deref().filter(|d| !d.is_empty()) {
        Some(d) => named(d, format!("{at}/strategy/default"), out),
        None => push(
            out,
            Warning,
            format!("{at}/strategy"),
            "no `default` (an empty one counts as none): a request that matches no condition fails",
        ),
    }
    for (i, t) in targets.iter().enumerate() {
        match &t.name {
            None => push(
                out,
                Warning,
                format!("{at}/targets/{i}"),
                "a target without `name` cannot be chosen by a condition",
            ),
            Some(n) if !reached.contains(n) => push(
                out,
                Warning,
                format!("{at}/targets/{i}"),
                format!("target `{n}` is named by no condition nor the default: unreachable"),
            ),
            _ => {}
        }
    }
}

fn query(q: &Map<String, Value>, at: &str, out: &mut Vec<Problem>) {
    if q.is_empty() {
        push(
            out,
            Warning,
            at,
            "an empty query matches every request; the conditions after it are unreachable",
        );
    }
    // kiln: Portkey decides a query at its first `$and`/`$or` key; other keys beside it
    // are checked or ignored depending on their order in the file.
    if q.len() > 1 && (q.contains_key("$and") || q.contains_key("$or")) {
        push(
            out,
            Error,
            at,
            "`$and`/`$or` must be the only key of its query (Portkey ignores the keys after it); nest the other fields inside it",
        );
    }
    for (key, value) in q {
        let here = crate::pointer::join(at, key);
        if key == "$and" || key == "$or" {
            logical(key, value, &here, out);
        } else {
            field(key, value, &here, out);
        }
    }
}

/// kiln: `$and`/`$or` take a list of query objects (the gateway reads any
/// other value as a field named `$and`, and a non-object item as a query that
/// always holds).
fn logical(key: &str, value: &Value, at: &str, out: &mut Vec<Problem>) {
    let Some(items) = value.as_array() else {
        push(out, Error, at, format!("`{key}` takes a list of queries"));
        return;
    };
    if items.is_empty() {
        let always = if key == "$and" {
            "always holds"
        } else {
            "never holds"
        };
        push(out, Warning, at, format!("an empty `{key}` {always}"));
    }
    for (i, item) in items.iter().enumerate() {
        match item.as_object() {
            Some(q) => query(q, &format!("{at}/{i}"), out),
            None => push(
                out,
                Error,
                format!("{at}/{i}"),
                "`$and`/`$or` take a list of queries: expected a query object",
            ),
        }
    }
}

/// One tested field: its name (kiln: one Portkey can read) and its value.
fn field(key: &str, value: &Value, at: &str, out: &mut Vec<Problem>) {
    let mut parts = key.split('.');
    let (root, name, rest) = (parts.next().unwrap_or(""), parts.next(), parts.next());
    let readable = CONTEXT_ROOTS.contains(&root)
        && name.is_some_and(|n| !n.is_empty())
        && rest.is_none()
        && (root != "url" || name == Some("pathname"));
    if !readable {
        push(
            out,
            Error,
            at,
            format!(
                "`{key}` is not a field Portkey can test (it reads two levels): use metadata.<key>, params.<key> or url.pathname"
            ),
        );
    } else if let Some(n) = name.filter(|n| OBJECT_PROTOTYPE.contains(n)) {
        push(
            out,
            Error,
            at,
            format!(
                "`{n}` is a property of every JavaScript object: Portkey would read a function, not the request"
            ),
        );
    }
    match value {
        Value::Object(ops) => operators(ops, at, out),
        Value::Array(_) => push(
            out,
            Error,
            at,
            "a list here makes the gateway fail the request (it reads the list as operators); use `{\"$in\": [...]}`",
        ),
        _ => {}
    }
}

/// `String(operand)`, the pattern `new RegExp` reads.
fn pattern(operand: &Value) -> String {
    js::to_string(Some(&operand.into())).to_string_lossy()
}

fn operators(ops: &Map<String, Value>, at: &str, out: &mut Vec<Problem>) {
    if ops.is_empty() {
        push(out, Warning, at, "an empty operator object always matches");
    }
    // kiln: `$regex` returns its result at once, skipping the operators after it.
    if ops.len() > 1 && ops.contains_key("$regex") {
        push(
            out,
            Error,
            at,
            "`$regex` must stand alone (Portkey returns its result and skips the other operators)",
        );
    }
    for (op, operand) in ops {
        let here = crate::pointer::join(at, op);
        match op.as_str() {
            "$gt" | "$gte" | "$lt" | "$lte" if js::parse_float(Some(&operand.into())).is_nan() => {
                push(
                    out,
                    Warning,
                    here,
                    format!("`{op}` compares numbers, and {operand} is not one: it is never true"),
                );
            }
            "$in" | "$nin" if !operand.is_array() => {
                push(
                    out,
                    Warning,
                    here,
                    format!("`{op}` takes a list; with {operand} it is never true"),
                );
            }
            // kiln: a pattern the gateway cannot compile is refused (the gateway reads it as "no match").
            "$regex" if !js::regex_compiles(&pattern(operand)) => {
                push(
                    out,
                    Error,
                    here,
                    format!(
                        "`{}` is not a valid JavaScript regular expression (the gateway would never match it)",
                        pattern(operand)
                    ),
                );
            }
            // kiln: a pattern that backtracks catastrophically would let a client stall
            // the gateway (and `kiln route`) with one short metadata value.
            "$regex" => {
                if let Some(why) = crate::backtracking::catastrophic(&pattern(operand)) {
                    push(
                        out,
                        Error,
                        here,
                        format!(
                            "this pattern can take exponential time on a short value: {why}; write it without the nesting or with alternatives that cannot match the same text"
                        ),
                    );
                }
            }
            o if OPERATORS.contains(&o) => {}
            o => {
                let hint = crate::error::closest(o, OPERATORS)
                    .map(|c| format!(" (did you mean `{c}`?)"))
                    .unwrap_or_default();
                push(
                    out,
                    Error,
                    here,
                    format!(
                        "`{o}` is not an operator Portkey understands{hint}: the gateway fails the request when it reaches it"
                    ),
                );
            }
        }
    }
}
