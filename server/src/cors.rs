//! Cross-origin access: off unless `--allow-origin` lists origins, then exactly those, for GET and POST with the
//! headers an event-stream client sends: `Last-Event-ID`, and for the client's fetch transport `Authorization` and
//! `Content-Type`; with `--test-routes` also `X-Test-Token` (the custom header of the browser tests).
//!
//! Credentials (the token cookie, `withCredentials`) are allowed, which is only safe and only valid because the
//! origins are listed exactly: the answer's `Access-Control-Allow-Origin` is the request's origin when listed, never
//! `*` ([`Origin`] refuses a wildcard). `Retry-After` is exposed so that a page can read it on a 429.

use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderName, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::Origin;

/// The request headers a cross-origin page may send (tower-http needs their names; a wildcard would not cover
/// `Authorization`).
pub(crate) const ALLOWED_HEADERS: [&str; 3] = ["last-event-id", "authorization", "content-type"];

/// The request header the browser tests send to the test routes, allowed too with `--test-routes` only.
pub(crate) const TEST_HEADER: &str = "x-test-token";

/// The CORS layer for `origins`, or `None` (no CORS headers at all) when the list is empty; `test_routes` adds
/// [`TEST_HEADER`] to the allowed headers.
pub(crate) fn layer(origins: &[Origin], test_routes: bool) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    // `Origin` cannot hold "*", which `AllowOrigin::list` would panic on.
    let origins = AllowOrigin::list(origins.iter().map(|o| o.header_value().clone()));
    let headers: Vec<HeaderName> =
        ALLOWED_HEADERS.iter().chain(test_routes.then_some(&TEST_HEADER)).map(|h| HeaderName::from_static(h)).collect();
    Some(
        CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers(headers)
            .allow_credentials(true)
            .expose_headers([RETRY_AFTER]),
    )
}
