//! [`Scopes`]: a set of OAuth2 scope tokens.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A set of scope tokens (RFC 6749 §3.3), kept sorted and without
/// duplicates, so two equal sets print the same string.
///
/// A token is one or more of the characters `%x21 / %x23-5B / %x5D-7E`
/// (printable ASCII but space, `"` and `\`). [`Scopes::parse`] takes the
/// `scope` parameter's syntax: tokens separated by single spaces; the empty
/// string is the empty set. `Display` writes that syntax back, and serde
/// reads and writes it as one string.
///
/// ```
/// use auth_core::oauth::Scopes;
/// let granted = Scopes::parse("read write openid").unwrap();
/// let asked = Scopes::parse("write read").unwrap();
/// assert!(granted.covers(&asked));
/// assert_eq!(asked.to_string(), "read write");
/// assert!(Scopes::parse("read  write").is_err());
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scopes(BTreeSet<String>);

/// A `scope` string that is not a space-separated list of scope tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the scope must be scope tokens separated by single spaces")]
pub struct InvalidScope;

/// Whether `token` is a scope token.
fn is_scope_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5b | 0x5d..=0x7e))
}

impl Scopes {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a `scope` parameter: scope tokens separated by single spaces
    /// (`""` is the empty set). Repeated tokens count once.
    pub fn parse(scope: &str) -> Result<Self, InvalidScope> {
        if scope.is_empty() {
            return Ok(Self::default());
        }
        scope
            .split(' ')
            .map(|token| {
                is_scope_token(token)
                    .then(|| token.to_owned())
                    .ok_or(InvalidScope)
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// The set of these tokens, each checked as [`parse`](Self::parse)
    /// checks one.
    pub fn from_tokens<I, S>(tokens: I) -> Result<Self, InvalidScope>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        tokens
            .into_iter()
            .map(|token| {
                let token = token.into();
                is_scope_token(&token).then_some(token).ok_or(InvalidScope)
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Whether `token` is in the set.
    pub fn contains(&self, token: &str) -> bool {
        self.0.contains(token)
    }

    /// Whether every token of `other` is in this set (every set covers the
    /// empty set).
    pub fn covers(&self, other: &Scopes) -> bool {
        other.0.is_subset(&self.0)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many tokens it holds.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The tokens, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// The tokens of either set.
    pub fn union(&self, other: &Scopes) -> Scopes {
        Self(self.0.union(&other.0).cloned().collect())
    }

    /// The tokens of both sets.
    pub fn intersection(&self, other: &Scopes) -> Scopes {
        Self(self.0.intersection(&other.0).cloned().collect())
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, token) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(token)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scopes({:?})", self.to_string())
    }
}

impl FromStr for Scopes {
    type Err = InvalidScope;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Scopes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Scopes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let scope = String::deserialize(deserializer)?;
        Self::parse(&scope).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_sorts_and_deduplicates() {
        let scopes = Scopes::parse("write read write openid").unwrap();
        assert_eq!(scopes.to_string(), "openid read write");
        assert_eq!(scopes.len(), 3);
        assert_eq!(scopes, Scopes::parse("openid read write").unwrap());
        assert_eq!(
            scopes.iter().collect::<Vec<_>>(),
            ["openid", "read", "write"]
        );
    }

    #[test]
    fn the_empty_string_is_the_empty_set() {
        let empty = Scopes::parse("").unwrap();
        assert!(empty.is_empty());
        assert_eq!(empty.to_string(), "");
        assert_eq!(empty, Scopes::new());
    }

    #[test]
    fn every_rfc_6749_token_character_is_accepted() {
        let all: String = (0x21u8..=0x7e)
            .filter(|b| *b != b'"' && *b != b'\\')
            .map(char::from)
            .collect();
        let scopes = Scopes::parse(&all).unwrap();
        assert!(scopes.contains(&all));
        assert_eq!(Scopes::parse("a:b/c.d_e-f~g!h").unwrap().len(), 1);
    }

    #[test]
    fn malformed_scopes_are_refused() {
        for bad in [
            " ",
            "read ",
            " read",
            "read  write",
            "read\twrite",
            "read\nwrite",
            "\"read\"",
            "re\\ad",
            "read\0",
            "lecture\u{e9}",
            "\u{7f}",
        ] {
            assert_eq!(Scopes::parse(bad), Err(InvalidScope), "{bad:?}");
        }
        assert_eq!(Scopes::from_tokens(["ok", ""]), Err(InvalidScope));
        assert_eq!(Scopes::from_tokens(["a b"]), Err(InvalidScope));
    }

    #[test]
    fn covers_contains_union_intersection() {
        let granted = Scopes::parse("a b c").unwrap();
        assert!(granted.covers(&Scopes::parse("c a").unwrap()));
        assert!(granted.covers(&Scopes::new()));
        assert!(!granted.covers(&Scopes::parse("a d").unwrap()));
        assert!(Scopes::new().covers(&Scopes::new()));
        assert!(granted.contains("b"));
        assert!(!granted.contains("B"));
        assert!(!granted.contains("a b"));
        let other = Scopes::parse("c d").unwrap();
        assert_eq!(granted.union(&other).to_string(), "a b c d");
        assert_eq!(granted.intersection(&other).to_string(), "c");
    }

    #[test]
    fn serde_uses_the_space_joined_string() {
        let scopes: Scopes = serde_json::from_str("\"b a\"").unwrap();
        assert_eq!(serde_json::to_string(&scopes).unwrap(), "\"a b\"");
        assert!(serde_json::from_str::<Scopes>("\"a  b\"").is_err());
        assert_eq!("x y".parse::<Scopes>().unwrap().len(), 2);
    }
}
