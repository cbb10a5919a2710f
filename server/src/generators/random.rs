//! The `random-numbers` topic: a uniform number in `[0, 1)` with four decimals, e.g. `{"value":0.4217}`.

use rand::{Rng, SeedableRng};
use sse_live_demo_wire::RandomNumber;

/// The topic's name (also served at `/stream-random-numbers`).
pub(crate) const TOPIC: &str = "random-numbers";

/// Draws one value: uniform in `[0, 1)`, rounded down to four decimals (rounding to nearest could give 1.0).
pub(crate) fn draw(rng: &mut impl Rng) -> RandomNumber {
    RandomNumber { value: floor4(rng.random::<f64>()) }
}

/// `x` rounded down to four decimals.
pub(crate) fn floor4(x: f64) -> f64 {
    (x * 10_000.0).floor() / 10_000.0
}

/// The generator's step: the next event's data.
pub(crate) fn generator() -> impl FnMut() -> Result<String, serde_json::Error> + Send + 'static {
    let mut rng = rand::rngs::StdRng::from_os_rng();
    move || serde_json::to_string(&draw(&mut rng))
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;

    use super::*;

    #[test]
    fn values_stay_below_one_with_four_decimals() {
        assert_eq!(floor4(0.999_999_9), 0.9999);
        assert_eq!(floor4(0.0), 0.0);
        assert_eq!(floor4(0.421_78), 0.4217);
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..10_000 {
            let value = draw(&mut rng).value;
            assert!((0.0..1.0).contains(&value), "{value}");
            let json = serde_json::to_string(&RandomNumber { value }).unwrap();
            let decimals = json.trim_end_matches('}').split_once('.').map_or(0, |(_, d)| d.len());
            assert!(decimals <= 4, "{json}");
        }
    }

    #[test]
    fn values_spread_over_the_interval() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut buckets = [0usize; 10];
        for _ in 0..10_000 {
            buckets[(draw(&mut rng).value * 10.0) as usize] += 1;
        }
        assert!(buckets.iter().all(|&n| (800..1200).contains(&n)), "{buckets:?}");
    }
}
