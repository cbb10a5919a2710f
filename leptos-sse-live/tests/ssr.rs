//! The hook on the server of an SSR app: a component that uses it renders to HTML with Leptos's SSR, showing the
//! documented initial state, and nothing panics (the hook opens nothing and touches no browser API there; on a
//! native target `web_sys` calls would panic).

#![cfg(not(target_arch = "wasm32"))]

use leptos::prelude::*;
use leptos_sse_live::{use_event_source, ConnectionState, UseEventSourceReturn};
use serde::Deserialize;

#[derive(Clone, Deserialize)]
struct Reading {
    temperature: f64,
}

#[component]
fn Thermometer() -> impl IntoView {
    let UseEventSourceReturn { state, data, message, history, error, last_event_id, reconnect_at, .. } =
        use_event_source::<Reading>("/e/temperatures");
    view! {
        <p class="state">{move || state.get().to_string()}</p>
        <p class="data">{move || data.get().map_or("none".to_owned(), |r| format!("{:.1} °C", r.temperature))}</p>
        <p class="message">{move || message.get().map_or("none".to_owned(), |m| m.data)}</p>
        <p class="history">{move || history.get().len()}</p>
        <p class="error">{move || error.get().map_or("none".to_owned(), |e| e.to_string())}</p>
        <p class="id">{move || format!("[{}]", last_event_id.get())}</p>
        <p class="retry">{move || reconnect_at.get().map_or("none".to_owned(), |at| at.to_string())}</p>
    }
}

#[test]
fn a_component_using_the_hook_renders_its_initial_state_on_the_server() {
    let owner = Owner::new();
    let html = owner.with(|| view! { <Thermometer /> }.to_html());
    for expected in [
        r#"<p class="state">Connecting</p>"#,
        r#"<p class="data">none</p>"#,
        r#"<p class="message">none</p>"#,
        r#"<p class="history">0</p>"#,
        r#"<p class="error">none</p>"#,
        r#"<p class="id">[]</p>"#,
        r#"<p class="retry">none</p>"#,
    ] {
        assert!(html.contains(expected), "{expected} in the server's HTML: {html}");
    }
    owner.cleanup();
}

#[test]
fn open_and_close_on_the_server_do_nothing_but_close_reports_closed() {
    let owner = Owner::new();
    let UseEventSourceReturn { state, error, open, close, .. } =
        owner.with(|| use_event_source::<Reading>("/e/temperatures"));
    assert_eq!(state.get_untracked(), ConnectionState::Connecting);
    open();
    assert_eq!(state.get_untracked(), ConnectionState::Connecting, "open() before anything ran changes nothing");
    close();
    assert_eq!(state.get_untracked(), ConnectionState::Closed);
    open();
    assert_eq!(state.get_untracked(), ConnectionState::Closed, "nothing opens on the server");
    assert_eq!(error.get_untracked(), None);
    owner.cleanup();
}
