//! The living-room thermometer: the latest reading, when it was taken, and the connection state.

use leptos::prelude::*;
use sse_live_protocol::TemperatureReading;

use super::StreamCard;
use crate::use_event_source::{use_event_source, UseEventSourceReturn};

/// "The current temperature in my living room is 21.4 °C as of 19:05:00", live from `url`.
///
/// Shows a placeholder until the first reading arrives and the last error, if any, below it.
#[component]
pub fn TemperatureDisplay(
    /// The stream's URL. Default: `/e/temperatures` on the page's own origin.
    #[prop(into, default = "/e/temperatures".to_string())]
    url: String,
) -> impl IntoView {
    let UseEventSourceReturn { state, data, error, .. } = use_event_source::<TemperatureReading>(url);
    view! {
        <StreamCard title="Living room" class="temperature" state error>
            <p class="reading">
                {move || match data.get() {
                    Some(reading) => view! {
                        "The current temperature in my living room is "
                        <strong class="value">{format!("{:.1} °C", reading.temperature)}</strong>
                        " as of "
                        <time datetime=reading.updated_at.unix_timestamp().to_string()>
                            {local_time(&reading)}
                        </time>
                    }
                        .into_any(),
                    None => view! { <span class="placeholder">"Waiting for the first reading…"</span> }.into_any(),
                }}
            </p>
        </StreamCard>
    }
}

/// The reading's time as the reader's wall clock shows it (HH:MM:SS, 24-hour).
fn local_time(reading: &TemperatureReading) -> String {
    let millis = (reading.updated_at.unix_timestamp_nanos() / 1_000_000) as f64;
    String::from(js_sys::Date::new(&millis.into()).to_locale_time_string("en-GB"))
}
