//! An event as a client sees it once the parser has dispatched it.

/// A dispatched server-sent event (the WHATWG standard's `MessageEvent`, minus the origin).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Event {
    /// The `event:` field, or `"message"` when the server sent none.
    pub event_type: String,
    /// The `data:` lines joined with LF, without the final LF.
    pub data: String,
    /// The last event id in force when this event was dispatched (it persists across events; empty when none).
    pub last_event_id: String,
}
