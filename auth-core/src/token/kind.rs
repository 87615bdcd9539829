//! [`TokenKind`]: which kind of token a login issued or an event or error
//! concerns (a leaf module: the errors, the events and the strategies all
//! name it).

/// How a user logged in or which kind of token an event concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenKind {
    /// Credentials checked without issuing a token.
    Credentials,
    /// A JWT access/refresh pair.
    Jwt,
    /// A Knox-style token.
    Knox,
    /// A static (DRF-style) token.
    Static,
}

impl TokenKind {
    /// A short lower-case name (`jwt`, `knox`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Credentials => "credentials",
            TokenKind::Jwt => "jwt",
            TokenKind::Knox => "knox",
            TokenKind::Static => "static",
        }
    }
}
