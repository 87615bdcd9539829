//! Users: [`User`], its id [`UserId`], the inputs that create
//! ([`NewUser`]) and change ([`UserPatch`]) one, and the columns a store
//! write sets ([`UserUpdate`]).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::FieldErrors;

/// A user's id: a UUID v7, so ids sort by creation time.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub Uuid);

impl UserId {
    /// A fresh time-ordered id.
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    /// The id's 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }
}

impl Default for UserId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserId({})", self.0)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for UserId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// A user account, as stored.
///
/// `Debug` prints `[redacted]` for the password hash, and the hash is never
/// serialized: the `Serialize` impl writes the public shape of the HTTP
/// contract (see [`User::to_public_json`]).
#[derive(Clone, PartialEq)]
#[cfg_attr(
    feature = "utoipa",
    derive(utoipa::ToSchema),
    schema(
        as = User,
        description = "A user, as every route shows one (never a password hash)."
    )
)]
pub struct User {
    /// The id (UUID v7).
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = "uuid"))]
    pub id: UserId,
    /// Unique, case-insensitively; see [`validate_username`].
    pub username: String,
    /// Unique, case-insensitively; the domain part is stored lower-cased.
    #[cfg_attr(feature = "utoipa", schema(format = "email"))]
    pub email: String,
    /// Given name (may be empty).
    pub first_name: String,
    /// Family name (may be empty).
    pub last_name: String,
    /// Only active users can log in or authenticate requests.
    pub is_active: bool,
    /// Staff users may use the users admin routes.
    pub is_staff: bool,
    /// Superusers have every permission.
    #[cfg_attr(feature = "utoipa", schema(ignore))]
    pub is_superuser: bool,
    /// The owner proved the email address is theirs (by an activation
    /// link), or the account was made by someone trusted (staff, a
    /// command, registration without activation). Apart from `is_active`:
    /// activation is only for an account whose email was never verified,
    /// so an account staff deactivated cannot activate itself again.
    #[cfg_attr(feature = "utoipa", schema(ignore))]
    pub email_verified: bool,
    /// When the account was created.
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub date_joined: DateTime<Utc>,
    /// The last successful login, if any.
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>))]
    pub last_login: Option<DateTime<Utc>>,
    /// The password as a PHC string (or an imported Django hash); `None` for
    /// an account with no usable password.
    #[cfg_attr(feature = "utoipa", schema(ignore))]
    pub password_hash: Option<String>,
    /// A free JSON object for the application's own fields.
    #[cfg_attr(feature = "utoipa", schema(value_type = Object))]
    pub profile: Map<String, Value>,
    /// The account's integer primary key in the Django deployment it was
    /// imported from (`auth_user.id`), kept so that Django's tokens, which
    /// name users by it, still find them; unique when set. `None` for a user
    /// created here. Not part of any JSON shape of the HTTP contract.
    #[cfg_attr(feature = "utoipa", schema(ignore))]
    pub legacy_id: Option<i64>,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("email", &self.email)
            .field("first_name", &self.first_name)
            .field("last_name", &self.last_name)
            .field("is_active", &self.is_active)
            .field("is_staff", &self.is_staff)
            .field("is_superuser", &self.is_superuser)
            .field("email_verified", &self.email_verified)
            .field("date_joined", &self.date_joined)
            .field("last_login", &self.last_login)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "[redacted]"),
            )
            .field("profile", &self.profile)
            .field("legacy_id", &self.legacy_id)
            .finish()
    }
}

