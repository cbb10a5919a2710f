//! The living-room thermometer: the latest reading large, its time ticking ("3 s ago"), a trend arrow, °C or °F,
//! and a chart of the last hour filled from the server's history on load.

use std::time::Duration;

use leptos::prelude::*;

use super::{ago, LineChart, StreamCard, TemperatureUnit, UnitToggle};
use crate::use_now::use_now;
use crate::wire::{self, Reading};
use leptos_sse_live::{
    use_event_source_with_decoder, FetchOptions, ReconnectLimit, Transport, UseEventSourceOptions, UseEventSourceReturn,
};

/// How many readings the card keeps: an hour and more at the demo's default 5 s interval.
pub const HISTORY: usize = 1000;

/// The span of the chart.
const CHART_SPAN_MS: f64 = 60.0 * 60.0 * 1000.0;

/// How far back the trend looks, and the change that counts as one.
const TREND_SPAN_MS: f64 = 60.0 * 1000.0;
const TREND_THRESHOLD: f64 = 0.1;

/// Which way the temperature is going over the last minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trend {
    Rising,
    Falling,
    Steady,
}

impl Trend {
    /// The trend of `history` (oldest first): the latest reading against the newest one at least a minute older
    /// (or the oldest, when the history is shorter); a change under 0.1 °C is steady. `None` with fewer than two.
    pub fn of(history: &[Reading]) -> Option<Self> {
        let latest = history.last()?;
        let cutoff = latest.updated_at - TREND_SPAN_MS;
        let earlier = history[..history.len() - 1].iter().rev().find(|r| r.updated_at <= cutoff).or(history.first())?;
        if std::ptr::eq(earlier, latest) {
            return None;
        }
        let change = latest.temperature - earlier.temperature;
        Some(if change >= TREND_THRESHOLD {
            Self::Rising
        } else if change <= -TREND_THRESHOLD {
            Self::Falling
        } else {
            Self::Steady
        })
    }

    fn arrow(self) -> &'static str {
        match self {
            Self::Rising => "↑",
            Self::Falling => "↓",
            Self::Steady => "→",
        }
    }

    fn words(self) -> &'static str {
        match self {
            Self::Rising => "rising",
            Self::Falling => "falling",
            Self::Steady => "steady",
        }
    }
}

/// "The current temperature in my living room is 21.4 °C ↑ as of 19:05:00 · 3 s ago", live from `url`, with a chart
/// of the last hour below.
///
/// The default URL asks for the whole history the server keeps (`?lastEventId=0`), so the chart is full at once;
/// after that the hook resumes from the last reading it has. It never gives up reconnecting (a wall screen must come
/// back by itself), and it reads the stream with the fetch transport: the hook then schedules every reconnect
/// itself, so the badge can count down to the next one (`EventSource` retries a network error on its own schedule,
/// which it does not expose).
#[component]
pub fn TemperatureDisplay(
    /// The stream's URL. Default: `/e/temperatures?lastEventId=0` on the page's own origin.
    #[prop(into, default = "/e/temperatures?lastEventId=0".to_string())]
    url: String,
) -> impl IntoView {
    let options = UseEventSourceOptions::default()
        .history(HISTORY)
        .reconnect_limit(ReconnectLimit::Unlimited)
        .transport(Transport::Fetch(FetchOptions::default()))
        .share_across_tabs(super::share_across_tabs());
    let UseEventSourceReturn { state, data, error, history, reconnect_at, last_event_id, .. } =
        use_event_source_with_decoder(url, options, wire::reading);
    let unit = RwSignal::new(TemperatureUnit::saved());
    let now = use_now(Duration::from_secs(1));
    // Closures, not `Memo`s (each `Memo` type is code of its own): a change of `history` computes them again for each
    // reader (the chart's three, over at most 1000 readings), and the page is written only where a value differs.
    let trend = move || history.with(|history| Trend::of(history));
    let chart = Signal::derive(move || {
        let unit = unit.get();
        history.with(|history| {
            let end = history.last().map_or(0.0, |reading| reading.updated_at);
            history
                .iter()
                .filter(|reading| reading.updated_at >= end - CHART_SPAN_MS)
                .map(|reading| (reading.updated_at, unit.convert(reading.temperature)))
                .collect::<Vec<_>>()
        })
    });
    let format = Callback::new(move |value: f64| unit.get().format_converted(value));
    view! {
        <StreamCard title="Living room" class="temperature" state error reconnect_at>
            <UnitToggle unit />
            // The last event id, for whoever checks what the page has (the end-to-end tests do).
            <p class="reading" data-last-event-id=last_event_id>
                {move || match data.get() {
                    Some(reading) => view! {
                        "The current temperature in my living room is "
                        <strong class="value">{unit.get().format(reading.temperature)}</strong>
                        {move || trend().map(|trend| view! {
                            <span class="trend" data-trend=trend.words() title=format!("{} over the last minute", trend.words())>
                                {trend.arrow()}
                            </span>
                        })}
                        " as of "
                        <time datetime=String::from(date(&reading).to_iso_string())>{local_time(&reading)}</time>
                        <span class="ago">{move || format!(" · {}", ago(now.get(), reading.updated_at))}</span>
                    }
                        .into_any(),
                    None => view! { <span class="placeholder">"Waiting for the first reading…"</span> }.into_any(),
                }}
            </p>
            <LineChart points=chart format label="Living-room temperature over the last hour" min_range=2.0 />
        </StreamCard>
    }
}

/// The reading's time as a browser `Date`.
fn date(reading: &Reading) -> js_sys::Date {
    js_sys::Date::new(&reading.updated_at.into())
}

/// The reading's time as the reader's wall clock shows it (HH:MM:SS, 24-hour).
fn local_time(reading: &Reading) -> String {
    String::from(date(reading).to_locale_time_string("en-GB"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(seconds: i64, temperature: f64) -> Reading {
        Reading { temperature, updated_at: (1_700_000_000 + seconds) as f64 * 1000.0 }
    }

    #[test]
    fn the_trend_compares_with_a_minute_ago() {
        assert_eq!(Trend::of(&[]), None);
        assert_eq!(Trend::of(&[reading(0, 20.0)]), None);
        let rising = [reading(0, 20.0), reading(30, 19.0), reading(60, 20.2), reading(65, 20.3)];
        assert_eq!(Trend::of(&rising), Some(Trend::Rising), "20.0 at 0 s (a minute before 65 s) to 20.3");
        let falling = [reading(0, 21.0), reading(70, 20.8)];
        assert_eq!(Trend::of(&falling), Some(Trend::Falling));
        let steady = [reading(0, 21.0), reading(70, 21.05)];
        assert_eq!(Trend::of(&steady), Some(Trend::Steady));
        let short = [reading(0, 21.0), reading(5, 21.5)];
        assert_eq!(Trend::of(&short), Some(Trend::Rising), "less than a minute: against the oldest");
    }
}
