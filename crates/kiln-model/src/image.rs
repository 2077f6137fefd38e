//! Container image references, `[registry[:port]/]repository[:tag][@digest]`,
//! read one way everywhere: the description, `kiln check`, kustomize's
//! `images` and the ACA variables.

use std::fmt;

/// An image reference split into its parts; `Display` writes it back.
///
/// ```
/// use kiln_model::image::ImageRef;
/// let r = ImageRef::parse("registry:5000/portkeyai/gateway:1.12.1@sha256:abc");
/// assert_eq!(r.name, "registry:5000/portkeyai/gateway");
/// assert_eq!(r.tag, Some("1.12.1"));
/// assert_eq!(r.digest, Some("sha256:abc"));
/// assert_eq!(ImageRef::parse("nginx").tag, None);
/// assert_eq!(r.to_string(), "registry:5000/portkeyai/gateway:1.12.1@sha256:abc");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageRef<'a> {
    /// Registry and repository, e.g. `docker.io/portkeyai/gateway`.
    pub name: &'a str,
    /// The tag, if any (a `:` before the last `/` is a registry port, not a tag).
    pub tag: Option<&'a str>,
    /// The digest (`sha256:…`), if any.
    pub digest: Option<&'a str>,
}

impl<'a> ImageRef<'a> {
    /// Splits `reference` into name, tag and digest.
    pub fn parse(reference: &'a str) -> ImageRef<'a> {
        let (rest, digest) = match reference.split_once('@') {
            Some((r, d)) => (r, Some(d)),
            None => (reference, None),
        };
        let slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[slash..].rfind(':') {
            Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..])),
            None => (rest, None),
        };
        ImageRef { name, tag, digest }
    }
}

impl fmt::Display for ImageRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)?;
        if let Some(tag) = self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::ImageRef;

    #[test]
    fn tags_registry_ports_and_digests() {
        let tag = |r| ImageRef::parse(r).tag;
        assert_eq!(tag("nginx"), None);
        assert_eq!(tag("nginx:1.27"), Some("1.27"));
        assert_eq!(tag("registry:5000/team/app"), None);
        assert_eq!(tag("registry:5000/team/app:v2"), Some("v2"));
        assert_eq!(tag("app:v2@sha256:abc"), Some("v2"));
        assert_eq!(tag("app@sha256:abc"), None);
        assert_eq!(
            ImageRef::parse("registry:5000/team/app").name,
            "registry:5000/team/app"
        );
    }
}
