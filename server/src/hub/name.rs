//! Topic names: `[A-Za-z0-9_.-]` segments joined by `/`, at most [`MAX_TOPIC_LEN`] bytes.

use std::fmt;

/// The longest topic name, in bytes.
pub(crate) const MAX_TOPIC_LEN: usize = 128;

/// The prefix of private topics: subscribing needs a token (see [`crate::auth`]).
pub(crate) const PRIVATE_PREFIX: &str = "private/";
/// The prefix of per-user topics, `users/{sub}/...`: private too.
pub(crate) const USERS_PREFIX: &str = "users/";

/// A valid topic name: `rooms/kitchen.temp-1` is one, `rooms//kitchen` is not, and `users/ada/inbox` is a private
/// one (the unit test `documented_examples` checks these).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct TopicName(String);

impl TopicName {
    /// Checks `name`: non-empty segments of ASCII letters, digits, `_`, `.` and `-` joined by `/`, no segment `.`
    /// or `..` (proxies and clients rewrite those in URLs), at most [`MAX_TOPIC_LEN`] bytes.
    pub(crate) fn parse(name: &str) -> Result<Self, InvalidTopic> {
        let invalid = |why: String| Err(InvalidTopic { why });
        if name.is_empty() {
            return invalid("the topic name is empty".to_owned());
        }
        if name.len() > MAX_TOPIC_LEN {
            return invalid(format!("the topic name is {} bytes long, more than {MAX_TOPIC_LEN}", name.len()));
        }
        if let Some(c) = name.chars().find(|&c| !(c.is_ascii_alphanumeric() || "_.-/".contains(c))) {
            return invalid(format!("the topic name {name:?} contains {c:?}; allowed are A-Z a-z 0-9 _ . - and /"));
        }
        if let Some(segment) = name.split('/').find(|s| s.is_empty() || *s == "." || *s == "..") {
            let what = if segment.is_empty() {
                "an empty segment (a leading, trailing or double '/')"
            } else {
                "a '.' or '..' segment"
            };
            return invalid(format!("the topic name {name:?} has {what}"));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether subscribing needs a token: the name starts with `private/` or `users/`.
    pub(crate) fn is_private(&self) -> bool {
        self.0.starts_with(PRIVATE_PREFIX) || self.0.starts_with(USERS_PREFIX)
    }

    /// Whether `s` would be a valid single segment of a name (used for a token's subject).
    pub(crate) fn is_segment(s: &str) -> bool {
        Self::parse(s).is_ok() && !s.contains('/')
    }
}

impl fmt::Display for TopicName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a topic name was refused (answered as 400 with this text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InvalidTopic {
    why: String,
}

impl fmt::Display for InvalidTopic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.why)
    }
}

impl std::error::Error for InvalidTopic {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The examples in [`TopicName`]'s docs.
    #[test]
    fn documented_examples() {
        assert!(TopicName::parse("rooms/kitchen.temp-1").is_ok());
        assert!(TopicName::parse("rooms//kitchen").is_err());
        assert!(TopicName::parse("users/ada/inbox").unwrap().is_private());
    }

    #[test]
    fn valid_names() {
        for name in ["a", "temperatures", "random-numbers", "a/b/c", "A_1.x-y", "private/x", &"a".repeat(128)] {
            assert_eq!(TopicName::parse(name).unwrap().as_str(), name);
        }
    }

    #[test]
    fn invalid_names_say_why() {
        let cases = [
            ("", "empty"),
            (&*"a".repeat(129), "129 bytes long"),
            ("a b", "contains ' '"),
            ("a:b", "contains ':'"),
            ("é", "contains 'é'"),
            ("a,b", "contains ','"),
            ("/a", "empty segment"),
            ("a/", "empty segment"),
            ("a//b", "empty segment"),
            ("a/../b", "'..' segment"),
            (".", "'.' or '..'"),
        ];
        for (name, why) in cases {
            let error = TopicName::parse(name).unwrap_err().to_string();
            assert!(error.contains(why), "{name:?}: {error}");
        }
    }

    #[test]
    fn private_topics() {
        for (name, private) in [("private/a", true), ("users/ada/inbox", true), ("privateer", false), ("user/a", false)]
        {
            assert_eq!(TopicName::parse(name).unwrap().is_private(), private, "{name}");
        }
    }
}
