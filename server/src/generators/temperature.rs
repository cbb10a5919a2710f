//! The `temperatures` topic: a plausible living room. A slow mean-reverting random walk around 21 °C plus a daily
//! swing of ±1 °C, warmest at 15:00 UTC, rounded to 0.01 °C.
//!
//! [`TemperatureModel`] is the pure core (seedable RNG, explicit time); the generator feeds it the clock.

use std::f64::consts::TAU;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sse_live_demo_wire::TemperatureReading;
use time::OffsetDateTime;

/// The topic's name (served at `/e/temperatures`).
pub(crate) const TOPIC: &str = "temperatures";

/// The room's mean temperature, °C.
pub(crate) const MEAN: f64 = 21.0;
/// Half the daily swing, °C.
pub(crate) const DAILY_AMPLITUDE: f64 = 1.0;
/// The warmest hour of the day (UTC).
pub(crate) const WARMEST_HOUR: f64 = 15.0;
/// The walk's typical distance from the daily curve (its stationary standard deviation), °C.
pub(crate) const WALK_STD_DEV: f64 = 0.5;
/// How fast the walk returns to the curve: its time constant, hours.
pub(crate) const REVERSION_HOURS: f64 = 2.0;
/// The walk never strays further than this from the curve, °C.
pub(crate) const MAX_DEVIATION: f64 = 2.5;

/// The random walk: an Ornstein-Uhlenbeck process (exact discretisation, so any step length is stable), clamped to
/// [`MAX_DEVIATION`].
#[derive(Debug, Clone)]
pub(crate) struct TemperatureModel<R> {
    rng: R,
    deviation: f64,
}

impl<R: Rng> TemperatureModel<R> {
    /// A model drawing from `rng`, starting at a random point of the walk's usual range.
    pub(crate) fn new(mut rng: R) -> Self {
        let deviation = (WALK_STD_DEV * standard_normal(&mut rng)).clamp(-MAX_DEVIATION, MAX_DEVIATION);
        Self { rng, deviation }
    }

    /// Advances the walk by `dt` and returns its deviation from the daily curve, °C.
    pub(crate) fn step(&mut self, dt: Duration) -> f64 {
        let hours = dt.as_secs_f64() / 3600.0;
        let keep = (-hours / REVERSION_HOURS).exp();
        let noise = WALK_STD_DEV * (1.0 - keep * keep).sqrt() * standard_normal(&mut self.rng);
        self.deviation = (self.deviation * keep + noise).clamp(-MAX_DEVIATION, MAX_DEVIATION);
        self.deviation
    }

    /// The reading at `at`, `dt` after the previous one (zero for the first): mean + daily swing + walk, rounded to
    /// 0.01 °C, time in whole seconds.
    pub(crate) fn reading(&mut self, at: OffsetDateTime, dt: Duration) -> TemperatureReading {
        let temperature = MEAN + daily_swing(at) + self.step(dt);
        TemperatureReading {
            temperature: (temperature * 100.0).round() / 100.0,
            updated_at: at.replace_nanosecond(0).unwrap_or(at),
        }
    }
}

/// The daily curve's offset from the mean at `at`: +[`DAILY_AMPLITUDE`] at [`WARMEST_HOUR`], the opposite 12 h later.
pub(crate) fn daily_swing(at: OffsetDateTime) -> f64 {
    let at = at.to_offset(time::UtcOffset::UTC);
    let hour = f64::from(at.hour()) + f64::from(at.minute()) / 60.0 + f64::from(at.second()) / 3600.0;
    DAILY_AMPLITUDE * (TAU * (hour - WARMEST_HOUR) / 24.0).cos()
}

/// A standard normal draw (Box-Muller).
fn standard_normal(rng: &mut impl Rng) -> f64 {
    let u1 = 1.0 - rng.random::<f64>(); // (0, 1]: ln is finite
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (TAU * u2).cos()
}

