//! The channel demo: pick a name, get a demo token, open your private channel (`users/{name}/inbox`), publish a
//! note to it from a small form and see it arrive; another name's channel refuses your token.
//!
//! Needs a server started with `--demo-auth` (and `--jwt-secret`), which `cargo xtask demo` does. The stream uses
//! the fetch transport, which can send the token as `Authorization: Bearer`.

use leptos::html;
use leptos::prelude::*;
use sse_live_protocol::wire::Published;

use crate::request;
use crate::wire::{self, Token};

use leptos_sse_live::{
    use_event_source_with_decoder, ConnectionState, EventSourceError, FetchOptions, Transport, UseEventSourceOptions,
    UseEventSourceReturn,
};

/// How many notes the inbox shows.
const NOTES: usize = 20;

/// The card: a name form, then the inbox, the note form and the "read another channel" form.
#[component]
pub fn PrivateChannel() -> impl IntoView {
    let name = NodeRef::<html::Input>::new();
    let token = RwSignal::new(None::<Token>);
    let failure = RwSignal::new(None::<String>);
    // The answer may come after the card is gone: the signals are then disposed, and `try_set` does nothing.
    let join = move |name: String| {
        let url = format!("/demo-token?sub={}", js_sys::encode_uri_component(&name));
        request::spawn(
            "GET",
            url,
            None,
            None,
            Box::new(move |answer| match minted(answer) {
                Ok(minted) => {
                    failure.try_set(None);
                    token.try_set(Some(minted));
                }
                Err(message) => {
                    failure.try_set(Some(message));
                }
            }),
        )
    };
    view! {
        <section class="card channel">
            <div class="card-head">
                <h2>"A private channel"</h2>
            </div>
            <form class="inline-form name-form" on:submit=move |ev| {
                ev.prevent_default();
                join(value_of(name));
            }>
                <label>
                    "Your name "
                    <input name="name" autocomplete="off" maxlength="64" node_ref=name />
                </label>
                <button type="submit">"Open my channel"</button>
            </form>
            <p class="error" role="alert" hidden=move || failure.with(Option::is_none)>{move || failure.get()}</p>
            {move || token.get().map(|token| view! { <Inbox token /> })}
        </section>
    }
}

/// What `input` holds now (empty before it is mounted). The forms read their inputs when submitted: no signal and
/// no `input` handler per field.
fn value_of(input: NodeRef<html::Input>) -> String {
    input.get_untracked().map(|input| input.value()).unwrap_or_default()
}

/// The answer to `GET /demo-token?sub=NAME`: the token, or a sentence saying why not.
fn minted(answer: Result<request::Answer, String>) -> Result<Token, String> {
    let answer = answer.map_err(|e| format!("cannot get a token: {e}"))?;
    if !answer.ok() {
        return Err(answer.error());
    }
    wire::token(&answer.text).map_err(|e| format!("cannot get a token: unexpected answer: {e}"))
}

/// The fetch transport with the token as `Authorization: Bearer`.
fn with_token(token: &Token) -> UseEventSourceOptions {
    let bearer = format!("Bearer {}", token.token);
    let fetch = FetchOptions::default().headers(move || vec![("Authorization".to_owned(), bearer.clone())]);
    UseEventSourceOptions::default().transport(Transport::Fetch(fetch))
}

