//! Regular expressions that take exponential time in a backtracking engine
//! (catastrophic backtracking, ReDoS). The gateway runs a strategy's
//! `$regex` with JavaScript's backtracking `RegExp` on what clients send,
//! and `kiln route` runs it the same way: a pattern such as `^(a|aa)+$`
//! takes minutes on forty characters. This module finds the two shapes that
//! cause it, as static ReDoS checkers do (safe-regex, rxxr, recheck's
//! automaton check in its simplest form):
//!
//! 1. **Nested unbounded quantifiers**: a group repeated without an upper
//!    bound (`*`, `+`, `{n,}`) that itself contains such a quantifier:
//!    `(a+)+`, `(\w*\s*)*`, `(?:x+y?)+`.
//! 2. **Overlapping alternatives under repetition**: a group repeated without
//!    an upper bound containing an alternation two of whose alternatives can
//!    begin with the same character: `(a|aa)+`, `(\d|[0-9a-f])*`, `(.|x)+`.
//!
//! Both are judged on the pattern alone, conservatively (a character class
//! is the characters it lists; `.`, a negated class or a backreference may be
//! anything). Patterns that are safe but look like these are refused too:
//! rewrite them without the nesting (`(a+)+` is `a+`) or with disjoint
//! alternatives.

/// Why `pattern` can backtrack catastrophically, if it can: which of the two
/// shapes it has, in words. `None` for a safe pattern (or one that does not
/// parse; compiling it reports that).
///
/// ```
/// use kiln_model::backtracking::catastrophic;
/// assert!(catastrophic("^(a|aa)+$").is_some());
/// assert!(catastrophic("^(a+)+$").is_some());
/// assert!(catastrophic("^(gpt-4o|claude)-[a-z0-9-]+$").is_none());
/// assert!(catastrophic("^([a-z]|[0-9])+$").is_none());
/// ```
pub fn catastrophic(pattern: &str) -> Option<String> {
    let mut parser = Parser {
        chars: pattern.chars().collect(),
        at: 0,
        depth: 0,
    };
    let node = parser.alternation()?;
    judge(&node)
}

/// Characters a node can begin with: ranges, or anything.
#[derive(Debug, Clone, Default)]
struct First {
    ranges: Vec<(char, char)>,
    any: bool,
}

impl First {
    fn any() -> First {
        First {
            ranges: Vec::new(),
            any: true,
        }
    }

    fn char(c: char) -> First {
        First {
            ranges: vec![(c, c)],
            any: false,
        }
    }

    fn union(&mut self, other: &First) {
        self.any |= other.any;
        self.ranges.extend(other.ranges.iter().copied());
    }

    fn overlaps(&self, other: &First) -> bool {
        let some = |f: &First| f.any || !f.ranges.is_empty();
        if (self.any && some(other)) || (other.any && some(self)) {
            return true;
        }
        self.ranges
            .iter()
            .any(|a| other.ranges.iter().any(|b| a.0 <= b.1 && b.0 <= a.1))
    }
}

#[derive(Debug)]
enum Node {
    /// One character of the set.
    Char(First),
    /// Zero-width: `^`, `$`, `\b`, lookarounds.
    Empty,
    Seq(Vec<Node>),
    Alt(Vec<Node>),
    Repeat {
        node: Box<Node>,
        min: u32,
        unbounded: bool,
    },
}

impl Node {
    fn nullable(&self) -> bool {
        match self {
            Node::Char(_) => false,
            Node::Empty => true,
            Node::Seq(items) => items.iter().all(Node::nullable),
            Node::Alt(items) => items.iter().any(Node::nullable),
            Node::Repeat { node, min, .. } => *min == 0 || node.nullable(),
        }
    }

    fn first(&self) -> First {
        match self {
            Node::Char(f) => f.clone(),
            Node::Empty => First::default(),
            Node::Seq(items) => {
                let mut first = First::default();
                for item in items {
                    first.union(&item.first());
                    if !item.nullable() {
                        break;
                    }
                }
                first
            }
            Node::Alt(items) => items.iter().fold(First::default(), |mut f, i| {
                f.union(&i.first());
                f
            }),
            Node::Repeat { node, .. } => node.first(),
        }
    }

    /// What each unbounded quantifier inside can match (its first characters).
    fn unbounded_inside(&self, found: &mut Vec<First>) {
        match self {
            Node::Char(_) | Node::Empty => {}
            Node::Seq(items) | Node::Alt(items) => {
                items.iter().for_each(|i| i.unbounded_inside(found));
            }
            Node::Repeat {
                node, unbounded, ..
            } => {
                if *unbounded {
                    found.push(node.first());
                }
                node.unbounded_inside(found);
            }
        }
    }

