//! When and how long to wait before reconnecting: pure arithmetic and decisions, no I/O, tested natively.
//!
//! - [`delay`]: exponential backoff with full jitter, never shorter than the reconnection time (rule 10 of the SSE
//!   standard: waiting longer is allowed, shorter is not).
//! - [`verdict`]: what an HTTP answer means for the connection (open it, retry later, or stop for good).
//! - [`server_message`]: the text of an error answer, cut to a sane length.
//!
//! The fetch transport uses all three; the native transport's own reconnects will use [`delay`] next.

use std::time::Duration;

/// The reconnection time before the server sets one with `retry:` (rule 34: browsers use 3 to 5 s).
pub(super) const DEFAULT_RECONNECTION_TIME: Duration = Duration::from_secs(3);

/// The ceiling the backoff grows to; a server's own `retry:` longer than this is still honoured.
pub(super) const MAX_DELAY: Duration = Duration::from_secs(30);

/// How much the ceiling grows with each consecutive failure.
pub(super) const FACTOR: u32 = 2;

/// The longest server message kept from an error answer, in bytes.
pub(super) const MAX_MESSAGE_BYTES: usize = 1024;

/// The upper bound of the wait before the reconnect that follows `failures` consecutive failed attempts:
/// `reconnection_time × FACTOR^failures`, capped at [`MAX_DELAY`] (or at the reconnection time when the server asked
/// for more than that).
pub(super) fn ceiling(reconnection_time: Duration, failures: u32) -> Duration {
    let cap = MAX_DELAY.max(reconnection_time);
    let factor = FACTOR.checked_pow(failures).unwrap_or(u32::MAX);
    reconnection_time.checked_mul(factor).map_or(cap, |grown| grown.min(cap))
}

/// The wait before the next attempt, given `failures` consecutive failed attempts since the last good connection and
/// `unit`, a random number in `[0, 1)` (`Math.random()`; out-of-range values are clamped).
///
/// Full jitter over the window `[reconnection_time, ceiling]`: after a connection that worked (no failure yet) it is
/// exactly the reconnection time, as the standard says; each consecutive failure doubles the window's top, up to
/// 30 s, and the wait is spread uniformly across it so that many clients do not come back at once.
pub(super) fn delay(reconnection_time: Duration, failures: u32, unit: f64) -> Duration {
    let top = ceiling(reconnection_time, failures);
    let unit = if unit.is_nan() { 0.0 } else { unit.clamp(0.0, 1.0) };
    reconnection_time + (top - reconnection_time).mul_f64(unit)
}

/// What an HTTP answer to an event-stream request means for the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// 200 with `Content-Type: text/event-stream`: the stream is open.
    Open,
    /// 200 with another content type: fail for good (rule 6).
    WrongContentType,
    /// 204 No Content: the server says "stop"; fail for good, no reconnect.
    ClosedByServer,
    /// 5xx, 408 Request Timeout, 429 Too Many Requests: a passing condition; back off and retry.
    Retry,
    /// Any other status (4xx, an unfollowed 3xx, another 2xx): retrying cannot help; fail for good.
    Fail,
}

/// Classifies an answer by its status and `Content-Type` header.
pub(super) fn verdict(status: u16, content_type: Option<&str>) -> Verdict {
    match status {
        200 if content_type.is_some_and(is_event_stream) => Verdict::Open,
        200 => Verdict::WrongContentType,
        204 => Verdict::ClosedByServer,
        408 | 429 | 500..=599 => Verdict::Retry,
        _ => Verdict::Fail,
    }
}

/// Whether a `Content-Type` value is `text/event-stream`, ignoring case, spaces and parameters (`; charset=utf-8`).
pub(super) fn is_event_stream(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("text/event-stream")
}

