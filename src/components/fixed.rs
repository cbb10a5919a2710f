//! Numbers with a fixed count of decimals, written with integer formatting only: `format!("{:.1}", x)` links Rust's
//! float formatting (`f64`'s `Display` and the Grisu/Dragon code behind it, about 13 KB of the demo's .wasm).

use std::fmt::Write;

/// Appends `value` with `decimals` digits after the point (at most 9) to `out`: the value is scaled by
/// `10^decimals` and rounded half away from zero, so a tie (`0.25` to one decimal) can end in the other digit than
/// `format!`'s exact decimal rounding would give. A value that rounds to zero reads without a minus sign; NaN reads
/// `NaN`, the infinities `inf` and `-inf`; beyond `u64::MAX / 10^decimals` the digits saturate.
pub fn push_fixed(out: &mut String, value: f64, decimals: u32) {
    if value.is_nan() {
        out.push_str("NaN");
        return;
    }
    if value.is_infinite() {
        out.push_str(if value > 0.0 { "inf" } else { "-inf" });
        return;
    }
    let decimals = decimals.min(9);
    let scale = 10u64.pow(decimals);
    // `as` saturates: a value too large for u64 reads as u64::MAX's digits.
    let scaled = (value.abs() * scale as f64).round() as u64;
    if value < 0.0 && scaled != 0 {
        out.push('-');
    }
    let _ = write!(out, "{}", scaled / scale);
    if decimals > 0 {
        let _ = write!(out, ".{:0width$}", scaled % scale, width = decimals as usize);
    }
}

/// `value` with `decimals` digits after the point, as [`push_fixed`] writes it: `fixed(21.37, 1)` is `"21.4"`.
///
/// ```
/// use sse_live::components::fixed;
/// assert_eq!(fixed(21.37, 1), "21.4");
/// assert_eq!(fixed(-40.0, 1), "-40.0");
/// assert_eq!(fixed(0.04217, 4), "0.0422");
/// ```
pub fn fixed(value: f64, decimals: u32) -> String {
    let mut out = String::new();
    push_fixed(&mut out, value, decimals);
    out
}

#[cfg(test)]
mod tests {
    use super::fixed;

    #[test]
    fn reads_as_format_does_away_from_ties() {
        // Values as the demo shows them (temperatures, random numbers, chart coordinates), none on a tie.
        let values = [0.0, 1.0, 21.37, 21.44, -40.0, -3.26, 0.4217, 0.99996, 599.96, 154.04, 1e6 + 0.3, 9.96, -0.7];
        for value in values {
            for decimals in 0..=4 {
                let expected = format!("{value:.*}", decimals as usize);
                assert_eq!(fixed(value, decimals), expected, "{value} to {decimals} decimals");
            }
        }
    }

    #[test]
    fn carries_rounds_ties_away_from_zero_and_names_what_is_not_a_number() {
        assert_eq!(fixed(9.96, 1), "10.0", "the carry reaches the whole part");
        assert_eq!(fixed(0.99996, 4), "1.0000");
        assert_eq!(fixed(2.5, 0), "3");
        assert_eq!(fixed(-2.5, 0), "-3");
        assert_eq!(fixed(-0.04, 1), "0.0", "no minus sign on a zero");
        assert_eq!(fixed(f64::NAN, 1), "NaN");
        assert_eq!(fixed(f64::INFINITY, 1), "inf");
        assert_eq!(fixed(f64::NEG_INFINITY, 2), "-inf");
        assert_eq!(fixed(1e30, 0), u64::MAX.to_string(), "saturates");
        assert_eq!(fixed(1.5, 12), "1.500000000", "at most 9 decimals");
    }
}
