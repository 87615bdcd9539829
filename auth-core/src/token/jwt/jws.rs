//! The JWS compact serialization (RFC 7515 section 7.1), parsed strictly:
//! exactly three parts of unpadded base64url (no `=`, no whitespace, no
//! characters outside the alphabet, no non-zero unused bits), a header that
//! is a JSON object. Verification itself is in [`KeySet::verify_jws`] and
//! [`JwtKey::verify_jws`].
//!
//! [`KeySet::verify_jws`]: super::KeySet::verify_jws
//! [`JwtKey::verify_jws`]: super::JwtKey::verify_jws

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::{DecodeSliceError, Engine};
use serde::{Deserialize, Deserializer};

use super::algorithm::Algorithm;
use super::error::JwtError;

/// Longer tokens are refused before any decoding.
pub(crate) const MAX_TOKEN_LEN: usize = 8 * 1024;

/// The protected header of a verified JWS.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JwsHeader {
    /// The algorithm: always the verifying key's (the header named it, and
    /// nothing else was accepted).
    pub alg: Algorithm,
    /// The key id, if the header has one.
    pub kid: Option<String>,
    /// The `typ` (media type), if the header has one.
    pub typ: Option<String>,
}

/// A JWS whose signature verified: its header and its payload bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedJws {
    /// The protected header.
    pub header: JwsHeader,
    /// The payload, base64url-decoded (for a JWT, the claims set's JSON).
    pub payload: Vec<u8>,
}

/// The header members this library reads; all others are ignored (never
/// `jwk`, `jku`, `x5u` or `x5c`: keys come from configuration only).
#[derive(Deserialize)]
pub(crate) struct Header {
    pub(crate) alg: Option<String>,
    #[serde(default)]
    pub(crate) kid: Option<String>,
    #[serde(default)]
    pub(crate) typ: Option<String>,
    /// Whether a `crit` member is present at all, whatever its value.
    #[serde(default, deserialize_with = "present")]
    pub(crate) crit: bool,
}

fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(deserializer)?;
    Ok(true)
}

/// A header after the structural checks.
pub(crate) struct CheckedHeader {
    pub(crate) alg: String,
    pub(crate) kid: Option<String>,
    pub(crate) typ: Option<String>,
}

/// Room for the longest signature accepted (RSA-4096: 512 bytes), plus the
/// slack base64's length estimate needs.
pub(crate) const SIGNATURE_BUFFER: usize = 516;

/// A split compact JWS: payload and signature decoded, header still encoded,
/// signature not checked yet.
pub(crate) struct Parts<'t, 'b> {
    /// The encoded header, as in the token.
    pub(crate) header: &'t str,
    /// `header "." payload`, exactly as in the token: what was signed.
    pub(crate) signing_input: &'t str,
    /// Decoded, but not to be read before the signature verified.
    pub(crate) payload: Vec<u8>,
    /// Decoded into the caller's buffer (no allocation per token).
    pub(crate) signature: &'b [u8],
}

fn decode(part: &str, what: &'static str) -> Result<Vec<u8>, JwtError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JwtError::Malformed(what))
}

/// Splits a compact JWS into exactly three parts and decodes the payload
/// and signature. Every part is checked before any cryptography, so
/// garbage costs no signature verification.
pub(crate) fn split<'t, 'b>(
    token: &'t str,
    signature_buffer: &'b mut [u8; SIGNATURE_BUFFER],
) -> Result<Parts<'t, 'b>, JwtError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwtError::Malformed("token too long"));
    }
    if token.trim_start().starts_with('{') {
        return Err(JwtError::Unsupported("JWS JSON serialization"));
    }
    // The first and the last dot, and none between them.
    let not_three = JwtError::Malformed("not three dot-separated parts");
    let (Some(first), Some(last)) = (token.find('.'), token.rfind('.')) else {
        return Err(not_three);
    };
    let (Some(header), Some(payload), Some(signature)) = (
        token.get(..first),
        token.get(first + 1..last),
        token.get(last + 1..),
    ) else {
        return Err(not_three);
    };
    if payload.contains('.') {
        return Err(not_three);
    }
    if header.is_empty() {
        return Err(JwtError::Malformed("empty header"));
    }
    if signature.is_empty() {
        return Err(JwtError::Malformed("empty signature"));
    }
    let signing_input = token
        .get(..header.len() + 1 + payload.len())
        .ok_or(JwtError::Malformed("not three dot-separated parts"))?;
    let payload = decode(payload, "payload is not base64url")?;
    let length = URL_SAFE_NO_PAD
        .decode_slice(signature, signature_buffer)
        .map_err(|err| match err {
            DecodeSliceError::OutputSliceTooSmall => JwtError::Malformed("signature too long"),
            DecodeSliceError::DecodeError(_) => JwtError::Malformed("signature is not base64url"),
        })?;
    Ok(Parts {
        header,
        signing_input,
        payload,
        signature: signature_buffer.get(..length).unwrap_or_default(),
    })
}

