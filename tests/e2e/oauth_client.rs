//! What the OAuth2 cases need beside the harness: an HTTP client for the
//! `oauth2` crate over reqwest 0.13, and a browser without JavaScript
//! (cookies kept, redirects not followed) that fills in the provider's
//! login and consent forms.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use oauth2::{HttpRequest, HttpResponse};
use reqwest::redirect::Policy;

/// The `oauth2` crate's requests, sent by `client` (the harness's own,
/// which follows no redirect the token endpoint would not give).
pub fn oauth_http(
    client: reqwest::Client,
) -> impl Fn(HttpRequest) -> Pin<Box<dyn Future<Output = Result<HttpResponse, reqwest::Error>>>> {
    move |request: HttpRequest| {
        let client = client.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let response = client
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await?;
            let mut answer = http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                answer = answer.header(name, value);
            }
            let body = response.bytes().await?.to_vec();
            Ok(answer
                .body(body)
                .expect("a response rebuilt from a valid one"))
        })
    }
}

/// One answer of the browser.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl Page {
    /// The `Location` header, which the test expected.
    #[track_caller]
    pub fn location(&self) -> &str {
        self.location
            .as_deref()
            .unwrap_or_else(|| panic!("no Location ({}): {}", self.status, self.body))
    }

    /// The `name -> value` pairs of the hidden inputs of the page's last
    /// form (what a browser would send back), HTML entities decoded.
    pub fn hidden_inputs(&self) -> BTreeMap<String, String> {
        auth_core::testkit::forms::hidden_inputs(&self.body)
            .into_iter()
            .collect()
    }
}

/// A browser without JavaScript, on one server.
#[derive(Debug)]
pub struct Browser {
    base: String,
    http: reqwest::Client,
}

impl Browser {
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .no_proxy()
            .build()
            .expect("building the browser's client");
        Self {
            base: base.to_owned(),
            http,
        }
    }

    /// `url` absolute, or a path on the server.
    fn absolute(&self, url: &str) -> String {
        if url.starts_with("http") {
            url.to_owned()
        } else {
            format!("{}{url}", self.base)
        }
    }

    pub async fn get(&self, url: &str) -> Page {
        read(self.http.get(self.absolute(url)).send().await).await
    }

    pub async fn post(&self, url: &str, form: &BTreeMap<String, String>) -> Page {
        read(self.http.post(self.absolute(url)).form(form).send().await).await
    }
}

async fn read(response: reqwest::Result<reqwest::Response>) -> Page {
    let response = response.expect("the browser's request");
    Page {
        status: response.status().as_u16(),
        location: response
            .headers()
            .get("location")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned),
        body: response.text().await.expect("the page"),
    }
}

/// The query parameters of a redirect's `Location`.
pub fn query_of(location: &str) -> BTreeMap<String, String> {
    url::Url::parse(location)
        .expect("an absolute redirect URI")
        .query_pairs()
        .into_owned()
        .collect()
}
