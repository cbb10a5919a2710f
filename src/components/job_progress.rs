//! A finite job (the question the tutorial's readers asked most): a button starts a server-side job, its progress
//! streams over its own topic, a bar fills, and the stream ends for good at 100 % with no reconnect.

use leptos::prelude::*;
use sse_live_demo_wire::JobStarted;

use crate::{request, wire};

use leptos_sse_live::{
    use_event_source_with_decoder, ConnectionState, EventSourceError, UseEventSourceOptions, UseEventSourceReturn,
};

/// Starts a job with `POST /jobs` and shows the progress of the latest one.
#[component]
pub fn JobRunner() -> impl IntoView {
    let job = RwSignal::new(None::<JobStarted>);
    let failure = RwSignal::new(None::<String>);
    let pending = RwSignal::new(false);
    // The answer may come after the card is gone: the signals are then disposed, and `try_set` does nothing.
    let start = move || {
        pending.set(true);
        request::spawn(
            "POST",
            "/jobs".to_owned(),
            None,
            None,
            Box::new(move |answer| {
                match started(answer) {
                    Ok(started) => {
                        failure.try_set(None);
                        job.try_set(Some(started));
                    }
                    Err(message) => {
                        failure.try_set(Some(message));
                    }
                }
                pending.try_set(false);
            }),
        );
    };
    view! {
        <section class="card job">
            <div class="card-head">
                <h2>"A job with an end"</h2>
                <button type="button" class="start-job" on:click=move |_| start() disabled=pending>
                    "Start a job"
                </button>
            </div>
            <p class="hint">"The server counts to 100 over a few seconds; the stream ends there, with no reconnect."</p>
            <p class="error" role="alert" hidden=move || failure.with(Option::is_none)>{move || failure.get()}</p>
            // A new job mounts a new stream: the previous one is closed with its component.
            {move || job.get().map(|job| view! { <JobStream job /> })}
        </section>
    }
}

/// The answer to `POST /jobs`: the started job, or a sentence saying why not.
fn started(answer: Result<request::Answer, String>) -> Result<JobStarted, String> {
    let answer = answer.map_err(|e| format!("cannot start a job: {e}"))?;
    if !answer.ok() {
        return Err(format!("cannot start a job: {} {}", answer.status, answer.text));
    }
    wire::job_started(&answer.text).map_err(|e| format!("cannot start a job: unexpected answer: {e}"))
}

/// One job's progress bar, from its whole history (`?lastEventId=0`: nothing is missed if the job began before the
/// stream opened) until its `end` event.
#[component]
fn JobStream(job: JobStarted) -> impl IntoView {
    let url = format!("/events/{}?lastEventId=0", job.topic);
    let options = UseEventSourceOptions::default().terminal_event("end");
    let UseEventSourceReturn { state, data, error, .. } =
        use_event_source_with_decoder(url, options, wire::JOB_PERCENT);
    let percent = move || data.get().map_or(0, |percent| percent as u8);
    let status = move || match (state.get(), error.get()) {
        (ConnectionState::Closed, None) if percent() == 100 => "Done: the stream is closed".to_owned(),
        (_, Some(EventSourceError::Decode { message, .. })) => format!("Unexpected data: {message}"),
        (ConnectionState::Closed, Some(error)) => format!("Stopped: {error}"),
        (ConnectionState::Connecting, _) => "Connecting…".to_owned(),
        _ => "Running".to_owned(),
    };
    view! {
        <div class="job-stream" data-job=job.id.clone() data-state=move || state.get().as_str()>
            <progress max="100" value=percent aria-label=format!("Job {}", job.id)></progress>
            <span class="percent">{move || format!("{} %", percent())}</span>
            <span class="job-status" role="status" aria-live="polite">{status}</span>
        </div>
    }
}
