//! One topic: hands out ids, keeps the history and broadcasts each event to every subscriber.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use sse_live_protocol::wire::ResetReason;
use sse_live_protocol::{EncodeError, EventBuilder};
use tokio::sync::{broadcast, OwnedSemaphorePermit, Semaphore};

use super::direct::{max_backlog, FanOut, Parked, TopicFanOut};
use super::epoch::Epoch;
use super::history::{History, LastEventId, Replay, StoredEvent};

/// What a topic broadcasts to its live subscribers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Live {
    /// An event, shared by every subscriber (one reference count a delivery, not one per field).
    Event(Arc<StoredEvent>),
    /// The ids do not go on from the last event: a new `epoch` began (reason `restarted`: Redis came back empty,
    /// or the instance joined Redis late), or events were lost (reason `expired`: entries trimmed from Redis
    /// before this instance read them). Subscribers send `event: reset` and go on with the events that follow.
    Reset {
        /// Why.
        reason: ResetReason,
        /// The epoch of the events that follow.
        epoch: Epoch,
    },
}

/// A named stream of events with increasing ids (1, 2, ...), a bounded history and live subscribers.
#[derive(Debug)]
pub(crate) struct Topic {
    name: String,
    /// Live events. Its capacity is the per-connection buffer: how far one client may fall behind before it is told
    /// to reconnect (`event: reset`, reason `lagged`). It is one ring shared by every subscriber, so a topic's
    /// memory does not grow with its clients.
    sender: broadcast::Sender<Live>,
    /// Held while publishing and while subscribing, so a subscriber's replay and its live events meet exactly.
    inner: Mutex<Inner>,
    /// The direct fan-out's back-pressure: one permit per event the shards have not finished writing (see
    /// [`Topic::reserve`]).
    backlog: Arc<Semaphore>,
}

#[derive(Debug)]
struct Inner {
    next_id: u64,
    history: History,
    epoch: Epoch,
    /// The streams written to directly (see [`super::direct`]).
    direct: TopicFanOut,
}

impl Topic {
    /// A topic in `epoch` keeping `history` events (at least one) for replay, letting a client fall `buffer` events
    /// behind (at least one), with a fan-out of its own.
    #[cfg(test)]
    pub(crate) fn new(name: &str, history: usize, buffer: usize, epoch: Epoch) -> Self {
        Self::with_fan_out(name, history, buffer, epoch, &FanOut::new())
    }

    /// [`Topic::new`] writing to its parked streams through `fan_out`.
    pub(crate) fn with_fan_out(name: &str, history: usize, buffer: usize, epoch: Epoch, fan_out: &Arc<FanOut>) -> Self {
        let (sender, _) = broadcast::channel(buffer.max(1));
        let history = History::new(history.max(1));
        let inner = Mutex::new(Inner { next_id: 1, history, epoch, direct: fan_out.topic() });
        let backlog = Arc::new(Semaphore::new(max_backlog(buffer)));
        Self { name: name.to_owned(), sender, inner, backlog }
    }

    /// Waits until the direct fan-out's shards are fewer than [`max_backlog`] events of this topic behind, and
    /// gives the permit the next event takes along to them ([`Topic::publish_reserved`]): they let it go once they
    /// have written the event to every parked stream. So a stream that drops to its task (the slow path) is never
    /// more than a fraction of `--client-buffer` behind the topic's newest event because of the shards, and a
    /// publisher that publishes faster than they write is held back here, without blocking a thread. Without
    /// parked streams the permit is let go as the event is published.
    pub(crate) async fn reserve(&self) -> Option<OwnedSemaphorePermit> {
        // The semaphore is never closed.
        self.backlog.clone().acquire_owned().await.ok()
    }

    /// A permit of [`Topic::reserve`] if one is free now (none is while publishers wait for one).
    pub(crate) fn try_reserve(&self) -> Option<OwnedSemaphorePermit> {
        self.backlog.clone().try_acquire_owned().ok()
    }

    /// The topic's name.
    #[cfg(test)]
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Publishes `data` as the next event and returns its id.
    #[cfg(test)]
    pub(crate) fn publish(&self, data: &str) -> Result<u64, EncodeError> {
        self.publish_event(None, data)
    }

