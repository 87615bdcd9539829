//! The applications JSON API (`/api/o/applications`, `/api/o/authorized`):
//! a signed-in user's own OAuth2 applications and the grants they gave.
//! Each handler reads the body into the core's typed input, calls one
//! `Auth` method (the rules and "who may" are there) and renders one of
//! the bodies below; `client_secret` appears only in the answers of
//! creation and rotation.

use auth_core::error::AuthError;
use auth_core::oauth::{
    Application, ApplicationId, ApplicationInput, ApplicationPatch, AuthorizedApplication,
    NewApplicationSecret,
};
use auth_core::user::rfc3339;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::ApiResponse;
use crate::endpoint::{Call, Outcome};
use crate::form::{Form, json_body, percent_decode};

/// A registration or a replacement (`PUT`): `name`, `client_type` and
/// `grant_types` are required, the lists default to empty.
#[derive(Debug, ToSchema)]
pub(crate) struct ApplicationRequest {
    /// Shown on the consent page.
    #[schema(min_length = 1, max_length = 255)]
    name: String,
    /// `confidential` or `public`.
    #[schema(min_length = 1, example = "confidential")]
    client_type: String,
    /// Any of `authorization_code`, `client_credentials` (confidential
    /// clients), `refresh_token`, `password`.
    #[schema(min_items = 1)]
    grant_types: Vec<String>,
    /// Absolute URIs without a fragment: `https`, `http` on 127.0.0.1 or
    /// [::1], or a private-use scheme (RFC 8252); required with
    /// `authorization_code`.
    #[schema(required = false)]
    redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the browser (same rules).
    #[schema(required = false)]
    post_logout_redirect_uris: Vec<String>,
    /// Origins (`https://host[:port]`) allowed to call the token endpoint
    /// from a browser.
    #[schema(required = false)]
    allowed_origins: Vec<String>,
    /// Skip the consent page (default false).
    #[schema(required = false)]
    skip_authorization: bool,
}

/// A partial change (`PATCH`): any of the registration's fields; the
/// client type cannot change.
#[derive(Debug, Clone, ToSchema)]
pub(crate) struct ApplicationPatchRequest {
    #[schema(value_type = String, required = false)]
    name: Option<String>,
    #[schema(value_type = String, required = false)]
    client_type: Option<String>,
    #[schema(value_type = Vec<String>, required = false)]
    grant_types: Option<Vec<String>>,
    #[schema(value_type = Vec<String>, required = false)]
    redirect_uris: Option<Vec<String>>,
    #[schema(value_type = Vec<String>, required = false)]
    post_logout_redirect_uris: Option<Vec<String>>,
    #[schema(value_type = Vec<String>, required = false)]
    allowed_origins: Option<Vec<String>>,
    #[schema(value_type = bool, required = false)]
    skip_authorization: Option<bool>,
}

/// Reads a `PATCH` body, or (`partial: false`) a registration or
/// replacement one, whose `name`, `client_type` and `grant_types` are
/// required. A whole body with errors of shape (a missing field, a list
/// that is not one) also gets the core's rules on its other fields, so a
/// client hears about every field at once.
fn read_patch(body: &Value, partial: bool) -> Result<ApplicationPatchRequest, AuthError> {
    let mut form = Form::new(body)?;
    let (name, client_type) = if partial {
        (
            form.optional_string("name"),
            form.optional_string("client_type"),
        )
    } else {
        (
            form.required_string("name"),
            form.required_string("client_type"),
        )
    };
    let grant_types = form.optional_string_list("grant_types");
    if !partial && body.get("grant_types").is_none() {
        form.error("grant_types", "This field is required.");
    }
    let patch = ApplicationPatchRequest {
        name,
        client_type,
        grant_types,
        redirect_uris: form.optional_string_list("redirect_uris"),
        post_logout_redirect_uris: form.optional_string_list("post_logout_redirect_uris"),
        allowed_origins: form.optional_string_list("allowed_origins"),
        skip_authorization: form.optional_bool("skip_authorization"),
    };
    if !partial && form.has_errors() {
        let input = ApplicationInput::from(ApplicationRequest::from(patch.clone()));
        form.add_missing(&input.check());
    }
    form.finish()?;
    Ok(patch)
}

