//! The application pages (`/o/applications`, `/o/applications/new`,
//! `/o/applications/{id}`, `/o/authorized`): a signed-in user registers,
//! views, edits, deletes and rotates the secret of their OAuth2
//! applications, and revokes the grants they gave, with plain HTML forms.
//!
//! Every page needs the browser session (`GET` without one goes to
//! `/o/login?next=...`); every form carries the session's CSRF token (a
//! `POST` without it, or with another, is a 403 and changes nothing).
//! Successful forms redirect (`303`), but for registration and rotation,
//! whose answer is the page that shows the new secret once: it is kept
//! nowhere a redirect could fetch it from. The rules are `Auth`'s.

use auth_core::error::{AuthError, FieldErrors};
use auth_core::oauth::{
    Application, ApplicationInput, ApplicationPatch, BrowserSession, ClientType, GrantType,
    NewApplicationSecret,
};
use auth_core::user::{User, rfc3339};
use serde_json::{Map, Value, json};

use crate::ApiResponse;
use crate::applications::application_id;
use crate::browser::{
    LOGIN_PATH, csrf_refused, error_page, failure_page, field, merge, page, see_other,
    session_context, signed_in, with_query,
};
use crate::endpoint::{Call, Failure, Outcome};

const APPLICATIONS: &str = "/o/applications";
const AUTHORIZED: &str = "/o/authorized";

/// The signed-in user of a page, with the base context of every page.
struct Signed {
    session: BrowserSession,
    user: User,
}

impl Signed {
    fn context(&self, c: &Call<'_>, more: Value) -> Value {
        let links = json!({
            "applications_url": link(c, APPLICATIONS),
            "new_url": link(c, &format!("{APPLICATIONS}/new")),
            "authorized_url": link(c, AUTHORIZED),
        });
        merge(
            merge(session_context(c.api, &self.session, &self.user), links),
            more,
        )
    }
}

/// `path` under the mount point of the request.
fn link(c: &Call<'_>, path: &str) -> String {
    format!("{}{path}", c.req.mount)
}

/// The session of a `GET`: without one, the answer is a redirect to the
/// login page that comes back here.
async fn viewer(c: &Call<'_>) -> Result<Signed, Failure> {
    match signed_in(c.api, c.req).await? {
        Some((session, user)) => Ok(Signed { session, user }),
        None => {
            let mut here = format!("{}{}", c.req.mount, c.req.path);
            if !c.req.query.is_empty() {
                here = format!("{here}?{}", c.req.query);
            }
            Err(Failure::Response(see_other(&with_query(
                LOGIN_PATH,
                &[("next", &here)],
            ))))
        }
    }
}

/// The session and every field (repeated names kept) of a form `POST`
/// whose CSRF token is the session's; otherwise the refusal to send.
async fn poster(c: &Call<'_>) -> Result<(Signed, Vec<(String, String)>), Failure> {
    c.req
        .expect_media_type("application/x-www-form-urlencoded")
        .map_err(Failure::Response)?;
    let fields: Vec<(String, String)> = form_urlencoded::parse(c.req.body).into_owned().collect();
    let Some((session, user)) = signed_in(c.api, c.req).await? else {
        return Err(Failure::Response(error_page(
            c.api,
            403,
            "Forbidden",
            "You are not signed in. Sign in and try again.",
        )));
    };
    if !c
        .api
        .auth()
        .check_session_csrf(&session, field(&fields, "csrf_token"))
    {
        return Err(Failure::Response(csrf_refused(c.api)));
    }
    Ok((Signed { session, user }, fields))
}

/// The non-blank lines of a text area (one URI per line).
fn lines(fields: &[(String, String)], name: &str) -> Vec<String> {
    field(fields, name)
        .unwrap_or("")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_string)
        .collect()
}

/// The registration (or edit) form as the core's input: the checked grant
/// types, one URI per line, the checkbox.
fn input_of(fields: &[(String, String)]) -> ApplicationInput {
    ApplicationInput {
        name: field(fields, "name").unwrap_or("").to_string(),
        client_type: field(fields, "client_type").unwrap_or("").to_string(),
        grant_types: fields
            .iter()
            .filter(|(name, _)| name == "grant_types")
            .map(|(_, value)| value.clone())
            .collect(),
        redirect_uris: lines(fields, "redirect_uris"),
        post_logout_redirect_uris: lines(fields, "post_logout_redirect_uris"),
        allowed_origins: lines(fields, "allowed_origins"),
        skip_authorization: field(fields, "skip_authorization").is_some(),
    }
}

