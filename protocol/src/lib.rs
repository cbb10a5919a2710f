//! What the sse-live client and server share, with no I/O in it (it builds for wasm32 and native).
//!
//! - [`wire`]: the JSON payloads of the server's notices ([`wire::Reset`], [`wire::Shutdown`], [`wire::Expired`])
//!   and publish answers.
//! - [`encoder`]: how an event becomes bytes on the wire; a builder that cannot produce an invalid frame.
//! - [`event`]: an event as the client sees it once dispatched.
//! - [`parser`]: bytes in, events out; an incremental `text/event-stream` parser ([`Parser`], [`parse_events`]).

pub mod encoder;
pub mod event;
pub mod parser;
pub mod wire;

pub use encoder::{EncodeError, EventBuilder, Frame};
pub use event::Event;
pub use parser::{parse_events, EventRef, Parsed, ParsedRef, Parser};
