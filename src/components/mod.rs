//! The demo's components, one a file, and the small pure pieces they are built from (tested natively).

mod bar_chart;
mod connection_badge;
mod fixed;
mod job_progress;
mod line_chart;
mod private_channel;
mod random_numbers;
mod relative_time;
mod stream_card;
mod temperature_display;
mod temperature_unit;

pub use bar_chart::BarChart;
pub use connection_badge::{ConnectionBadge, Status};
pub use fixed::{fixed, push_fixed};
pub use job_progress::JobRunner;
pub use line_chart::{polyline, Chart, LineChart, Stats};
pub use private_channel::PrivateChannel;
pub use random_numbers::RandomNumbers;
pub use relative_time::ago;
pub use stream_card::{unreachable_sentence, StreamCard};
pub use temperature_display::{TemperatureDisplay, Trend, HISTORY};
pub use temperature_unit::{TemperatureUnit, UnitToggle};

/// Whether the page's streams are shared with its other tabs (one connection per browser): yes, unless the address
/// says `?tabs=own` (the end-to-end tests compare both).
pub fn share_across_tabs() -> bool {
    if !cfg!(target_arch = "wasm32") {
        return true;
    }
    let search = web_sys::window().and_then(|window| window.location().search().ok()).unwrap_or_default();
    // Bytes compared, not `str::contains`: a `&str` pattern links the two-way searcher (1.8 KB of the .wasm).
    !search.as_bytes().windows(8).any(|bytes| bytes == b"tabs=own")
}
