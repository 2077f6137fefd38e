//! YAML streams walked event by event (saphyr-parser), each node with its
//! JSON pointer and position: the scan that judges a text before serde reads
//! it ([`scan_yaml`]), and the line of a pointer ([`line_of`]).

use super::{MAX_DEPTH, MAX_EXPANDED_BYTES, pointer_segment, refused_char, refused_char_message};
use crate::error::{Error, InputError};
use saphyr_parser::{Event, Parser};
use std::collections::HashMap;
use std::path::Path;

/// 1-based line and 0-based column of an event.
#[derive(Debug, Clone, Copy)]
struct Position {
    line: usize,
    col: usize,
}

/// What the walker reports: each node where it starts, and the end of each collection.
enum Step<'e> {
    /// A mapping key; `pointer` is that of the entry it names.
    Key {
        key: &'e str,
        anchor: usize,
    },
    /// A collection or alias where a mapping expects a key.
    ComplexKey,
    Scalar {
        value: &'e str,
        anchor: usize,
    },
    Alias {
        anchor: usize,
    },
    /// The start of a mapping or sequence, at `pointer`.
    Open {
        map: bool,
        anchor: usize,
    },
    Close,
    /// A document starts or ends: nothing carries over.
    Document,
}

/// An open mapping or sequence, for pointers.
struct Frame {
    is_map: bool,
    /// A mapping's next node is a key.
    expect_key: bool,
    /// The pointer segment of the node being read: the last key, or the next index.
    segment: String,
    index: usize,
    /// This collection's own pointer.
    pointer: String,
}

impl Frame {
    fn child(&self) -> String {
        format!("{}/{}", self.pointer, self.segment)
    }

    /// A child value is complete: move on to the next key or index.
    fn advance(&mut self) {
        if self.is_map {
            self.expect_key = true;
        } else {
            self.index += 1;
            self.segment = self.index.to_string();
        }
    }
}

/// Why a walk stopped early.
enum Stop<E> {
    /// The text is not YAML.
    Syntax(Position, String),
    /// The visitor stopped it.
    Visitor(E),
}

/// Walks the nodes of the YAML stream `text` in order, telling `visit` each
/// step, its node's JSON pointer and position.
fn walk<E>(
    text: &str,
    mut visit: impl FnMut(Step, &str, Position) -> Result<(), E>,
) -> Result<(), Stop<E>> {
    let mut frames: Vec<Frame> = Vec::new();
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| {
            let m = e.marker();
            let at = Position {
                line: m.line(),
                col: m.col(),
            };
            Stop::Syntax(at, e.info().to_string())
        })?;
        let at = Position {
            line: span.start.line(),
            col: span.start.col(),
        };
        let pointer = frames.last().map(Frame::child).unwrap_or_default();
        let is_key = frames.last().is_some_and(|f| f.is_map && f.expect_key);
        let step = match &event {
            Event::Alias(_) | Event::MappingStart(..) | Event::SequenceStart(..) if is_key => {
                Step::ComplexKey
            }
            Event::Scalar(v, _, anchor, _) if is_key => Step::Key {
                key: v,
                anchor: *anchor,
            },
            Event::Scalar(v, _, anchor, _) => Step::Scalar {
                value: v,
                anchor: *anchor,
            },
            Event::Alias(anchor) => Step::Alias { anchor: *anchor },
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => Step::Open {
                map: matches!(event, Event::MappingStart(..)),
                anchor: *anchor,
            },
            Event::MappingEnd | Event::SequenceEnd => Step::Close,
            Event::DocumentStart(_) | Event::DocumentEnd => Step::Document,
            Event::StreamStart | Event::StreamEnd | Event::Nothing => continue,
        };
        let key_pointer;
        let shown = match &step {
            Step::Key { key, .. } => {
                key_pointer = frames
                    .last()
                    .map(|f| format!("{}/{}", f.pointer, pointer_segment(key)))
                    .unwrap_or_default();
                key_pointer.as_str()
            }
            _ => pointer.as_str(),
        };
        visit(step, shown, at).map_err(Stop::Visitor)?;
        track(&mut frames, &event, is_key, pointer);
    }
    Ok(())
}

/// Keeps the frames in step with `event`.
fn track(frames: &mut Vec<Frame>, event: &Event, is_key: bool, pointer: String) {
    match event {
        Event::Scalar(key, ..) if is_key => {
            if let Some(f) = frames.last_mut() {
                f.segment = pointer_segment(key);
                f.expect_key = false;
            }
        }
        Event::Scalar(..) | Event::Alias(_) => {
            if let Some(f) = frames.last_mut() {
                f.advance();
            }
        }
        Event::MappingStart(..) | Event::SequenceStart(..) => {
            let is_map = matches!(event, Event::MappingStart(..));
            frames.push(Frame {
                is_map,
                expect_key: is_map,
                segment: if is_map { String::new() } else { "0".into() },
                index: 0,
                pointer,
            });
        }
        Event::MappingEnd | Event::SequenceEnd => {
            frames.pop();
            if let Some(f) = frames.last_mut() {
                f.advance();
            }
        }
        Event::DocumentStart(_) | Event::DocumentEnd => frames.clear(),
        _ => {}
    }
}