    /// Whether an alternation inside has two alternatives that can begin alike.
    fn has_overlapping_alternatives(&self) -> bool {
        match self {
            Node::Char(_) | Node::Empty => false,
            Node::Seq(items) => items.iter().any(Node::has_overlapping_alternatives),
            Node::Alt(items) => {
                let firsts: Vec<First> = items.iter().map(Node::first).collect();
                let overlap = firsts
                    .iter()
                    .enumerate()
                    .any(|(i, a)| firsts[i + 1..].iter().any(|b| a.overlaps(b)));
                overlap || items.iter().any(Node::has_overlapping_alternatives)
            }
            Node::Repeat { node, .. } => node.has_overlapping_alternatives(),
        }
    }
}

/// The first shape found in `node` (see the module's documentation). An
/// unbounded repetition inside another counts only where it can go on with
/// the characters a new round of the outer one begins with: `(a+)+` can
/// split `aaa` in many ways, `(-[a-z]+)*` in one.
fn judge(node: &Node) -> Option<String> {
    match node {
        Node::Char(_) | Node::Empty => None,
        Node::Seq(items) | Node::Alt(items) => items.iter().find_map(judge),
        Node::Repeat {
            node, unbounded, ..
        } => {
            let mut inner = Vec::new();
            node.unbounded_inside(&mut inner);
            let round = node.first();
            if *unbounded && inner.iter().any(|f| f.overlaps(&round)) {
                return Some(
                    "it repeats a group that itself repeats without bound (like `(a+)+`)".into(),
                );
            }
            if *unbounded && node.has_overlapping_alternatives() {
                return Some(
                    "it repeats a group whose alternatives can match the same text (like `(a|aa)+`)"
                        .into(),
                );
            }
            judge(node)
        }
    }
}

/// The most groups nested in one another the parser follows; a deeper
/// pattern is left to the compiler (which refuses or bounds it).
const MAX_NESTING: usize = 256;

