//! The bodies auth-http reads and writes beside the core's typed inputs
//! (read in `form`): each handler renders one of these, and the OpenAPI
//! document's schema of it is derived from the same type.
//!
//! Fields are declared in alphabetical order, the order `serde_json`'s
//! maps (and so the answers before these types) use.

use crate::FromJson;
use crate::form::Form;
use auth_core::error::AuthError;
use auth_core::store::{HistoryEntry, KnoxTokenRecord};
use auth_core::token::jwt::{AccessToken, RefreshToken};
use auth_core::user::rfc3339;
use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

/// `{refresh}`.
#[derive(Debug, ToSchema)]
pub(crate) struct RefreshRequest {
    #[schema(min_length = 1)]
    pub(crate) refresh: String,
}

/// `{token}`.
#[derive(Debug, ToSchema)]
pub(crate) struct VerifyRequest {
    #[schema(min_length = 1)]
    pub(crate) token: String,
}

crate::form::required_strings! {
    RefreshRequest { refresh }
    VerifyRequest { token }
}

/// Knox login's own field, beside the login fields.
#[derive(Debug, ToSchema)]
pub(crate) struct KnoxTokenName {
    /// A label for the token ("laptop").
    #[schema(value_type = String, required = false)]
    pub(crate) name: Option<String>,
}

/// Reads the optional `name` (an empty one is none).
impl FromJson for KnoxTokenName {
    fn from_json(body: &Value) -> Result<Self, AuthError> {
        let mut form = Form::new(body)?;
        let name = form.optional_string("name");
        form.finish()?;
        Ok(Self {
            name: name.filter(|n| !n.is_empty()),
        })
    }
}

/// A JWT pair (`refresh` absent from a refresh when rotation is off).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TokenPair {
    #[schema(value_type = String)]
    pub(crate) access: AccessToken,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub(crate) refresh: Option<RefreshToken>,
}

/// A Knox token, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct KnoxToken {
    /// RFC 3339, or null for no expiry.
    pub(crate) expiry: Option<String>,
    pub(crate) token: String,
}

/// A live Knox token of the user.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct KnoxSession {
    created: String,
    expiry: Option<String>,
    last_used: Option<String>,
    name: Option<String>,
    token_key: String,
}

impl From<&KnoxTokenRecord> for KnoxSession {
    fn from(record: &KnoxTokenRecord) -> Self {
        Self {
            created: rfc3339(record.created),
            expiry: record.expiry.map(rfc3339),
            last_used: record.last_used.map(rfc3339),
            name: record.name.clone(),
            token_key: record.token_key.clone(),
        }
    }
}

/// The user's static token.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct StaticToken {
    pub(crate) token: String,
}

/// One login history entry.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = HistoryEntry)]
pub(crate) struct HistoryItem {
    at: String,
    /// `login`, `login_failed`, `logout`, `logout_all`, `token_refreshed`,
    /// `password_changed`, `password_reset` or `activated`.
    event: &'static str,
    ip: Option<String>,
    user_agent: Option<String>,
}

impl From<&HistoryEntry> for HistoryItem {
    fn from(entry: &HistoryEntry) -> Self {
        Self {
            at: rfc3339(entry.at),
            event: entry.event.as_str(),
            ip: entry.ip.clone(),
            user_agent: entry.user_agent.clone(),
        }
    }
}

/// A user as the staff users admin shows one: the user and
/// `is_superuser` ([`User::to_admin_json`](auth_core::user::User::to_admin_json)).
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub(crate) struct AdminUser(pub(crate) Value);

impl PartialSchema for AdminUser {
    fn schema() -> RefOr<Schema> {
        let superuser = ObjectBuilder::new()
            .property(
                "is_superuser",
                ObjectBuilder::new()
                    .schema_type(Type::Boolean)
                    .description(Some(
                        "Every permission; only a superuser may grant it or staff status, or \
                         change, set the password of, or delete a staff or superuser account.",
                    )),
            )
            .required("is_superuser");
        let schema = AllOfBuilder::new()
            .item(Ref::from_schema_name(auth_core::user::User::name()))
            .item(superuser)
            .description(Some(
                "A user as the staff users admin shows one: the user and `is_superuser`.",
            ))
            .build();
        RefOr::T(Schema::AllOf(schema))
    }
}

impl ToSchema for AdminUser {
    fn name() -> std::borrow::Cow<'static, str> {
        "AdminUser".into()
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        with::<auth_core::user::User>(schemas);
    }
}

/// A page of a list, as DRF's `PageNumberPagination` renders one.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Page<T: ToSchema> {
    pub(crate) count: u64,
    pub(crate) next: Option<String>,
    pub(crate) previous: Option<String>,
    pub(crate) results: Vec<T>,
}

/// An error: `{"detail"}`, with `code` on 401s.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Detail<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) code: Option<&'a str>,
    pub(crate) detail: &'a str,
}

/// An empty object.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Empty {}

/// `GET /healthz`: `ok`, or `unavailable` with a `detail`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Health {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) detail: Option<&'static str>,
    pub(crate) status: &'static str,
}

/// The components `T` refers to, and `T` itself.
pub(crate) fn with<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    schemas.push((T::name().into_owned(), T::schema()));
    T::schemas(schemas);
}