/// What the scan remembers across a stream: the keys of each open mapping
/// (with their lines), each anchor's expanded size, the expanded total.
#[derive(Default)]
struct Scan {
    keys: Vec<Option<HashMap<String, usize>>>,
    /// Open collections: anchor and the total when they opened.
    open: Vec<(usize, u64)>,
    anchors: HashMap<usize, u64>,
    total: u64,
}

impl Scan {
    fn step(
        &mut self,
        step: Step,
        pointer: &str,
        at: Position,
    ) -> Result<(), (Position, String, String)> {
        let fail = |message: String| Err((at, pointer.to_string(), message));
        match step {
            Step::Key { key, anchor } => {
                if let Some(c) = refused_char(key) {
                    return fail(refused_char_message(c));
                }
                let keys = self.keys.last_mut().and_then(Option::as_mut);
                if let Some(first) = keys.and_then(|k| k.insert(key.to_string(), at.line)) {
                    return fail(format!(
                        "duplicate key `{key}`: first at line {first}, again at line {}; a key may appear once in a mapping",
                        at.line
                    ));
                }
                self.scalar(key, anchor);
            }
            Step::Scalar { value, anchor } => {
                if let Some(c) = refused_char(value) {
                    return fail(refused_char_message(c));
                }
                self.scalar(value, anchor);
            }
            Step::Alias { anchor } => self.total += self.anchors.get(&anchor).copied().unwrap_or(0),
            Step::Open { map, anchor } => {
                if self.open.len() >= MAX_DEPTH {
                    return fail(format!(
                        "nests deeper than {MAX_DEPTH} levels of mappings and sequences"
                    ));
                }
                self.total += 1;
                self.open.push((anchor, self.total));
                self.keys.push(map.then(HashMap::new));
            }
            Step::Close => {
                self.keys.pop();
                if let Some((anchor, start)) = self.open.pop().filter(|(a, _)| *a != 0) {
                    self.anchors.insert(anchor, self.total - start + 1);
                }
            }
            Step::Document => {
                self.keys.clear();
                self.open.clear();
            }
            Step::ComplexKey => {
                return fail(
                    "a mapping key must be a plain string, not a collection or alias".into(),
                );
            }
        }
        if self.total > MAX_EXPANDED_BYTES {
            return fail(format!(
                "grows past {} MiB once its aliases are expanded; repeat less through `*` aliases",
                MAX_EXPANDED_BYTES >> 20
            ));
        }
        Ok(())
    }

    fn scalar(&mut self, text: &str, anchor: usize) {
        let size = text.len() as u64 + 1;
        self.total += size;
        if anchor != 0 {
            self.anchors.insert(anchor, size);
        }
    }
}

/// Judges a YAML stream before serde reads it: nesting deeper than
/// [`MAX_DEPTH`], growth past [`MAX_EXPANDED_BYTES`] through aliases, a key
/// given twice in a mapping (both lines), a mapping key that is not a plain
/// string, and the control characters YAML writers refuse.
pub(crate) fn scan_yaml(file: &Path, text: &str) -> Result<(), Error> {
    hidden_line_break(file, text)?;
    let mut scan = Scan::default();
    let result = walk(text, |step, pointer, at| scan.step(step, pointer, at));
    let (at, pointer, message) = match result {
        Ok(()) => return Ok(()),
        Err(Stop::Visitor(problem)) => problem,
        Err(Stop::Syntax(at, info)) => {
            // The parser's own guard against deep flow collections.
            let message = if info.contains("recursion limit") {
                format!("nests deeper than {MAX_DEPTH} levels of mappings and sequences")
            } else {
                format!("not valid YAML: {info}")
            };
            (at, String::new(), message)
        }
    };
    Err(InputError::new(file, message)
        .at(pointer)
        .with_location(text, at.line, at.col + 1)
        .into())
}

