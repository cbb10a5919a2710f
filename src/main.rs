//! Mounts the demo page; everything else lives in the library.

fn main() {
    leptos::mount::mount_to_body(sse_live::App);
}
