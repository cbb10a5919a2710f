//! The channel demo: pick a name, get a demo token, open your private channel (`users/{name}/inbox`), publish a
//! note to it from a small form and see it arrive; another name's channel refuses your token.
//!
//! Needs a server started with `--demo-auth` (and `--jwt-secret`), which `cargo xtask demo` does. The stream uses
//! the fetch transport, which can send the token as `Authorization: Bearer`.

use leptos::prelude::*;
use sse_live_demo_wire::{DemoToken, Note};
use sse_live_protocol::wire::Published;

use leptos_sse_live::{
    use_event_source_with_options, ConnectionState, EventSourceError, FetchOptions, Transport, UseEventSourceOptions,
    UseEventSourceReturn,
};

/// How many notes the inbox shows.
const NOTES: usize = 20;

/// The card: a name form, then the inbox, the note form and the "read another channel" form.
#[component]
pub fn PrivateChannel() -> impl IntoView {
    let name = RwSignal::new(String::new());
    let token = RwSignal::new(None::<DemoToken>);
    let failure = RwSignal::new(None::<String>);
    let join = Action::new_local(|name: &String| demo_token(name.clone()));
    Effect::new(move |_| match join.value().get() {
        Some(Ok(minted)) => {
            failure.set(None);
            token.set(Some(minted));
        }
        Some(Err(message)) => failure.set(Some(message)),
        None => {}
    });
    view! {
        <section class="card channel">
            <div class="card-head">
                <h2>"A private channel"</h2>
            </div>
            <form class="inline-form name-form" on:submit=move |ev| {
                ev.prevent_default();
                join.dispatch(name.get_untracked());
            }>
                <label>
                    "Your name "
                    <input name="name" autocomplete="off" maxlength="64" prop:value=name on:input=move |ev| name.set(event_target_value(&ev)) />
                </label>
                <button type="submit">"Open my channel"</button>
            </form>
            <p class="error" role="alert" hidden=move || failure.with(Option::is_none)>{move || failure.get()}</p>
            {move || token.get().map(|token| view! { <Inbox token /> })}
        </section>
    }
}

/// `GET /demo-token?sub=NAME`.
async fn demo_token(name: String) -> Result<DemoToken, String> {
    let response = gloo_net::http::Request::get("/demo-token")
        .query([("sub", name.as_str())])
        .send()
        .await
        .map_err(|e| format!("cannot get a token: {e}"))?;
    if !response.ok() {
        return Err(error_text(response).await);
    }
    response.json().await.map_err(|e| format!("cannot get a token: unexpected answer: {e}"))
}

/// The server's `{"error": "..."}`, or the status when there is none.
async fn error_text(response: gloo_net::http::Response) -> String {
    let status = response.status();
    match response.json::<serde_json::Value>().await {
        Ok(body) => body["error"].as_str().map_or_else(|| format!("HTTP {status}"), str::to_owned),
        Err(_) => format!("HTTP {status}"),
    }
}

/// The fetch transport with the token as `Authorization: Bearer`.
fn with_token(token: &DemoToken) -> UseEventSourceOptions {
    let bearer = format!("Bearer {}", token.token);
    let fetch = FetchOptions::default().headers(move || vec![("Authorization".to_owned(), bearer.clone())]);
    UseEventSourceOptions::default().transport(Transport::Fetch(fetch))
}

