//! Claims: [`AccessClaims`] and [`RefreshClaims`] read from verified tokens,
//! the strict reader behind them, and the writer for new tokens.
//!
//! The reader walks the JSON once with serde (no `serde_json::Value`),
//! matching member names against the configured claim names. A claim of the
//! wrong JSON type is recorded, not a parse error, so the caller can say
//! which claim was wrong; a duplicate member makes the claims set malformed.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};

use super::error::JwtError;

/// The two kinds of token, as written in the `token_type` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenType {
    /// A short-lived token that authenticates requests (`"access"`).
    Access,
    /// A longer-lived token that only obtains new access tokens (`"refresh"`).
    Refresh,
}

impl TokenType {
    /// The claim value: `"access"` or `"refresh"`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenType::Access => "access",
            TokenType::Refresh => "refresh",
        }
    }
}

impl fmt::Display for TokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The last second a `NumericDate` may name: 9999-12-31T23:59:59Z, so every
/// accepted time converts to a `DateTime` and formats as RFC 3339.
pub(crate) const MAX_TIMESTAMP: i64 = 253_402_300_799;

fn timestamp(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

macro_rules! claims_type {
    ($(#[$meta:meta])* $name:ident, $token_type:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct $name {
            /// The user the token was issued to (`user_id`, or the configured
            /// claim name). Always a string; simplejwt's older integer ids
            /// are read as their decimal digits.
            pub user_id: String,
            /// The token's unique id (`jti`, or the configured name): in the
            /// tokens this library issues, a UUID v7 (time-ordered) as 32
            /// lower-case hex digits, the shape simplejwt writes.
            pub jti: String,
            /// Issued at (`iat`), in seconds since the Unix epoch.
            pub iat: i64,
            /// Expires at (`exp`), in seconds since the Unix epoch: the first
            /// instant at which the token is no longer valid.
            pub exp: i64,
            /// Not before (`nbf`), if the token has one.
            pub nbf: Option<i64>,
            /// The rotation family (`fam`): the login this token descends
            /// from, if it was issued with one.
            pub family: Option<String>,
            /// The issuer (`iss`), if any.
            pub iss: Option<String>,
            /// The audiences (`aud`); empty when the token has none.
            pub aud: Vec<String>,
            /// Signed by a Django deployment under the cut-over key
            /// ([`DjangoCutover`](super::DjangoCutover)), not by this
            /// library: `user_id` is then the user's legacy (Django) id,
            /// and `family` is always `None`.
            pub legacy: bool,
        }

        impl $name {
            /// The `token_type` these claims were read from.
            pub const TOKEN_TYPE: TokenType = $token_type;

            /// `iat` as a time.
            pub fn issued_at(&self) -> DateTime<Utc> {
                timestamp(self.iat)
            }

            /// `exp` as a time: the first instant the token is invalid.
            pub fn expires_at(&self) -> DateTime<Utc> {
                timestamp(self.exp)
            }

            pub(crate) fn from_checked(checked: Checked) -> Self {
                Self {
                    user_id: checked.user_id,
                    jti: checked.jti,
                    iat: checked.iat,
                    exp: checked.exp,
                    nbf: checked.nbf,
                    family: checked.family,
                    iss: checked.iss,
                    aud: checked.aud,
                    legacy: checked.legacy,
                }
            }
        }
    };
}

claims_type!(
    /// The claims of a verified access token, from
    /// [`Jwt::verify_access`](super::Jwt::verify_access).
    ///
    /// A distinct type from [`RefreshClaims`], so one cannot stand in for the
    /// other:
    ///
    /// ```compile_fail
    /// # use auth_core::token::jwt::{AccessClaims, Jwt};
    /// fn authenticate(jwt: &Jwt, token: &str) -> AccessClaims {
    ///     jwt.verify_refresh(token).unwrap() // a RefreshClaims: does not compile
    /// }
    /// ```
    AccessClaims,
    TokenType::Access
);

claims_type!(
    /// The claims of a verified refresh token, from
    /// [`Jwt::verify_refresh`](super::Jwt::verify_refresh).
    ///
    /// ```compile_fail
    /// # use auth_core::token::jwt::{Jwt, RefreshClaims};
    /// fn rotate(jwt: &Jwt, token: &str) -> RefreshClaims {
    ///     jwt.verify_access(token).unwrap() // an AccessClaims: does not compile
    /// }
    /// ```
    RefreshClaims,
    TokenType::Refresh
);

/// The configurable claim names (simplejwt's `TOKEN_TYPE_CLAIM`,
/// `USER_ID_CLAIM`, `JTI_CLAIM`, plus the rotation family's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClaimNames {
    pub(crate) token_type: String,
    pub(crate) user_id: String,
    pub(crate) jti: String,
    pub(crate) family: String,
}

