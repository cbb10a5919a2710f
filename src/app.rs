//! The demo page: the living-room thermometer, the random-number stream, a finite job and a private channel.

use leptos::prelude::*;

use crate::components::{JobRunner, PrivateChannel, RandomNumbers, TemperatureDisplay};

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
            <JobRunner />
            <PrivateChannel />
        </main>
    }
}