    /// Publishes `data` as the next event, of type `event_type` on single-topic streams (`message` when `None`;
    /// multi-topic streams name the topic in that field instead), and returns its id.
    #[cfg(test)]
    pub(crate) fn publish_event(&self, event_type: Option<&str>, data: &str) -> Result<u64, EncodeError> {
        self.publish_reserved(None, event_type, data)
    }

    /// [`Topic::publish_event`] with a permit from [`Topic::reserve`], held until the shards have written the event.
    pub(crate) fn publish_reserved(
        &self,
        permit: Option<OwnedSemaphorePermit>,
        event_type: Option<&str>,
        data: &str,
    ) -> Result<u64, EncodeError> {
        self.append(&mut self.lock(), permit, event_type, data)
    }

    /// Adds an event whose id was handed out elsewhere (by Redis, see [`crate::backplane`]) and broadcasts it.
    /// An id not newer than the topic's newest is ignored (`Ok(false)`), so delivering an event twice is harmless.
    /// An id that jumps past the next one (events trimmed from Redis before this instance read them) clears the
    /// history, which cannot be continued from, and broadcasts a [`Live::Reset`] (`expired`) before the event.
    pub(crate) fn deliver(
        &self,
        permit: Option<OwnedSemaphorePermit>,
        id: u64,
        event_type: Option<&str>,
        data: &str,
    ) -> Result<bool, EncodeError> {
        let mut inner = self.lock();
        if id < inner.next_id {
            return Ok(false);
        }
        if id > inner.next_id && inner.next_id > 1 {
            tracing::warn!(topic = self.name, expected = inner.next_id, got = id, "events were lost: a gap in the ids");
            inner.history.clear();
            let _ = self.sender.send(Live::Reset { reason: ResetReason::Expired, epoch: inner.epoch.clone() });
            inner.direct.wake();
        }
        inner.next_id = id;
        self.append(&mut inner, permit, event_type, data).map(|_| true)
    }

    /// Starts the topic over in `epoch`: the history is cleared, ids count from 1 again, and subscribers get a
    /// [`Live::Reset`] (`restarted`).
    pub(crate) fn restart(&self, epoch: &Epoch) {
        let mut inner = self.lock();
        inner.epoch = epoch.clone();
        inner.next_id = 1;
        inner.history.clear();
        let _ = self.sender.send(Live::Reset { reason: ResetReason::Restarted, epoch: epoch.clone() });
        inner.direct.wake();
    }

    /// Appends `data` as event `inner.next_id` to the history and broadcasts it.
    fn append(
        &self,
        inner: &mut Inner,
        permit: Option<OwnedSemaphorePermit>,
        event_type: Option<&str>,
        data: &str,
    ) -> Result<u64, EncodeError> {
        let id = inner.next_id;
        let mut builder = EventBuilder::new().id(inner.epoch.id(id)).data(data);
        if let Some(event_type) = event_type {
            builder = builder.event(event_type);
        }
        let frame = builder.build()?;
        let event = StoredEvent {
            id,
            epoch: inner.epoch.clone(),
            data: Arc::from(data),
            frame: Bytes::from(frame.into_bytes()),
        };
        inner.next_id += 1;
        inner.history.push(event.clone());
        let event = Arc::new(event);
        // An error only means nobody is listening right now.
        let _ = self.sender.send(Live::Event(event.clone()));
        // After the broadcast: a stream the fan-out sends the slow way finds the event in its receiver.
        inner.direct.event(&event, permit);
        Ok(id)
    }

    /// Subscribes a client that last saw `last` (resolved in the topic's epoch): the live receiver is taken under
    /// the same lock as the replay, so every event is either replayed or received live. With `direct`, live events
    /// are also written to the stream's socket while it is parked (see [`super::direct`]).
    pub(crate) fn subscribe(
        &self,
        last: &LastEventId,
        direct: Option<&Arc<Parked>>,
    ) -> (Replay, broadcast::Receiver<Live>) {
        let mut inner = self.lock();
        let receiver = self.sender.subscribe();
        if let Some(parked) = direct {
            inner.direct.add(parked.clone());
        }
        (inner.history.replay(last, &inner.epoch), receiver)
    }

    /// How many clients are subscribed.
    pub(crate) fn subscribers(&self) -> usize {
        self.sender.receiver_count()
    }