/// The registered claims (RFC 7519 section 4.1) read under their own names;
/// no configurable name may take one of them.
pub(crate) const FIXED_NAMES: [&str; 5] = ["exp", "iat", "nbf", "iss", "aud"];

/// Names an added claim may never have: the registered claims of RFC 7519
/// section 4.1, simplejwt's default claim names and `fam`, whatever the
/// configuration calls them (see also [`ClaimNames::holds`]).
const RESERVED_NAMES: [&str; 10] = [
    "exp",
    "iat",
    "nbf",
    "iss",
    "aud",
    "sub",
    "jti",
    "token_type",
    "user_id",
    "fam",
];

/// Whether an added claim may not be named `name` under `names`.
pub(crate) fn is_reserved(name: &str, names: &ClaimNames) -> bool {
    RESERVED_NAMES.contains(&name) || names.holds(name)
}

impl ClaimNames {
    /// Whether `name` is one of the configured claim names.
    fn holds(&self, name: &str) -> bool {
        [&self.token_type, &self.user_id, &self.jti, &self.family]
            .iter()
            .any(|configured| *configured == name)
    }
}

/// One claim's JSON value, as far as validation cares; strings borrow from
/// the payload when they have no escapes.
#[derive(Debug)]
enum Raw<'de> {
    Str(Cow<'de, str>),
    Int(i64),
    Float(f64),
    /// An array whose elements are all strings.
    Strings(Vec<Cow<'de, str>>),
    /// Anything else: null, a boolean, an object, a mixed array, an integer
    /// beyond `i64`.
    Other,
}

impl<'de> de::Deserialize<'de> for Raw<'de> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Raw<'de>, E> {
        Ok(Raw::Other)
    }
    fn visit_i64<E>(self, v: i64) -> Result<Raw<'de>, E> {
        Ok(Raw::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Raw<'de>, E> {
        Ok(i64::try_from(v).map_or(Raw::Other, Raw::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Raw<'de>, E> {
        Ok(Raw::Float(v))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Raw<'de>, E> {
        Ok(Raw::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Raw<'de>, E> {
        Ok(Raw::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Raw<'de>, E> {
        Ok(Raw::Str(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Raw<'de>, E> {
        Ok(Raw::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw<'de>, A::Error> {
        let mut strings = Some(Vec::new());
        while let Some(element) = seq.next_element::<Raw>()? {
            match (element, &mut strings) {
                (Raw::Str(s), Some(all)) => all.push(s),
                _ => strings = None,
            }
        }
        Ok(strings.map_or(Raw::Other, Raw::Strings))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Raw::Other)
    }
}

/// The claims this library reads, still unchecked.
#[derive(Debug, Default)]
pub(crate) struct RawClaims<'de> {
    token_type: Option<Raw<'de>>,
    user_id: Option<Raw<'de>>,
    jti: Option<Raw<'de>>,
    family: Option<Raw<'de>>,
    exp: Option<Raw<'de>>,
    iat: Option<Raw<'de>>,
    nbf: Option<Raw<'de>>,
    iss: Option<Raw<'de>>,
    aud: Option<Raw<'de>>,
    duplicate: bool,
}

/// Reads a claims set, knowing the configured names.
struct ClaimsSeed<'n>(&'n ClaimNames);

impl<'de> DeserializeSeed<'de> for ClaimsSeed<'_> {
    type Value = RawClaims<'de>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<RawClaims<'de>, D::Error> {
        deserializer.deserialize_map(self)
    }
}

enum Field {
    TokenType,
    UserId,
    Jti,
    Family,
    Exp,
    Iat,
    Nbf,
    Iss,
    Aud,
    Other,
}

/// Turns a member name into a [`Field`] without allocating.
struct FieldSeed<'n>(&'n ClaimNames);

impl<'de> DeserializeSeed<'de> for FieldSeed<'_> {
    type Value = Field;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Field, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for FieldSeed<'_> {
    type Value = Field;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a claim name")
    }

    fn visit_str<E>(self, name: &str) -> Result<Field, E> {
        let names = self.0;
        // The configured names come first: the config refuses names that
        // clash with each other or with the registered claims.
        Ok(if name == names.token_type {
            Field::TokenType
        } else if name == names.user_id {
            Field::UserId
        } else if name == names.jti {
            Field::Jti
        } else if name == names.family {
            Field::Family
        } else {
            match name {
                "exp" => Field::Exp,
                "iat" => Field::Iat,
                "nbf" => Field::Nbf,
                "iss" => Field::Iss,
                "aud" => Field::Aud,
                _ => Field::Other,
            }
        })
    }
}