/// Reads a registration or replacement body.
fn read_input(body: &Value) -> Result<ApplicationRequest, AuthError> {
    read_patch(body, false).map(ApplicationRequest::from)
}

impl From<ApplicationPatchRequest> for ApplicationRequest {
    /// The whole body: what is absent is empty.
    fn from(patch: ApplicationPatchRequest) -> Self {
        Self {
            name: patch.name.unwrap_or_default(),
            client_type: patch.client_type.unwrap_or_default(),
            grant_types: patch.grant_types.unwrap_or_default(),
            redirect_uris: patch.redirect_uris.unwrap_or_default(),
            post_logout_redirect_uris: patch.post_logout_redirect_uris.unwrap_or_default(),
            allowed_origins: patch.allowed_origins.unwrap_or_default(),
            skip_authorization: patch.skip_authorization.unwrap_or(false),
        }
    }
}

impl From<ApplicationRequest> for ApplicationInput {
    fn from(r: ApplicationRequest) -> Self {
        Self {
            name: r.name,
            client_type: r.client_type,
            grant_types: r.grant_types,
            redirect_uris: r.redirect_uris,
            post_logout_redirect_uris: r.post_logout_redirect_uris,
            allowed_origins: r.allowed_origins,
            skip_authorization: r.skip_authorization,
        }
    }
}

impl From<ApplicationPatchRequest> for ApplicationPatch {
    fn from(r: ApplicationPatchRequest) -> Self {
        Self {
            name: r.name,
            client_type: r.client_type,
            grant_types: r.grant_types,
            redirect_uris: r.redirect_uris,
            post_logout_redirect_uris: r.post_logout_redirect_uris,
            allowed_origins: r.allowed_origins,
            skip_authorization: r.skip_authorization,
        }
    }
}

/// An application as its owner sees it (never a secret or its digest).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ApplicationView {
    allowed_origins: Vec<String>,
    client_id: String,
    /// `confidential` or `public`.
    client_type: &'static str,
    /// RFC 3339.
    created: String,
    grant_types: Vec<&'static str>,
    /// The application's id (for the paths), not its `client_id`.
    #[schema(format = "uuid")]
    id: String,
    name: String,
    post_logout_redirect_uris: Vec<String>,
    redirect_uris: Vec<String>,
    skip_authorization: bool,
    /// RFC 3339.
    updated: String,
}

impl From<&Application> for ApplicationView {
    fn from(app: &Application) -> Self {
        Self {
            allowed_origins: app.allowed_origins.clone(),
            client_id: app.client_id.clone(),
            client_type: app.client_type.as_str(),
            created: rfc3339(app.created),
            grant_types: app.grant_types.iter().map(|g| g.as_str()).collect(),
            id: app.id.to_string(),
            name: app.name.clone(),
            post_logout_redirect_uris: app.post_logout_redirect_uris.clone(),
            redirect_uris: app.redirect_uris.clone(),
            skip_authorization: app.skip_authorization,
            updated: rfc3339(app.updated),
        }
    }
}

/// An application with its new secret, answered once (registration,
/// rotation).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ApplicationWithSecret {
    #[serde(flatten)]
    application: ApplicationView,
    /// The secret, shown this once (only its digest is kept); null for a
    /// public client.
    client_secret: Option<String>,
}

impl From<&NewApplicationSecret> for ApplicationWithSecret {
    fn from(new: &NewApplicationSecret) -> Self {
        Self {
            application: ApplicationView::from(&new.application),
            client_secret: new.secret.as_ref().map(|s| s.expose().to_string()),
        }
    }
}

/// An application the user authorized.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuthorizedView {
    /// RFC 3339: when the user first granted it.
    granted: String,
    /// The application's id (for `DELETE /api/o/authorized/{id}`).
    #[schema(format = "uuid")]
    id: String,
    name: String,
    scopes: Vec<String>,
    /// RFC 3339: when the grant last grew.
    updated: String,
}

