//! An event as a client sees it once the parser has dispatched it.

/// A dispatched server-sent event (the WHATWG standard's `MessageEvent`, minus the origin).
///
/// Its `clone_from` copies into the target's buffers (no allocation when they are large enough), which the derived
/// `Clone` would not: a client that keeps a copy of each message (its last one, a replay buffer) reuses one event's
/// strings for the next.
#[derive(Debug, PartialEq, Eq, Default)]
pub struct Event {
    /// The `event:` field, or `"message"` when the server sent none.
    pub event_type: String,
    /// The `data:` lines joined with LF, without the final LF.
    pub data: String,
    /// The last event id in force when this event was dispatched (it persists across events; empty when none).
    pub last_event_id: String,
}

impl Clone for Event {
    fn clone(&self) -> Self {
        Self { event_type: self.event_type.clone(), data: self.data.clone(), last_event_id: self.last_event_id.clone() }
    }

    fn clone_from(&mut self, source: &Self) {
        self.event_type.clone_from(&source.event_type);
        self.data.clone_from(&source.data);
        self.last_event_id.clone_from(&source.last_event_id);
    }
}

#[cfg(test)]
mod tests {
    use super::Event;

    #[test]
    fn clone_from_copies_into_the_buffers_it_has() {
        let event = |event_type: &str, data: &str, id: &str| Event {
            event_type: event_type.to_owned(),
            data: data.to_owned(),
            last_event_id: id.to_owned(),
        };
        let mut kept = event("reading", "a longer payload than the next one", "41");
        let buffer = kept.data.as_ptr();
        let next = event("message", "short", "42");
        kept.clone_from(&next);
        assert_eq!(kept, next);
        assert_eq!(kept.data.as_ptr(), buffer, "the data's buffer reused, not allocated again");
        assert_eq!(next.clone(), next);
    }
}
