//! "3 s ago": how long ago something happened, in words that fit a dashboard.

/// How long before `now_ms` the moment `then_ms` was (both milliseconds since the epoch): "just now", "3 s ago",
/// "2 min ago", "1 h ago", "3 d ago". A moment in the future (a clock that runs ahead) reads "just now".
///
/// ```
/// use sse_live::components::ago;
/// assert_eq!(ago(10_000.0, 7_000.0), "3 s ago");
/// ```
pub fn ago(now_ms: f64, then_ms: f64) -> String {
    let seconds = ((now_ms - then_ms) / 1000.0).floor();
    if !seconds.is_finite() || seconds < 1.0 {
        return "just now".to_owned();
    }
    let seconds = seconds as u64;
    match seconds {
        0..=59 => format!("{seconds} s ago"),
        60..=3599 => format!("{} min ago", seconds / 60),
        3600..=86_399 => format!("{} h ago", seconds / 3600),
        _ => format!("{} d ago", seconds / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::ago;

    #[test]
    fn each_range_reads_in_its_own_unit() {
        let cases = [
            (0.0, "just now"),
            (999.0, "just now"),
            (1000.0, "1 s ago"),
            (59_999.0, "59 s ago"),
            (60_000.0, "1 min ago"),
            (3_599_000.0, "59 min ago"),
            (3_600_000.0, "1 h ago"),
            (86_400_000.0, "1 d ago"),
            (-5000.0, "just now"),
            (f64::NAN, "just now"),
        ];
        for (elapsed, expected) in cases {
            assert_eq!(ago(1e12 + elapsed, 1e12), expected, "{elapsed} ms");
        }
    }
}