impl User {
    /// The public JSON shape of the HTTP contract: no hash, no superuser
    /// flag, timestamps in RFC 3339 UTC.
    ///
    /// ```
    /// # use auth_core::user::{User, UserId};
    /// # let user = User::new_for_tests("ada", "ada@example.com");
    /// let json = user.to_public_json();
    /// assert_eq!(json["username"], "ada");
    /// assert!(json.get("password_hash").is_none());
    /// ```
    pub fn to_public_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The staff users admin's JSON shape: the public one plus
    /// `is_superuser`.
    ///
    /// ```
    /// # use auth_core::user::User;
    /// let mut user = User::new_for_tests("ada", "ada@example.com");
    /// user.is_superuser = true;
    /// assert_eq!(user.to_admin_json()["is_superuser"], true);
    /// assert!(user.to_public_json().get("is_superuser").is_none());
    /// ```
    pub fn to_admin_json(&self) -> Value {
        serde_json::to_value(self.shape(true)).unwrap_or(Value::Null)
    }

    fn shape(&self, admin: bool) -> Shape<'_> {
        Shape {
            id: &self.id,
            username: &self.username,
            email: &self.email,
            first_name: &self.first_name,
            last_name: &self.last_name,
            is_active: self.is_active,
            is_staff: self.is_staff,
            is_superuser: admin.then_some(self.is_superuser),
            date_joined: rfc3339(self.date_joined),
            last_login: self.last_login.map(rfc3339),
            profile: &self.profile,
        }
    }

    /// A valid, active user with no password, for tests and examples.
    pub fn new_for_tests(username: &str, email: &str) -> Self {
        User {
            id: UserId::new(),
            username: username.to_string(),
            email: email.to_string(),
            first_name: String::new(),
            last_name: String::new(),
            is_active: true,
            is_staff: false,
            is_superuser: false,
            email_verified: true,
            date_joined: DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
            last_login: None,
            password_hash: None,
            profile: Map::new(),
            legacy_id: None,
        }
    }
}

/// The JSON shapes of a user: public, or the admin's (with
/// `is_superuser`).
#[derive(Serialize)]
struct Shape<'a> {
    id: &'a UserId,
    username: &'a str,
    email: &'a str,
    first_name: &'a str,
    last_name: &'a str,
    is_active: bool,
    is_staff: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_superuser: Option<bool>,
    date_joined: String,
    last_login: Option<String>,
    profile: &'a Map<String, Value>,
}

impl Serialize for User {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.shape(false).serialize(serializer)
    }
}

/// RFC 3339 in UTC with a `Z`, at microsecond precision when there is one.
pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// What creating a user takes. The password is plain text here; the service
/// validates and hashes it.
#[derive(Clone, Default, Deserialize)]
pub struct NewUser {
    /// See [`validate_username`].
    pub username: String,
    /// See [`validate_email`].
    pub email: String,
    /// The plain password; `None` creates an account with no usable password.
    pub password: Option<String>,
    /// Given name.
    #[serde(default)]
    pub first_name: String,
    /// Family name.
    #[serde(default)]
    pub last_name: String,
    /// Active from the start (registration leaves it `false` until activation).
    #[serde(default)]
    pub is_active: bool,
    /// Staff member.
    #[serde(default)]
    pub is_staff: bool,
    /// Superuser.
    #[serde(default)]
    pub is_superuser: bool,
    /// Application fields.
    #[serde(default)]
    pub profile: Map<String, Value>,
}

impl fmt::Debug for NewUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("email", &self.email)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("is_active", &self.is_active)
            .field("is_staff", &self.is_staff)
            .finish_non_exhaustive()
    }
}

/// A partial update: `None` leaves a field as it is.
///
/// `profile` merges key by key: a key set to `null` is removed.
///
/// ```
/// use auth_core::user::{User, UserPatch};
/// let mut user = User::new_for_tests("ada", "ada@example.com");
/// user.profile.insert("bio".into(), "mathematician".into());
/// let patch = UserPatch {
///     first_name: Some("Ada".into()),
///     profile: Some(serde_json::json!({"bio": null, "country": "UK"}).as_object().unwrap().clone()),
///     ..UserPatch::default()
/// };
/// patch.apply_to(&mut user);
/// assert_eq!(user.first_name, "Ada");
/// assert_eq!(serde_json::Value::Object(user.profile), serde_json::json!({"country": "UK"}));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserPatch {
    /// New username (admin only).
    pub username: Option<String>,
    /// New email (admin only).
    pub email: Option<String>,
    /// New given name.
    pub first_name: Option<String>,
    /// New family name.
    pub last_name: Option<String>,
    /// Activate or deactivate.
    pub is_active: Option<bool>,
    /// Grant or remove staff.
    pub is_staff: Option<bool>,
    /// Grant or remove superuser.
    pub is_superuser: Option<bool>,
    /// Keys to merge into the profile (`null` removes a key).
    pub profile: Option<Map<String, Value>>,
}

