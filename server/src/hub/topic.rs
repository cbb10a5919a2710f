//! One topic: hands out ids, keeps the history and broadcasts each event to every subscriber.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use sse_live_protocol::{EncodeError, EventBuilder};
use tokio::sync::broadcast;

use super::history::{History, LastEventId, Replay, StoredEvent};

/// A named stream of events with increasing ids (1, 2, ...), a bounded history and live subscribers.
#[derive(Debug)]
pub struct Topic {
    name: String,
    /// Live events. Its capacity is the per-connection buffer: how far one client may fall behind before it is told
    /// to reconnect (`event: reset`, reason `lagged`). It is one ring shared by every subscriber, so a topic's
    /// memory does not grow with its clients.
    sender: broadcast::Sender<StoredEvent>,
    /// Held while publishing and while subscribing, so a subscriber's replay and its live events meet exactly.
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    next_id: u64,
    history: History,
}

impl Topic {
    /// A topic keeping `history` events (at least one) for replay, letting a client fall `buffer` events behind
    /// (at least one).
    pub fn new(name: &str, history: usize, buffer: usize) -> Self {
        let (sender, _) = broadcast::channel(buffer.max(1));
        let inner = Mutex::new(Inner { next_id: 1, history: History::new(history.max(1)) });
        Self { name: name.to_owned(), sender, inner }
    }

    /// The topic's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Publishes `data` as the next event and returns its id.
    pub fn publish(&self, data: &str) -> Result<u64, EncodeError> {
        self.publish_event(None, data)
    }

    /// Publishes `data` as the next event, of type `event_type` on single-topic streams (`message` when `None`;
    /// multi-topic streams name the topic in that field instead), and returns its id.
    pub fn publish_event(&self, event_type: Option<&str>, data: &str) -> Result<u64, EncodeError> {
        self.append(&mut self.lock(), event_type, data)
    }

    /// Adds an event whose id was handed out elsewhere (by Redis, see [`crate::backplane`]) and broadcasts it.
    /// An id not newer than the topic's newest is ignored (`Ok(false)`), so delivering an event twice is harmless;
    /// ids may jump (events trimmed from a stream before this instance read them).
    pub fn deliver(&self, id: u64, event_type: Option<&str>, data: &str) -> Result<bool, EncodeError> {
        let mut inner = self.lock();
        if id < inner.next_id {
            return Ok(false);
        }
        inner.next_id = id;
        self.append(&mut inner, event_type, data).map(|_| true)
    }

    /// Appends `data` as event `inner.next_id` to the history and broadcasts it.
    fn append(&self, inner: &mut Inner, event_type: Option<&str>, data: &str) -> Result<u64, EncodeError> {
        let id = inner.next_id;
        let mut builder = EventBuilder::new().id(id.to_string()).data(data);
        if let Some(event_type) = event_type {
            builder = builder.event(event_type);
        }
        let frame = builder.build()?;
        let event = StoredEvent { id, data: Arc::from(data), frame: Bytes::from(frame.into_bytes()) };
        inner.next_id += 1;
        inner.history.push(event.clone());
        // An error only means nobody is listening right now.
        let _ = self.sender.send(event);
        Ok(id)
    }

    /// Subscribes a client that last saw `last`: the live receiver is taken under the same lock as the replay, so
    /// every event is either replayed or received live.
    pub fn subscribe(&self, last: &LastEventId) -> (Replay, broadcast::Receiver<StoredEvent>) {
        let inner = self.lock();
        let receiver = self.sender.subscribe();
        (inner.history.replay(last), receiver)
    }

    /// How many clients are subscribed.
    pub fn subscribers(&self) -> usize {
        self.sender.receiver_count()
    }

    /// Nobody subscribed and nothing published: the hub may forget the topic.
    pub fn is_idle(&self) -> bool {
        let inner = self.lock();
        inner.history.is_empty() && self.sender.receiver_count() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing panics while the lock is held; if something did, the history is still consistent.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_start_at_one_and_frames_carry_them() {
        let topic = Topic::new("t", 4, 4);
        assert_eq!(topic.publish("a").unwrap(), 1);
        assert_eq!(topic.publish("b\nc").unwrap(), 2);
        let (replay, _) = topic.subscribe(&LastEventId::Id(0));
        let frames: Vec<_> = replay.events.iter().map(|e| e.frame.clone()).collect();
        assert_eq!(frames, [Bytes::from("id: 1\ndata: a\n\n"), Bytes::from("id: 2\ndata: b\ndata: c\n\n")]);
        assert_eq!(&*replay.events[1].data, "b\nc");
    }

    #[test]
    fn delivered_ids_are_kept_and_older_ones_ignored() {
        let topic = Topic::new("t", 4, 4);
        assert!(topic.deliver(5, None, "a").unwrap());
        assert!(!topic.deliver(5, None, "again").unwrap(), "a duplicate");
        assert!(!topic.deliver(3, None, "old").unwrap());
        assert!(topic.deliver(9, Some("end"), "b").unwrap());
        let (replay, _) = topic.subscribe(&LastEventId::Id(4));
        let frames: Vec<_> = replay.events.iter().map(|e| e.frame.clone()).collect();
        assert_eq!(frames, [Bytes::from("id: 5\ndata: a\n\n"), Bytes::from("event: end\nid: 9\ndata: b\n\n")]);
    }

    #[test]
    fn the_history_is_bounded() {
        let topic = Topic::new("t", 3, 3);
        (0..10).for_each(|_| drop(topic.publish("x")));
        let (replay, _) = topic.subscribe(&LastEventId::Invalid("x".into()));
        assert_eq!(replay.events.iter().map(|e| e.id).collect::<Vec<_>>(), [8, 9, 10]);
    }

    #[test]
    fn a_topic_is_idle_without_subscribers_or_events() {
        let topic = Topic::new("t", 3, 3);
        assert!(topic.is_idle());
        let (_, receiver) = topic.subscribe(&LastEventId::Absent);
        assert!(!topic.is_idle());
        drop(receiver);
        assert!(topic.is_idle());
        topic.publish("x").unwrap();
        assert!(!topic.is_idle());
    }
}
