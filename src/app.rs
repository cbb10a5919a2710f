//! The demo page: the living-room thermometer and the random-number stream, side by side.

use leptos::prelude::*;

use crate::components::{RandomNumbers, TemperatureDisplay};

/// The demo page. Both streams come from the server that served the page (same origin).
#[component]
pub fn App() -> impl IntoView {
    view! {
        <header>
            <h1>"sse-live"</h1>
            <p class="tagline">"Live server data in a Rust web front end, over server-sent events."</p>
        </header>
        <main>
            <TemperatureDisplay />
            <RandomNumbers />
        </main>
    }
}
