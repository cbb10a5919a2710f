//! Request logging: one `request` span per request (method, URI, client) with its start, its answer's status and
//! latency, and 5xx answers as warnings; work per request head, none per frame.
//!
//! tower-http's `TraceLayer` also wraps the response body, entering the span and reading the clock twice for each
//! frame: on an event stream that is paid once per delivery. Here the body is left as it is; a stream's end is
//! logged by the stream itself (`stream closed`, see [`crate::sse`]), inside the same span.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use tokio::time::Instant;
use tracing::Instrument;

use crate::listener::ClientIp;

/// Runs `request` through `next` inside its `request` span, logging its start and its answer (see the module docs).
pub(crate) async fn log(request: Request, next: Next) -> Response {
    // The client as the limits see it: behind a trusted proxy, the address the proxy names.
    let client = request.extensions().get::<ClientIp>().and_then(|ip| ip.0);
    let client = client.map_or_else(|| "-".to_owned(), |ip| ip.to_string());
    let span = tracing::debug_span!("request", method = %request.method(), uri = %request.uri(), %client);
    async move {
        let start = Instant::now();
        tracing::debug!("started processing request");
        let response = next.run(request).await;
        let latency = start.elapsed();
        let status = response.status();
        // 5xx answers are warnings: the only expected one is "client not built", which is not an outage.
        if status.is_server_error() {
            tracing::warn!(status = status.as_u16(), ?latency, "response failed");
        } else {
            tracing::debug!(status = status.as_u16(), ?latency, "finished processing request");
        }
        response
    }
    .instrument(span)
    .await
}