impl From<&AuthorizedApplication> for AuthorizedView {
    fn from(grant: &AuthorizedApplication) -> Self {
        Self {
            granted: rfc3339(grant.granted),
            id: grant.application_id.to_string(),
            name: grant.name.clone(),
            scopes: grant.scopes.iter().map(str::to_string).collect(),
            updated: rfc3339(grant.updated),
        }
    }
}

/// The `{id}` of the path (one that is not an id is not found).
pub(crate) fn application_id(param: &str) -> Result<ApplicationId, AuthError> {
    percent_decode(param)
        .parse()
        .map_err(|_| AuthError::NotFound)
}

/// `GET /api/o/applications`.
pub(crate) async fn list(c: Call<'_>) -> Outcome {
    let apps = c.api.auth().owned_applications(c.who()?.user.id).await?;
    let apps: Vec<ApplicationView> = apps.iter().map(ApplicationView::from).collect();
    Ok(ApiResponse::json(200, &apps))
}

/// `POST /api/o/applications`.
pub(crate) async fn create(c: Call<'_>) -> Outcome {
    let input = read_input(&json_body(c.req)?)?.into();
    let new = c
        .api
        .auth()
        .create_application(c.who()?.user.id, input)
        .await?;
    Ok(ApiResponse::json(201, &ApplicationWithSecret::from(&new))
        .with_header("Cache-Control", "no-store"))
}

/// `GET /api/o/applications/{id}`.
pub(crate) async fn get(c: Call<'_>) -> Outcome {
    let app = c
        .api
        .auth()
        .owned_application(c.who()?.user.id, application_id(c.param)?)
        .await?;
    Ok(ApiResponse::json(200, &ApplicationView::from(&app)))
}

/// `PUT /api/o/applications/{id}`.
pub(crate) async fn replace(c: Call<'_>) -> Outcome {
    write(c, false).await
}

/// `PATCH /api/o/applications/{id}`.
pub(crate) async fn update(c: Call<'_>) -> Outcome {
    write(c, true).await
}

async fn write(c: Call<'_>, partial: bool) -> Outcome {
    let who = c.who()?;
    let id = application_id(c.param)?;
    let body = json_body(c.req)?;
    let patch = if partial {
        read_patch(&body, true)?.into()
    } else {
        ApplicationPatch::from(ApplicationInput::from(read_input(&body)?))
    };
    let app = c
        .api
        .auth()
        .update_owned_application(who.user.id, id, patch)
        .await?;
    Ok(ApiResponse::json(200, &ApplicationView::from(&app)))
}

/// `DELETE /api/o/applications/{id}`.
pub(crate) async fn delete(c: Call<'_>) -> Outcome {
    c.api
        .auth()
        .delete_owned_application(c.who()?.user.id, application_id(c.param)?)
        .await?;
    Ok(ApiResponse::empty(204))
}

/// `POST /api/o/applications/{id}/rotate-secret`.
pub(crate) async fn rotate_secret(c: Call<'_>) -> Outcome {
    let new = c
        .api
        .auth()
        .rotate_owned_application_secret(c.who()?.user.id, application_id(c.param)?)
        .await?;
    Ok(ApiResponse::json(200, &ApplicationWithSecret::from(&new))
        .with_header("Cache-Control", "no-store"))
}

/// `GET /api/o/authorized`.
pub(crate) async fn authorized(c: Call<'_>) -> Outcome {
    let grants = c
        .api
        .auth()
        .authorized_applications(c.who()?.user.id)
        .await?;
    let grants: Vec<AuthorizedView> = grants.iter().map(AuthorizedView::from).collect();
    Ok(ApiResponse::json(200, &grants))
}

/// `DELETE /api/o/authorized/{id}`.
pub(crate) async fn revoke_authorized(c: Call<'_>) -> Outcome {
    c.api
        .auth()
        .revoke_authorized_application(c.who()?.user.id, application_id(c.param)?)
        .await?;
    Ok(ApiResponse::empty(204))
}