impl UserPatch {
    /// Applies the patch to `user` (no validation: the service validates
    /// before it applies).
    pub fn apply_to(&self, user: &mut User) {
        self.to_update(user).apply_to(user);
    }

    /// The store write of this patch on `user` as read: the columns the
    /// patch names, with the email normalized and the profile merged into
    /// `user`'s (the whole merged profile is written).
    pub fn to_update(&self, user: &User) -> UserUpdate {
        UserUpdate {
            username: self.username.clone(),
            email: self.email.as_deref().map(normalize_email),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            is_active: self.is_active,
            is_staff: self.is_staff,
            is_superuser: self.is_superuser,
            email_verified: None,
            date_joined: None,
            profile: self.profile.as_ref().map(|keys| {
                let mut merged = user.profile.clone();
                for (key, value) in keys {
                    if value.is_null() {
                        merged.remove(key);
                    } else {
                        merged.insert(key.clone(), value.clone());
                    }
                }
                merged
            }),
        }
    }

    /// Field errors for whatever the patch sets that is not valid.
    pub fn validate(&self) -> FieldErrors {
        let mut errors = FieldErrors::new();
        if let Some(username) = &self.username
            && let Err(message) = validate_username(username)
        {
            errors.add("username", message);
        }
        if let Some(email) = &self.email
            && let Err(message) = validate_email(email)
        {
            errors.add("email", message);
        }
        for (field, value) in [
            ("first_name", &self.first_name),
            ("last_name", &self.last_name),
        ] {
            if let Some(value) = value {
                if value.contains('\0') {
                    errors.add(field, NULL_CHARACTERS);
                } else if value.chars().count() > NAME_MAX_CHARS {
                    errors.add(
                        field,
                        format!("Ensure this field has no more than {NAME_MAX_CHARS} characters."),
                    );
                }
            }
        }
        if let Some(profile) = &self.profile
            && map_holds_nul(profile)
        {
            errors.add("profile", NULL_CHARACTERS);
        }
        errors
    }
}

/// DRF's error for a string holding NUL (its `ProhibitNullCharactersValidator`):
/// no database text type holds one (PostgreSQL's `TEXT` and `JSONB` refuse it).
const NULL_CHARACTERS: &str = "Null characters are not allowed.";

/// Whether a JSON value holds NUL in any string or key, at any depth.
fn holds_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(map) => map_holds_nul(map),
        _ => false,
    }
}

/// Whether a JSON object holds NUL in any key or string, at any depth.
fn map_holds_nul(map: &Map<String, Value>) -> bool {
    map.iter()
        .any(|(key, value)| key.contains('\0') || holds_nul(value))
}

