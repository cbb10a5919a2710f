//! When and how long to wait before reconnecting: pure arithmetic and decisions, no I/O, tested natively.
//!
//! - [`verdict`]: what an HTTP answer means for the connection (open it, retry later, or stop for good).
//! - [`server_message`]: the text of an error answer, cut to a sane length.
//! - [`Backoff`] and [`Budget`]: how long to wait after a failed attempt, and whether to try again at all (both
//!   transports: the native one once the browser gave up, the fetch one after any failed attempt).
//! - [`with_query_param`]: the URL of a native reconnect, carrying the last event id in its query.

use std::time::Duration;

/// The reconnection time before the server sets one with `retry:` (rule 34: browsers use 3 to 5 s).
#[cfg_attr(not(feature = "fetch"), allow(dead_code))] // the fetch transport's; tested natively always
pub(super) const DEFAULT_RECONNECTION_TIME: Duration = Duration::from_secs(3);

/// The longest server message kept from an error answer, in bytes.
#[cfg_attr(not(feature = "fetch"), allow(dead_code))] // the fetch transport's; tested natively always
pub(super) const MAX_MESSAGE_BYTES: usize = 1024;

/// What an HTTP answer to an event-stream request means for the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "fetch"), allow(dead_code))] // the fetch transport's; tested natively always
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
#[cfg_attr(not(feature = "fetch"), allow(dead_code))] // the fetch transport's; tested natively always
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
#[cfg_attr(not(feature = "fetch"), allow(dead_code))] // the fetch transport's; tested natively always
pub(super) fn is_event_stream(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("text/event-stream")
}

/// The server's message in an error answer's `body`: UTF-8 (invalid bytes replaced), trimmed, and cut to at most
/// [`MAX_MESSAGE_BYTES`] bytes on a character boundary, with `…` when cut.
#[cfg_attr(not(feature = "fetch"), allow(dead_code))] // the fetch transport's; tested natively always
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
    // Always `Some` (`end` is on a boundary); `get` keeps `str`'s slicing panic out of the module.
    format!("{}…", text.get(..end).unwrap_or_default())
}

/// The native transport's backoff: `initial × factor^retries`, capped at `max`, with full jitter over
/// `[initial, ceiling]`, the same window as [`delay`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Backoff {
    /// The wait before the first retry of an outage, and the floor of every wait.
    pub initial: Duration,
    /// How much the ceiling grows per retry; a factor below 1 (or not finite) counts as 1.
    pub factor: f64,
    /// The ceiling's cap; an `initial` above it wins.
    pub max: Duration,
}

impl Backoff {
    /// The upper bound of the wait before retry number `retries + 1` of an outage.
    pub(crate) fn ceiling(&self, retries: u32) -> Duration {
        let cap = self.max.max(self.initial);
        let factor = if self.factor.is_finite() && self.factor >= 1.0 { self.factor } else { 1.0 };
        let grown = self.initial.as_secs_f64() * factor.powi(i32::try_from(retries).unwrap_or(i32::MAX));
        if grown.is_finite() && grown < cap.as_secs_f64() {
            nanos(grown).clamp(self.initial, cap)
        } else {
            cap
        }
    }

    /// The wait before retry number `retries + 1` of an outage, `unit` being a random number in `[0, 1)`
    /// (`Math.random()`; out-of-range values are clamped): uniform between `initial` and [`ceiling`](Self::ceiling).
    /// The first retry (`retries == 0`) waits exactly `initial`.
    pub(crate) fn delay(&self, retries: u32, unit: f64) -> Duration {
        let top = self.ceiling(retries);
        let unit = if unit.is_nan() { 0.0 } else { unit.clamp(0.0, 1.0) };
        self.initial + nanos((top - self.initial).as_secs_f64() * unit)
    }
}