/// Decodes and checks an encoded header: a JSON object with a string `alg`
/// and no `crit`.
pub(crate) fn parse_header(encoded: &str) -> Result<CheckedHeader, JwtError> {
    let json = decode(encoded, "header is not base64url")?;
    // JSON is UTF-8 (RFC 7515 section 5.2): serde_json does not check the
    // strings of members it skips, so the whole header is checked here.
    if std::str::from_utf8(&json).is_err() {
        return Err(JwtError::Malformed("header is not UTF-8"));
    }
    // A derived struct would also accept a JSON array; a header is an object.
    if json.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(JwtError::Malformed("header is not a JSON object"));
    }
    // Duplicate members are refused by the derived Deserialize (RFC 7515
    // section 4 allows refusing them).
    let header: Header = serde_json::from_slice(&json)
        .map_err(|_| JwtError::Malformed("header is not a valid JSON object"))?;
    if header.crit {
        return Err(JwtError::Unsupported(
            "crit header (no extension is understood)",
        ));
    }
    let alg = header.alg.ok_or(JwtError::Malformed("header has no alg"))?;
    Ok(CheckedHeader {
        alg,
        kid: header.kid,
        typ: header.typ,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits and parses the header, as verification does.
    fn parse(token: &str) -> Result<CheckedHeader, JwtError> {
        let mut signature = [0; SIGNATURE_BUFFER];
        let parts = split(token, &mut signature)?;
        parse_header(parts.header)
    }

    /// RFC 7515 section 5.2: a header is UTF-8 JSON, also in members the
    /// library ignores (serde_json skips those without checking them).
    #[test]
    fn refuses_a_header_that_is_not_utf8() {
        let header = URL_SAFE_NO_PAD.encode(b"{\"alg\":\"HS256\",\"x\":\"\xd7\"}");
        assert!(
            matches!(
                parse(&format!("{header}.e30.AAAA")),
                Err(JwtError::Malformed(_))
            ),
            "a header with invalid UTF-8 in an ignored member"
        );
    }

    #[test]
    fn splits_into_exactly_three_parts() {
        for token in ["", "a", "a.b", "a.b.c.d", "a.b.c.", ".b.c", "a.b."] {
            assert!(
                matches!(parse(token), Err(JwtError::Malformed(_))),
                "{token:?}"
            );
        }
    }

    #[test]
    fn refuses_padding_and_foreign_characters() {
        // {"alg":"HS256"}
        let header = "eyJhbGciOiJIUzI1NiJ9";
        assert!(parse(&format!("{header}.e30.AAAA")).is_ok());
        for bad in ["e30=", "e3 0", "e30?", "e+0", "e/0"] {
            let token = format!("{header}.e30.{bad}");
            assert!(
                matches!(parse(&token), Err(JwtError::Malformed(_))),
                "{token}"
            );
        }
        // Non-zero unused bits: "e31" decodes leniently to the same bytes as "e30".
        assert!(parse(&format!("{header}.e30.e31")).is_err());
        assert!(parse(&format!("{header}=.e30.AAAA")).is_err());
    }

    #[test]
    fn header_must_be_an_object_with_alg_and_no_crit() {
        let enc = |json: &str| URL_SAFE_NO_PAD.encode(json);
        let token = |json: &str| format!("{}.e30.AAAA", enc(json));
        assert!(matches!(
            parse(&token(r#"["HS256"]"#)),
            Err(JwtError::Malformed(_))
        ));
        assert!(matches!(
            parse(&token(r#"{"typ":"JWT"}"#)),
            Err(JwtError::Malformed(_))
        ));
        assert!(matches!(
            parse(&token(r#"{"alg":1}"#)),
            Err(JwtError::Malformed(_))
        ));
        assert!(matches!(
            parse(&token(r#"{"alg":"HS256","alg":"none"}"#)),
            Err(JwtError::Malformed(_))
        ));
        assert!(matches!(
            parse(&token(r#"{"alg":"HS256","crit":["exp"],"exp":1}"#)),
            Err(JwtError::Unsupported(_))
        ));
        assert!(matches!(
            parse(r#"{"payload":"e30","signatures":[]}"#),
            Err(JwtError::Unsupported(_))
        ));
        let spaced = token(r#" {"alg":"ES256","kid":"k1","x":[1]} "#);
        let header = parse(&spaced).unwrap();
        assert_eq!(header.alg, "ES256");
        assert_eq!(header.kid.as_deref(), Some("k1"));
    }

    #[test]
    fn overlong_tokens_are_refused() {
        let token = "a".repeat(MAX_TOKEN_LEN + 1);
        assert_eq!(
            parse(&token).err(),
            Some(JwtError::Malformed("token too long"))
        );
    }
}