impl<'de> Visitor<'de> for ClaimsSeed<'_> {
    type Value = RawClaims<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of claims")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawClaims<'de>, A::Error> {
        let mut claims = RawClaims::default();
        while let Some(field) = map.next_key_seed(FieldSeed(self.0))? {
            let slot = match field {
                Field::TokenType => &mut claims.token_type,
                Field::UserId => &mut claims.user_id,
                Field::Jti => &mut claims.jti,
                Field::Family => &mut claims.family,
                Field::Exp => &mut claims.exp,
                Field::Iat => &mut claims.iat,
                Field::Nbf => &mut claims.nbf,
                Field::Iss => &mut claims.iss,
                Field::Aud => &mut claims.aud,
                Field::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            if slot.is_some() {
                claims.duplicate = true;
                map.next_value::<IgnoredAny>()?;
            } else {
                *slot = Some(map.next_value::<Raw>()?);
            }
        }
        Ok(claims)
    }
}

/// Parses a verified payload as a claims set (a JSON object, nothing after it).
pub(crate) fn read<'p>(payload: &'p [u8], names: &ClaimNames) -> Result<RawClaims<'p>, JwtError> {
    // JSON is UTF-8 (RFC 8259): checked once for the whole payload, so the
    // parser need not check each string again.
    let text = std::str::from_utf8(payload)
        .map_err(|_| JwtError::Malformed("claims are not a valid JSON object"))?;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let claims = ClaimsSeed(names)
        .deserialize(&mut deserializer)
        .and_then(|claims| deserializer.end().map(|()| claims))
        .map_err(|_| JwtError::Malformed("claims are not a valid JSON object"))?;
    if claims.duplicate {
        return Err(JwtError::Malformed("duplicate claim"));
    }
    Ok(claims)
}

/// What validation checks besides the claims themselves.
#[derive(Debug)]
pub(crate) struct Rules<'a> {
    pub(crate) names: &'a ClaimNames,
    /// The current time, in whole seconds (rounded down).
    pub(crate) now: i64,
    pub(crate) leeway: i64,
    pub(crate) issuer: Option<&'a str>,
    pub(crate) audience: Option<&'a str>,
}

/// Claims that passed validation.
#[derive(Debug)]
pub(crate) struct Checked {
    pub(crate) token_type: TokenType,
    user_id: String,
    jti: String,
    iat: i64,
    exp: i64,
    nbf: Option<i64>,
    pub(crate) family: Option<String>,
    iss: Option<String>,
    aud: Vec<String>,
    /// Verified with the Django cut-over key.
    pub(crate) legacy: bool,
}

fn missing(name: &str) -> JwtError {
    JwtError::MissingClaim(name.to_owned())
}

fn invalid(name: &str) -> JwtError {
    JwtError::InvalidClaim(name.to_owned())
}

/// A `NumericDate` (RFC 7519 section 2): a JSON number of seconds, which
/// may have a fraction. Rounded towards the safe side: `exp` down, `nbf` up.
fn numeric_date(raw: Option<Raw<'_>>, name: &str, round_up: bool) -> Result<Option<i64>, JwtError> {
    let secs = match raw {
        None => return Ok(None),
        Some(Raw::Int(secs)) => secs,
        Some(Raw::Float(secs)) => {
            let rounded = if round_up { secs.ceil() } else { secs.floor() };
            if !(0.0..=MAX_TIMESTAMP as f64).contains(&rounded) {
                return Err(invalid(name));
            }
            rounded as i64
        }
        Some(_) => return Err(invalid(name)),
    };
    if (0..=MAX_TIMESTAMP).contains(&secs) {
        Ok(Some(secs))
    } else {
        Err(invalid(name))
    }
}

/// A claim that must be a non-empty string, if present.
fn string(raw: Option<Raw<'_>>, name: &str) -> Result<Option<String>, JwtError> {
    match raw {
        None => Ok(None),
        Some(Raw::Str(s)) if !s.is_empty() => Ok(Some(s.into_owned())),
        Some(_) => Err(invalid(name)),
    }
}

