//! The schemas the endpoint table names that no single type derives: a
//! composition of derived schemas (a page of history entries, of users; a
//! Knox login), or a body whose reader fills a core type of another shape
//! (a login: `Credentials` holds a `Login` enum; a staff member's user:
//! `AdminUserInput` wraps a `UserPatch` whose fields are required or not by
//! the method). Each is an uninhabited type whose `ToSchema` names the
//! schema and the components it refers to, so the table and the document
//! take them as they take derived ones.

use std::borrow::Cow;

use utoipa::openapi::schema::{
    AllOfBuilder, AnyOfBuilder, ObjectBuilder, Schema, SchemaFormat, Type,
};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::bodies::{AdminUser, HistoryItem, KnoxTokenName, Page};

/// The components `T` refers to, and `T` itself.
pub(crate) fn with<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    schemas.push((T::name().into_owned(), T::schema()));
    T::schemas(schemas);
}

/// Implements `ToSchema` for `$ty`, named `$name`, referring to what
/// `$refs` pushes.
macro_rules! named {
    ($ty:ident, $name:literal, $refs:expr) => {
        impl ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }

            fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
                let refs: fn(&mut Vec<(String, RefOr<Schema>)>) = $refs;
                refs(schemas);
            }
        }
    };
}

/// A string property of at least `min_length` and at most `max_length`
/// characters.
fn string(min_length: usize, max_length: Option<usize>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length((min_length > 0).then_some(min_length))
        .max_length(max_length)
}

fn boolean(description: Option<&str>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Boolean)
        .description(description)
}

/// A login by `name` (`username` or `email`) and `password`.
fn login_by(name: &str, description: &str) -> RefOr<Schema> {
    Schema::from(
        ObjectBuilder::new()
            .description(Some(description))
            .property(name, string(1, None))
            .property("password", string(1, None))
            .required(name)
            .required("password"),
    )
    .into()
}

/// Login fields, as [`FromJson`](crate::FromJson) reads them into a
/// [`Credentials`](auth_core::flows::Credentials): `password` and either
/// `username` or `email`.
pub(crate) enum LoginRequest {}

impl PartialSchema for LoginRequest {
    fn schema() -> RefOr<Schema> {
        Schema::AnyOf(
            AnyOfBuilder::new()
                .item(Ref::from_schema_name("UsernameLogin"))
                .item(Ref::from_schema_name("EmailLogin"))
                .description(Some(
                    "Login fields: `password` and either `username` or `email`.",
                ))
                .build(),
        )
        .into()
    }
}

named!(LoginRequest, "LoginRequest", |schemas| {
    schemas.push((
        "UsernameLogin".into(),
        login_by(
            "username",
            "A login by username (taken over `email` when both are sent).",
        ),
    ));
    schemas.push((
        "EmailLogin".into(),
        login_by("email", "A login by email address."),
    ));
});

/// Knox login: the login fields and an optional token name.
pub(crate) enum KnoxLoginRequest {}

impl PartialSchema for KnoxLoginRequest {
    fn schema() -> RefOr<Schema> {
        Schema::AllOf(
            AllOfBuilder::new()
                .item(Ref::from_schema_name(LoginRequest::name()))
                .item(Ref::from_schema_name(KnoxTokenName::name()))
                .description(Some(
                    "Knox login: the login fields and an optional token name.",
                ))
                .build(),
        )
        .into()
    }
}

named!(KnoxLoginRequest, "KnoxLoginRequest", |schemas| {
    with::<LoginRequest>(schemas);
    with::<KnoxTokenName>(schemas);
});

/// A staff member's new or replaced user (`POST`, `PUT`), as
/// [`admin_user_from_json`](crate::admin_user_from_json) reads it.
pub(crate) enum AdminUserRequest {}

impl AdminUserRequest {
    fn object() -> ObjectBuilder {
        let superuser_only = Some("Only a superuser may change it.");
        ObjectBuilder::new()
            .description(Some(
                "A staff member's new or replaced user (`POST`, `PUT`).",
            ))
            .property("username", string(1, Some(150)))
            .property(
                "email",
                string(1, Some(254)).format(Some(SchemaFormat::Custom("email".into()))),
            )
            .property("password", string(1, None))
            .property("first_name", string(0, Some(150)))
            .property("last_name", string(0, Some(150)))
            .property("is_active", boolean(None))
            .property("is_staff", boolean(superuser_only))
            .property("is_superuser", boolean(superuser_only))
            .property("profile", ObjectBuilder::new().schema_type(Type::Object))
            .required("username")
            .required("email")
    }
}

impl PartialSchema for AdminUserRequest {
    fn schema() -> RefOr<Schema> {
        Schema::from(Self::object()).into()
    }
}

named!(AdminUserRequest, "AdminUserRequest", |_| {});

/// A staff member's partial update of a user (`PATCH`): the fields of
/// [`AdminUserRequest`], none required; only the fields sent change.
pub(crate) enum AdminUserPatch {}

impl PartialSchema for AdminUserPatch {
    fn schema() -> RefOr<Schema> {
        let mut schema = AdminUserRequest::object().build();
        schema.required.clear();
        schema.description =
            Some("A staff member's partial update of a user: only the fields sent change.".into());
        Schema::Object(schema).into()
    }
}

named!(AdminUserPatch, "AdminUserPatch", |_| {});

/// A page of login history entries.
pub(crate) enum HistoryPage {}

impl PartialSchema for HistoryPage {
    fn schema() -> RefOr<Schema> {
        Page::<HistoryItem>::schema()
    }
}

named!(HistoryPage, "HistoryPage", |schemas| {
    with::<HistoryItem>(schemas);
});

/// A page of users, in the admin's shape.
pub(crate) enum UserPage {}

impl PartialSchema for UserPage {
    fn schema() -> RefOr<Schema> {
        Page::<AdminUser>::schema()
    }
}

named!(UserPage, "UserPage", |schemas| {
    with::<AdminUser>(schemas);
});
