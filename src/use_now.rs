//! `use_now`: the wall clock as a signal, so that texts like "3 s ago" tick by themselves.

use std::time::Duration;

use gloo_timers::callback::Interval;
use leptos::prelude::*;

/// The current time (`Date.now()`: milliseconds since the epoch), updated every `period` while the calling component
/// is mounted; the timer stops on unmount.
///
/// ```no_run
/// # use leptos::prelude::*;
/// use std::time::Duration;
/// use sse_live::use_now::use_now;
/// # #[component] fn Example() -> impl IntoView {
/// let now = use_now(Duration::from_secs(1));
/// view! { <p>{move || format!("{:.0} s since the epoch", now.get() / 1000.0)}</p> }
/// # }
/// ```
pub fn use_now(period: Duration) -> Signal<f64> {
    let (now, set_now) = signal(js_sys::Date::now());
    let millis = u32::try_from(period.as_millis()).unwrap_or(u32::MAX).max(1);
    let interval = Interval::new(millis, move || {
        set_now.try_set(js_sys::Date::now());
    });
    let interval = StoredValue::new_local(Some(interval));
    on_cleanup(move || drop(interval.try_update_value(Option::take).flatten()));
    now.into()
}
