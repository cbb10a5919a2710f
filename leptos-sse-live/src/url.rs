//! What the hook takes as its URL: [`IntoUrlSignal`], a reactive `Option<String>` in the end.

use leptos::prelude::*;

/// What the hook's `url` argument accepts: a constant or a reactive URL, each either a `String` or an
/// `Option<String>`. `None` (or an empty string) is idle: no request, state `Closed` (see
/// [A reactive URL](crate#a-reactive-url)).
///
/// Implemented for `&str`, `String`, `&String`, `Option<String>`, `Option<&str>`, and for `Signal`, `ReadSignal`,
/// `RwSignal`, `Memo` and their `Arc` forms of `String` or `Option<String>`. A closure is one through
/// `Signal::derive(move || ...)`; anything else that converts into a `Signal<String>`, through `Signal::from`.
///
/// A trait of the hook's rather than `Into<Signal<Option<String>>>`: Leptos converts a `Signal<String>` into that,
/// but not an `RwSignal<String>` or a `Memo<String>`, which the hook has always taken.
pub trait IntoUrlSignal {
    /// The URL as a signal; `None` is idle.
    fn into_url_signal(self) -> Signal<Option<String>>;
}

impl IntoUrlSignal for &str {
    fn into_url_signal(self) -> Signal<Option<String>> {
        Signal::stored(Some(self.to_owned()))
    }
}

impl IntoUrlSignal for String {
    fn into_url_signal(self) -> Signal<Option<String>> {
        Signal::stored(Some(self))
    }
}

impl IntoUrlSignal for &String {
    fn into_url_signal(self) -> Signal<Option<String>> {
        Signal::stored(Some(self.clone()))
    }
}

impl IntoUrlSignal for Option<String> {
    fn into_url_signal(self) -> Signal<Option<String>> {
        Signal::stored(self)
    }
}

impl IntoUrlSignal for Option<&str> {
    fn into_url_signal(self) -> Signal<Option<String>> {
        Signal::stored(self.map(str::to_owned))
    }
}

/// `IntoUrlSignal` for each reactive type, of `String` (wrapped in `Some` as it is read) and of `Option<String>`.
macro_rules! url_signals {
    ($($signal:ident),*) => {$(
        impl IntoUrlSignal for $signal<String> {
            fn into_url_signal(self) -> Signal<Option<String>> {
                Signal::derive(move || Some(self.get()))
            }
        }

        impl IntoUrlSignal for $signal<Option<String>> {
            fn into_url_signal(self) -> Signal<Option<String>> {
                self.into()
            }
        }
    )*};
}

url_signals!(Signal, ReadSignal, RwSignal, Memo, ArcSignal, ArcReadSignal, ArcRwSignal, ArcMemo);
