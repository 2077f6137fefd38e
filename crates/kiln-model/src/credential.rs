//! Credentials written where they do not belong: found in any text (a whole
//! value, or inside a longer one such as a URL, a header or an annotation)
//! so that kiln can refuse them in inputs and mask them wherever it shows a
//! line of a file.

use std::ops::Range;

/// Prefixes of provider and platform keys, each followed by at least 16
/// more characters of the key: OpenAI and Anthropic (`sk-`, `sk-ant-`),
/// Stripe (`sk_live_`, `rk_live_`), Google (`AIza`), xAI, Groq, Cerebras,
/// Hugging Face, GitHub (`ghp_`, `gho_`, `ghs_`, `ghu_`, `github_pat_`),
/// GitLab (`glpat-`), Slack (`xoxb-`, `xoxp-`, `xoxa-`, `xapp-`), AWS access
/// key IDs (`AKIA`, `ASIA`).
const KEY_PREFIXES: [&str; 22] = [
    "sk-",
    "sk_",
    "pk-",
    "rk_live_",
    "AIza",
    "xai-",
    "gsk_",
    "csk-",
    "hf_",
    "ghp_",
    "gho_",
    "ghs_",
    "ghu_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "xoxb-",
    "xoxp-",
    "xoxa-",
    "xapp-",
    "AKIA",
    "ASIA",
];

/// Hosts and paths whose URLs are themselves the credential (whoever has the
/// URL can post): Slack, Discord and Microsoft Teams incoming webhooks.
const WEBHOOKS: [&str; 4] = [
    "hooks.slack.com/services/",
    "discord.com/api/webhooks/",
    "discordapp.com/api/webhooks/",
    ".webhook.office.com/webhookb2/",
];

/// A whole value shaped like a real provider credential: a known key prefix,
/// or 32 or more letters and digits (with `-`/`_`) mixing both.
///
/// ```
/// use kiln_model::credential::looks_like_key;
/// assert!(looks_like_key("sk-ant-api03-abcdefghijklmnopqrstuvwxyz"));
/// assert!(!looks_like_key("${ANTHROPIC_API_KEY}"));
/// ```
pub fn looks_like_key(s: &str) -> bool {
    let s = s.trim();
    let prefixed = KEY_PREFIXES
        .iter()
        .any(|p| s.starts_with(p) && s.len() >= p.len() + 16 && is_token(&s[p.len()..]));
    let tokenish = s.len() >= 32
        && is_token(s)
        && s.chars().any(|c| c.is_ascii_digit())
        && s.chars().any(|c| c.is_ascii_alphabetic());
    prefixed || tokenish
}

fn is_token(s: &str) -> bool {
    s.chars().all(is_token_char)
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// Where `text` holds a credential, as byte ranges: a prefixed key inside
/// a longer value, the password of a URL (`postgres://user:PASS@host`), the
/// token after `Bearer ` or `Basic `, and the secret part of a webhook URL.
/// Plain long tokens count only as whole values ([`looks_like_key`]):
/// inside text they are as often digests and hashes.
///
/// ```
/// use kiln_model::credential::spans;
/// let t = "postgres://app:hunter2@db:5432/x";
/// assert_eq!(spans(t).iter().map(|r| &t[r.clone()]).collect::<Vec<_>>(), ["hunter2"]);
/// let t = "Authorization: Bearer abc.def.ghi";
/// assert_eq!(spans(t).iter().map(|r| &t[r.clone()]).collect::<Vec<_>>(), ["abc.def.ghi"]);
/// assert!(spans("image: nginx@sha256:0123456789abcdef0123456789abcdef").is_empty());
/// ```
pub fn spans(text: &str) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    prefixed_keys(text, &mut found);
    url_passwords(text, &mut found);
    auth_tokens(text, &mut found);
    webhooks(text, &mut found);
    found.sort_by_key(|r| (r.start, r.end));
    found.dedup();
    found
}

/// Whether `text` holds a credential anywhere ([`spans`]) or is one ([`looks_like_key`]).
pub fn contains(text: &str) -> bool {
    looks_like_key(text) || !spans(text).is_empty()
}

/// `text` with every credential ([`spans`], and every token that
/// [`looks_like_key`] on its own) masked by `*`, one for each character, so
/// columns still point at the same place. For showing a line of a file:
/// a digest masked too is no loss there.
///
/// ```
/// assert_eq!(kiln_model::credential::mask("key: sk-abcdefghijklmnopqrstu"), "key: ************************");
/// ```
pub fn mask(text: &str) -> String {
    let mut ranges = spans(text);
    ranges.extend(
        tokens(text)
            .into_iter()
            .filter(|(_, t)| looks_like_key(t))
            .map(|(at, t)| at..at + t.len()),
    );
    ranges.sort_by_key(|r| (r.start, r.end));
    let mut masked = String::with_capacity(text.len());
    let mut last = 0;
    for r in ranges {
        if r.end <= last {
            continue;
        }
        let start = r.start.max(last);
        masked.push_str(&text[last..start]);
        masked.extend(text[start..r.end].chars().map(|_| '*'));
        last = r.end;
    }
    masked.push_str(&text[last..]);
    masked
}