/// The generator's step: a reading for now, the walk advanced by the real time since the last one.
pub(crate) fn generator() -> impl FnMut() -> Result<String, serde_json::Error> + Send + 'static {
    let mut model = TemperatureModel::new(StdRng::from_os_rng());
    let mut last: Option<Instant> = None;
    move || {
        let now = Instant::now();
        let dt = last.map_or(Duration::ZERO, |last| now - last);
        last = Some(now);
        serde_json::to_string(&model.reading(OffsetDateTime::now_utc(), dt))
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const STEP: Duration = Duration::from_secs(5);

    /// A week of readings every 5 s from a Monday midnight UTC.
    fn week(seed: u64) -> Vec<TemperatureReading> {
        let mut model = TemperatureModel::new(StdRng::seed_from_u64(seed));
        let start = datetime!(2026-11-23 00:00 UTC);
        (0..7 * 24 * 720).map(|i| model.reading(start + STEP * i, STEP)).collect()
    }

    #[test]
    fn a_week_stays_plausible_with_small_steps() {
        for seed in 0..4 {
            let readings = week(seed);
            let temps: Vec<f64> = readings.iter().map(|r| r.temperature).collect();
            let (min, max) = temps.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &t| (lo.min(t), hi.max(t)));
            assert!(min >= 17.0 && max <= 26.0, "seed {seed}: {min}..{max}");
            let biggest_step = temps.windows(2).map(|w| (w[1] - w[0]).abs()).fold(0.0, f64::max);
            assert!(biggest_step < 0.15, "seed {seed}: a step of {biggest_step}");
            let mean = temps.iter().sum::<f64>() / temps.len() as f64;
            assert!((20.5..21.5).contains(&mean), "seed {seed}: mean {mean}");
        }
    }

    #[test]
    fn it_wanders_rather_than_sitting_still() {
        let temps: Vec<f64> = week(1).iter().map(|r| r.temperature).collect();
        let mean = temps.iter().sum::<f64>() / temps.len() as f64;
        let std_dev = (temps.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / temps.len() as f64).sqrt();
        assert!(std_dev > 0.5, "std dev {std_dev}");
        // A walk, not white noise: readings a minute apart are much closer than readings far apart.
        let changes: Vec<f64> = temps.windows(13).map(|w| (w[12] - w[0]).abs()).collect();
        let near = changes.iter().sum::<f64>() / changes.len() as f64;
        assert!(near < 0.1 && near < std_dev / 5.0, "mean change over a minute {near}");
    }

    #[test]
    fn afternoons_are_warmer_than_nights() {
        for seed in 0..4 {
            let readings = week(seed);
            let average_at = |hours: std::ops::Range<u8>| {
                let temps: Vec<f64> =
                    readings.iter().filter(|r| hours.contains(&r.updated_at.hour())).map(|r| r.temperature).collect();
                temps.iter().sum::<f64>() / temps.len() as f64
            };
            let (afternoon, night) = (average_at(14..16), average_at(2..4));
            assert!(afternoon - night > 1.0, "seed {seed}: afternoon {afternoon}, night {night}");
        }
    }

    #[test]
    fn the_daily_swing_peaks_mid_afternoon() {
        assert!((daily_swing(datetime!(2026-11-23 15:00 UTC)) - DAILY_AMPLITUDE).abs() < 1e-12);
        assert!((daily_swing(datetime!(2026-11-23 03:00 UTC)) + DAILY_AMPLITUDE).abs() < 1e-12);
        assert!(daily_swing(datetime!(2026-11-23 09:00 UTC)).abs() < 1e-12);
        // An offset is only a way of writing the same instant.
        assert_eq!(daily_swing(datetime!(2026-11-23 16:00 +01:00)), daily_swing(datetime!(2026-11-23 15:00 UTC)));
    }

    #[test]
    fn readings_are_rounded_and_reproducible() {
        let a = week(9);
        assert_eq!(a[..100], week(9)[..100], "the same seed gives the same readings");
        for reading in &a[..1000] {
            let json = serde_json::to_string(reading).unwrap();
            let number = json.split(',').next().unwrap().trim_start_matches("{\"temperature\":");
            assert!(number.split_once('.').is_none_or(|(_, d)| d.len() <= 2), "{json}");
            assert_eq!(reading.updated_at.nanosecond(), 0);
        }
    }
}
