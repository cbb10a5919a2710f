//! A topic's bounded history, and the rule for what a (re)connecting client is sent before live events.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use sse_live_protocol::wire::ResetReason;

use super::epoch::{self, Epoch};

/// One published event: its sequence number in the topic, its epoch, its data, and its single-topic frame (encoded
/// once, shared by every client of `/events/{topic}`; multi-topic streams encode their own with the topic and a
/// composite id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredEvent {
    /// The topic's sequence number for this event: 1 for the first, then increasing by one.
    pub id: u64,
    /// The epoch the sequence number belongs to; the id on the wire is `<id>@<epoch>` ([`Epoch::id`]).
    pub epoch: Epoch,
    /// The event's data.
    pub data: Arc<str>,
    /// The event as it goes on a single-topic stream, `id:` field (`<id>@<epoch>`) included.
    pub frame: Bytes,
}

/// Where a client says it stopped: the `Last-Event-ID` header or the `lastEventId` query parameter, read against
/// the current epoch ([`LastEventId::resolve`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LastEventId {
    /// No id given (or an empty one): a new client.
    Absent,
    /// The sequence number of the last event the client received, in the current epoch (0: none yet, so the whole
    /// history).
    Id(u64),
    /// An id of another epoch: another run of the server, or a Redis that lost its data (kept for the log).
    Restarted(String),
    /// Something that is not an id this server hands out (kept for the log).
    Invalid(String),
}

impl LastEventId {
    /// Reads a plain decimal number (the ids of the test routes, which are not the hub's): surrounding whitespace
    /// is ignored, empty means absent, anything but a decimal `u64` is invalid. Hub ids are read with
    /// [`LastEventId::resolve`].
    pub(crate) fn parse(value: &str) -> Self {
        let value = value.trim();
        if value.is_empty() {
            return Self::Absent;
        }
        // `u64::from_str` would also take a leading '+'; ids on the wire are plain digits.
        if !value.bytes().all(|b| b.is_ascii_digit()) {
            return Self::Invalid(value.to_owned());
        }
        value.parse().map_or_else(|_| Self::Invalid(value.to_owned()), Self::Id)
    }

    /// Reads a hub id (`41@k3f9x2`, see [`super::epoch`]) sent back by a client, in `epoch`: the sequence number
    /// when the epoch is `epoch`, [`Restarted`](Self::Restarted) for another well-formed epoch; `0` (bare, or of
    /// any epoch: nothing seen yet) is `Id(0)`, the whole history; empty is absent; anything else is invalid.
    pub(crate) fn resolve(value: &str, epoch: &Epoch) -> Self {
        let value = value.trim();
        match epoch::split(value) {
            (sequence, Some(name)) => match Self::parse(sequence) {
                Self::Id(id) if name == epoch.name() || (id == 0 && Epoch::is_valid(name)) => Self::Id(id),
                Self::Id(_) if Epoch::is_valid(name) => Self::Restarted(value.to_owned()),
                _ => Self::Invalid(value.to_owned()),
            },
            (_, None) => match Self::parse(value) {
                Self::Id(0) => Self::Id(0),
                Self::Absent => Self::Absent,
                _ => Self::Invalid(value.to_owned()),
            },
        }
    }
}

/// What to send a client before its live events.
///
/// The reason of a reset is [`ResetReason`] from the protocol crate (`expired`, `unknown`, `invalid`, `restarted`),
/// sent as
/// `event: reset` with a [`Reset`](sse_live_protocol::wire::Reset) payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Replay {
    /// Send a `reset` event first, for this reason.
    pub reset: Option<ResetReason>,
    /// Events to send, oldest first.
    pub events: Vec<StoredEvent>,
    /// The newest id in the history when the replay was taken (0 when empty): live events with this id or less are
    /// duplicates.
    pub last_id: u64,
    /// The epoch the ids belong to.
    pub epoch: Epoch,
}

