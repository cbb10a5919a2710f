//! Headless Chromium over WebDriver: chromedriver started on a free port, a fantoccini session with the browser
//! flags of `webdriver.json`, and the few things the tests do with it: load a page, read it with a line of
//! JavaScript until it says what they wait for, resize, screenshot, read the console.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand, WindowHandle};
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

use crate::{artifacts, free_port, workspace, PATIENCE};

/// A browser session; [`Browser::quit`] ends it (the chromedriver process is killed on drop either way).
pub struct Browser {
    client: Client,
    driver: Child,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a `width` × `height` window.
    pub async fn start(width: u32, height: u32) -> Self {
        let port = free_port();
        let chromedriver =
            std::env::var_os("CHROMEDRIVER").map_or_else(|| PathBuf::from("/usr/bin/chromedriver"), PathBuf::from);
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("start {}: {e} (cargo xtask test installs chromium-driver)", chromedriver.display())
            });
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let client = loop {
            match ClientBuilder::new(HttpConnector::new()).capabilities(capabilities(width, height)).connect(&url).await
            {
                Ok(client) => break client,
                Err(error) if started.elapsed() < PATIENCE => {
                    let _ = error;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(error) => panic!("no WebDriver session from {}: {error}", chromedriver.display()),
            }
        };
        Self { client, driver }
    }

    /// Loads `url` and waits for the document to be parsed.
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("load {url}: {e}"));
    }

    /// Goes back in the current window's history (a page kept in the back-forward cache comes back as it was).
    pub async fn back(&self) {
        self.client.back().await.expect("go back");
    }

    /// The value of the JavaScript expression `expression` in the page.
    pub async fn eval(&self, expression: &str) -> Value {
        let script = format!("return ({expression});");
        self.client.execute(&script, Vec::new()).await.unwrap_or_else(|e| panic!("{expression}: {e}"))
    }

    /// Evaluates `expression` every 100 ms until `accept` takes its value; fails the test with `what` after
    /// [`PATIENCE`]. Returns the accepted value.
    pub async fn until(&self, what: &str, expression: &str, accept: impl Fn(&Value) -> bool) -> Value {
        self.until_within(PATIENCE, what, expression, accept).await
    }

    /// As [`until`](Self::until), within `timeout`.
    pub async fn until_within(
        &self,
        timeout: Duration,
        what: &str,
        expression: &str,
        accept: impl Fn(&Value) -> bool,
    ) -> Value {
        let started = Instant::now();
        loop {
            let value = self.eval(expression).await;
            if accept(&value) {
                return value;
            }
            assert!(
                started.elapsed() < timeout,
                "timed out after {timeout:?} waiting for {what}: `{expression}` is {value}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Clicks the first element that matches `selector`.
    pub async fn click(&self, selector: &str) {
        let script = format!("document.querySelector({}).click(); return true;", json!(selector));
        self.client.execute(&script, Vec::new()).await.unwrap_or_else(|e| panic!("click {selector}: {e}"));
    }

    /// Types `text` into the input that matches `selector` (as a person would: focus, keys).
    pub async fn type_into(&self, selector: &str, text: &str) {
        let element = self
            .client
            .find(fantoccini::Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("find {selector}: {e}"));
        element.send_keys(text).await.unwrap_or_else(|e| panic!("type into {selector}: {e}"));
    }

    /// Resizes the window (the viewport follows).
    pub async fn resize(&self, width: u32, height: u32) {
        self.client.set_window_size(width, height).await.expect("resize the window");
    }

    /// Writes a screenshot of the window to `target/e2e/<name>.png` and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("a screenshot");
        let path = artifacts().join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    /// The page's console errors since the last call: messages logged with `console.error` and uncaught
    /// exceptions. Failed network requests (the browser logs those too) are left out: the tests cause some on
    /// purpose by cutting the server off.
    pub async fn console_errors(&self) -> Vec<String> {
        let log = self.client.issue_cmd(BrowserLog).await.expect("the browser's console log");
        log.as_array()
            .into_iter()
            .flatten()
            .filter(|entry| entry["level"] == "SEVERE" && entry["source"] != "network")
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Opens a new window of the same browser (same profile: it shares the page's origin with the others, as a tab
    /// would, but stays visible) and switches to it.
    pub async fn new_window(&self) -> WindowHandle {
        let window = self.client.new_window(false).await.expect("a new window").handle;
        self.switch_to(&window).await;
        window
    }

    /// The window the commands go to.
    pub async fn current_window(&self) -> WindowHandle {
        self.client.window().await.expect("the current window")
    }

    /// Sends the commands to `window` from now on.
    pub async fn switch_to(&self, window: &WindowHandle) {
        self.client.switch_to_window(window.clone()).await.expect("switch windows");
    }

    /// Closes the current window (the commands then need [`switch_to`](Self::switch_to) another).
    pub async fn close_window(&self) {
        self.client.close_window().await.expect("close the window");
    }

    /// Runs a Chrome DevTools Protocol command in the current window (ChromeDriver's `goog/cdp/execute`).
    pub async fn cdp(&self, command: &str, params: Value) -> Value {
        self.client
            .issue_cmd(Cdp { command: command.to_owned(), params })
            .await
            .unwrap_or_else(|e| panic!("CDP {command}: {e}"))
    }

    /// Ends the session and the browser.
    pub async fn quit(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

/// `webdriver.json`'s Chromium (binary and flags), plus the window size and the console log.
fn capabilities(width: u32, height: u32) -> Capabilities {
    let path = workspace().join("webdriver.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut capabilities: Capabilities = serde_json::from_str(&text).expect("webdriver.json is a JSON object");
    let options = capabilities.entry("goog:chromeOptions").or_insert_with(|| json!({}));
    let args = options["args"].as_array_mut().map(std::mem::take).unwrap_or_default();
    let mut args: Vec<Value> =
        args.into_iter().filter(|arg| !arg.as_str().is_some_and(|a| a.starts_with("--window-size"))).collect();
    args.push(json!(format!("--window-size={width},{height}")));
    options["args"] = Value::Array(args);
    capabilities.insert("goog:loggingPrefs".to_owned(), json!({ "browser": "ALL" }));
    capabilities
}

/// ChromeDriver's console log of the page (`POST /session/{id}/se/log`), which WebDriver itself does not define.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(&self, base_url: &url::Url, session_id: Option<&str>) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/se/log", session_id.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(json!({ "type": "browser" }).to_string()))
    }
}

/// ChromeDriver's `POST /session/{id}/goog/cdp/execute`: a DevTools command in the current window.
#[derive(Debug)]
struct Cdp {
    command: String,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(&self, base_url: &url::Url, session_id: Option<&str>) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/goog/cdp/execute", session_id.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(json!({ "cmd": self.command, "params": self.params }).to_string()))
    }
}