/// Checks the claims in a fixed order: structure first (`exp`, the token
/// type, the other required claims), then time, then issuer and audience.
pub(crate) fn check(
    raw: RawClaims<'_>,
    expected: Option<TokenType>,
    rules: &Rules<'_>,
) -> Result<Checked, JwtError> {
    let names = rules.names;
    let exp = numeric_date(raw.exp, "exp", false)?.ok_or_else(|| missing("exp"))?;
    let token_type = match raw.token_type {
        None => return Err(missing(&names.token_type)),
        Some(Raw::Str(s)) => match &*s {
            "access" => TokenType::Access,
            "refresh" => TokenType::Refresh,
            _ => return Err(JwtError::WrongTokenType),
        },
        Some(_) => return Err(invalid(&names.token_type)),
    };
    if expected.is_some_and(|expected| expected != token_type) {
        return Err(JwtError::WrongTokenType);
    }
    let iat = numeric_date(raw.iat, "iat", false)?.ok_or_else(|| missing("iat"))?;
    let jti = string(raw.jti, &names.jti)?.ok_or_else(|| missing(&names.jti))?;
    let user_id = match raw.user_id {
        None => return Err(missing(&names.user_id)),
        Some(Raw::Str(s)) if !s.is_empty() => s.into_owned(),
        Some(Raw::Int(id)) => id.to_string(),
        Some(_) => return Err(invalid(&names.user_id)),
    };
    let nbf = numeric_date(raw.nbf, "nbf", true)?;
    let family = string(raw.family, &names.family)?;
    let iss = string(raw.iss, "iss")?;
    let aud = match raw.aud {
        None => Vec::new(),
        Some(Raw::Str(aud)) => vec![aud.into_owned()],
        Some(Raw::Strings(aud)) => aud.into_iter().map(Cow::into_owned).collect(),
        Some(_) => return Err(invalid("aud")),
    };

    // `exp` is the first instant the token is invalid (RFC 7519: the current
    // time must be *before* it); the leeway extends it.
    if rules.now >= exp.saturating_add(rules.leeway) {
        return Err(JwtError::Expired);
    }
    if nbf.is_some_and(|nbf| rules.now.saturating_add(rules.leeway) < nbf) {
        return Err(JwtError::NotYetValid);
    }
    if let Some(issuer) = rules.issuer {
        match &iss {
            None => return Err(missing("iss")),
            Some(iss) if iss != issuer => return Err(JwtError::Issuer),
            Some(_) => {}
        }
    }
    match rules.audience {
        Some(_) if aud.is_empty() => return Err(missing("aud")),
        Some(audience) if !aud.iter().any(|aud| aud == audience) => {
            return Err(JwtError::Audience);
        }
        // RFC 7519 4.1.3: a recipient that is not named in a present `aud`
        // must reject the token.
        None if !aud.is_empty() => return Err(JwtError::Audience),
        _ => {}
    }
    Ok(Checked {
        token_type,
        user_id,
        jti,
        iat,
        exp,
        nbf,
        family,
        iss,
        aud,
        legacy: false,
    })
}

/// The claims of a token being issued, written in simplejwt's order.
#[derive(Debug)]
pub(crate) struct ClaimsOut<'a> {
    pub(crate) names: &'a ClaimNames,
    pub(crate) token_type: TokenType,
    pub(crate) exp: i64,
    pub(crate) iat: i64,
    pub(crate) jti: &'a str,
    pub(crate) user_id: &'a str,
    pub(crate) family: Option<&'a str>,
    pub(crate) iss: Option<&'a str>,
    pub(crate) aud: Option<&'a str>,
    /// Claims an application added, none of them [reserved](is_reserved).
    pub(crate) extra: &'a serde_json::Map<String, serde_json::Value>,
}

