//! The hub: every topic the server streams, by name, created on first use.
//!
//! - [`name`]: what a topic may be called.
//! - [`epoch`]: what ids belong to (one run of the server, or one life of its Redis), and the id format
//!   `<sequence>@<epoch>`.
//! - [`topic`]: one topic: the id counter, the broadcast sender, the history, publish and subscribe.
//! - [`history`]: a topic's bounded history and what to replay after a `Last-Event-ID`.
//! - [`position`]: the composite id of multi-topic streams.
//! - [`direct`]: live events written straight to the sockets of parked single-topic streams, by one thread per
//!   core, without waking the streams' tasks.
//! - [`feed`]: one connection's frames over one or several topics: resets, replay, then live, without gap or
//!   duplicate; closed with a `reset` when the client falls behind.
//!
//! A topic exists once something publishes to it or subscribes to it; one that has never been published to is
//! forgotten when its last subscriber leaves, so subscribing to random names costs nothing lasting. At most
//! `--max-topics` exist at once ([`TooManyTopics`] beyond), which bounds what subscribers can make the server hold.

pub(crate) mod direct;
pub(crate) mod epoch;
pub(crate) mod feed;
pub(crate) mod history;
pub(crate) mod name;
pub(crate) mod position;
pub(crate) mod topic;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use prometheus_client::metrics::counter::Counter;
use sse_live_protocol::EncodeError;
use tokio::sync::{broadcast, OwnedSemaphorePermit};

pub(crate) use direct::Parked;
pub(crate) use epoch::Epoch;
pub(crate) use feed::{Feed, Layout};
pub(crate) use history::{LastEventId, Replay};
pub(crate) use name::TopicName;
pub(crate) use topic::{Live, Topic};

/// The topics; cheap to clone (clones share them).
#[derive(Debug, Clone)]
pub(crate) struct Hub {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    /// Held while publishing and subscribing, and while forgetting an idle topic, so that nobody publishes to or
    /// subscribes to a topic that is being forgotten; and while the epoch changes.
    topics: Mutex<Topics>,
    history: usize,
    buffer: usize,
    max_topics: usize,
    /// The direct fan-out's shards, shared by the topics.
    fan_out: Arc<direct::FanOut>,
    /// Publishes that waited for the direct fan-out (`sse_live_publishes_held_back_total`).
    held_back: Counter,
}

/// A new topic was needed while the hub holds its maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyTopics {
    /// The maximum.
    pub max: usize,
}

impl fmt::Display for TooManyTopics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the server holds its maximum of {} topics; try again later", self.max)
    }
}

impl std::error::Error for TooManyTopics {}

/// Why publishing failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishError {
    /// The topic is new and the hub is full.
    TooManyTopics(TooManyTopics),
    /// The data cannot be encoded (never for valid UTF-8 data; kept for the encoder's contract).
    Encode(EncodeError),
}

/// The topics by name, and the epoch of their ids.
#[derive(Debug)]
struct Topics {
    map: HashMap<String, Arc<Topic>>,
    epoch: Epoch,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Topics> {
        self.topics.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One subscriber's part of a topic: what to replay and the live receiver (taken together, see
/// [`Topic::subscribe`]).
#[derive(Debug)]
pub(crate) struct Subscription {
    /// The topic's name.
    pub topic: TopicName,
    /// What to send before live events.
    pub replay: Replay,
    // Dropped before the lease, so that the lease sees the topic without this subscriber.
    receiver: broadcast::Receiver<Live>,
    lease: Lease,
}

impl Subscription {
    /// The live receiver and the lease that forgets the topic when it is idle; the receiver must be dropped first.
    pub(crate) fn into_live(self) -> (broadcast::Receiver<Live>, Lease) {
        (self.receiver, self.lease)
    }
}

/// Forgets its topic on drop if nobody subscribes to it and nothing was ever published to it.
#[derive(Debug)]
pub(crate) struct Lease {
    shared: Arc<Shared>,
    topic: String,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let mut topics = self.shared.lock();
        if topics.map.get(&self.topic).is_some_and(|topic| topic.is_idle()) {
            topics.map.remove(&self.topic);
        }
    }
}

impl Hub {
    /// An empty hub whose topics keep `history` events each and let a client fall `buffer` events behind, with no
    /// limit on the number of topics, in a random epoch.
    #[cfg(test)]
    pub(crate) fn new(history: usize, buffer: usize) -> Self {
        Self::with_max_topics(history, buffer, usize::MAX)
    }

    /// An empty hub holding at most `max_topics` topics at once (see `Hub::new`), in a random epoch.
    pub(crate) fn with_max_topics(history: usize, buffer: usize, max_topics: usize) -> Self {
        Self::with_epoch(history, buffer, max_topics, Epoch::random())
    }

