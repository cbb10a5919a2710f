//! Everything that is not an API route: the built client from `--dist`, with `index.html` for unknown page paths
//! (the client routes itself), or a 503 telling how to build the client when there is none.

use std::io::ErrorKind;
use std::path::Path;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::ServeDir;

use crate::error::ApiError;
use crate::state::AppState;

/// Path prefixes that belong to the API: unknown paths under them are a JSON 404, never the page.
const API_PREFIXES: [&str; 6] = ["/e/", "/events/", "/test/", "/healthz/", "/metrics/", "/demo-token/"];

/// Whether `path` belongs to the API rather than the page.
pub fn is_api_path(path: &str) -> bool {
    path.starts_with("/stream-")
        || API_PREFIXES.iter().any(|prefix| path.starts_with(prefix) || path == prefix.trim_end_matches('/'))
}

/// The fallback handler: a file from `--dist`, else `index.html`, else 503.
pub async fn serve(State(state): State<AppState>, request: Request) -> Response {
    if is_api_path(request.uri().path()) {
        return ApiError::NotFound.into_response();
    }
    let is_read = matches!(*request.method(), Method::GET | Method::HEAD);
    let dist = &state.config.dist;
    let response = match ServeDir::new(dist).oneshot(request).await {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    };
    if response.status() != StatusCode::NOT_FOUND || !is_read {
        return response;
    }
    index(dist).await
}

/// `dist/index.html`, or 503 with instructions when the client has not been built.
async fn index(dist: &Path) -> Response {
    let path = dist.join("index.html");
    match tokio::fs::read(&path).await {
        Ok(html) => ([(CONTENT_TYPE, "text/html; charset=utf-8"), (CACHE_CONTROL, "no-cache")], html).into_response(),
        Err(error) if matches!(error.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
            (StatusCode::SERVICE_UNAVAILABLE, [(CONTENT_TYPE, "text/plain; charset=utf-8")], not_built_message(dist))
                .into_response()
        }
        Err(error) => ApiError::Internal(format!("cannot read {}: {error}", path.display())).into_response(),
    }
}

/// The text of the 503 answered while `dist` holds no built client.
pub fn not_built_message(dist: &Path) -> String {
    format!(
        "The client is not built: {} has no index.html.\n\
         Build it and run the demo with `cargo xtask demo`, or point --dist (SSE_LIVE_DIST) at a trunk build.\n\
         The event streams work without it (e.g. /e/temperatures).\n",
        dist.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_paths_are_recognised() {
        for api in [
            "/e",
            "/e/",
            "/e/nope",
            "/events",
            "/events/",
            "/test",
            "/test/x",
            "/healthz",
            "/healthz/x",
            "/stream-x",
            "/metrics",
        ] {
            assert!(is_api_path(api), "{api}");
        }
        for page in ["/", "/index.html", "/settings", "/eventsx", "/testing", "/healthzz", "/e.js", "/metricsx"] {
            assert!(!is_api_path(page), "{page}");
        }
    }
}