impl Serialize for ClaimsOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry(&self.names.token_type, self.token_type.as_str())?;
        map.serialize_entry("exp", &self.exp)?;
        map.serialize_entry("iat", &self.iat)?;
        map.serialize_entry(&self.names.jti, self.jti)?;
        map.serialize_entry(&self.names.user_id, self.user_id)?;
        if let Some(family) = self.family {
            map.serialize_entry(&self.names.family, family)?;
        }
        if let Some(iss) = self.iss {
            map.serialize_entry("iss", iss)?;
        }
        if let Some(aud) = self.aud {
            map.serialize_entry("aud", aud)?;
        }
        for (name, value) in self.extra {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl ClaimsOut<'_> {
    /// The claims as they will read back.
    pub(crate) fn to_checked(&self) -> Checked {
        Checked {
            token_type: self.token_type,
            user_id: self.user_id.to_owned(),
            jti: self.jti.to_owned(),
            iat: self.iat,
            exp: self.exp,
            nbf: None,
            family: self.family.map(str::to_owned),
            iss: self.iss.map(str::to_owned),
            aud: self.aud.map(str::to_owned).into_iter().collect(),
            legacy: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> ClaimNames {
        ClaimNames {
            token_type: "token_type".into(),
            user_id: "user_id".into(),
            jti: "jti".into(),
            family: "fam".into(),
        }
    }

    fn rules(names: &ClaimNames) -> Rules<'_> {
        Rules {
            names,
            now: 1_000,
            leeway: 0,
            issuer: None,
            audience: None,
        }
    }

    fn checked(json: &str) -> Result<Checked, JwtError> {
        let names = names();
        check(read(json.as_bytes(), &names)?, None, &rules(&names))
    }

    const BASE: &str = r#""token_type":"access","iat":900,"jti":"j","user_id":"u""#;

    #[test]
    fn reads_a_simplejwt_claims_set() {
        let claims = checked(&format!(r#"{{{BASE},"exp":1001,"extra":{{"a":[1,2]}}}}"#)).unwrap();
        assert_eq!(claims.token_type, TokenType::Access);
        assert_eq!(
            (claims.exp, claims.iat, claims.user_id.as_str()),
            (1001, 900, "u")
        );
    }

    #[test]
    fn exp_is_a_number() {
        assert_eq!(checked(&format!("{{{BASE}}}")).err(), Some(missing("exp")));
        for exp in [
            r#""1001""#,
            "true",
            "null",
            "[1001]",
            "-1",
            "1e300",
            "18446744073709551616",
        ] {
            let json = format!(r#"{{{BASE},"exp":{exp}}}"#);
            assert_eq!(checked(&json).err(), Some(invalid("exp")), "{json}");
        }
        // A fraction is allowed and rounded down: 1000.9 is already past at 1000.
        assert!(checked(&format!(r#"{{{BASE},"exp":1001.5}}"#)).is_ok());
        assert_eq!(
            checked(&format!(r#"{{{BASE},"exp":1000.9}}"#)).err(),
            Some(JwtError::Expired)
        );
    }

    #[test]
    fn duplicates_and_non_objects_are_malformed() {
        let dup = format!(r#"{{{BASE},"exp":1001,"exp":9999}}"#);
        assert_eq!(
            checked(&dup).err(),
            Some(JwtError::Malformed("duplicate claim"))
        );
        for json in ["[]", "\"x\"", "", "{} {}", "{\"exp\":1001"] {
            assert!(
                matches!(checked(json), Err(JwtError::Malformed(_))),
                "{json}"
            );
        }
    }

    #[test]
    fn integer_user_ids_read_as_strings() {
        let json = r#"{"token_type":"refresh","iat":900,"jti":"j","user_id":42,"exp":1001}"#;
        assert_eq!(checked(json).unwrap().user_id, "42");
        let json = r#"{"token_type":"refresh","iat":900,"jti":"j","user_id":"","exp":1001}"#;
        assert_eq!(checked(json).err(), Some(invalid("user_id")));
    }

    #[test]
    fn escaped_member_names_match() {
        let json =
            r#"{"token_type":"access","iat":900,"jti":"j","user_\u0069d":"u","\u0065xp":1001}"#;
        assert!(checked(json).is_ok());
    }

    #[test]
    fn nbf_is_honoured_and_rounded_up() {
        assert!(checked(&format!(r#"{{{BASE},"exp":2000,"nbf":1000}}"#)).is_ok());
        let early = format!(r#"{{{BASE},"exp":2000,"nbf":1000.5}}"#);
        assert_eq!(checked(&early).err(), Some(JwtError::NotYetValid));
    }

    #[test]
    fn aud_when_present_must_name_us() {
        let names = names();
        let json = format!(r#"{{{BASE},"exp":2000,"aud":["a","b"]}}"#);
        let mut rules = rules(&names);
        let run = |rules: &Rules<'_>| check(read(json.as_bytes(), &names)?, None, rules);
        assert_eq!(run(&rules).err(), Some(JwtError::Audience));
        rules.audience = Some("b");
        assert!(run(&rules).is_ok());
        rules.audience = Some("c");
        assert_eq!(run(&rules).err(), Some(JwtError::Audience));
    }
}