/// `name`'s inbox with `token`: the notes so far (from the topic's start) and live ones, and the forms.
#[component]
fn Inbox(token: Token) -> impl IntoView {
    let topic = format!("users/{}/inbox", token.sub);
    // Shared with the tabs signed in with the same token only: the headers take part in the key.
    let options = with_token(&token).history(NOTES).share_across_tabs(super::share_across_tabs());
    let UseEventSourceReturn { state, error, history, .. } =
        use_event_source_with_decoder(format!("/events/{topic}?lastEventId=0"), options, wire::note);
    let draft = NodeRef::<html::Input>::new();
    // The sentence, not the `Result`: a signal of `Option<String>`, whose code the card's other signals share.
    let sent = RwSignal::new(None::<String>);
    let send = {
        let (topic, token) = (topic.clone(), token.token.clone());
        move |text: String| {
            // `Note`'s wire form, `{"text": ...}` (see `request::json_string`).
            let body = format!("{{\"text\":{}}}", request::json_string(&text));
            let url = format!("/events/{topic}");
            let done = move |answer| {
                let sentence = match published(answer) {
                    Ok(published) => {
                        if let Some(input) = draft.try_get_untracked().flatten() {
                            input.set_value("");
                        }
                        format!("Sent as event {} of {}", published.id, published.topic)
                    }
                    Err(message) => format!("Not sent: {message}"),
                };
                sent.try_set(Some(sentence));
            };
            request::spawn("POST", url, Some(token.clone()), Some(body), Box::new(done));
        }
    };
    let other = NodeRef::<html::Input>::new();
    let peek = RwSignal::new(None::<String>);
    view! {
        <div class="inbox" data-state=move || state.get().as_str()>
            <p class="hint">
                "Signed in as " <strong>{token.sub.clone()}</strong> " · reading " <code>{topic.clone()}</code> " · "
                {move || match (state.get(), error.get()) {
                    (ConnectionState::Open, _) => "live".to_owned(),
                    (_, Some(error)) => error.to_string(),
                    // The lower-case word as it is: `to_lowercase` would link Unicode's case tables (12 KB of data).
                    (state, None) => state.as_str().to_owned(),
                }}
            </p>
            <ul class="notes" aria-live="polite">
                {move || history.get().into_iter().map(|note| view! { <li>{note.text}</li> }).collect_view()}
            </ul>
            <form class="inline-form note-form" on:submit=move |ev| {
                ev.prevent_default();
                let text = value_of(draft);
                if !text.trim().is_empty() {
                    send(text);
                }
            }>
                <input name="note" autocomplete="off" placeholder="Write a note to yourself" node_ref=draft />
                <button type="submit">"Send"</button>
            </form>
            <p class="sent" role="status">
                {move || sent.get()}
            </p>
            <form class="inline-form peek-form" on:submit=move |ev| {
                ev.prevent_default();
                peek.set(Some(value_of(other)));
            }>
                <label>
                    "Read another name's channel "
                    <input name="other" autocomplete="off" node_ref=other />
                </label>
                <button type="submit">"Try"</button>
            </form>
            {move || peek.get().map(|other| view! { <Peek token=token.clone() other /> })}
        </div>
    }
}

/// The answer to `POST /events/{topic}` with the token: the event's id, or the server's reason.
fn published(answer: Result<request::Answer, String>) -> Result<Published, String> {
    let answer = answer.map_err(|e| format!("the server cannot be reached: {e}"))?;
    if !answer.ok() {
        return Err(answer.error());
    }
    wire::published(&answer.text).map_err(|e| format!("unexpected answer: {e}"))
}

/// Tries to read `other`'s inbox with this token: the server refuses (403), and the refusal is shown.
#[component]
fn Peek(token: Token, other: String) -> impl IntoView {
    let url = format!("/events/users/{other}/inbox");
    let UseEventSourceReturn { state, error, .. } =
        // `Note`s as in the inbox (the same decoder: no code of its own), though the server refuses before any.
        use_event_source_with_decoder(url, with_token(&token).shared(false), wire::note);
    view! {
        <p class="peek" data-state=move || state.get().as_str()>
            {move || match error.get() {
                Some(EventSourceError::Http { status, message }) => {
                    let reason = wire::error_message(&message).unwrap_or(message);
                    format!("Refused ({status}): {reason}")
                },
                Some(error) => error.to_string(),
                None if state.get() == ConnectionState::Open => format!("Reading {other}'s channel"),
                None => "Asking…".to_owned(),
            }}
        </p>
    }
}
