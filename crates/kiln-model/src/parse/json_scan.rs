//! JSON texts judged before they are read into a type: nesting, duplicate
//! keys (both lines) and refused control characters, found by a serde visitor
//! that builds nothing.

use super::{MAX_DEPTH, pointer_segment, refused_char, refused_char_message, strip_location};
use crate::error::{Error, InputError};
use std::collections::HashMap;
use std::path::Path;

/// Judges a JSON text before it is read into a type: depth, duplicate
/// keys (both lines) and refused control characters.
pub(crate) fn scan_json(file: &Path, text: &str) -> Result<(), Error> {
    let consumed = std::rc::Rc::new(std::cell::Cell::new(0usize));
    let reader = CountingReader {
        bytes: text.as_bytes(),
        consumed: consumed.clone(),
    };
    let mut de = serde_json::Deserializer::from_reader(reader);
    let mut state = JsonScan {
        path: Vec::new(),
        consumed,
        problem: None,
    };
    let result = serde::de::DeserializeSeed::deserialize(JsonNode(&mut state), &mut de)
        .and_then(|()| de.end());
    let Err(e) = result else {
        return Ok(());
    };
    let line_of = |offset: usize| {
        1 + text.as_bytes()[..offset.min(text.len())]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
    };
    let (pointer, message) = match state.problem {
        Some(JsonProblem::Duplicate {
            pointer,
            key,
            first,
        }) => (
            pointer,
            format!(
                "duplicate key `{key}`: first at line {}, again at line {}; a key may appear once in an object",
                line_of(first),
                e.line()
            ),
        ),
        Some(JsonProblem::Other { pointer, message }) => (pointer, message),
        None => (String::new(), strip_location(&e.to_string())),
    };
    Err(InputError::new(file, message)
        .at(pointer)
        .with_location(text, e.line(), e.column())
        .into())
}

/// A byte reader that says how far serde_json has read.
struct CountingReader<'a> {
    bytes: &'a [u8],
    consumed: std::rc::Rc<std::cell::Cell<usize>>,
}

impl std::io::Read for CountingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = std::io::Read::read(&mut self.bytes, buf)?;
        self.consumed.set(self.consumed.get() + n);
        Ok(n)
    }
}

enum JsonProblem {
    Duplicate {
        pointer: String,
        key: String,
        first: usize,
    },
    Other {
        pointer: String,
        message: String,
    },
}

struct JsonScan {
    path: Vec<String>,
    consumed: std::rc::Rc<std::cell::Cell<usize>>,
    problem: Option<JsonProblem>,
}

impl JsonScan {
    fn pointer(&self) -> String {
        self.path.iter().map(|s| format!("/{s}")).collect()
    }

    fn fail<E: serde::de::Error>(&mut self, problem: JsonProblem) -> E {
        self.problem = Some(problem);
        E::custom("refused")
    }

    fn string<E: serde::de::Error>(&mut self, s: &str) -> Result<(), E> {
        match refused_char(s) {
            Some(c) => {
                let pointer = self.pointer();
                Err(self.fail(JsonProblem::Other {
                    pointer,
                    message: refused_char_message(c),
                }))
            }
            None => Ok(()),
        }
    }
}

/// One JSON value, visited without being built.
struct JsonNode<'s>(&'s mut JsonScan);

impl<'de> serde::de::DeserializeSeed<'de> for JsonNode<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for JsonNode<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<(), E> {
        self.0.string(s)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let scan = self.0;
        enter(scan)?;
        let mut i = 0usize;
        loop {
            scan.path.push(i.to_string());
            let more = seq.next_element_seed(JsonNode(scan))?;
            scan.path.pop();
            if more.is_none() {
                break;
            }
            i += 1;
        }
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let scan = self.0;
        enter(scan)?;
        let mut keys: HashMap<String, usize> = HashMap::new();
        while let Some(key) = map.next_key::<String>()? {
            let segment = pointer_segment(&key);
            scan.path.push(segment);
            scan.string::<A::Error>(&key)?;
            if let Some(first) = keys.insert(key.clone(), scan.consumed.get()) {
                let pointer = scan.pointer();
                return Err(scan.fail(JsonProblem::Duplicate {
                    pointer,
                    key,
                    first,
                }));
            }
            map.next_value_seed(JsonNode(scan))?;
            scan.path.pop();
        }
        Ok(())
    }
}

fn enter<E: serde::de::Error>(scan: &mut JsonScan) -> Result<(), E> {
    if scan.path.len() >= MAX_DEPTH {
        let pointer = scan.pointer();
        return Err(scan.fail(JsonProblem::Other {
            pointer,
            message: format!("nests deeper than {MAX_DEPTH} levels of objects and arrays"),
        }));
    }
    Ok(())
}
