//! `use_event_source`: a server-sent events stream as Leptos signals.
//!
//! The hook opens a browser `EventSource`, decodes each message's data as JSON into your type with serde, and
//! reports the connection state and errors as signals. The connection closes when the calling component unmounts.
//!
//! ## Usage
//!
//! ```no_run
//! use leptos::prelude::*;
//! use serde::Deserialize;
//! use sse_live::use_event_source::{use_event_source, UseEventSourceReturn};
//!
//! #[derive(Clone, Deserialize)]
//! struct Reading {
//!     temperature: f64,
//! }
//!
//! #[component]
//! fn Thermometer() -> impl IntoView {
//!     let UseEventSourceReturn { state, data, error, .. } = use_event_source::<Reading>("/e/temperatures");
//!     view! {
//!         <p>{move || state.get().to_string()}</p>
//!         <p>{move || data.get().map(|r| format!("{:.1} °C", r.temperature))}</p>
//!         <p>{move || error.get().map(|e| e.to_string())}</p>
//!     }
//! }
//! ```
//!
//! ### States
//! `state` mirrors `EventSource.readyState`: `Connecting` at first and while the browser re-establishes a dropped
//! connection by itself (with [`EventSourceError::Disconnected`] in `error`), `Open` once the server answers, and
//! `Closed` after [`close`](UseEventSourceReturn::close), on unmount, or when the browser gives up
//! ([`EventSourceError::ConnectionFailed`]).
//!
//! ### Errors are values
//! A message whose data is not valid JSON for `T` sets `error` to [`EventSourceError::Decode`] with the raw text and
//! serde's message; `data` keeps the last good value and the connection stays open.
//!
//! ### Cleanup
//! On unmount (Leptos `on_cleanup`) or `close()`, the listeners are removed, the `EventSource` is closed and its
//! closures are dropped: nothing is leaked with `Closure::forget`, and no handler writes to a signal afterwards.

mod browser;
mod error;
mod options;
mod return_type;
mod state;

use leptos::prelude::*;
use serde::de::DeserializeOwned;
use sse_live_protocol::Event;

use browser::{Connection, Handlers};
pub use error::EventSourceError;
pub use options::UseEventSourceOptions;
pub use return_type::UseEventSourceReturn;
pub use state::ConnectionState;

/// Opens a server-sent events stream at `url` and decodes each message's data as JSON into `T`.
///
/// Same as [`use_event_source_with_options`] with the default options. See the [module docs](self) for an example.
pub fn use_event_source<T>(url: impl Into<String>) -> UseEventSourceReturn<T, impl Fn() + Clone + Send + Sync + 'static>
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    use_event_source_with_options(url, UseEventSourceOptions::default())
}

/// Opens a server-sent events stream at `url` with `options`; see [`use_event_source`].
///
/// ```no_run
/// # use leptos::prelude::*;
/// use sse_live::use_event_source::{use_event_source_with_options, UseEventSourceOptions};
/// # #[component] fn Example() -> impl IntoView {
/// let stream = use_event_source_with_options::<serde_json::Value>(
///     "https://api.example.com/events",
///     UseEventSourceOptions::default().with_credentials(true),
/// );
/// # let _ = stream;
/// # }
/// ```
pub fn use_event_source_with_options<T>(
    url: impl Into<String>,
    options: UseEventSourceOptions,
) -> UseEventSourceReturn<T, impl Fn() + Clone + Send + Sync + 'static>
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    let url = url.into();
    let (state, set_state) = signal(ConnectionState::Connecting);
    let (data, set_data) = signal(None::<T>);
    let (message, set_message) = signal(None::<Event>);
    let (error, set_error) = signal(None::<EventSourceError>);
    let connection = StoredValue::new_local(None::<Connection>);

    let handlers = Handlers {
        on_open: Box::new(move || set_state.set(ConnectionState::Open)),
        on_message: Box::new(move |event: Event| {
            match serde_json::from_str::<T>(&event.data) {
                Ok(value) => set_data.set(Some(value)),
                Err(e) => {
                    set_error.set(Some(EventSourceError::Decode { raw: event.data.clone(), message: e.to_string() }))
                }
            }
            set_message.set(Some(event));
        }),
        on_error: Box::new(move |ready_state| {
            set_state.set(ready_state);
            set_error.set(Some(match ready_state {
                ConnectionState::Closed => EventSourceError::ConnectionFailed,
                _ => EventSourceError::Disconnected,
            }));
        }),
    };
    match Connection::open(&url, options.is_with_credentials(), handlers) {
        Ok(opened) => connection.set_value(Some(opened)),
        Err(message) => {
            set_state.set(ConnectionState::Closed);
            set_error.set(Some(EventSourceError::InvalidUrl { url, message }));
        }
    }

    // Dropping the connection removes its listeners and closes the EventSource.
    let close = move || {
        drop(connection.try_update_value(Option::take).flatten());
        set_state.try_set(ConnectionState::Closed);
    };
    on_cleanup(close);

    UseEventSourceReturn { state: state.into(), data: data.into(), message: message.into(), error: error.into(), close }
}
