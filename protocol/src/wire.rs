//! The JSON payloads of the server's notices (reset, shutdown, expired) and answers, shared so client and server
//! cannot disagree. (The demo's own payloads are in the unpublished `sse-live-demo-wire` crate.)

use serde::{Deserialize, Serialize};

/// The `event:` type of a [`Reset`] notice.
pub const RESET_EVENT: &str = "reset";
/// The `event:` type sent just before the server ends every stream on shutdown (data [`Shutdown`]); a `retry:`
/// field in the same frame says how long to wait before reconnecting.
pub const SHUTDOWN_EVENT: &str = "shutdown";
/// The `event:` type sent when the subscriber token of a private stream expires (data [`Expired`]); the stream
/// ends right after it and a client needs a fresh token to come back.
pub const EXPIRED_EVENT: &str = "expired";

/// Why the server sent a [`Reset`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResetReason {
    /// The client's last event id is older than the topic's history: events in between are lost. The whole history
    /// follows.
    Expired,
    /// The id is newer than any event of the topic (e.g. the server restarted and counts from 1 again). The whole
    /// history follows.
    Unknown,
    /// The id is not one the server hands out. The whole history follows.
    Invalid,
    /// The id belongs to another run of the server (or to a Redis that has since lost its data): the events after
    /// it cannot be known. Also sent to open streams when the server's Redis comes back empty or an instance joins
    /// Redis late. The whole history follows (on an open stream: every event from then on).
    Restarted,
    /// The client read too slowly and fell further behind than its buffer: the stream ends right after this notice;
    /// reconnect with [`Reset::resume_from`] as `Last-Event-ID` to replay what was missed.
    Lagged,
    /// A reason this version does not know (a newer server).
    #[serde(other)]
    Other,
}

impl ResetReason {
    /// The reason's code on the wire (`expired`, `unknown`, `invalid`, `restarted`, `lagged`; `other` for unknown
    /// ones).
    pub fn code(self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::Unknown => "unknown",
            Self::Invalid => "invalid",
            Self::Restarted => "restarted",
            Self::Lagged => "lagged",
            Self::Other => "other",
        }
    }
}

/// The data of an `event: reset`: the client missed data and should drop what it derived from the stream.
///
/// On the wire: `{"reason":"expired"}` on a single-topic stream; a multi-topic stream names the topic
/// (`{"reason":"expired","topic":"a"}`); a client cut off for reading too slowly gets the id to resume from
/// (`{"reason":"lagged","resumeFrom":"41"}`).
///
/// ```
/// use sse_live_protocol::wire::{Reset, ResetReason};
/// let reset: Reset = serde_json::from_str(r#"{"reason":"lagged","resumeFrom":"41"}"#).unwrap();
/// assert_eq!(reset.reason, ResetReason::Lagged);
/// assert_eq!(reset.resume_from.as_deref(), Some("41"));
/// assert_eq!(serde_json::to_string(&Reset::new(ResetReason::Expired)).unwrap(), r#"{"reason":"expired"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reset {
    /// Why.
    pub reason: ResetReason,
    /// The topic concerned, on multi-topic streams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// The `Last-Event-ID` to reconnect with, when the stream ends after this notice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_from: Option<String>,
}

impl Reset {
    /// A reset for `reason`, with no topic and no resume id.
    pub fn new(reason: ResetReason) -> Self {
        Self { reason, topic: None, resume_from: None }
    }
}

/// The data of an `event: shutdown`: the server is going away; reconnect after the frame's `retry:`.
///
/// On the wire: `{"reason":"shutdown"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shutdown {
    /// Always `shutdown` for now.
    pub reason: String,
}

/// The data of an `event: expired`: the subscriber token's expiry time has passed.
///
/// On the wire: `{"reason":"token expired"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expired {
    /// A few words for a log.
    pub reason: String,
}

/// The answer of a successful `POST /events/{topic}` (status 201): the id the event got in its topic.
///
/// On the wire: `{"topic":"news","id":42}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    /// The topic published to.
    pub topic: String,
    /// The event's sequence number in that topic (its SSE `id:` is `<id>@<epoch>` on servers since ids carry an
    /// epoch).
    pub id: u64,
}