    /// [`Hub::with_max_topics`] in `epoch`.
    pub(crate) fn with_epoch(history: usize, buffer: usize, max_topics: usize, epoch: Epoch) -> Self {
        let topics = Mutex::new(Topics { map: HashMap::new(), epoch });
        let fan_out = direct::FanOut::new();
        let held_back = Counter::default();
        Self { shared: Arc::new(Shared { topics, history, buffer, max_topics, fan_out, held_back }) }
    }

    /// Counts the publishes that wait for the direct fan-out in `counter` (a new hub's, before it is shared).
    pub(crate) fn counting_held_back(mut self, counter: Counter) -> Self {
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.held_back = counter;
        }
        self
    }

    /// Moves to the epoch named `name` unless it is the current one: every topic starts over (see
    /// [`Topic::restart`]; subscribers get `event: reset`, reason `restarted`). Returns the new epoch when it
    /// changed; `None` when it did not, or when `name` is not a valid epoch name.
    pub(crate) fn set_epoch(&self, name: &str) -> Option<Epoch> {
        let mut topics = self.shared.lock();
        if topics.epoch.name() == name {
            return None;
        }
        let epoch = topics.epoch.next(name)?;
        topics.epoch = epoch.clone();
        topics.map.retain(|_, topic| {
            topic.restart(&epoch);
            !topic.is_idle()
        });
        Some(epoch)
    }

    /// The topic called `name`, if it exists.
    pub(crate) fn topic(&self, name: &str) -> Option<Arc<Topic>> {
        self.shared.lock().map.get(name).cloned()
    }

    /// Publishes `data` to `topic` (creating it) and returns the event's id, without waiting for the direct
    /// fan-out (see [`Hub::publish_event`]).
    #[cfg(test)]
    pub(crate) fn publish(&self, topic: &TopicName, data: &str) -> Result<u64, PublishError> {
        let mut topics = self.shared.lock();
        self.entry_with_room(&mut topics, topic)?.publish_event(None, data).map_err(PublishError::Encode)
    }

    /// Publishes `data` to `topic` (creating it) as an event of type `event_type` (see [`Topic::publish_event`])
    /// and returns the event's id; first waits while the direct fan-out is too far behind on the topic (see
    /// [`Hub::reserved`]).
    pub(crate) async fn publish_event(
        &self,
        topic: &TopicName,
        event_type: Option<&str>,
        data: &str,
    ) -> Result<u64, PublishError> {
        self.reserved(topic, |topic, permit| topic.publish_reserved(permit, event_type, data)).await
    }

    /// Adds event `id` of `topic` (creating it) whose id was handed out elsewhere; see [`Topic::deliver`]. Waits
    /// for the direct fan-out as [`Hub::publish_event`] does.
    pub(crate) async fn deliver(
        &self,
        topic: &TopicName,
        id: u64,
        event_type: Option<&str>,
        data: &str,
    ) -> Result<bool, PublishError> {
        self.reserved(topic, |topic, permit| topic.deliver(permit, id, event_type, data)).await
    }

    /// Calls `publish` on `topic` (creating it) under the hub's lock, with a permit of the topic's direct fan-out
    /// backlog ([`Topic::reserve`]). When none is free, the permit is waited for without the hub's lock, and the
    /// publish (under it again) takes it along. Should the topic be forgotten and made anew meanwhile, the new one
    /// has no stream yet that the permit would have to protect.
    async fn reserved<R>(
        &self,
        name: &TopicName,
        publish: impl Fn(&Topic, Option<OwnedSemaphorePermit>) -> Result<R, EncodeError>,
    ) -> Result<R, PublishError> {
        let full = {
            let mut topics = self.shared.lock();
            let topic = self.entry_with_room(&mut topics, name)?;
            match topic.try_reserve() {
                Some(permit) => return publish(&topic, Some(permit)).map_err(PublishError::Encode),
                None => topic,
            }
        };
        self.shared.held_back.inc();
        let permit = full.reserve().await;
        let mut topics = self.shared.lock();
        let topic = self.entry_with_room(&mut topics, name)?;
        publish(&topic, permit).map_err(PublishError::Encode)
    }

    /// The topic called `name`, made if there is room for one more (under the hub's lock, `topics`).
    fn entry_with_room(&self, topics: &mut Topics, name: &TopicName) -> Result<Arc<Topic>, PublishError> {
        self.room_for(topics, std::slice::from_ref(name)).map_err(PublishError::TooManyTopics)?;
        Ok(self.entry(topics, name))
    }

    /// Forgets `topic` and its history: its subscribers' streams end (their receivers close once nothing else
    /// holds the topic). For topics with an end, such as the demo's jobs, once nobody needs them any more.
    pub(crate) fn forget(&self, topic: &TopicName) {
        self.shared.lock().map.remove(topic.as_str());
    }

    /// Forgets `topic` if nobody is subscribed to it (its history with it).
    pub(crate) fn forget_unsubscribed(&self, topic: &TopicName) {
        let mut topics = self.shared.lock();
        if topics.map.get(topic.as_str()).is_some_and(|t| t.subscribers() == 0) {
            topics.map.remove(topic.as_str());
        }
    }

