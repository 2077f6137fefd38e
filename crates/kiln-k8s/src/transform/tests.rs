//! Image overrides against kustomize's behaviour, case by case.

use super::*;

fn o(name: &str, new_name: Option<&str>, tag: Option<&str>, digest: Option<&str>) -> ImageOverride {
    ImageOverride {
        name: name.into(),
        new_name: new_name.map(Into::into),
        new_tag: tag.map(Into::into),
        digest: digest.map(Into::into),
    }
}

#[test]
fn image_overrides_follow_kustomize() {
    let d = "sha256:aa";
    assert_eq!(
        override_image("a/b:1", &o("a/b", None, Some("2"), None)).as_deref(),
        Some("a/b:2")
    );
    assert_eq!(
        override_image("a/b:1", &o("a/b", Some("c/d"), None, None)).as_deref(),
        Some("c/d:1")
    );
    assert_eq!(
        override_image("a/b:1", &o("a/b", None, None, Some(d))).as_deref(),
        Some("a/b@sha256:aa")
    );
    assert_eq!(
        override_image("reg:5000/a/b:1", &o("reg:5000/a/b", None, Some("2"), None)).as_deref(),
        Some("reg:5000/a/b:2")
    );
    assert_eq!(
        override_image("a/bc:1", &o("a/b", None, Some("2"), None)),
        None
    );
    // Tag and digest together stay together; a name alone keeps both.
    assert_eq!(
        override_image("a/b:1", &o("a/b", None, Some("2"), Some(d))).as_deref(),
        Some("a/b:2@sha256:aa")
    );
    assert_eq!(
        override_image("a/b:1@sha256:bb", &o("a/b", Some("c/d"), None, None)).as_deref(),
        Some("c/d:1@sha256:bb")
    );
    assert_eq!(
        override_image("a/b:1@sha256:bb", &o("a/b", None, Some("2"), None)).as_deref(),
        Some("a/b:2")
    );
}
