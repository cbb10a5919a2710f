//! The demo's plain requests (start a job, get a token, publish a note) with the browser's `fetch`: the answer is
//! read as text and decoded by the browser like the streams' data (`crate::wire`).
//!
//! gloo-net and Leptos's `Action` did the same before; the actions' futures went through `send_wrapper`'s future
//! shims, and with gloo-net's layers they cost the demo several KB of brotli (BENCHMARKS.md, issue 12's levers).

/// A request's answer: its status and its body as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body, read whole as text (empty when it could not be read).
    pub text: String,
}

impl Answer {
    /// Whether the status is a success (2xx).
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Why the server refused: the `error` of its `{"error": "..."}` body, or `HTTP {status}` when there is none
    /// (in the browser: the body is parsed by `JSON.parse`).
    ///
    /// ```no_run
    /// use sse_live::request::Answer;
    /// let answer = Answer { status: 403, text: r#"{"error":"not yours"}"#.to_owned() };
    /// assert_eq!(answer.error(), "not yours");
    /// assert_eq!(Answer { status: 502, text: "Bad Gateway".to_owned() }.error(), "HTTP 502");
    /// ```
    pub fn error(&self) -> String {
        crate::wire::error_message(&self.text).unwrap_or_else(|| format!("HTTP {}", self.status))
    }
}

/// `text` as a JSON string, quotes included: the demo's request bodies are written by hand (`{"text": ...}`), not
/// with serde_json's serializer, for the bundle.
///
/// ```
/// assert_eq!(sse_live::request::json_string("say \"hi\"\n"), r#""say \"hi\"\n""#);
/// ```
pub fn json_string(text: &str) -> String {
    let mut json = String::with_capacity(text.len() + 2);
    json.push('"');
    for c in text.chars() {
        match c {
            '"' => json.push_str("\\\""),
            '\\' => json.push_str("\\\\"),
            '\n' => json.push_str("\\n"),
            '\r' => json.push_str("\\r"),
            '\t' => json.push_str("\\t"),
            '\u{8}' => json.push_str("\\b"),
            '\u{c}' => json.push_str("\\f"),
            c if c < ' ' => {
                json.push_str("\\u00");
                json.push(char::from(b"0123456789abcdef"[c as usize >> 4]));
                json.push(char::from(b"0123456789abcdef"[c as usize & 15]));
            }
            c => json.push(c),
        }
    }
    json.push('"');
    json
}

/// What a request's outcome is handed to: the answer, or why there is none.
pub type Done = Box<dyn FnOnce(Result<Answer, String>)>;

/// Sends `method url` (see [`send`]) in the background and hands the outcome to `done`. Every request of the demo
/// goes through this one task: one future's code in the page, not one for each request (each `async` block that
/// awaits `send` is a state machine of its own), and each caller a plain closure. `done` may run after the calling
/// component is gone: it should write its signals with `try_set`.
pub fn spawn(method: &'static str, url: String, bearer: Option<String>, json: Option<String>, done: Done) {
    leptos::task::spawn_local(async move {
        done(send(method, &url, bearer.as_deref(), json.as_deref()).await);
    });
}

/// Sends `method url` on the page's origin with an optional bearer token and JSON body; the answer, or a sentence
/// saying why there is none (the server cannot be reached, the request was refused by the browser).
#[cfg(target_arch = "wasm32")]
pub async fn send(method: &str, url: &str, bearer: Option<&str>, json: Option<&str>) -> Result<Answer, String> {
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    let failed = |error: JsValue| {
        error.dyn_ref::<js_sys::Error>().map_or_else(|| format!("{error:?}"), |e| String::from(e.message()))
    };
    let headers = web_sys::Headers::new().map_err(failed)?;
    if let Some(token) = bearer {
        headers.set("Authorization", &format!("Bearer {token}")).map_err(failed)?;
    }
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    if let Some(json) = json {
        headers.set("Content-Type", "application/json").map_err(failed)?;
        init.set_body(&JsValue::from_str(json));
    }
    init.set_headers(&headers);
    let window = web_sys::window().ok_or("no window")?;
    let response = JsFuture::from(window.fetch_with_str_and_init(url, &init)).await.map_err(failed)?;
    let response: web_sys::Response = response.unchecked_into();
    let text = match response.text() {
        Ok(promise) => JsFuture::from(promise).await.ok().and_then(|text| text.as_string()).unwrap_or_default(),
        Err(_) => String::new(),
    };
    Ok(Answer { status: response.status(), text })
}

/// Native builds (the server's and the unit tests') have no `fetch`: every request fails.
#[cfg(not(target_arch = "wasm32"))]
pub async fn send(_method: &str, _url: &str, _bearer: Option<&str>, _json: Option<&str>) -> Result<Answer, String> {
    Err("no fetch outside a browser".to_owned())
}

#[cfg(test)]
mod tests {
    use super::json_string;
    use sse_live_demo_wire::Note;

    #[test]
    fn json_strings_are_what_serde_json_writes() {
        for text in
            ["", "hello", "say \"hi\" \\ bye", "line\nbreak\ttab\r", "\u{0}\u{8}\u{c}\u{1f}\u{7f}", "é中😀 </script>"]
        {
            assert_eq!(json_string(text), serde_json::to_string(text).unwrap(), "{text:?}");
            let note = Note { text: text.to_owned() };
            assert_eq!(format!("{{\"text\":{}}}", json_string(text)), serde_json::to_string(&note).unwrap());
        }
    }
}
