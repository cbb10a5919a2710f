//! The hub: every topic the server streams, by name.
//!
//! - [`topic`]: one topic: the id counter, the broadcast sender, the history, publish and subscribe.
//! - [`history`]: a topic's bounded history and what to replay after a `Last-Event-ID`.
//! - [`subscription`]: one client's view of a topic as a stream of frames: replay, then live, without gap or duplicate.

pub mod history;
pub mod subscription;
pub mod topic;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use history::{History, LastEventId, Replay, ResetReason, StoredEvent};
pub use subscription::Subscription;
pub use topic::Topic;

/// The set of topics, fixed at startup; cheap to clone (the topics are shared).
#[derive(Debug, Clone, Default)]
pub struct Hub {
    topics: Arc<BTreeMap<String, Arc<Topic>>>,
}

impl Hub {
    /// A hub with one topic per name, each keeping `history` events (at least one).
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>, history: usize) -> Self {
        let topics = names.into_iter().map(|name| (name.to_owned(), Arc::new(Topic::new(name, history)))).collect();
        Self { topics: Arc::new(topics) }
    }

    /// The topic called `name`, if the hub has one.
    pub fn topic(&self, name: &str) -> Option<Arc<Topic>> {
        self.topics.get(name).cloned()
    }

    /// The names of all topics, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.topics.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_are_found_by_name_and_shared() {
        let hub = Hub::new(["b", "a"], 10);
        assert_eq!(hub.names().collect::<Vec<_>>(), ["a", "b"]);
        assert!(hub.topic("c").is_none());
        hub.topic("a").unwrap().publish("x").unwrap();
        assert_eq!(hub.clone().topic("a").unwrap().publish("y").unwrap(), 2, "a clone shares the counter");
    }
}