/// What the form's fields show: `input`'s values, the grant type
/// checkboxes and the client types, and the errors by field.
fn form_context(input: &ApplicationInput, errors: &FieldErrors) -> Value {
    let grants: Vec<Value> = GrantType::ALL
        .iter()
        .map(|grant| {
            json!({
                "value": grant.as_str(),
                "checked": input.grant_types.iter().any(|g| g == grant.as_str()),
            })
        })
        .collect();
    let client_types: Vec<Value> = ClientType::ALL
        .iter()
        .map(|t| json!({"value": t.as_str(), "checked": input.client_type == t.as_str()}))
        .collect();
    let errors: Map<String, Value> = errors
        .iter()
        .map(|(field, messages)| (field.to_string(), json!(messages)))
        .collect();
    json!({
        "form": {
            "name": input.name,
            "client_type": input.client_type,
            "client_types": client_types,
            "grant_types": grants,
            "redirect_uris": input.redirect_uris.join("\n"),
            "post_logout_redirect_uris": input.post_logout_redirect_uris.join("\n"),
            "allowed_origins": input.allowed_origins.join("\n"),
            "skip_authorization": input.skip_authorization,
        },
        "errors": errors,
    })
}

/// An application as the pages show it.
fn view(c: &Call<'_>, app: &Application) -> Value {
    json!({
        "id": app.id.to_string(),
        "url": link(c, &format!("{APPLICATIONS}/{}", app.id)),
        "name": app.name,
        "client_id": app.client_id,
        "client_type": app.client_type.as_str(),
        "confidential": app.client_type == ClientType::Confidential,
        "grant_types": app.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "redirect_uris": app.redirect_uris,
        "post_logout_redirect_uris": app.post_logout_redirect_uris,
        "allowed_origins": app.allowed_origins,
        "skip_authorization": app.skip_authorization,
        "created": rfc3339(app.created),
        "updated": rfc3339(app.updated),
    })
}

/// The application page: its details and the edit, rotate and delete
/// forms (the edit form showing `input` and `errors`).
fn application_page(
    c: &Call<'_>,
    signed: &Signed,
    status: u16,
    app: &Application,
    input: &ApplicationInput,
    errors: &FieldErrors,
) -> ApiResponse {
    let url = link(c, &format!("{APPLICATIONS}/{}", app.id));
    let context = signed.context(
        c,
        merge(
            form_context(input, errors),
            json!({
                "application": view(c, app),
                "action": url,
                "delete_action": format!("{url}/delete"),
                "rotate_action": format!("{url}/rotate-secret"),
                "editing": true,
            }),
        ),
    );
    page(c.api, status, "application.html", &context)
}

/// The page that shows a new secret once.
fn secret_page(c: &Call<'_>, signed: &Signed, new: &NewApplicationSecret) -> ApiResponse {
    let context = signed.context(
        c,
        json!({
            "application": view(c, &new.application),
            "client_secret": new.secret.as_ref().map(|s| s.expose()),
        }),
    );
    page(c.api, 200, "application_secret.html", &context)
}

/// `GET /o/applications`: the user's applications.
pub(crate) async fn list(c: Call<'_>) -> Outcome {
    let signed = viewer(&c).await?;
    let apps = match c.api.auth().owned_applications(signed.user.id).await {
        Ok(apps) => apps,
        Err(err) => return Ok(failure_page(c.api, &err)),
    };
    let apps: Vec<Value> = apps.iter().map(|app| view(&c, app)).collect();
    let context = signed.context(&c, json!({"applications": apps}));
    Ok(page(c.api, 200, "applications.html", &context))
}

fn new_page(
    c: &Call<'_>,
    signed: &Signed,
    status: u16,
    input: &ApplicationInput,
    errors: &FieldErrors,
) -> ApiResponse {
    let context = signed.context(
        c,
        merge(
            form_context(input, errors),
            json!({"action": link(c, &format!("{APPLICATIONS}/new"))}),
        ),
    );
    page(c.api, status, "application_new.html", &context)
}

/// `GET /o/applications/new`: the registration form.
pub(crate) async fn new_form(c: Call<'_>) -> Outcome {
    let signed = viewer(&c).await?;
    let blank = ApplicationInput {
        client_type: ClientType::Confidential.as_str().into(),
        grant_types: vec![GrantType::AuthorizationCode.as_str().into()],
        ..ApplicationInput::default()
    };
    Ok(new_page(&c, &signed, 200, &blank, &FieldErrors::new()))
}

/// `POST /o/applications/new`: registers the application and shows its
/// client_id and secret once; field errors show the form again.
pub(crate) async fn create(c: Call<'_>) -> Outcome {
    let (signed, fields) = poster(&c).await?;
    let input = input_of(&fields);
    match c
        .api
        .auth()
        .create_application(signed.user.id, input.clone())
        .await
    {
        Ok(new) => Ok(secret_page(&c, &signed, &new)),
        Err(AuthError::Validation(errors)) => Ok(new_page(&c, &signed, 400, &input, &errors)),
        Err(err) => Ok(failure_page(c.api, &err)),
    }
}