struct Parser {
    chars: Vec<char>,
    at: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        self.at += usize::from(c.is_some());
        c
    }

    fn alternation(&mut self) -> Option<Node> {
        let mut alternatives = vec![self.sequence()?];
        while self.peek() == Some('|') {
            self.at += 1;
            alternatives.push(self.sequence()?);
        }
        Some(if alternatives.len() == 1 {
            alternatives.pop()?
        } else {
            Node::Alt(alternatives)
        })
    }

    fn sequence(&mut self) -> Option<Node> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom()?;
            items.push(self.quantified(atom));
        }
        Some(Node::Seq(items))
    }

    fn atom(&mut self) -> Option<Node> {
        match self.next()? {
            '^' | '$' => Some(Node::Empty),
            '.' => Some(Node::Char(First::any())),
            '(' => self.group(),
            '[' => Some(Node::Char(self.class()?)),
            '\\' => Some(self.escape(false)?.map_or(Node::Empty, Node::Char)),
            c => Some(Node::Char(First::char(c))),
        }
    }

    fn group(&mut self) -> Option<Node> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return None;
        }
        let mut zero_width = false;
        if self.peek() == Some('?') {
            self.at += 1;
            match self.next()? {
                ':' => {}
                '=' | '!' => zero_width = true,
                '<' if matches!(self.peek(), Some('=' | '!')) => {
                    self.at += 1;
                    zero_width = true;
                }
                '<' => while self.next()? != '>' {},
                _ => return None,
            }
        }
        let inner = self.alternation()?;
        if self.next()? != ')' {
            return None;
        }
        self.depth -= 1;
        Some(if zero_width { Node::Empty } else { inner })
    }

    /// The characters of `[...]` after the `[`.
    fn class(&mut self) -> Option<First> {
        let mut first = First::default();
        if self.peek() == Some('^') {
            self.at += 1;
            first.any = true;
        }
        let mut previous: Option<char> = None;
        loop {
            let c = self.next()?;
            match c {
                ']' => return Some(first),
                '\\' => match self.escape(true)? {
                    Some(f) if f.ranges.len() == 1 && f.ranges[0].0 == f.ranges[0].1 && !f.any => {
                        previous = Some(f.ranges[0].0);
                        first.union(&f);
                    }
                    Some(f) => {
                        previous = None;
                        first.union(&f);
                    }
                    None => previous = None,
                },
                '-' if previous.is_some() && self.peek().is_some_and(|n| n != ']') => {
                    let low = previous.take()?;
                    let high = match self.next()? {
                        '\\' => self
                            .escape(true)?
                            .and_then(|f| f.ranges.first().map(|r| r.0))?,
                        h => h,
                    };
                    first.ranges.push((low.min(high), low.max(high)));
                }
                c => {
                    previous = Some(c);
                    first.ranges.push((c, c));
                }
            }
        }
    }

    /// The character set of the escape after `\`; `None` inside for a
    /// zero-width one (`\b`, `\B`).
    fn escape(&mut self, in_class: bool) -> Option<Option<First>> {
        let c = self.next()?;
        let ranges = |r: &[(char, char)]| First {
            ranges: r.to_vec(),
            any: false,
        };
        Some(Some(match c {
            'd' => ranges(&[('0', '9')]),
            'w' => ranges(&[('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')]),
            's' => ranges(&[
                ('\t', '\r'),
                (' ', ' '),
                ('\u{a0}', '\u{a0}'),
                ('\u{2000}', '\u{3000}'),
                ('\u{feff}', '\u{feff}'),
            ]),
            'D' | 'W' | 'S' | 'c' | 'p' | 'P' => First::any(),
            'b' if in_class => First::char('\u{8}'),
            'b' | 'B' => return Some(None),
            '1'..='9' => First::any(),
            'n' => First::char('\n'),
            't' => First::char('\t'),
            'r' => First::char('\r'),
            'f' => First::char('\u{c}'),
            'v' => First::char('\u{b}'),
            '0' => First::char('\0'),
            'x' => First::char(self.hex(2)?),
            'u' => First::char(self.hex(4)?),
            c => First::char(c),
        }))
    }

    fn hex(&mut self, digits: usize) -> Option<char> {
        let text: String = (0..digits).filter_map(|_| self.next()).collect();
        char::from_u32(u32::from_str_radix(&text, 16).ok()?)
    }

    /// `atom` with the quantifier that follows it, if any.
    fn quantified(&mut self, atom: Node) -> Node {
        let bounds = match self.peek() {
            Some('*') => Some((0, true)),
            Some('+') => Some((1, true)),
            Some('?') => Some((0, false)),
            Some('{') => None,
            _ => return atom,
        };
        let (min, unbounded) = match bounds {
            Some(bounds) => {
                self.at += 1;
                bounds
            }
            None => match self.braces() {
                Some(bounds) => bounds,
                None => return atom,
            },
        };
        if self.peek() == Some('?') {
            self.at += 1; // lazy: the same shapes backtrack alike
        }
        Node::Repeat {
            node: Box::new(atom),
            min,
            unbounded,
        }
    }

    /// `{n}`, `{n,}` or `{n,m}` at the cursor, consumed; `None` (nothing
    /// consumed) where the braces are a literal, as JavaScript reads them.
    fn braces(&mut self) -> Option<(u32, bool)> {
        let rest: String = self.chars[self.at..].iter().take(32).collect();
        let end = rest.find('}')?;
        let body = &rest[1..end];
        let (low, high) = match body.split_once(',') {
            Some((low, high)) => (low, Some(high)),
            None => (body, None),
        };
        let min: u32 = low.parse().ok()?;
        let unbounded = match high {
            None => false,
            Some("") => true,
            // A large finite bound backtracks like an unbounded one.
            Some(h) => h.parse::<u32>().ok()? > 16,
        };
        self.at += rest[..=end].chars().count();
        Some((min, unbounded))
    }
}

#[cfg(test)]
mod tests {
    use super::catastrophic;

    #[test]
    fn the_shapes_of_catastrophic_backtracking_are_found() {
        for p in [
            "^(a|aa)+$",
            "^(a+)+$",
            "(a*)*b",
            "^(\\w+\\s?)*$",
            "(x+x+)+y",
            "^(\\d|[0-9a-f])*$",
            "(.|a)+!",
            "(?:a|ab)*c",
            "^(a{1,100})+$",
            "^([a-z]+)*@",
            "((ab)*)+c",
        ] {
            assert!(catastrophic(p).is_some(), "{p}");
        }
    }

    #[test]
    fn ordinary_patterns_pass() {
        for p in [
            "^gpt-4o",
            "^(gpt-4o|claude)-[a-z0-9-]+$",
            "^([a-z]|[0-9])+$",
            "^(a|b)+$",
            "^[a-z]+(-[a-z]+)*$",
            "^(?:prod|staging)$",
            "a{2,3}",
            "^\\d{4}-\\d{2}-\\d{2}$",
            "x{",
            "^(premium|pro)-user$",
        ] {
            assert!(catastrophic(p).is_none(), "{p}: {:?}", catastrophic(p));
        }
    }
}