/// Refuses the line breaks that YAML 1.1 readers (libyaml, PyYAML, and so
/// serde_yaml and kubectl) honour but git, GitHub and editors do not show as
/// one: NEL (U+0085), the line and paragraph separators (U+2028, U+2029) and
/// a carriage return without a newline. Behind a `#` they turn what a
/// reviewer reads as a comment into a key that is applied.
fn hidden_line_break(file: &Path, text: &str) -> Result<(), Error> {
    let bytes = text.as_bytes();
    let found = text.char_indices().find(|&(i, c)| {
        matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}')
            || (c == '\r' && bytes.get(i + 1) != Some(&b'\n'))
    });
    let Some((offset, c)) = found else {
        return Ok(());
    };
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .unwrap_or_default()
        .chars()
        .count()
        + 1;
    // The last node that starts before it, for the pointer.
    let mut pointer = String::new();
    let _ = walk(before, |step, at: &str, _| {
        if matches!(
            step,
            Step::Key { .. } | Step::Scalar { .. } | Step::Open { .. }
        ) {
            pointer = at.to_string();
        }
        Ok::<(), ()>(())
    });
    Err(InputError::new(
        file,
        format!(
            "contains U+{:04X}, a line break for YAML readers that git and GitHub do not show as one (text after a `#` would be read as a key); write a plain newline instead",
            c as u32
        ),
    )
    .at(pointer)
    .with_location(text, line, column)
    .into())
}

/// The 1-based line where the node at `pointer` starts in the YAML document
/// `text`; for a pointer that goes deeper than the document, the line of the
/// deepest part found; 1 if nothing is found or the text is not YAML.
///
/// ```
/// let text = "metadata:\n  name: web\nspec:\n  containers:\n    - name: a\n      image: nginx\n";
/// assert_eq!(kiln_model::parse::line_of(text, "/spec/containers/0/image"), 6);
/// assert_eq!(kiln_model::parse::line_of(text, "/spec/containers/0/securityContext"), 5);
/// assert_eq!(kiln_model::parse::line_of(text, ""), 1);
/// ```
pub fn line_of(text: &str, pointer: &str) -> usize {
    let mut best = (0, 1);
    let _ = walk(text, |step, at_pointer, at| {
        let node_start = matches!(
            step,
            Step::Key { .. } | Step::Open { .. } | Step::Scalar { .. } | Step::Alias { .. }
        );
        let depth = at_pointer.matches('/').count();
        let is_prefix = pointer == at_pointer
            || pointer
                .strip_prefix(at_pointer)
                .is_some_and(|rest| rest.starts_with('/'));
        if node_start && is_prefix && depth > best.0 {
            best = (depth, at.line);
        }
        if pointer == at_pointer && matches!(step, Step::Key { .. }) {
            return Err(());
        }
        Ok(())
    });
    best.1
}

/// Every scalar value of the YAML `text` with its JSON pointer and 1-based
/// line, in document order; empty if the text is not YAML. For pointing a
/// finding about a rendered value back at the input line that set it.
///
/// ```
/// let text = "set:\n  podDisruptionBudget: { minAvailable: 2 }\n";
/// assert_eq!(
///     kiln_model::parse::scalars(text),
///     [("/set/podDisruptionBudget/minAvailable".to_string(), 2, "2".to_string())]
/// );
/// ```
pub fn scalars(text: &str) -> Vec<(String, usize, String)> {
    let mut found = Vec::new();
    let _ = walk::<()>(text, |step, pointer, at| {
        if let Step::Scalar { value, .. } = step {
            found.push((pointer.to_string(), at.line, value.to_string()));
        }
        Ok(())
    });
    found
}

#[cfg(test)]
mod tests {
    use super::line_of;
    // The line of a pointer, as findings and SARIF annotations need it.

    const DOC: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: nginx
          securityContext:
            privileged: true
        - name: side
          ports:
          - containerPort: 80
            name: http
      volumes:
      - name: \"v\"
        hostPath: {path: /}
";

    #[test]
    fn walks_keys_and_items() {
        assert_eq!(line_of(DOC, ""), 1);
        assert_eq!(line_of(DOC, "/kind"), 2);
        assert_eq!(line_of(DOC, "/metadata/name"), 4);
        assert_eq!(line_of(DOC, "/spec/template/spec/containers/0"), 9);
        assert_eq!(line_of(DOC, "/spec/template/spec/containers/0/name"), 9);
        assert_eq!(
            line_of(
                DOC,
                "/spec/template/spec/containers/0/securityContext/privileged"
            ),
            12
        );
        assert_eq!(
            line_of(DOC, "/spec/template/spec/containers/1/ports/0/name"),
            16
        );
        assert_eq!(line_of(DOC, "/spec/template/spec/volumes/0/hostPath"), 19);
    }

    #[test]
    fn stops_at_the_deepest_part_found() {
        assert_eq!(
            line_of(DOC, "/spec/template/spec/volumes/0/hostPath/path"),
            19
        );
        assert_eq!(line_of(DOC, "/spec/template/spec/containers/7"), 8);
        assert_eq!(line_of(DOC, "/metadata/labels/app"), 3);
        // `name` under containers is not a key of spec: no false match deeper down.
        assert_eq!(line_of(DOC, "/spec/name"), 5);
    }
}
