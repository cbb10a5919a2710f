//! Cross-origin access: off unless `--allow-origin` lists origins, then exactly those, for GET and `Last-Event-ID`.

use axum::http::{HeaderName, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::Origin;

/// The CORS layer for `origins`, or `None` (no CORS headers at all) when the list is empty.
pub fn layer(origins: &[Origin]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    // `Origin` cannot hold "*", which `AllowOrigin::list` would panic on.
    let origins = AllowOrigin::list(origins.iter().map(|o| o.header_value().clone()));
    Some(
        CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([Method::GET])
            .allow_headers([HeaderName::from_static("last-event-id")]),
    )
}