/// `seconds` (finite, not negative) as a `Duration`, to the nearest nanosecond. Not `Duration::from_secs_f64` or
/// `mul_f64`: their panic paths (and messages) would be in every app's bundle.
fn nanos(seconds: f64) -> Duration {
    // Rounded half up; `as` saturates: a negative or NaN value is 0, a huge one `u64::MAX` nanoseconds (584 years).
    Duration::from_nanos((seconds * 1e9 + 0.5) as u64)
}

/// How many retries an outage may use: `None` for no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Budget {
    /// The most retries per outage (`None`: unlimited).
    pub limit: Option<u32>,
    /// Retries used in the current outage; reset by a successful open.
    pub used: u32,
}

impl Budget {
    /// After a failed attempt: whether to retry, counting the retry when so. `limit: Some(n)` allows exactly `n`
    /// retries per outage (`n + 1` attempts in all), `Some(0)` none.
    pub(crate) fn try_retry(&mut self) -> bool {
        if self.limit.is_some_and(|limit| self.used >= limit) {
            return false;
        }
        self.used = self.used.saturating_add(1);
        true
    }

    /// A connection opened: the next outage starts with the whole budget.
    pub(crate) fn reset(&mut self) {
        self.used = 0;
    }
}

/// `url` with the query parameter `name=value` set: appended (`?` or `&` as needed, before any `#fragment`) after
/// removing any parameter of that name already there; both percent-encoded as UTF-8 (everything but
/// `A-Z a-z 0-9 - _ . ~`).
pub(super) fn with_query_param(url: &str, name: &str, value: &str) -> String {
    // Built with byte searches and pushes, no indexing or `format!`: no slicing panic (and the formatting it links)
    // in every app's bundle; `split_once`/`split` with a `char` linked the char searcher (0.7 KB of .wasm).
    let (base, fragment) = split_at_byte(url, b'#').map_or((url, None), |(base, fragment)| (base, Some(fragment)));
    let (path, query) = split_at_byte(base, b'?').unwrap_or((base, ""));
    let mut name_encoded = String::with_capacity(name.len());
    push_percent_encoded(&mut name_encoded, name);
    let mut out = String::with_capacity(url.len() + name_encoded.len() + 3 * value.len() + 2);
    out.push_str(path);
    let mut separator = '?';
    // A parameter of that name already in the URL (`?lastEventId=0` to replay a whole history) is replaced, not
    // repeated: the server reads the first one.
    let mut rest = Some(query);
    while let Some(text) = rest {
        let (pair, next) = split_at_byte(text, b'&').map_or((text, None), |(pair, next)| (pair, Some(next)));
        rest = next;
        let pair_name = split_at_byte(pair, b'=').map_or(pair, |(pair_name, _)| pair_name);
        if !pair.is_empty() && pair_name != name_encoded {
            out.push(separator);
            out.push_str(pair);
            separator = '&';
        }
    }
    out.push(separator);
    out.push_str(&name_encoded);
    out.push('=');
    push_percent_encoded(&mut out, value);
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// `text` split around the first `separator` (an ASCII byte, so both sides are whole characters), or `None`.
fn split_at_byte(text: &str, separator: u8) -> Option<(&str, &str)> {
    let at = text.bytes().position(|byte| byte == separator)?;
    Some((text.get(..at)?, text.get(at + 1..)?))
}

/// Appends `text` percent-encoded for a query component (like `encodeURIComponent`, which also leaves `!'()*`
/// alone).
fn push_percent_encoded(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xF)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_by_the_factor_up_to_the_max_with_jitter_above_initial() {
        let backoff = Backoff { initial: MS(100), factor: 2.0, max: MS(1000) };
        let ceilings: Vec<_> = (0..6).map(|n| backoff.ceiling(n)).collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000].map(MS));
        assert_eq!(backoff.delay(0, 0.9), MS(100), "the first retry waits exactly `initial`");
        assert_eq!(backoff.delay(2, 0.0), MS(100));
        assert_eq!(backoff.delay(2, 0.5), MS(250));
        assert_eq!(backoff.delay(2, 1.0), MS(400));
        let slow = Backoff { initial: MS(100), factor: 1.5, max: MS(1000) };
        assert_eq!(slow.ceiling(2), MS(225));
        for retries in [0, 1, 5, 1000, u32::MAX] {
            for unit in [0.0, 0.3, 0.999_999, -1.0, 2.0, f64::NAN] {
                let wait = backoff.delay(retries, unit);
                assert!(wait >= MS(100) && wait <= MS(1000), "{retries} {unit}: {wait:?}");
            }
        }
    }

    #[test]
    fn odd_backoff_options_neither_panic_nor_wait_less_than_initial() {
        for factor in [0.0, 0.5, -2.0, f64::NAN, f64::INFINITY, 1e300] {
            let backoff = Backoff { initial: MS(100), factor, max: MS(1000) };
            for retries in [0, 1, 3, u32::MAX] {
                let wait = backoff.delay(retries, 0.5);
                assert!(wait >= MS(100) && wait <= MS(1000), "{factor} {retries}: {wait:?}");
            }
        }
        // An initial delay above the max wins; zero stays zero; huge values do not overflow.
        assert_eq!(Backoff { initial: MS(5000), factor: 2.0, max: MS(1000) }.delay(3, 1.0), MS(5000));
        assert_eq!(Backoff { initial: Duration::ZERO, factor: 2.0, max: MS(1000) }.delay(3, 1.0), Duration::ZERO);
        let huge = Backoff { initial: Duration::MAX, factor: 2.0, max: Duration::MAX };
        assert_eq!(huge.delay(4, 0.5), Duration::MAX);
    }

    #[test]
    fn a_budget_of_n_allows_exactly_n_retries_per_outage() {
        let mut budget = Budget { limit: Some(2), used: 0 };
        assert!(budget.try_retry());
        assert!(budget.try_retry());
        assert!(!budget.try_retry(), "a third retry is over the budget");
        assert!(!budget.try_retry());
        budget.reset();
        assert!(budget.try_retry(), "a successful open gives the next outage the whole budget");
        let mut none = Budget { limit: Some(0), used: 0 };
        assert!(!none.try_retry());
        let mut unlimited = Budget { limit: None, used: u32::MAX - 1 };
        for _ in 0..3 {
            assert!(unlimited.try_retry());
        }
    }

    #[test]
    fn the_last_event_id_is_appended_to_the_query_encoded() {
        assert_eq!(with_query_param("/e/x", "lastEventId", "42"), "/e/x?lastEventId=42");
        assert_eq!(with_query_param("/e/x?key=a", "lastEventId", "42"), "/e/x?key=a&lastEventId=42");
        assert_eq!(with_query_param("/e/x?", "lastEventId", "42"), "/e/x?lastEventId=42");
        assert_eq!(with_query_param("/e/x?a=1&", "id", "42"), "/e/x?a=1&id=42");
        assert_eq!(with_query_param("http://h/e#top", "id", "7"), "http://h/e?id=7#top");
        assert_eq!(with_query_param("/e?k=1#a?b", "id", "7"), "/e?k=1&id=7#a?b");
        assert_eq!(with_query_param("/e", "last id", "a&b=c d/é#"), "/e?last%20id=a%26b%3Dc%20d%2F%C3%A9%23");
        assert_eq!(with_query_param("/e", "id", "A-z_0.9~"), "/e?id=A-z_0.9~");
    }

    #[test]
    fn a_parameter_already_in_the_url_is_replaced_not_repeated() {
        assert_eq!(with_query_param("/e?lastEventId=0", "lastEventId", "42"), "/e?lastEventId=42");
        assert_eq!(with_query_param("/e?a=1&lastEventId=0&b=2", "lastEventId", "42"), "/e?a=1&b=2&lastEventId=42");
        assert_eq!(with_query_param("/e?lastEventIdX=0", "lastEventId", "4"), "/e?lastEventIdX=0&lastEventId=4");
        assert_eq!(with_query_param("/e?last%20id=1#f", "last id", "2"), "/e?last%20id=2#f");
    }

    const MS: fn(u64) -> Duration = Duration::from_millis;

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
