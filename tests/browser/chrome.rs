//! Headless Chromium under chromedriver, one browser per test.
//!
//! Debian's `chromium` and `chromium-driver` (`.ci/chromium.sh` installs
//! them); `AUTH_TEST_CHROMIUM` and `AUTH_TEST_CHROMEDRIVER` name other
//! binaries. When they are missing the test says so and passes without a
//! browser, unless `AUTH_TEST_REQUIRE_SERVICES=1` (as `.ci/run` sets),
//! which makes it fail.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// The binary an environment variable names, else `default` if it exists.
fn binary(variable: &str, default: &str) -> Option<PathBuf> {
    let path = std::env::var_os(variable).map_or_else(|| PathBuf::from(default), PathBuf::from);
    path.exists().then_some(path)
}

/// A running chromedriver and one Chromium session on it; dropping it
/// stops both.
pub struct Chrome {
    pub client: Client,
    driver: Child,
    profile: PathBuf,
}

impl Chrome {
    /// Starts chromedriver and a headless Chromium; `None` (the caller
    /// skips) when either binary is missing and services are not required.
    pub async fn start() -> Option<Self> {
        let (Some(chromium), Some(chromedriver)) = (
            binary("AUTH_TEST_CHROMIUM", "/usr/bin/chromium"),
            binary("AUTH_TEST_CHROMEDRIVER", "/usr/bin/chromedriver"),
        ) else {
            let message = "Chromium or chromedriver is missing (apt-get install chromium \
                           chromium-driver, or run .ci/chromium.sh)";
            auth_core::testkit::services::skip_or_fail(&message);
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromedriver");
        let webdriver = format!("http://127.0.0.1:{port}");
        wait_until_ready(&webdriver).await;

        let profile =
            std::env::temp_dir().join(format!("auth-chromium-{}-{port}", std::process::id()));
        let mut capabilities = Capabilities::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    format!("--user-data-dir={}", profile.display()),
                ],
            }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&webdriver)
            .await
            .expect("a Chromium session");
        Some(Self {
            client,
            driver,
            profile,
        })
    }

    /// Goes to `url`.
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|err| panic!("opening {url}: {err}"));
    }

    /// The page's URL.
    pub async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("the URL")
            .to_string()
    }

    /// Types `text` into the element `css` selects.
    pub async fn fill(&self, css: &str, text: &str) {
        self.find(css).await.send_keys(text).await.expect("typing");
    }

    /// Clicks the element `css` selects.
    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.expect("clicking");
    }

    /// The element `css` selects, which must be on the page within 10 s
    /// (a click that submits a form returns before the next page loads).
    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        let found = self
            .client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await;
        match found {
            Ok(element) => element,
            Err(err) => panic!(
                "no {css} on {}: {err}\n{}",
                self.url().await,
                self.source().await
            ),
        }
    }

    /// Ticks the checkbox or radio button `css` selects, unless it is.
    pub async fn check(&self, css: &str) {
        let element = self.find(css).await;
        if !element.is_selected().await.expect("its state") {
            element.click().await.expect("clicking");
        }
    }

    /// The text of the element `css` selects.
    pub async fn text(&self, css: &str) -> String {
        self.find(css)
            .await
            .text()
            .await
            .expect("the element's text")
    }

    /// The page's HTML.
    pub async fn source(&self) -> String {
        self.client.source().await.expect("the page source")
    }

    /// Waits (at most 10 s) until the URL starts with `prefix`.
    pub async fn wait_for_url(&self, prefix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let url = self.url().await;
            if url.starts_with(prefix) {
                return url;
            }
            assert!(
                Instant::now() < deadline,
                "still at {url}, not {prefix}: {}",
                self.source().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Ends the session (Chromium exits), then chromedriver.
    pub async fn close(mut self) {
        let client = self.client.clone();
        let _ = client.close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Chrome {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Polls chromedriver's `/status` until it answers (at most 10 s).
async fn wait_until_ready(webdriver: &str) {
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("a client");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(response) = http.get(format!("{webdriver}/status")).send().await
            && response.status().is_success()
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "chromedriver did not answer in 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
