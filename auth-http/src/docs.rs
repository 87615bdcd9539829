//! The Swagger UI at `{prefix}/docs` (`/api/docs` by default), served from
//! the binary (the assets are vendored by `utoipa-swagger-ui`'s `vendored`
//! feature: no request leaves the machine, at build time or at run time).
//!
//! The page loads the document from the relative URL `openapi.json`: from
//! `/api/docs` that is `/api/openapi.json`, and from `/api/docs/` it is
//! `/api/docs/openapi.json`, which is served too. The page's relative asset
//! links are rewritten for `/api/docs` (no trailing slash), so the UI works
//! under any prefix and mount point.

use std::sync::{Arc, OnceLock};

use utoipa_swagger_ui::Config;

use crate::ApiResponse;

fn config() -> Arc<Config<'static>> {
    static CONFIG: OnceLock<Arc<Config<'static>>> = OnceLock::new();
    CONFIG
        .get_or_init(|| Arc::new(Config::from("openapi.json")))
        .clone()
}

/// A Swagger UI file by name (`index.html`, `swagger-ui-bundle.js`, ...).
pub(crate) fn file(name: &str) -> ApiResponse {
    match utoipa_swagger_ui::serve(name, config()) {
        Ok(Some(file)) => ApiResponse {
            status: 200,
            headers: vec![
                ("Content-Type".into(), file.content_type),
                ("Cache-Control".into(), "public, max-age=3600".into()),
            ],
            body: file.bytes.into_owned(),
        },
        Ok(None) => ApiResponse::not_found(),
        Err(err) => {
            tracing::error!(target: "auth_http", error = %err, "could not serve Swagger UI");
            ApiResponse::detail(500, "A server error occurred.")
        }
    }
}

/// The Swagger UI page, for `/api/docs` (`slash: false`) or `/api/docs/`.
pub(crate) fn index(slash: bool) -> ApiResponse {
    let mut response = file("index.html");
    if response.status == 200 && !slash {
        let html = String::from_utf8_lossy(&response.body)
            .replace("\"./", "\"docs/")
            .replace("href=\"index.css\"", "href=\"docs/index.css\"");
        response.body = html.into_bytes();
    }
    response
}
