//! Everything that is not an API route: the built client from `--dist`, served as a static file server should.
//!
//! - **Precompressed**: `NAME.br` and `NAME.gz` beside a file (written by `cargo xtask` at build time) are sent
//!   instead of it to a client that accepts them (`Content-Encoding`, with `Vary: Accept-Encoding` on every file);
//!   nothing is compressed per request, and event streams never are.
//! - **Cached**: a file whose name carries trunk's content hash (`name-<hex>.js`, `name-<hex>_bg.wasm`) is
//!   `Cache-Control: public, max-age=31536000, immutable`: a new build has new names. Everything else, `index.html`
//!   first (it names the hashed files), is `no-cache`: revalidated on every load (`Last-Modified`, 304).
//! - **Page paths**: an unknown path without an extension (`/settings`) gets `index.html`, as the client routes
//!   itself; an unknown path with one (`/nope.js`) is a plain 404, so a missing asset is not answered with HTML.
//! - No `index.html` in `--dist` at all: 503 with a hint on how to build the client.

use std::path::Path;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_TYPE, VARY};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use crate::error::ApiError;
use crate::state::AppState;

/// Path prefixes that belong to the API: unknown paths under them are a JSON 404, never the page.
const API_PREFIXES: [&str; 6] = ["/e/", "/events/", "/test/", "/healthz/", "/metrics/", "/demo-token/"];

/// `Cache-Control` of files whose name changes with their content.
pub(crate) const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// `Cache-Control` of everything else: revalidate on every use.
pub(crate) const REVALIDATE: &str = "no-cache";

/// Whether `path` belongs to the API rather than the page.
pub(crate) fn is_api_path(path: &str) -> bool {
    path.starts_with("/stream-")
        || API_PREFIXES.iter().any(|prefix| path.starts_with(prefix) || path == prefix.trim_end_matches('/'))
}

/// Whether the last segment of `path` names a file with an extension (`/a/b.js`, not `/a.b/c` nor `/`).
pub(crate) fn has_extension(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    name.rfind('.').is_some_and(|dot| dot > 0 && dot + 1 < name.len())
}

/// Whether the last segment of `path` carries trunk's content hash: `name-<8 to 16 hex digits>[_bg].ext`.
pub(crate) fn is_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    let Some((stem, _extension)) = name.rsplit_once('.') else { return false };
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    let Some((_, hash)) = stem.rsplit_once('-') else { return false };
    (8..=16).contains(&hash.len()) && hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The fallback handler: a file from `--dist` (or `index.html` for a page path), else 404, else 503.
pub(crate) async fn serve(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    if is_api_path(&path) {
        return ApiError::NotFound.into_response();
    }
    let method = request.method().clone();
    let accept_encoding = request.headers().get(ACCEPT_ENCODING).cloned();
    let dist = &state.config.dist;
    let files = ServeDir::new(dist).precompressed_br().precompressed_gzip();
    let Ok(response) = files.oneshot(request).await;
    let is_read = matches!(method, Method::GET | Method::HEAD);
    if response.status() != StatusCode::NOT_FOUND || !is_read {
        let is_index = path.ends_with('/') || path.ends_with("/index.html");
        return with_cache_headers(response.map(Body::new), !is_index && is_hashed(&path));
    }
    if has_extension(&path) {
        return (StatusCode::NOT_FOUND, [(CONTENT_TYPE, "text/plain; charset=utf-8")], "not found\n").into_response();
    }
    index(dist, method, accept_encoding).await
}

/// `dist/index.html` (precompressed when possible, `no-cache`), or 503 with instructions when there is none.
async fn index(dist: &Path, method: Method, accept_encoding: Option<HeaderValue>) -> Response {
    let mut request = Request::new(Body::empty());
    *request.method_mut() = method;
    if let Some(value) = accept_encoding {
        request.headers_mut().insert(ACCEPT_ENCODING, value);
    }
    let file = ServeFile::new(dist.join("index.html")).precompressed_br().precompressed_gzip();
    let Ok(response) = file.oneshot(request).await;
    if response.status() == StatusCode::NOT_FOUND {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(CONTENT_TYPE, "text/plain; charset=utf-8")],
            not_built_message(dist),
        )
            .into_response();
    }
    with_cache_headers(response.map(Body::new), false)
}

/// Adds `Cache-Control` and `Vary: Accept-Encoding` to a file's answer (not to errors).
fn with_cache_headers(mut response: Response, hashed: bool) -> Response {
    let status = response.status();
    if status.is_success() || status == StatusCode::NOT_MODIFIED {
        let headers = response.headers_mut();
        headers.insert(CACHE_CONTROL, HeaderValue::from_static(if hashed { IMMUTABLE } else { REVALIDATE }));
        headers.append(VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

/// The text of the 503 answered while `dist` holds no built client.
pub(crate) fn not_built_message(dist: &Path) -> String {
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

    #[test]
    fn extensions_are_of_the_last_segment() {
        for file in ["/a.js", "/x/app_bg.wasm", "/index.html", "/nope.js"] {
            assert!(has_extension(file), "{file}");
        }
        for page in ["/", "/settings", "/a.b/c", "/.hidden", "/trailing.", "/x/"] {
            assert!(!has_extension(page), "{page}");
        }
    }

    #[test]
    fn trunk_hashed_names_are_recognised() {
        for hashed in [
            "/sse-live-9355b6a2f91712f9_bg.wasm",
            "/sse-live-e5a074c47a94bb97.js",
            "/main-70797c5fdb5e365f.css",
            "/snippets/x-0123abcd.js",
        ] {
            assert!(is_hashed(hashed), "{hashed}");
        }
        for plain in [
            "/index.html",
            "/favicon.ico",
            "/app.js",
            "/sse-live_bg.wasm",
            "/my-app.js",
            "/x-0123ABCD.js",
            "/a-1234.js",
        ] {
            assert!(!is_hashed(plain), "{plain}");
        }
    }
}