/// `name`'s inbox with `token`: the notes so far (from the topic's start) and live ones, and the forms.
#[component]
fn Inbox(token: DemoToken) -> impl IntoView {
    let topic = format!("users/{}/inbox", token.sub);
    // Shared with the tabs signed in with the same token only: the headers take part in the key.
    let options = with_token(&token).history(NOTES).share_across_tabs(super::share_across_tabs());
    let UseEventSourceReturn { state, error, history, .. } =
        use_event_source_with_options::<Note>(format!("/events/{topic}?lastEventId=0"), options);
    let draft = RwSignal::new(String::new());
    let sent = RwSignal::new(None::<Result<Published, String>>);
    let send = Action::new_local({
        let (topic, token) = (topic.clone(), token.token.clone());
        move |text: &String| publish(topic.clone(), token.clone(), Note { text: text.clone() })
    });
    Effect::new(move |_| {
        if let Some(result) = send.value().get() {
            if result.is_ok() {
                draft.set(String::new());
            }
            sent.set(Some(result));
        }
    });
    let other = RwSignal::new(String::new());
    let peek = RwSignal::new(None::<String>);
    view! {
        <div class="inbox" data-state=move || state.get().as_str()>
            <p class="hint">
                "Signed in as " <strong>{token.sub.clone()}</strong> " · reading " <code>{topic.clone()}</code> " · "
                {move || match (state.get(), error.get()) {
                    (ConnectionState::Open, _) => "live".to_owned(),
                    (_, Some(error)) => error.to_string(),
                    (state, None) => state.to_string().to_lowercase(),
                }}
            </p>
            <ul class="notes" aria-live="polite">
                {move || history.get().into_iter().map(|note| view! { <li>{note.text}</li> }).collect_view()}
            </ul>
            <form class="inline-form note-form" on:submit=move |ev| {
                ev.prevent_default();
                let text = draft.get_untracked();
                if !text.trim().is_empty() {
                    send.dispatch(text);
                }
            }>
                <input name="note" autocomplete="off" placeholder="Write a note to yourself" prop:value=draft on:input=move |ev| draft.set(event_target_value(&ev)) />
                <button type="submit">"Send"</button>
            </form>
            <p class="sent" role="status">
                {move || sent.get().map(|result| match result {
                    Ok(published) => format!("Sent as event {} of {}", published.id, published.topic),
                    Err(message) => format!("Not sent: {message}"),
                })}
            </p>
            <form class="inline-form peek-form" on:submit=move |ev| {
                ev.prevent_default();
                peek.set(Some(other.get_untracked()));
            }>
                <label>
                    "Read another name's channel "
                    <input name="other" autocomplete="off" prop:value=other on:input=move |ev| other.set(event_target_value(&ev)) />
                </label>
                <button type="submit">"Try"</button>
            </form>
            {move || peek.get().map(|other| view! { <Peek token=token.clone() other /> })}
        </div>
    }
}

/// `POST /events/{topic}` with the token: the event's id, or the server's reason.
async fn publish(topic: String, token: String, note: Note) -> Result<Published, String> {
    let request = gloo_net::http::Request::post(&format!("/events/{topic}"))
        .header("Authorization", &format!("Bearer {token}"))
        .json(&note)
        .map_err(|e| e.to_string())?;
    let response = request.send().await.map_err(|e| format!("the server cannot be reached: {e}"))?;
    if !response.ok() {
        return Err(error_text(response).await);
    }
    response.json().await.map_err(|e| format!("unexpected answer: {e}"))
}

/// Tries to read `other`'s inbox with this token: the server refuses (403), and the refusal is shown.
#[component]
fn Peek(token: DemoToken, other: String) -> impl IntoView {
    let url = format!("/events/users/{other}/inbox");
    let UseEventSourceReturn { state, error, .. } =
        use_event_source_with_options::<Note>(url, with_token(&token).shared(false));
    view! {
        <p class="peek" data-state=move || state.get().as_str()>
            {move || match error.get() {
                Some(EventSourceError::Http { status, message }) => format!("Refused ({status}): {}", reason(&message)),
                Some(error) => error.to_string(),
                None if state.get() == ConnectionState::Open => format!("Reading {other}'s channel"),
                None => "Asking…".to_owned(),
            }}
        </p>
    }
}

/// The `error` of a JSON error body (`{"error": "..."}`, as our server answers), else the text as it is.
fn reason(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|json| json["error"].as_str().map(str::to_owned))
        .unwrap_or_else(|| body.to_owned())
}

#[cfg(test)]
mod tests {
    use super::reason;

    #[test]
    fn json_errors_read_as_their_message() {
        assert_eq!(
            reason(r#"{"error":"the token does not allow the topic \"users/bob/inbox\""}"#),
            r#"the token does not allow the topic "users/bob/inbox""#
        );
        assert_eq!(reason("Forbidden"), "Forbidden");
        assert_eq!(reason(r#"{"message":"x"}"#), r#"{"message":"x"}"#);
    }
}