/// The user's application named by the path, or the page to answer.
async fn owned(c: &Call<'_>, signed: &Signed) -> Result<Application, Failure> {
    let found = match application_id(c.param) {
        Ok(id) => c.api.auth().owned_application(signed.user.id, id).await,
        Err(err) => Err(err),
    };
    found.map_err(|err| Failure::Response(failure_page(c.api, &err)))
}

/// `GET /o/applications/{id}`: the application and its forms.
pub(crate) async fn show(c: Call<'_>) -> Outcome {
    let signed = viewer(&c).await?;
    let app = owned(&c, &signed).await?;
    let input = ApplicationInput::from(&app);
    Ok(application_page(
        &c,
        &signed,
        200,
        &app,
        &input,
        &FieldErrors::new(),
    ))
}

/// `POST /o/applications/{id}`: saves the edit form (every field but the
/// client type, which cannot change) and comes back to the page.
pub(crate) async fn edit(c: Call<'_>) -> Outcome {
    let (signed, fields) = poster(&c).await?;
    let app = owned(&c, &signed).await?;
    let mut input = input_of(&fields);
    input.client_type = app.client_type.as_str().into();
    let patch = ApplicationPatch {
        client_type: None,
        ..input.clone().into()
    };
    match c
        .api
        .auth()
        .update_owned_application(signed.user.id, app.id, patch)
        .await
    {
        Ok(saved) => Ok(see_other(&link(
            &c,
            &format!("{APPLICATIONS}/{}", saved.id),
        ))),
        Err(AuthError::Validation(errors)) => {
            Ok(application_page(&c, &signed, 400, &app, &input, &errors))
        }
        Err(err) => Ok(failure_page(c.api, &err)),
    }
}

/// `POST /o/applications/{id}/delete`: deletes it (its tokens are
/// revoked) and goes back to the list.
pub(crate) async fn delete(c: Call<'_>) -> Outcome {
    let (signed, _) = poster(&c).await?;
    let app = owned(&c, &signed).await?;
    match c
        .api
        .auth()
        .delete_owned_application(signed.user.id, app.id)
        .await
    {
        Ok(()) => Ok(see_other(&link(&c, APPLICATIONS))),
        Err(err) => Ok(failure_page(c.api, &err)),
    }
}

/// `POST /o/applications/{id}/rotate-secret`: a new secret, shown once.
pub(crate) async fn rotate_secret(c: Call<'_>) -> Outcome {
    let (signed, _) = poster(&c).await?;
    let app = owned(&c, &signed).await?;
    match c
        .api
        .auth()
        .rotate_owned_application_secret(signed.user.id, app.id)
        .await
    {
        Ok(new) => Ok(secret_page(&c, &signed, &new)),
        Err(AuthError::Validation(_)) => Ok(error_page(
            c.api,
            400,
            "No secret to rotate",
            "A public client has no secret.",
        )),
        Err(err) => Ok(failure_page(c.api, &err)),
    }
}

/// `GET /o/authorized`: the applications the user authorized, each with
/// a revoke button.
pub(crate) async fn authorized(c: Call<'_>) -> Outcome {
    let signed = viewer(&c).await?;
    let grants = match c.api.auth().authorized_applications(signed.user.id).await {
        Ok(grants) => grants,
        Err(err) => return Ok(failure_page(c.api, &err)),
    };
    let grants: Vec<Value> = grants
        .iter()
        .map(|grant| {
            json!({
                "name": grant.name,
                "scopes": grant.scopes.iter().collect::<Vec<_>>(),
                "granted": rfc3339(grant.granted),
                "revoke_action": link(&c, &format!("{AUTHORIZED}/{}/revoke", grant.application_id)),
            })
        })
        .collect();
    let context = signed.context(&c, json!({"grants": grants}));
    Ok(page(c.api, 200, "authorized.html", &context))
}

/// `POST /o/authorized/{id}/revoke`: revokes the grant (the consent and
/// the user's tokens for that application) and goes back to the list.
pub(crate) async fn revoke(c: Call<'_>) -> Outcome {
    let (signed, _) = poster(&c).await?;
    let revoked = match application_id(c.param) {
        Ok(id) => {
            c.api
                .auth()
                .revoke_authorized_application(signed.user.id, id)
                .await
        }
        Err(err) => Err(err),
    };
    match revoked {
        Ok(()) => Ok(see_other(&link(&c, AUTHORIZED))),
        Err(err) => Ok(failure_page(c.api, &err)),
    }
}