impl Replay {
    /// The client's position before the replay: the id just before the first replayed event, or [`last_id`](
    /// Self::last_id) when nothing is replayed. A stream that ends before its replay is done resumes from here.
    pub(crate) fn start(&self) -> u64 {
        self.events.first().map_or(self.last_id, |e| e.id - 1)
    }
}

/// The last `capacity` events of a topic, oldest first.
#[derive(Debug, Clone)]
pub(crate) struct History {
    events: VecDeque<StoredEvent>,
    capacity: usize,
}

impl History {
    /// An empty history keeping at most `capacity` events (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        // Grows as events come: most topics never fill their history, and empty ones should cost next to nothing.
        Self { events: VecDeque::new(), capacity }
    }

    /// Appends an event (ids must increase), dropping the oldest when full.
    pub(crate) fn push(&mut self, event: StoredEvent) {
        debug_assert!(self.latest().is_none_or(|last| last.id < event.id), "ids must increase");
        if self.events.len() == self.capacity {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }

    /// The newest event, if any.
    pub(crate) fn latest(&self) -> Option<&StoredEvent> {
        self.events.back()
    }

    /// How many events are kept.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether no event has been kept yet.
    pub(crate) fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// What a client that last saw `last` gets before going live:
    /// - no id: the latest event only (a new page shows a value at once);
    /// - an id the history covers (from the one before the oldest kept to the newest): every event after it;
    /// - an id older than that, newer than the newest, of another epoch, or not an id: a reset, then the whole
    ///   history.
    ///
    /// `epoch` is the epoch of the history's ids (the caller resolved `last` in it).
    pub(crate) fn replay(&self, last: &LastEventId, epoch: &Epoch) -> Replay {
        let newest = self.latest().map_or(0, |e| e.id);
        let first_kept = self.events.front().map_or(newest + 1, |e| e.id);
        let all = || self.events.iter().cloned().collect();
        let (reset, events) = match *last {
            LastEventId::Absent => (None, self.latest().cloned().into_iter().collect()),
            LastEventId::Invalid(_) => (Some(ResetReason::Invalid), all()),
            LastEventId::Restarted(_) => (Some(ResetReason::Restarted), all()),
            LastEventId::Id(id) if id > newest => (Some(ResetReason::Unknown), all()),
            LastEventId::Id(id) if id.saturating_add(1) < first_kept => (Some(ResetReason::Expired), all()),
            LastEventId::Id(id) => (None, self.events.iter().filter(|e| e.id > id).cloned().collect()),
        };
        Replay { reset, events, last_id: newest, epoch: epoch.clone() }
    }

    /// Forgets every event (a new epoch, or a gap in the ids: what was kept cannot be continued from).
    pub(crate) fn clear(&mut self) {
        self.events.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e() -> Epoch {
        Epoch::first("e").unwrap()
    }

    fn event(id: u64) -> StoredEvent {
        StoredEvent { id, epoch: e(), data: "x".into(), frame: Bytes::from(format!("id: {id}@e\ndata: x\n\n")) }
    }

    fn history(capacity: usize, ids: std::ops::RangeInclusive<u64>) -> History {
        let mut h = History::new(capacity);
        ids.for_each(|id| h.push(event(id)));
        h
    }

    fn ids(replay: &Replay) -> Vec<u64> {
        replay.events.iter().map(|e| e.id).collect()
    }

    #[test]
    fn parse_accepts_only_plain_decimal_ids() {
        assert_eq!(LastEventId::parse(""), LastEventId::Absent);
        assert_eq!(LastEventId::parse("  "), LastEventId::Absent);
        assert_eq!(LastEventId::parse("42"), LastEventId::Id(42));
        assert_eq!(LastEventId::parse(" 7 "), LastEventId::Id(7));
        for bad in ["+1", "-1", "1.5", "abc", "18446744073709551616", "1e3"] {
            assert_eq!(LastEventId::parse(bad), LastEventId::Invalid(bad.to_owned()), "{bad}");
        }
    }

    #[test]
    fn resolve_reads_ids_of_this_epoch_and_tells_other_epochs_apart() {
        let epoch = e();
        assert_eq!(LastEventId::resolve("41@e", &epoch), LastEventId::Id(41));
        assert_eq!(LastEventId::resolve(" 7@e ", &epoch), LastEventId::Id(7));
        assert_eq!(LastEventId::resolve("0", &epoch), LastEventId::Id(0), "the whole history, in any epoch");
        assert_eq!(LastEventId::resolve("", &epoch), LastEventId::Absent);
        assert_eq!(LastEventId::resolve("41@k3f9x2", &epoch), LastEventId::Restarted("41@k3f9x2".into()));
        assert_eq!(LastEventId::resolve("0@k3f9x2", &epoch), LastEventId::Id(0), "nothing seen, in any epoch");
        for bad in ["41", "41@", "@e", "x@e", "+1@e", "41@E", "41@e@e", "1@a-b"] {
            assert_eq!(LastEventId::resolve(bad, &epoch), LastEventId::Invalid(bad.into()), "{bad}");
        }
    }

    #[test]
    fn keeps_the_last_capacity_events() {
        let h = history(3, 1..=5);
        assert_eq!(h.len(), 3);
        assert_eq!(ids(&h.replay(&LastEventId::Invalid("x".into()), &e())), [3, 4, 5]);
        assert_eq!(History::new(0).capacity, 1);
    }

    #[test]
    fn a_new_client_gets_the_latest_event() {
        let r = history(10, 1..=5).replay(&LastEventId::Absent, &e());
        assert_eq!((r.reset, ids(&r), r.last_id), (None, vec![5], 5));
        let r = History::new(10).replay(&LastEventId::Absent, &e());
        assert_eq!((r.reset, ids(&r), r.last_id), (None, vec![], 0));
    }

    #[test]
    fn a_known_id_gets_everything_after_it() {
        let h = history(3, 1..=5);
        for (last, expected) in [(2, vec![3, 4, 5]), (3, vec![4, 5]), (4, vec![5]), (5, vec![])] {
            let r = h.replay(&LastEventId::Id(last), &e());
            assert_eq!((r.reset, ids(&r), r.last_id), (None, expected, 5), "after {last}");
        }
        let r = history(10, 1..=3).replay(&LastEventId::Id(0), &e());
        assert_eq!((r.reset, ids(&r)), (None, vec![1, 2, 3]), "0 is before the first event");
        let r = History::new(10).replay(&LastEventId::Id(0), &e());
        assert_eq!((r.reset, ids(&r)), (None, vec![]));
    }

    #[test]
    fn other_ids_reset_and_get_the_whole_history() {
        let h = history(3, 1..=5);
        let cases = [
            (LastEventId::Id(1), ResetReason::Expired),
            (LastEventId::Id(0), ResetReason::Expired),
            (LastEventId::Id(6), ResetReason::Unknown),
            (LastEventId::Id(u64::MAX), ResetReason::Unknown),
            (LastEventId::Invalid("x".into()), ResetReason::Invalid),
            (LastEventId::Restarted("4@other".into()), ResetReason::Restarted),
        ];
        for (last, reason) in cases {
            let r = h.replay(&last, &e());
            assert_eq!((r.reset, ids(&r), r.last_id), (Some(reason), vec![3, 4, 5], 5), "{last:?}");
        }
        let r = History::new(3).replay(&LastEventId::Id(4), &e());
        assert_eq!((r.reset, ids(&r)), (Some(ResetReason::Unknown), vec![]));
    }

    #[test]
    fn the_start_is_just_before_the_first_replayed_event() {
        let h = history(3, 1..=5);
        assert_eq!(h.replay(&LastEventId::Absent, &e()).start(), 4, "a new client gets event 5 only");
        assert_eq!(h.replay(&LastEventId::Id(3), &e()).start(), 3);
        assert_eq!(h.replay(&LastEventId::Id(5), &e()).start(), 5, "nothing to replay");
        assert_eq!(h.replay(&LastEventId::Id(1), &e()).start(), 2, "expired: the whole history, from 3");
        assert_eq!(History::new(3).replay(&LastEventId::Absent, &e()).start(), 0);
    }
}
