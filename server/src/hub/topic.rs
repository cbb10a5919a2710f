//! One topic: hands out ids, keeps the history and broadcasts each event to every subscriber.

use std::sync::{Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use sse_live_protocol::{EncodeError, EventBuilder};
use tokio::sync::broadcast;

use super::history::{History, LastEventId, StoredEvent};
use super::subscription::Subscription;

/// A named stream of events with increasing ids (1, 2, ...), a bounded history and live subscribers.
#[derive(Debug)]
pub struct Topic {
    name: String,
    /// Live events. Its capacity bounds how far one client may fall behind before it is cut off (it then
    /// reconnects and replays from the history, which is as long).
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
    /// A topic keeping `history` events (at least one) for replay.
    pub fn new(name: &str, history: usize) -> Self {
        let history = history.max(1);
        let (sender, _) = broadcast::channel(history);
        Self { name: name.to_owned(), sender, inner: Mutex::new(Inner { next_id: 1, history: History::new(history) }) }
    }

    /// The topic's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Publishes `data` as the next event and returns its id.
    pub fn publish(&self, data: &str) -> Result<u64, EncodeError> {
        let mut inner = self.lock();
        let id = inner.next_id;
        let frame = EventBuilder::new().id(id.to_string()).data(data).build()?;
        let event = StoredEvent { id, frame: Bytes::from(frame.into_bytes()) };
        inner.next_id += 1;
        inner.history.push(event.clone());
        // An error only means nobody is listening right now.
        let _ = self.sender.send(event);
        Ok(id)
    }

    /// Subscribes a client that last saw `last`: the live receiver is taken under the same lock as the replay, so
    /// every event is either replayed or received live.
    pub fn subscribe(&self, last: &LastEventId) -> Subscription {
        let inner = self.lock();
        let receiver = self.sender.subscribe();
        let replay = inner.history.replay(last);
        drop(inner);
        Subscription::new(self.name.clone(), replay, receiver)
    }

    /// How many clients are subscribed.
    pub fn subscribers(&self) -> usize {
        self.sender.receiver_count()
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
        let topic = Topic::new("t", 4);
        assert_eq!(topic.publish("a").unwrap(), 1);
        assert_eq!(topic.publish("b\nc").unwrap(), 2);
        let sub = topic.subscribe(&LastEventId::Id(0));
        let frames: Vec<_> = sub.replay().events.iter().map(|e| e.frame.clone()).collect();
        assert_eq!(frames, [Bytes::from("id: 1\ndata: a\n\n"), Bytes::from("id: 2\ndata: b\ndata: c\n\n")]);
    }

    #[test]
    fn the_history_is_bounded() {
        let topic = Topic::new("t", 3);
        (0..10).for_each(|_| drop(topic.publish("x")));
        let sub = topic.subscribe(&LastEventId::Invalid("x".into()));
        assert_eq!(sub.replay().events.iter().map(|e| e.id).collect::<Vec<_>>(), [8, 9, 10]);
    }
}
