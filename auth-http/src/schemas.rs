//! The schemas the endpoint table names that no single type derives: a
//! composition of derived schemas (a page of history entries, of users; a
//! Knox login), or a body whose reader fills a core type of another shape
//! (a login: `Credentials` holds a `Login` enum; a staff member's user:
//! `AdminUserInput` wraps a `UserPatch` whose fields are required or not by
//! the method). Each is an uninhabited type whose `ToSchema` names the
//! schema and the components it refers to, so the table and the document
//! take them as they take derived ones. The hand-built body schemas are
//! tested against their readers (`form`): the same fields, the same
//! required ones.

use std::borrow::Cow;

use utoipa::openapi::schema::{
    AllOfBuilder, AnyOfBuilder, ObjectBuilder, Schema, SchemaFormat, Type,
};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::bodies::{AdminUser, HistoryItem, KnoxTokenName, Page, with};

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

#[cfg(test)]
mod tests {
    //! The hand-built body schemas against the readers they document: each
    //! names exactly the fields its reader takes, and requires what it
    //! requires, so neither can drift from the other unnoticed.

    use std::collections::BTreeSet;

    use auth_core::AuthError;
    use auth_core::flows::{AdminUserInput, Credentials, Login};
    use serde_json::{Map, Value, json};
    use utoipa::openapi::schema::{Object, SchemaType};

    use super::*;
    use crate::{FromJson, admin_user_from_json};

    fn object(schema: RefOr<Schema>) -> Object {
        match schema {
            RefOr::T(Schema::Object(object)) => object,
            _ => panic!("not an object schema"),
        }
    }

    fn named(name: &str) -> Object {
        let mut schemas = Vec::new();
        LoginRequest::schemas(&mut schemas);
        let (_, schema) = schemas
            .into_iter()
            .find(|(n, _)| n == name)
            .expect("a component");
        object(schema)
    }

    /// A valid value for the property `name` of `schema`.
    fn sample(name: &str, schema: &RefOr<Schema>) -> Value {
        let RefOr::T(Schema::Object(property)) = schema else {
            panic!("{name} is not a plain property");
        };
        match property.schema_type {
            SchemaType::Type(Type::Boolean) => json!(true),
            SchemaType::Type(Type::Object) => json!({"k": "v"}),
            SchemaType::Type(Type::String) if name == "email" => json!("ada@example.com"),
            SchemaType::Type(Type::String) => json!("ada"),
            _ => panic!("{name}: no sample for its type"),
        }
    }

    fn error_fields(err: AuthError) -> BTreeSet<String> {
        match err {
            AuthError::Validation(errors) => errors.iter().map(|(f, _)| f.to_string()).collect(),
            other => panic!("expected field errors, got {other:?}"),
        }
    }

    fn keys<'a>(keys: impl IntoIterator<Item = &'a String>) -> BTreeSet<String> {
        keys.into_iter().cloned().collect()
    }

    #[test]
    fn admin_user_schemas_name_what_the_reader_reads() {
        let schema = object(AdminUserRequest::schema());
        let properties = keys(schema.properties.keys());
        // What the full reader requires is what the schema requires ...
        let missing = admin_user_from_json(&json!({}), false).unwrap_err();
        assert_eq!(error_fields(missing), keys(&schema.required));
        // ... and the partial one requires nothing, as the PATCH schema says.
        assert!(object(AdminUserPatch::schema()).required.is_empty());
        assert_eq!(
            keys(object(AdminUserPatch::schema()).properties.keys()),
            properties
        );
        // Each property is read: a valid value of it alone changes the input.
        let mut full = Map::new();
        for (name, property) in &schema.properties {
            let value = sample(name, property);
            full.insert(name.clone(), value.clone());
            let body = json!({ name.as_str(): value });
            let read = admin_user_from_json(&body, true).expect("a valid property");
            assert_ne!(read, AdminUserInput::default(), "{name} is not read");
        }
        admin_user_from_json(&Value::Object(full), false).expect("every property at once");
        // Nothing else is: of every field a user has (and the password and
        // `is_superuser` the admin adds), a mistyped value is refused only
        // where the schema names the field.
        let mut candidates = Map::new();
        let mut user = Vec::new();
        with::<auth_core::user::User>(&mut user);
        for (_, schema) in user {
            if let RefOr::T(Schema::Object(object)) = schema {
                for name in object.properties.keys() {
                    candidates.insert(name.clone(), json!([]));
                }
            }
        }
        for name in ["password", "is_superuser"] {
            candidates.insert(name.into(), json!([]));
        }
        let refused = admin_user_from_json(&Value::Object(candidates), true).unwrap_err();
        assert_eq!(error_fields(refused), properties);
    }

    #[test]
    fn login_schemas_name_what_the_reader_reads() {
        let by_username = named("UsernameLogin");
        let missing = Credentials::from_json(&json!({})).unwrap_err();
        assert_eq!(error_fields(missing), keys(&by_username.required));
        assert_eq!(
            keys(by_username.properties.keys()),
            keys(&by_username.required)
        );

        let by_email = named("EmailLogin");
        assert_eq!(keys(by_email.properties.keys()), keys(&by_email.required));
        let body = json!({"email": "ada@example.com", "password": "pw"});
        assert_eq!(
            keys(body.as_object().unwrap().keys()),
            keys(&by_email.required)
        );
        let read = Credentials::from_json(&body).unwrap();
        assert_eq!(read.login, Login::Email("ada@example.com".into()));
        let missing = Credentials::from_json(&json!({"email": "ada@example.com"})).unwrap_err();
        assert_eq!(
            error_fields(missing),
            BTreeSet::from(["password".to_string()])
        );
    }
}