/// The columns one store write sets ([`UserStore::update_user`]): `None`
/// leaves a column as stored, so a flow writes only what it changes and a
/// concurrent change of another column (a deactivation, a demotion) is never
/// undone by a write from an older read. The password hash is not here: it
/// has writes of its own ([`UserStore::set_password_hash`],
/// [`UserStore::replace_password_hash`]), as has `last_login`.
///
/// [`UserStore::update_user`]: crate::store::UserStore::update_user
/// [`UserStore::set_password_hash`]: crate::store::UserStore::set_password_hash
/// [`UserStore::replace_password_hash`]: crate::store::UserStore::replace_password_hash
///
/// ```
/// use auth_core::user::{User, UserUpdate};
/// let mut user = User::new_for_tests("ada", "ada@example.com");
/// let update = UserUpdate { is_active: Some(false), ..UserUpdate::default() };
/// update.apply_to(&mut user);
/// assert!(!user.is_active && user.username == "ada");
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserUpdate {
    /// New username, stored as given.
    pub username: Option<String>,
    /// New email, stored as given (the service normalizes it).
    pub email: Option<String>,
    /// New given name.
    pub first_name: Option<String>,
    /// New family name.
    pub last_name: Option<String>,
    /// New active flag.
    pub is_active: Option<bool>,
    /// New staff flag.
    pub is_staff: Option<bool>,
    /// New superuser flag.
    pub is_superuser: Option<bool>,
    /// New verified-email flag.
    pub email_verified: Option<bool>,
    /// The whole new profile (it replaces the stored one).
    pub profile: Option<Map<String, Value>>,
    /// A new `date_joined` (an import bringing it in line with the
    /// system the user came from; no flow of the service changes it).
    pub date_joined: Option<DateTime<Utc>>,
}

impl UserUpdate {
    /// Sets the named columns on `user` (a store that keeps [`User`]s
    /// whole applies a write with this).
    pub fn apply_to(&self, user: &mut User) {
        fn set<T: Clone>(to: &mut T, from: &Option<T>) {
            if let Some(value) = from {
                *to = value.clone();
            }
        }
        set(&mut user.username, &self.username);
        set(&mut user.email, &self.email);
        set(&mut user.first_name, &self.first_name);
        set(&mut user.last_name, &self.last_name);
        set(&mut user.is_active, &self.is_active);
        set(&mut user.is_staff, &self.is_staff);
        set(&mut user.is_superuser, &self.is_superuser);
        set(&mut user.email_verified, &self.email_verified);
        set(&mut user.profile, &self.profile);
        set(&mut user.date_joined, &self.date_joined);
    }
}

/// The length in bytes of `profile` as compact JSON, what
/// [`AuthConfig::max_profile_bytes`](crate::config::AuthConfig::max_profile_bytes)
/// caps (counted without building the string).
///
/// ```
/// let profile = serde_json::json!({"bio": "hi"});
/// assert_eq!(auth_core::user::profile_json_len(profile.as_object().unwrap()), 12);
/// ```
pub fn profile_json_len(profile: &Map<String, Value>) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, profile) {
        Ok(()) => count.0,
        Err(_) => usize::MAX,
    }
}

/// The longest username Django accepts.
pub const USERNAME_MAX_CHARS: usize = 150;
/// The longest email Django's `EmailField` accepts.
pub const EMAIL_MAX_CHARS: usize = 254;
/// The longest first or last name Django accepts.
pub const NAME_MAX_CHARS: usize = 150;

/// Django's username rule: 1 to 150 characters, each a letter, a digit, or
/// one of `@ . + - _` (letters and digits in any script).
///
/// ```
/// use auth_core::user::validate_username;
/// assert!(validate_username("ada.lovelace+1@x").is_ok());
/// assert!(validate_username("zoë").is_ok());
/// assert!(validate_username("has space").is_err());
/// assert!(validate_username("").is_err());
/// ```
pub fn validate_username(username: &str) -> Result<(), &'static str> {
    if username.is_empty() {
        return Err("This field may not be blank.");
    }
    if username.chars().count() > USERNAME_MAX_CHARS {
        return Err("Ensure this field has no more than 150 characters.");
    }
    if !username
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || matches!(c, '@' | '.' | '+' | '-'))
    {
        return Err(
            "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.",
        );
    }
    Ok(())
}

