//! The rules by which kiln refuses configs the gateway would run: each is
//! listed in docs/reference/strategies.md under "Stricter than the gateway", and a refusal for
//! any other reason fails the differential and parity tests.

/// A fragment of each such rule's message, and the docs' words for it.
pub const STRICTER: [(&str, &str); 17] = [
    (
        "must be the only key of its query",
        "`$and`/`$or` alone in its query",
    ),
    ("must stand alone", "`$regex` alone among its operators"),
    (
        "is not a field Portkey can test",
        "only fields the router can read",
    ),
    (
        "is a property of every JavaScript object",
        "no JavaScript prototype names",
    ),
    (
        "is not a valid JavaScript regular expression",
        "patterns that compile",
    ),
    (
        "is not an operator Portkey understands",
        "known operators only",
    ),
    (
        "a list here makes the gateway fail the request",
        "no list as a query value",
    ),
    ("list of queries", "`$and`/`$or` take a list of queries"),
    ("no target is named", "`then` and `default` name targets"),
    (
        "is not a field the gateway reads",
        "no fields the gateway ignores",
    ),
    ("unknown field", "no fields the gateway ignores"),
    (
        "looks like a literal credential",
        "credentials by reference only",
    ),
    (
        "credentials are only references",
        "credentials by reference only",
    ),
    ("is used twice", "unique target names"),
    ("is not an HTTP status code", "status codes 100–599"),
    (
        "max_age is a number of seconds",
        "a cache `max_age` of 0 or more",
    ),
    (
        "at /override_params: invalid type",
        "`override_params` is an object",
    ),
];

/// Where kiln's refusals of configs the gateway serves are listed.
const DOCUMENT: &str = "docs/reference/strategies.md";

/// The "Stricter than the gateway" section of the strategy file reference.
fn documented_section() -> String {
    let readme = std::fs::read_to_string(kiln_tests::repo_root().join(DOCUMENT)).expect(DOCUMENT);
    let start = readme
        .find("## Stricter than the gateway")
        .expect("a \"Stricter than the gateway\" section in docs/reference/strategies.md");
    let end = readme[start + 4..]
        .find("\n#")
        .map_or(readme.len(), |e| start + 4 + e);
    readme[start..end].to_string()
}

#[test]
fn the_docs_list_every_rule_kiln_adds() {
    let section = documented_section();
    for (_, words) in STRICTER {
        assert!(
            section.contains(words),
            "{DOCUMENT} does not list {words:?}:\n{section}"
        );
    }
}