/// The server's message in an error answer's `body`: UTF-8 (invalid bytes replaced), trimmed, and cut to at most
/// [`MAX_MESSAGE_BYTES`] bytes on a character boundary, with `…` when cut.
pub(super) fn server_message(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(MAX_MESSAGE_BYTES + 4)]);
    let text = text.trim();
    if text.len() <= MAX_MESSAGE_BYTES && body.len() <= MAX_MESSAGE_BYTES {
        return text.to_owned();
    }
    let mut end = MAX_MESSAGE_BYTES.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn after_a_good_connection_the_wait_is_exactly_the_reconnection_time() {
        for unit in [0.0, 0.5, 0.999] {
            assert_eq!(delay(MS(3000), 0, unit), MS(3000));
            assert_eq!(delay(MS(200), 0, unit), MS(200));
        }
    }

    #[test]
    fn the_ceiling_doubles_with_each_failure_up_to_30_s() {
        let ceilings: Vec<_> = (0..8).map(|n| ceiling(MS(1000), n)).collect();
        assert_eq!(ceilings, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000].map(MS));
        assert_eq!(ceiling(MS(200), 3), MS(1600));
    }

    #[test]
    fn full_jitter_spreads_the_wait_between_the_reconnection_time_and_the_ceiling() {
        assert_eq!(delay(MS(1000), 2, 0.0), MS(1000));
        assert_eq!(delay(MS(1000), 2, 0.5), MS(2500));
        assert_eq!(delay(MS(1000), 2, 1.0), MS(4000));
        assert_eq!(delay(MS(1000), 10, 0.5), MS(15500));
        // Every wait is within the window, whatever the random number.
        for failures in 0..40 {
            for unit in [0.0, 0.1, 0.7, 0.999_999] {
                let wait = delay(MS(500), failures, unit);
                assert!(wait >= MS(500) && wait <= ceiling(MS(500), failures), "{failures} {unit}: {wait:?}");
                assert!(wait <= MAX_DELAY);
            }
        }
    }

    #[test]
    fn odd_inputs_neither_panic_nor_escape_the_window() {
        assert_eq!(delay(MS(1000), 1, -3.0), MS(1000));
        assert_eq!(delay(MS(1000), 1, 7.0), MS(2000));
        assert_eq!(delay(MS(1000), 1, f64::NAN), MS(1000));
        assert_eq!(delay(MS(1000), u32::MAX, 0.0), MS(1000));
        assert_eq!(delay(MS(1000), u32::MAX, 1.0), MAX_DELAY);
        assert_eq!(delay(Duration::ZERO, 5, 0.9), Duration::ZERO);
        // A server asking for more than the cap gets what it asked for, never less.
        assert_eq!(delay(MS(60_000), 4, 1.0), MS(60_000));
        assert_eq!(delay(Duration::MAX, 3, 0.5), Duration::MAX);
        assert_eq!(delay(Duration::from_secs(u64::MAX / 2), 3, 0.5), Duration::from_secs(u64::MAX / 2));
    }

    #[test]
    fn verdicts_follow_the_standard_and_the_retry_policy() {
        let sse = Some("text/event-stream");
        assert_eq!(verdict(200, sse), Verdict::Open);
        assert_eq!(verdict(200, Some("Text/Event-Stream; charset=utf-8")), Verdict::Open);
        assert_eq!(verdict(200, Some("text/plain")), Verdict::WrongContentType);
        assert_eq!(verdict(200, Some("text/event-streamx")), Verdict::WrongContentType);
        assert_eq!(verdict(200, None), Verdict::WrongContentType);
        assert_eq!(verdict(204, sse), Verdict::ClosedByServer);
        for status in [500, 502, 503, 504, 599, 408, 429] {
            assert_eq!(verdict(status, sse), Verdict::Retry, "{status}");
        }
        for status in [201, 205, 301, 304, 400, 401, 403, 404, 410, 418, 499] {
            assert_eq!(verdict(status, sse), Verdict::Fail, "{status}");
        }
    }

    #[test]
    fn server_messages_are_trimmed_and_cut_on_a_character_boundary() {
        assert_eq!(server_message(b"test status 404\n"), "test status 404");
        assert_eq!(server_message(b""), "");
        assert_eq!(server_message(b"bad \xFF byte"), "bad \u{FFFD} byte");
        let long = "é".repeat(1000); // 2000 bytes
        let cut = server_message(long.as_bytes());
        assert_eq!(cut, format!("{}…", "é".repeat(512)));
        let exact = "x".repeat(MAX_MESSAGE_BYTES);
        assert_eq!(server_message(exact.as_bytes()), exact);
        let over = "x".repeat(MAX_MESSAGE_BYTES + 1);
        assert_eq!(server_message(over.as_bytes()), format!("{exact}…"));
    }
}
