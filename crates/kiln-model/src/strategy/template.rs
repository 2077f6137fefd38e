//! A strategy as External Secrets' template engine (Go templates, engine
//! v2) fills it in: the config on one line, each provider key read from
//! the store. Only plain lookups are used (`{{ .VAR | toJson }}`), so what
//! the engine does is simple to state and to reproduce in the tests.

use super::validate::reference;
use crate::js::header_json;
use serde_json::Value;
use std::collections::BTreeSet;

/// The template of `config`: compact JSON where each string that is
/// exactly a reference `${VAR}` to one of `known` becomes
/// `{{ .VAR | toJson }}` (the store's value as a JSON string, escaped
/// whatever it holds) and every other `{{` prints itself; and the variables
/// it reads, sorted.
pub fn injection(config: &Value, known: &[&str]) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut used = BTreeSet::new();
    write(config, known, &mut out, &mut used);
    (out, used.into_iter().collect())
}

/// The action a template uses for variable `var`.
fn lookup(var: &str) -> String {
    format!("{{{{ .{var} | toJson }}}}")
}

fn write(v: &Value, known: &[&str], out: &mut String, used: &mut BTreeSet<String>) {
    match v {
        Value::String(s) => match reference(s).filter(|var| known.contains(var)) {
            Some(var) => {
                used.insert(var.to_string());
                out.push_str(&lookup(var));
            }
            None => out.push_str(&literal(&quoted(s))),
        },
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, known, out, used);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&literal(&quoted(key)));
                out.push(':');
                write(item, known, out, used);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// `s` as a JSON string in ASCII (see [`header_json`]).
fn quoted(s: &str) -> String {
    header_json(&Value::from(s))
}

/// Text the template prints as it is: a `{{` becomes an action printing it.
fn literal(text: &str) -> String {
    text.replace("{{", "{{\"{{\"}}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_become_lookups_and_braces_stay_text() {
        let config = json!({"targets": [{"api_key": "${OPENAI_API_KEY}", "provider": "openai", "custom_host": "http://x/{{y}}"}, {"api_key": "${OTHER}"}], "weight": 1.5});
        let (t, used) = injection(&config, &["OPENAI_API_KEY"]);
        assert_eq!(
            t,
            r#"{"targets":[{"api_key":{{ .OPENAI_API_KEY | toJson }},"custom_host":"http://x/{{"{{"}}y}}","provider":"openai"},{"api_key":"${OTHER}"}],"weight":1.5}"#
        );
        assert_eq!(used, ["OPENAI_API_KEY"]);
    }

    #[test]
    fn the_injected_header_is_ascii() {
        let config = json!({"strategy": {"conditions": [{"query": {"metadata.région": "é😀"}}]}});
        let (t, _) = injection(&config, &[]);
        assert!(t.is_ascii(), "{t}");
        assert!(
            t.contains(r#""metadata.r\u00e9gion":"\u00e9\ud83d\ude00""#),
            "{t}"
        );
        assert_eq!(serde_json::from_str::<Value>(&t).expect("JSON"), config);
    }
}