/// A practical email check, in the spirit of Django's `EmailValidator`:
/// one `@`, a dot-atom local part of at most 64 characters, and a domain of
/// dot-separated labels (letters, digits, hyphens; not at a label's ends)
/// with a TLD of at least two characters; 254 characters at most.
///
/// ```
/// use auth_core::user::validate_email;
/// assert!(validate_email("ada+lists@math.example.org").is_ok());
/// assert!(validate_email("no-at-sign").is_err());
/// assert!(validate_email("two@@example.com").is_err());
/// assert!(validate_email("dots..@example.com").is_err());
/// ```
pub fn validate_email(email: &str) -> Result<(), &'static str> {
    const INVALID: &str = "Enter a valid email address.";
    if email.is_empty() {
        return Err("This field may not be blank.");
    }
    if email.chars().count() > EMAIL_MAX_CHARS {
        return Err("Ensure this field has no more than 254 characters.");
    }
    let (local, domain) = email.rsplit_once('@').ok_or(INVALID)?;
    if local.is_empty() || local.len() > 64 || local.starts_with('.') || local.ends_with('.') {
        return Err(INVALID);
    }
    if local.contains("..")
        || !local
            .chars()
            .all(|c| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~-.".contains(c))
    {
        return Err(INVALID);
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err(INVALID);
    }
    for label in &labels {
        if label.is_empty()
            || label.len() > 63
            || label.starts_with('-')
            || label.ends_with('-')
            || !label.chars().all(|c| c.is_alphanumeric() || c == '-')
        {
            return Err(INVALID);
        }
    }
    let tld = labels[labels.len() - 1];
    if tld.chars().count() < 2 || tld.chars().all(|c| c.is_ascii_digit()) {
        return Err(INVALID);
    }
    Ok(())
}

/// Django's `normalize_email`: the domain part lower-cased, the local part
/// kept as typed.
///
/// ```
/// assert_eq!(auth_core::user::normalize_email(" Ada@Example.COM "), "Ada@example.com");
/// ```
pub fn normalize_email(email: &str) -> String {
    let email = email.trim();
    match email.rsplit_once('@') {
        Some((local, domain)) => format!("{local}@{}", domain.to_lowercase()),
        None => email.to_string(),
    }
}

/// The case-insensitive key under which usernames and emails are unique
/// (full Unicode lower-casing). Stores index this form.
///
/// ```
/// assert_eq!(auth_core::user::fold_case("Ada@Example.com"), "ada@example.com");
/// ```
pub fn fold_case(value: &str) -> String {
    value.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_hash() {
        let mut user = User::new_for_tests("ada", "ada@example.com");
        user.password_hash = Some("$argon2id$v=19$secret".into());
        let debug = format!("{user:?}");
        assert!(!debug.contains("argon2id"), "{debug}");
        assert!(debug.contains("[redacted]"));
        let json = serde_json::to_string(&user).unwrap();
        assert!(!json.contains("argon2id"));
        assert!(!json.contains("is_superuser"));
    }

    #[test]
    fn the_legacy_id_is_in_no_json_shape() {
        let mut user = User::new_for_tests("ada", "ada@example.com");
        user.legacy_id = Some(4242);
        assert!(user.to_public_json().get("legacy_id").is_none());
        assert!(user.to_admin_json().get("legacy_id").is_none());
        assert!(format!("{user:?}").contains("legacy_id: Some(4242)"));
    }

    #[test]
    fn username_length_limit_is_in_characters() {
        assert!(validate_username(&"é".repeat(150)).is_ok());
        assert!(validate_username(&"é".repeat(151)).is_err());
    }

    #[test]
    fn emails() {
        for ok in [
            "a@b.co",
            "first.last@sub.example.com",
            "x_y-z@ex-ample.io",
            "ü@exämple.de",
        ] {
            assert!(validate_email(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "@example.com",
            "a@",
            "a@b",
            "a@.com",
            "a@-b.com",
            "a b@c.com",
            ".a@b.com",
            "a@b.c",
            "a@1.23",
            "a@b..com",
        ] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
        assert!(validate_email(&format!("{}@example.com", "a".repeat(65))).is_err());
    }

    #[test]
    fn timestamps_serialize_as_rfc3339_utc() {
        let user = User::new_for_tests("ada", "ada@example.com");
        let json = user.to_public_json();
        assert_eq!(json["date_joined"], "2023-11-14T22:13:20Z");
        assert_eq!(json["last_login"], Value::Null);
    }
}
