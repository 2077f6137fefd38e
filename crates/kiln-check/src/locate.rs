//! JSON pointer → line of a block-style YAML document, so findings (and
//! SARIF annotations) point at the offending line. serde_yaml keeps no node
//! positions; block YAML's indentation is enough to walk the pointer. Flow
//! style (`{a: 1}`) stops the walk at the nearest line found so far.

/// 1-based line of `pointer` in `text` (a single YAML document); the line of
/// the deepest part of the pointer that could be found, 1 if none.
pub(crate) fn line_of(text: &str, pointer: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    // The current node: its line (None = the root) and its indentation column.
    let mut node: Option<usize> = None;
    let mut column: isize = -1;
    let mut item = false;
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        let found = match segment.parse::<usize>() {
            Ok(index) if !item || node.is_none() => nth_item(&lines, node, column, index),
            _ => None,
        }
        .map(|(line, col)| (line, col, true))
        .or_else(|| key(&lines, node, column, item, &segment).map(|(l, c)| (l, c, false)));
        match found {
            Some((line, col, is_item)) => {
                node = Some(line);
                column = col as isize;
                item = is_item;
            }
            None => break,
        }
    }
    node.map_or(1, |l| l + 1)
}

/// Column of the first non-blank character, and the rest; None for blank and comment lines.
fn content(line: &str) -> Option<(usize, &str)> {
    let rest = line.trim_start();
    (!rest.is_empty() && !rest.starts_with('#')).then(|| (line.len() - rest.len(), rest))
}

/// Lines belonging to the node at `node` (exclusive of the node's own line
/// unless it is a list item, whose first key shares its line).
fn body<'a>(
    lines: &'a [&'a str],
    node: Option<usize>,
    column: isize,
    inclusive: bool,
) -> impl Iterator<Item = (usize, usize, &'a str)> + 'a {
    let start = match node {
        None => 0,
        Some(l) if inclusive => l,
        Some(l) => l + 1,
    };
    lines
        .iter()
        .enumerate()
        .skip(start)
        .filter_map(|(i, l)| content(l).map(|(c, rest)| (i, c, rest)))
        .take_while(move |(i, c, rest)| {
            // A key's list may sit at the key's own column (`containers:\n- name: …`);
            // a list item ends at its next sibling.
            Some(*i) == node
                || (*c as isize) > column
                || (!inclusive && rest.starts_with('-') && *c as isize == column)
        })
}

fn nth_item(
    lines: &[&str],
    node: Option<usize>,
    column: isize,
    index: usize,
) -> Option<(usize, usize)> {
    let mut marker = None;
    let mut seen = 0;
    for (i, c, rest) in body(lines, node, column, false) {
        let is_marker = rest == "-" || rest.starts_with("- ");
        let at = *marker.get_or_insert(c);
        if c < at {
            break;
        }
        if c == at && is_marker {
            if seen == index {
                return Some((i, c));
            }
            seen += 1;
        }
    }
    None
}

fn key(
    lines: &[&str],
    node: Option<usize>,
    column: isize,
    item: bool,
    name: &str,
) -> Option<(usize, usize)> {
    let mut child = None;
    for (i, c, rest) in body(lines, node, column, item) {
        // Keys of a list item start after its `- ` marker(s).
        let (mut col, mut rest) = (c, rest);
        if Some(i) == node {
            while let Some(r) = rest.strip_prefix("- ") {
                col += 2 + (r.len() - r.trim_start().len());
                rest = r.trim_start();
            }
        }
        let at = *child.get_or_insert(col);
        if col == at && key_name(rest) == Some(name) {
            return Some((i, col));
        }
    }
    None
}

/// The key of a `key: value` line, unquoted.
fn key_name(rest: &str) -> Option<&str> {
    let (k, _) = rest
        .split_once(':')
        .filter(|(_, v)| v.is_empty() || v.starts_with(' '))?;
    let k = k.trim_end();
    let quoted =
        (k.starts_with('"') && k.ends_with('"')) || (k.starts_with('\'') && k.ends_with('\''));
    Some(if quoted && k.len() >= 2 {
        &k[1..k.len() - 1]
    } else {
        k
    })
}

#[cfg(test)]
mod tests {
    use super::line_of;

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
