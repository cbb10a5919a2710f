//! The connection state the hook reports: the browser's `EventSource.readyState`, as an enum.

use std::fmt;

/// The state of a server-sent events connection, mirroring `EventSource.readyState`.
///
/// ```
/// use leptos_sse_live::ConnectionState;
/// assert_eq!(ConnectionState::from_ready_state(1), ConnectionState::Open);
/// assert_eq!(ConnectionState::Open.to_string(), "Open");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ConnectionState {
    /// `CONNECTING` (0): opening, the browser re-establishing a dropped connection by itself, or a reconnect of the
    /// hook's own pending (see [`UseEventSourceOptions::reconnect_limit`](super::UseEventSourceOptions::reconnect_limit)).
    #[default]
    Connecting,
    /// `OPEN` (1): the server answered with an event stream; events are arriving.
    Open,
    /// `CLOSED` (2): closed by [`close`](super::UseEventSourceReturn::close), on unmount, or given up for good
    /// (with the native transport: the browser failed the connection and the hook's reconnect budget is spent).
    Closed,
}

impl ConnectionState {
    /// Maps `EventSource.readyState` (0, 1, 2) to a state; any other number is `Closed`.
    pub fn from_ready_state(ready_state: u16) -> Self {
        match ready_state {
            0 => Self::Connecting,
            1 => Self::Open,
            _ => Self::Closed,
        }
    }

    /// The state as a lower-case word, handy for CSS classes and data attributes (`connecting`, `open`, `closed`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Open => "open",
            Self::Closed => "closed",
        }
    }
}

impl fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connecting => "Connecting",
            Self::Open => "Open",
            Self::Closed => "Closed",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_states_map_one_to_one() {
        assert_eq!(ConnectionState::from_ready_state(0), ConnectionState::Connecting);
        assert_eq!(ConnectionState::from_ready_state(1), ConnectionState::Open);
        assert_eq!(ConnectionState::from_ready_state(2), ConnectionState::Closed);
        assert_eq!(ConnectionState::from_ready_state(7), ConnectionState::Closed);
    }
}