    /// Subscribes to each of `topics` (creating them), resuming each after the matching entry of `last`; nothing
    /// is created when they do not all fit.
    #[cfg(test)]
    pub(crate) fn subscribe(
        &self,
        topics: &[TopicName],
        last: &[LastEventId],
    ) -> Result<Vec<Subscription>, TooManyTopics> {
        self.subscribe_with(topics, None, |_| last.to_vec())
    }

    /// Subscribes to each of `topics` (creating them), nothing being created when they do not all fit, with the
    /// resume points read by `resolve` in the current epoch, under the same lock, so that the epoch cannot change in
    /// between. With `direct`, the topics also write live events to the stream's socket while it is parked (see
    /// [`direct`]).
    pub(crate) fn subscribe_with(
        &self,
        topics: &[TopicName],
        direct: Option<&Arc<Parked>>,
        resolve: impl FnOnce(&Epoch) -> Vec<LastEventId>,
    ) -> Result<Vec<Subscription>, TooManyTopics> {
        let mut map = self.shared.lock();
        // Checked before anything is made: dropping a subscription takes the lock held here.
        self.room_for(&map, topics)?;
        let last = resolve(&map.epoch);
        let subscriptions = topics
            .iter()
            .zip(&last)
            .map(|(name, last)| {
                let (replay, receiver) = self.entry(&mut map, name).subscribe(last, direct);
                let lease = Lease { shared: self.shared.clone(), topic: name.as_str().to_owned() };
                Subscription { topic: name.clone(), replay, receiver, lease }
            })
            .collect();
        Ok(subscriptions)
    }

    /// Whether `names` would fit now (the ones that do not exist yet): checked before anything costly is done for
    /// them, such as following them in Redis.
    pub(crate) fn check_room(&self, names: &[TopicName]) -> Result<(), TooManyTopics> {
        self.room_for(&self.shared.lock(), names)
    }

    /// Whether the topics of `names` that do not exist yet fit.
    fn room_for(&self, topics: &Topics, names: &[TopicName]) -> Result<(), TooManyTopics> {
        let new = names.iter().filter(|n| !topics.map.contains_key(n.as_str())).count();
        if new > 0 && topics.map.len().saturating_add(new) > self.shared.max_topics {
            return Err(TooManyTopics { max: self.shared.max_topics });
        }
        Ok(())
    }

    /// How many topics exist.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shared.lock().map.len()
    }

    fn entry(&self, topics: &mut Topics, name: &TopicName) -> Arc<Topic> {
        let (history, buffer, epoch) = (self.shared.history, self.shared.buffer, &topics.epoch);
        let fan_out = &self.shared.fan_out;
        let new = || Arc::new(Topic::with_fan_out(name.as_str(), history, buffer, epoch.clone(), fan_out));
        topics.map.entry(name.as_str().to_owned()).or_insert_with(new).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> TopicName {
        TopicName::parse(s).unwrap()
    }

    #[test]
    fn topics_are_created_on_publish_and_shared() {
        let hub = Hub::new(10, 10);
        assert!(hub.topic("a").is_none());
        assert_eq!(hub.publish(&name("a"), "x").unwrap(), 1);
        assert_eq!(hub.clone().publish(&name("a"), "y").unwrap(), 2, "a clone shares the counter");
        assert_eq!(hub.topic("a").unwrap().name(), "a");
    }

    #[test]
    fn a_topic_only_subscribed_to_is_forgotten_when_its_last_subscriber_leaves() {
        let hub = Hub::new(10, 10);
        let a = hub.subscribe(&[name("a"), name("b")], &[LastEventId::Absent, LastEventId::Absent]).unwrap();
        let b = hub.subscribe(&[name("a")], &[LastEventId::Absent]).unwrap();
        hub.publish(&name("b"), "x").unwrap();
        assert_eq!(hub.len(), 2);
        drop(a);
        assert_eq!(hub.len(), 2, "a is still subscribed to, b has an event");
        drop(b);
        assert!(hub.topic("a").is_none(), "forgotten");
        assert!(hub.topic("b").is_some(), "kept for its history");
    }

    #[test]
    fn no_more_than_max_topics_exist() {
        let hub = Hub::with_max_topics(10, 10, 2);
        hub.publish(&name("a"), "x").unwrap();
        let both = [name("b"), name("c")];
        let absent = [LastEventId::Absent, LastEventId::Absent];
        assert_eq!(hub.subscribe(&both, &absent).unwrap_err(), TooManyTopics { max: 2 });
        assert_eq!(hub.len(), 1, "nothing made");
        let b = hub.subscribe(&both[..1], &absent[..1]).unwrap();
        assert_eq!(hub.publish(&name("c"), "x"), Err(PublishError::TooManyTopics(TooManyTopics { max: 2 })));
        assert_eq!(hub.publish(&name("a"), "y"), Ok(2), "existing topics go on");
        drop(b);
        assert_eq!(hub.publish(&name("c"), "x"), Ok(1), "room again once b is forgotten");
    }
}