    /// Nobody subscribed and nothing published: the hub may forget the topic.
    pub(crate) fn is_idle(&self) -> bool {
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

    fn e() -> Epoch {
        Epoch::first("e").unwrap()
    }

    #[test]
    fn ids_start_at_one_and_frames_carry_them() {
        let topic = Topic::new("t", 4, 4, e());
        assert_eq!(topic.publish("a").unwrap(), 1);
        assert_eq!(topic.publish("b\nc").unwrap(), 2);
        let (replay, _) = topic.subscribe(&LastEventId::Id(0), None);
        let frames: Vec<_> = replay.events.iter().map(|e| e.frame.clone()).collect();
        assert_eq!(frames, [Bytes::from("id: 1@e\ndata: a\n\n"), Bytes::from("id: 2@e\ndata: b\ndata: c\n\n")]);
        assert_eq!(&*replay.events[1].data, "b\nc");
    }

    #[test]
    fn delivered_ids_are_kept_and_older_ones_ignored() {
        let topic = Topic::new("t", 4, 4, e());
        assert!(topic.deliver(None, 5, None, "a").unwrap(), "the first event may start anywhere");
        assert!(!topic.deliver(None, 5, None, "again").unwrap(), "a duplicate");
        assert!(!topic.deliver(None, 3, None, "old").unwrap());
        assert!(topic.deliver(None, 6, Some("end"), "b").unwrap());
        let (replay, _) = topic.subscribe(&LastEventId::Id(4), None);
        let frames: Vec<_> = replay.events.iter().map(|e| e.frame.clone()).collect();
        assert_eq!(frames, [Bytes::from("id: 5@e\ndata: a\n\n"), Bytes::from("event: end\nid: 6@e\ndata: b\n\n")]);
    }

    #[test]
    fn a_gap_in_delivered_ids_clears_the_history_and_tells_subscribers() {
        let topic = Topic::new("t", 4, 4, e());
        topic.deliver(None, 1, None, "a").unwrap();
        let (_, mut receiver) = topic.subscribe(&LastEventId::Absent, None);
        assert!(topic.deliver(None, 9, None, "b").unwrap());
        assert_eq!(receiver.try_recv().unwrap(), Live::Reset { reason: ResetReason::Expired, epoch: e() });
        assert!(matches!(receiver.try_recv().unwrap(), Live::Event(event) if event.id == 9));
        let (replay, _) = topic.subscribe(&LastEventId::Id(1), None);
        assert_eq!(replay.reset, Some(ResetReason::Expired), "1 cannot be continued from: 2 to 8 are lost");
        assert_eq!(replay.events.iter().map(|e| e.id).collect::<Vec<_>>(), [9]);
    }

    #[test]
    fn a_restart_starts_the_ids_over_in_the_new_epoch() {
        let topic = Topic::new("t", 4, 4, e());
        topic.publish("a").unwrap();
        let (_, mut receiver) = topic.subscribe(&LastEventId::Absent, None);
        let next = e().next("f").unwrap();
        topic.restart(&next);
        assert_eq!(receiver.try_recv().unwrap(), Live::Reset { reason: ResetReason::Restarted, epoch: next.clone() });
        assert_eq!(topic.publish("b").unwrap(), 1);
        let (replay, _) = topic.subscribe(&LastEventId::Id(0), None);
        assert_eq!(
            replay.events.iter().map(|e| e.frame.clone()).collect::<Vec<_>>(),
            [Bytes::from("id: 1@f\ndata: b\n\n")]
        );
    }

    #[test]
    fn the_history_is_bounded() {
        let topic = Topic::new("t", 3, 3, e());
        (0..10).for_each(|_| drop(topic.publish("x")));
        let (replay, _) = topic.subscribe(&LastEventId::Invalid("x".into()), None);
        assert_eq!(replay.events.iter().map(|e| e.id).collect::<Vec<_>>(), [8, 9, 10]);
    }

    #[test]
    fn a_topic_is_idle_without_subscribers_or_events() {
        let topic = Topic::new("t", 3, 3, e());
        assert!(topic.is_idle());
        let (_, receiver) = topic.subscribe(&LastEventId::Absent, None);
        assert!(!topic.is_idle());
        drop(receiver);
        assert!(topic.is_idle());
        topic.publish("x").unwrap();
        assert!(!topic.is_idle());
    }
}