/// The maximal runs of token characters in `text`, with their byte offsets.
fn tokens(text: &str) -> Vec<(usize, &str)> {
    let mut found = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (is_token_char(c), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                found.push((s, &text[s..i]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        found.push((s, &text[s..]));
    }
    found
}

fn prefixed_keys(text: &str, found: &mut Vec<Range<usize>>) {
    for (at, token) in tokens(text) {
        let keyed = KEY_PREFIXES
            .iter()
            .any(|p| token.starts_with(p) && token.len() >= p.len() + 16);
        if keyed {
            found.push(at..at + token.len());
        }
    }
}

fn url_passwords(text: &str, found: &mut Vec<Range<usize>>) {
    let mut from = 0;
    while let Some(i) = text[from..].find("://") {
        let start = from + i + 3;
        let authority_end = text[start..]
            .find(|c: char| {
                matches!(c, '/' | '?' | '#') || c.is_whitespace() || c == '"' || c == '\''
            })
            .map_or(text.len(), |e| start + e);
        let authority = &text[start..authority_end];
        if let Some(at) = authority.rfind('@')
            && let Some(colon) = authority[..at].find(':')
        {
            let password = start + colon + 1..start + at;
            if !password.is_empty() && !authority[colon + 1..at].starts_with("${") {
                found.push(password);
            }
        }
        from = start;
    }
}

fn auth_tokens(text: &str, found: &mut Vec<Range<usize>>) {
    for scheme in ["Bearer ", "bearer ", "Basic ", "basic "] {
        let tokens = runs_after(text, scheme, |c| {
            c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ';')
        });
        found.extend(tokens.filter(|r| {
            let token = &text[r.clone()];
            token.len() >= 8 && !token.starts_with("${") && !token.starts_with("$(")
        }));
    }
}

fn webhooks(text: &str, found: &mut Vec<Range<usize>>) {
    for hook in WEBHOOKS {
        let paths = runs_after(text, hook, |c| {
            c.is_whitespace() || matches!(c, '"' | '\'' | '?' | '#')
        });
        found.extend(paths.filter(|r| !r.is_empty()));
    }
}

/// The text after each `marker` in `text`, up to the first character that
/// `ends` (or the end), as byte ranges.
fn runs_after<'a>(
    text: &'a str,
    marker: &'a str,
    ends: impl Fn(char) -> bool + 'a,
) -> impl Iterator<Item = Range<usize>> + 'a {
    text.match_indices(marker).map(move |(i, _)| {
        let start = i + marker.len();
        let end = text[start..].find(&ends).map_or(text.len(), |e| start + e);
        start..end
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys in the formats their issuers publish (made-up values of the
    /// right shape), each inside the kind of value that carries it.
    const CORPUS: [&str; 16] = [
        "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
        "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-AbCdEfGh",
        "x-api-key: sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz012345",
        "sk_live_51AbCdEfGhIjKlMnOpQrStUvWx",
        "AIzaSyA-AbCdEfGhIjKlMnOpQrStUvWxYz01234",
        "ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
        "github_pat_11AbCdEfG0123456789_AbCdEfGhIjKlMnOpQrStUvWx",
        "glpat-AbCdEfGhIjKlMnOpQrSt",
        "xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "AKIAIOSFODNN7EXAMPLE0000",
        "hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567",
        "postgres://portkey:s3cr3t-Pa55@db.internal:5432/portkey",
        "redis://:hunter2hunter2@redis:6379/0",
        "Authorization=Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
        "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        "https://discord.com/api/webhooks/123456789012345678/AbCdEfGhIjKlMnOp",
    ];

    /// Values that look busy but hold no credential.
    const CLEAN: [&str; 8] = [
        "${OPENAI_API_KEY}",
        "https://api.openai.com/v1",
        "postgres://db.internal:5432/portkey",
        "redis://${REDIS_USER}:${REDIS_PASSWORD}@redis:6379",
        "docker.io/portkeyai/gateway@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "Bearer ${TOKEN}",
        "skip-this-one",
        "task-runner",
    ];

    #[test]
    fn every_key_of_the_corpus_is_found_and_masked() {
        for text in CORPUS {
            assert!(contains(text), "{text}");
            let masked = mask(text);
            assert_eq!(masked.chars().count(), text.chars().count(), "{text}");
            assert!(masked.contains("****"), "{text} → {masked}");
        }
    }

    #[test]
    fn nothing_clean_is_taken_for_a_key() {
        for text in CLEAN {
            assert!(!contains(text), "{text}: {:?}", spans(text));
        }
    }
}
