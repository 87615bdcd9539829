//! Keys: [`Algorithm`], [`JwtKey`] (one key with its `kid`), [`KeySet`] (the
//! active signing key plus verification-only keys) and the public JWK Set.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
use jsonwebtoken::jwk::EllipticCurve;
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::algorithm::Algorithm;
use super::error::JwtError;
use super::jws::{self, CheckedHeader, JwsHeader, VerifiedJws};

/// The public half of a key, as published in the JWK Set (RFC 7517).
/// HMAC keys have none.
///
/// ```
/// # use auth_core::token::jwt::{Algorithm, JwtKey};
/// let jwk = serde_json::json!({
///     "kty": "OKP", "crv": "Ed25519",
///     "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
/// });
/// let key = JwtKey::from_jwk_with_alg(&jwk, Algorithm::EdDSA).unwrap();
/// let public = key.public_jwk().unwrap();
/// assert_eq!(public.use_, "sig");
/// assert_eq!(public.alg, "EdDSA");
/// // With no kid given, the kid is the RFC 7638 thumbprint (RFC 8037 A.3).
/// assert_eq!(public.kid, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PublicJwk {
    /// Key type: `RSA`, `EC` or `OKP`.
    pub kty: String,
    /// Always `sig`.
    #[serde(rename = "use")]
    pub use_: String,
    /// The algorithm the key is for.
    pub alg: String,
    /// The key id, as sent in the `kid` header of the tokens it signs.
    pub kid: String,
    /// The curve (`P-256`, `Ed25519`), for EC and OKP keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// The RSA modulus, base64url.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// The RSA public exponent, base64url.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// The x coordinate (EC) or public key (OKP), base64url.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// The y coordinate (EC), base64url.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
}

/// A JWK Set (RFC 7517 section 5): what `GET /api/auth/jwks.json` serves.
/// HMAC keys never appear in it, so with HMAC keys only `keys` is empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "utoipa",
    derive(utoipa::ToSchema),
    schema(description = "A JWK Set (RFC 7517).")
)]
pub struct JwkSet {
    /// The public verification keys, the active signing key first.
    #[cfg_attr(feature = "utoipa", schema(value_type = Vec<Object>))]
    pub keys: Vec<PublicJwk>,
}

impl JwkSet {
    /// The set as a JSON value.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| serde_json::json!({ "keys": [] }))
    }
}

/// The key material, public parts only (the HMAC secret is both).
enum Material {
    Oct(Vec<u8>),
    Rsa { n: Vec<u8>, e: Vec<u8> },
    Ec { x: Vec<u8>, y: Vec<u8> },
    Okp { x: Vec<u8> },
}

/// One signing or verification key: its `kid`, its algorithm, and the
/// `jsonwebtoken` keys built once, when the key is made.
///
/// A key made from a secret or a private PEM can sign and verify; one made
/// from a public PEM or a JWK of a public-key algorithm can only verify.
/// When no `kid` is given, it is the key's RFC 7638 JWK thumbprint (SHA-256,
/// base64url), so the same key always gets the same `kid`.
///
/// `Debug` prints `[redacted]` for the key material.
///
/// ```
/// use auth_core::token::jwt::{Algorithm, JwtKey};
/// let key = JwtKey::hmac(Algorithm::HS256, b"an HS256 secret of at least 32 bytes!!")?
///     .with_kid("2025-01")?;
/// assert_eq!(key.kid(), "2025-01");
/// assert!(key.can_sign());
/// assert!(format!("{key:?}").contains("[redacted]"));
/// // Secrets shorter than the hash output are refused (RFC 7518 3.2).
/// assert!(JwtKey::hmac(Algorithm::HS256, b"too short").is_err());
/// # Ok::<(), auth_core::token::jwt::JwtError>(())
/// ```
#[derive(Clone)]
pub struct JwtKey {
    kid: String,
    alg: Algorithm,
    encoding: Option<EncodingKey>,
    decoding: DecodingKey,
    /// For HMAC keys, the keyed MAC state, built once.
    mac: Option<MacKey>,
    public: Option<PublicJwk>,
    /// base64url of `{"alg":...,"kid":...,"typ":"JWT"}`, the header of every
    /// token this key signs.
    encoded_header: String,
}

impl fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("can_sign", &self.encoding.is_some())
            .field("key", &"[redacted]")
            .finish()
    }
}

fn key_error(msg: impl Into<String>) -> JwtError {
    JwtError::InvalidKey(msg.into())
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl JwtKey {
    /// An HMAC key (HS256, HS384 or HS512) from a shared secret, which must
    /// be at least as long as the hash output (32, 48 or 64 bytes, RFC 7518
    /// section 3.2). It signs and verifies.
    pub fn hmac(alg: Algorithm, secret: impl AsRef<[u8]>) -> Result<Self, JwtError> {
        let secret = secret.as_ref();
        let min = alg
            .min_secret_len()
            .ok_or_else(|| key_error(format!("{alg} is not an HMAC algorithm")))?;
        if secret.len() < min {
            return Err(key_error(format!(
                "an {alg} secret needs at least {min} bytes, got {}",
                secret.len()
            )));
        }
        Self::hmac_unchecked(alg, secret)
    }

    /// An HMAC key with no minimum length but a non-empty secret; only
    /// reachable through [`dangerous`](super::dangerous).
    pub(crate) fn hmac_unchecked(alg: Algorithm, secret: &[u8]) -> Result<Self, JwtError> {
        if !alg.is_hmac() {
            return Err(key_error(format!("{alg} is not an HMAC algorithm")));
        }
        if secret.is_empty() {
            return Err(key_error("empty HMAC secret"));
        }
        let encoding = EncodingKey::from_secret(secret);
        build(alg, Material::Oct(secret.to_vec()), Some(encoding), None)
    }

    /// A key from PEM text: a PKCS#8 private key (`BEGIN PRIVATE KEY`, or for
    /// RSA also PKCS#1 `BEGIN RSA PRIVATE KEY`) signs and verifies; a public
    /// key (`BEGIN PUBLIC KEY`, or `BEGIN RSA PUBLIC KEY`) only verifies.
    /// RSA for RS256 (2048 to 4096 bits), P-256 for ES256, Ed25519 for
    /// EdDSA. Make one with e.g. `openssl genpkey -algorithm ED25519`.
    pub fn from_pem(alg: Algorithm, pem: impl AsRef<[u8]>) -> Result<Self, JwtError> {
        let pem = pem.as_ref();
        if alg.is_hmac() {
            return Err(key_error(
                "HMAC keys are shared secrets: use JwtKey::hmac, not PEM",
            ));
        }
        let label = pem_label(pem)?;
        let private = match label {
            "PRIVATE KEY" | "RSA PRIVATE KEY" => true,
            "PUBLIC KEY" | "RSA PUBLIC KEY" => false,
            "EC PRIVATE KEY" => {
                return Err(key_error(
                    "SEC1 EC keys are not supported: convert with `openssl pkcs8 -topk8 -nocrypt`",
                ));
            }
            other => return Err(key_error(format!("unsupported PEM block {other:?}"))),
        };
        if label.starts_with("RSA") && alg != Algorithm::RS256 {
            return Err(key_error(format!("an RSA key cannot be used for {alg}")));
        }
        let utils = &DEFAULT_PROVIDER.key_utils;
        let bad_pem = |e: jsonwebtoken::errors::Error| key_error(format!("PEM for {alg}: {e}"));
        if private {
            match alg {
                Algorithm::RS256 => {
                    let encoding = EncodingKey::from_rsa_pem(pem).map_err(bad_pem)?;
                    let (n, e) = (utils.rsa_pub_components_from_private_key)(encoding.as_bytes())
                        .map_err(bad_pem)?;
                    build(alg, Material::Rsa { n, e }, Some(encoding), None)
                }
                Algorithm::ES256 => {
                    let encoding = EncodingKey::from_ec_pem(pem).map_err(bad_pem)?;
                    let (curve, x, y) = (utils.ec_pub_components_from_private_key)(
                        encoding.as_bytes(),
                        jsonwebtoken::Algorithm::ES256,
                    )
                    .map_err(bad_pem)?;
                    if curve != EllipticCurve::P256 {
                        return Err(key_error("ES256 needs a P-256 key"));
                    }
                    build(alg, Material::Ec { x, y }, Some(encoding), None)
                }
                Algorithm::EdDSA => {
                    let encoding = EncodingKey::from_ed_pem(pem).map_err(bad_pem)?;
                    let x = (utils.ed_pub_components_from_private_key)(
                        encoding.as_bytes(),
                        &EllipticCurve::Ed25519,
                    )
                    .map_err(bad_pem)?;
                    build(alg, Material::Okp { x }, Some(encoding), None)
                }
                Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                    Err(key_error("HMAC keys are not PEM"))
                }
            }
        } else {
            let decoding = match alg {
                Algorithm::RS256 => DecodingKey::from_rsa_pem(pem),
                Algorithm::ES256 => DecodingKey::from_ec_pem(pem),
                _ => DecodingKey::from_ed_pem(pem),
            }
            .map_err(bad_pem)?;
            let bytes = decoding.try_get_as_bytes().map_err(bad_pem)?;
            let material = match alg {
                Algorithm::RS256 => {
                    let (n, e) =
                        (utils.rsa_pub_components_from_public_key)(bytes).map_err(bad_pem)?;
                    Material::Rsa { n, e }
                }
                Algorithm::ES256 => match bytes {
                    [0x04, point @ ..] if point.len() == 64 => {
                        let (x, y) = point.split_at(32);
                        Material::Ec {
                            x: x.to_vec(),
                            y: y.to_vec(),
                        }
                    }
                    _ => return Err(key_error("ES256 needs an uncompressed P-256 public key")),
                },
                _ => Material::Okp { x: bytes.to_vec() },
            };
            build(alg, material, None, None)
        }
    }

    /// A key from a JWK (RFC 7517) whose `alg` member names the algorithm.
    /// See [`from_jwk_with_alg`](Self::from_jwk_with_alg).
    pub fn from_jwk(jwk: &Value) -> Result<Self, JwtError> {
        let alg = jwk
            .get("alg")
            .and_then(Value::as_str)
            .ok_or_else(|| key_error("the JWK has no alg: use from_jwk_with_alg"))?;
        let alg = alg
            .parse()
            .map_err(|_| key_error(format!("unsupported JWK alg {alg:?}")))?;
        Self::from_jwk_with_alg(jwk, alg)
    }

    /// A key from a JWK for the configured algorithm `alg`; a JWK that names
    /// another `alg` is refused, and so is one whose `use` is not `sig` or
    /// whose `key_ops` lack `verify`.
    ///
    /// An `oct` JWK (HMAC) signs and verifies. RSA, EC and OKP JWKs give
    /// verification-only keys: private members (`d`, ...) are ignored. The
    /// `kid` member is kept; without one the kid is the RFC 7638 thumbprint.
    pub fn from_jwk_with_alg(jwk: &Value, alg: Algorithm) -> Result<Self, JwtError> {
        let obj = jwk
            .as_object()
            .ok_or_else(|| key_error("a JWK is a JSON object"))?;
        let text = |name: &str| -> Result<Option<&str>, JwtError> {
            match obj.get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(key_error(format!("JWK member {name:?} is not a string"))),
            }
        };
        if let Some(named) = text("alg")?
            && named != alg.as_str()
        {
            return Err(key_error(format!(
                "the JWK is for {named:?}, the configuration for {alg}"
            )));
        }
        if let Some(key_use) = text("use")?
            && key_use != "sig"
        {
            return Err(key_error(format!(
                "the JWK's use is {key_use:?}, not \"sig\""
            )));
        }
        if let Some(ops) = obj.get("key_ops") {
            let allows_verify = ops
                .as_array()
                .is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")));
            if !allows_verify {
                return Err(key_error("the JWK's key_ops do not include \"verify\""));
            }
        }
        let bytes = |name: &str| -> Result<Vec<u8>, JwtError> {
            let value = text(name)?.ok_or_else(|| key_error(format!("JWK has no {name:?}")))?;
            URL_SAFE_NO_PAD
                .decode(value)
                .map_err(|_| key_error(format!("JWK member {name:?} is not base64url")))
        };
        let kty = text("kty")?.ok_or_else(|| key_error("JWK has no kty"))?;
        let crv = text("crv")?;
        let kid = text("kid")?.map(str::to_owned);
        match (kty, alg) {
            ("oct", Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) => {
                let secret = bytes("k")?;
                let key = JwtKey::hmac(alg, &secret)?;
                match kid {
                    Some(kid) => key.with_kid(kid),
                    None => Ok(key),
                }
            }
            ("RSA", Algorithm::RS256) => {
                let material = Material::Rsa {
                    n: bytes("n")?,
                    e: bytes("e")?,
                };
                build(alg, material, None, kid)
            }
            ("EC", Algorithm::ES256) if crv == Some("P-256") => build(
                alg,
                Material::Ec {
                    x: bytes("x")?,
                    y: bytes("y")?,
                },
                None,
                kid,
            ),
            ("OKP", Algorithm::EdDSA) if crv == Some("Ed25519") => {
                build(alg, Material::Okp { x: bytes("x")? }, None, kid)
            }
            _ => Err(key_error(format!(
                "a JWK of kty {kty:?} (crv {crv:?}) cannot be used for {alg}"
            ))),
        }
    }

    /// The same key under another `kid` (non-empty, at most 256 bytes).
    pub fn with_kid(mut self, kid: impl Into<String>) -> Result<Self, JwtError> {
        let kid = kid.into();
        check_kid(&kid)?;
        if let Some(public) = &mut self.public {
            public.kid.clone_from(&kid);
        }
        self.encoded_header = encoded_header(self.alg, &kid, "JWT");
        self.kid = kid;
        Ok(self)
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm the key signs and verifies with; tokens naming any
    /// other `alg` fail with this key.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// True if the key holds private (or secret) material and can sign.
    pub fn can_sign(&self) -> bool {
        self.encoding.is_some()
    }

    /// The public JWK, or `None` for an HMAC key (a secret is never
    /// published).
    pub fn public_jwk(&self) -> Option<&PublicJwk> {
        self.public.as_ref()
    }

    /// Signs a JWS signing input (`base64url(header) "." base64url(payload)`)
    /// and returns the base64url signature. Fails with
    /// [`JwtError::InvalidKey`] for a verification-only key.
    ///
    /// ```
    /// # use auth_core::token::jwt::{Algorithm, JwtKey};
    /// let key = JwtKey::hmac(Algorithm::HS256, [7u8; 32])?;
    /// let input = "eyJhbGciOiJIUzI1NiJ9.e30";
    /// let token = format!("{input}.{}", key.sign(input.as_bytes())?);
    /// assert_eq!(key.verify_jws(&token)?.payload, b"{}");
    /// # Ok::<(), auth_core::token::jwt::JwtError>(())
    /// ```
    pub fn sign(&self, signing_input: &[u8]) -> Result<String, JwtError> {
        if let Some(mac) = &self.mac {
            return Ok(b64(&mac.tag(signing_input)));
        }
        let encoding = self
            .encoding
            .as_ref()
            .ok_or_else(|| key_error(format!("key {:?} is verification-only", self.kid)))?;
        let signer = (DEFAULT_PROVIDER.signer_factory)(&self.alg.to_jsonwebtoken(), encoding)
            .map_err(|_| JwtError::Signing)?;
        let signature = signer
            .try_sign(signing_input)
            .map_err(|_| JwtError::Signing)?;
        Ok(b64(&signature))
    }

    /// Verifies a compact JWS with this one key and returns its header and
    /// payload (arbitrary bytes, not parsed as claims). A `kid` in the
    /// header must be this key's; the header's `alg` must be this key's
    /// algorithm. See [`KeySet::verify_jws`] for the rules.
    pub fn verify_jws(&self, token: &str) -> Result<VerifiedJws, JwtError> {
        let mut signature = [0; jws::SIGNATURE_BUFFER];
        let parts = jws::split(token, &mut signature)?;
        let header = if parts.header == self.encoded_header {
            None
        } else {
            let header = jws::parse_header(parts.header)?;
            if header.kid.as_deref().is_some_and(|kid| kid != self.kid) {
                return Err(JwtError::UnknownKey);
            }
            self.check_alg(&header.alg)?;
            Some(header)
        };
        self.verify_signature(parts.signing_input.as_bytes(), parts.signature)?;
        Ok(Accepted {
            key: self,
            header,
            payload: parts.payload,
        }
        .into_verified())
    }

    /// Checks `signature` over arbitrary bytes with this key's algorithm:
    /// the bare primitive, without any JWS parsing (for a token, use
    /// [`verify_jws`](Self::verify_jws)). HMAC tags are compared in
    /// constant time and must be full length.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), JwtError> {
        self.verify_signature(message, signature)
    }

    pub(crate) fn check_alg(&self, alg: &str) -> Result<(), JwtError> {
        if alg == self.alg.as_str() {
            Ok(())
        } else {
            Err(JwtError::Algorithm(alg.to_owned()))
        }
    }

    /// Checks `signature` over `signing_input` with this key's algorithm.
    pub(crate) fn verify_signature(
        &self,
        signing_input: &[u8],
        signature: &[u8],
    ) -> Result<(), JwtError> {
        if let Some(mac) = &self.mac {
            return if mac.verify(signing_input, signature) {
                Ok(())
            } else {
                Err(JwtError::Signature)
            };
        }
        // Called explicitly on the RustCrypto provider rather than through
        // `jsonwebtoken::crypto::verify`, which picks a process-wide
        // provider from crate features and panics when it cannot.
        let verifier =
            (DEFAULT_PROVIDER.verifier_factory)(&self.alg.to_jsonwebtoken(), &self.decoding)
                .map_err(|_| JwtError::Signature)?;
        // The provider's verifiers take a `Vec`; one copy is nothing beside
        // an RSA, ECDSA or EdDSA verification.
        verifier
            .verify(signing_input, &signature.to_vec())
            .map_err(|_| JwtError::Signature)
    }

    pub(crate) fn encoded_header(&self) -> &str {
        &self.encoded_header
    }

    /// The encoded header this key writes with another `typ` (RFC 9068's
    /// `at+jwt`): `{"alg":...,"kid":...,"typ":...}`, as base64url.
    pub(crate) fn encoded_header_with_typ(&self, typ: &str) -> String {
        encoded_header(self.alg, &self.kid, typ)
    }
}

/// An HMAC key whose inner and outer pads are hashed once, when the key is
/// made, and cloned for each use: the same `hmac`/`sha2` calls jsonwebtoken's
/// RustCrypto provider makes, without re-keying on every token.
#[derive(Clone)]
enum MacKey {
    Sha256(Hmac<Sha256>),
    Sha384(Hmac<Sha384>),
    Sha512(Hmac<Sha512>),
}

impl MacKey {
    fn new(alg: Algorithm, secret: &[u8]) -> Result<Self, JwtError> {
        let invalid = |_| key_error("invalid HMAC key");
        Ok(match alg {
            Algorithm::HS256 => MacKey::Sha256(Hmac::new_from_slice(secret).map_err(invalid)?),
            Algorithm::HS384 => MacKey::Sha384(Hmac::new_from_slice(secret).map_err(invalid)?),
            Algorithm::HS512 => MacKey::Sha512(Hmac::new_from_slice(secret).map_err(invalid)?),
            Algorithm::RS256 | Algorithm::ES256 | Algorithm::EdDSA => {
                return Err(key_error(format!("{alg} is not an HMAC algorithm")));
            }
        })
    }

    fn tag(&self, message: &[u8]) -> Vec<u8> {
        fn tag<M: Mac + Clone>(mac: &M, message: &[u8]) -> Vec<u8> {
            let mut mac = mac.clone();
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        }
        match self {
            MacKey::Sha256(mac) => tag(mac, message),
            MacKey::Sha384(mac) => tag(mac, message),
            MacKey::Sha512(mac) => tag(mac, message),
        }
    }

    /// Compares in constant time (`verify_slice`); a truncated tag fails.
    fn verify(&self, message: &[u8], tag: &[u8]) -> bool {
        fn verify<M: Mac + Clone>(mac: &M, message: &[u8], tag: &[u8]) -> bool {
            let mut mac = mac.clone();
            mac.update(message);
            mac.verify_slice(tag).is_ok()
        }
        match self {
            MacKey::Sha256(mac) => verify(mac, message, tag),
            MacKey::Sha384(mac) => verify(mac, message, tag),
            MacKey::Sha512(mac) => verify(mac, message, tag),
        }
    }
}

fn check_can_sign(key: &JwtKey) -> Result<(), JwtError> {
    if key.can_sign() {
        Ok(())
    } else {
        Err(key_error(format!(
            "key {:?} is verification-only and cannot be the signing key",
            key.kid
        )))
    }
}

fn check_kid(kid: &str) -> Result<(), JwtError> {
    if kid.is_empty() || kid.len() > 256 {
        Err(key_error("a kid has 1 to 256 bytes"))
    } else {
        Ok(())
    }
}

fn encoded_header(alg: Algorithm, kid: &str, typ: &str) -> String {
    #[derive(Serialize)]
    struct Header<'a> {
        alg: &'static str,
        kid: &'a str,
        typ: &'a str,
    }
    let json = serde_json::to_vec(&Header {
        alg: alg.as_str(),
        kid,
        typ,
    })
    .unwrap_or_default();
    b64(&json)
}

/// The label of the first PEM block (`PRIVATE KEY`, `PUBLIC KEY`, ...).
fn pem_label(pem: &[u8]) -> Result<&str, JwtError> {
    let text = std::str::from_utf8(pem).map_err(|_| key_error("PEM is not text"))?;
    let start = text
        .find("-----BEGIN ")
        .ok_or_else(|| key_error("no PEM block"))?
        + "-----BEGIN ".len();
    let rest = text.get(start..).unwrap_or_default();
    let end = rest
        .find("-----")
        .ok_or_else(|| key_error("no PEM block"))?;
    Ok(rest.get(..end).unwrap_or_default())
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    bytes.get(first..).unwrap_or_default()
}

/// Validates the material, builds both keys once, derives the kid.
fn build(
    alg: Algorithm,
    material: Material,
    encoding: Option<EncodingKey>,
    kid: Option<String>,
) -> Result<JwtKey, JwtError> {
    // The RFC 7638 members in lexicographic order; every value is base64url
    // or a fixed name, so no JSON escaping is needed.
    let (decoding, thumbprint_input, public) = match &material {
        Material::Oct(secret) => (
            DecodingKey::from_secret(secret),
            format!(r#"{{"k":"{}","kty":"oct"}}"#, b64(secret)),
            None,
        ),
        Material::Rsa { n, e } => {
            let n = strip_leading_zeros(n);
            let e = strip_leading_zeros(e);
            // The first byte is not zero once stripped, so this cannot underflow.
            let bits = n
                .first()
                .map_or(0, |first| n.len() * 8 - first.leading_zeros() as usize);
            if !(2048..=4096).contains(&bits) {
                return Err(key_error(format!(
                    "RS256 needs an RSA key of 2048 to 4096 bits, got {bits}"
                )));
            }
            let exponent_ok =
                (1..=4).contains(&e.len()) && e.last().is_some_and(|b| b & 1 == 1) && e != [1];
            if !exponent_ok {
                return Err(key_error("invalid RSA public exponent"));
            }
            let (n, e) = (b64(n), b64(e));
            let input = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
            let decoding = DecodingKey::from_rsa_components(&n, &e)
                .map_err(|_| key_error("invalid RSA key"))?;
            let public = PublicJwk {
                kty: "RSA".into(),
                n: Some(n),
                e: Some(e),
                ..public_jwk_base(alg)
            };
            (decoding, input, Some(public))
        }
        Material::Ec { x, y } => {
            if x.len() != 32 || y.len() != 32 {
                return Err(key_error("a P-256 coordinate has 32 bytes"));
            }
            let (x, y) = (b64(x), b64(y));
            let input = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
            let decoding = DecodingKey::from_ec_components(&x, &y)
                .map_err(|_| key_error("invalid P-256 key"))?;
            let public = PublicJwk {
                kty: "EC".into(),
                crv: Some("P-256".into()),
                x: Some(x),
                y: Some(y),
                ..public_jwk_base(alg)
            };
            (decoding, input, Some(public))
        }
        Material::Okp { x } => {
            // Checked here: the verifier slices the first 32 bytes.
            if x.len() != 32 {
                return Err(key_error("an Ed25519 public key has 32 bytes"));
            }
            let x = b64(x);
            let input = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
            let decoding = DecodingKey::from_ed_components(&x)
                .map_err(|_| key_error("invalid Ed25519 key"))?;
            let public = PublicJwk {
                kty: "OKP".into(),
                crv: Some("Ed25519".into()),
                x: Some(x),
                ..public_jwk_base(alg)
            };
            (decoding, input, Some(public))
        }
    };
    // Parse the key once now, so a bad key fails here and not per request.
    let jwt_alg = alg.to_jsonwebtoken();
    (DEFAULT_PROVIDER.verifier_factory)(&jwt_alg, &decoding)
        .map_err(|e| key_error(format!("unusable {alg} verification key: {e}")))?;
    if let Some(encoding) = &encoding {
        (DEFAULT_PROVIDER.signer_factory)(&jwt_alg, encoding)
            .map_err(|e| key_error(format!("unusable {alg} signing key: {e}")))?;
    }
    let thumbprint = b64(&Sha256::digest(thumbprint_input.as_bytes()));
    let key = JwtKey {
        encoded_header: encoded_header(alg, &thumbprint, "JWT"),
        kid: thumbprint.clone(),
        alg,
        mac: match &material {
            Material::Oct(secret) => Some(MacKey::new(alg, secret)?),
            _ => None,
        },
        encoding,
        decoding,
        public: public.map(|public| PublicJwk {
            kid: thumbprint,
            ..public
        }),
    };
    match kid {
        Some(kid) => key.with_kid(kid),
        None => Ok(key),
    }
}

fn public_jwk_base(alg: Algorithm) -> PublicJwk {
    PublicJwk {
        kty: String::new(),
        use_: "sig".into(),
        alg: alg.as_str().into(),
        kid: String::new(),
        crv: None,
        n: None,
        e: None,
        x: None,
        y: None,
    }
}

/// The keys in use: one active signing key, plus any number of
/// verification-only keys (keys being rotated out, or a new key published
/// ahead of its use), so keys rotate without logging anyone out.
///
/// Verification picks the key by the token's `kid`; a token with no `kid`
/// (simplejwt's tokens have none) is tried against every key of the
/// signing key's algorithm. Either way the header's `alg` must be the
/// chosen key's algorithm.
///
/// ```
/// use auth_core::token::jwt::{Algorithm, JwtKey, KeySet};
/// let old = JwtKey::hmac(Algorithm::HS256, [1u8; 32])?.with_kid("old")?;
/// let new = JwtKey::hmac(Algorithm::HS256, [2u8; 32])?.with_kid("new")?;
/// let mut keys = KeySet::new(old)?;
/// keys.rotate(new)?; // "new" signs from now on, "old" still verifies
/// assert_eq!(keys.signing_key().kid(), "new");
/// assert!(keys.get("old").is_some());
/// keys.remove("old"); // tokens signed with "old" now fail
/// assert!(keys.get("old").is_none());
/// assert!(keys.jwks().keys.is_empty()); // HMAC keys are never published
/// # Ok::<(), auth_core::token::jwt::JwtError>(())
/// ```
#[derive(Debug, Clone)]
pub struct KeySet {
    signing: JwtKey,
    /// Verification-only keys, most recently retired first.
    verification: Vec<JwtKey>,
}

impl KeySet {
    /// A set whose active signing key is `signing` (it must be able to sign).
    pub fn new(signing: JwtKey) -> Result<Self, JwtError> {
        check_can_sign(&signing)?;
        Ok(Self {
            signing,
            verification: Vec::new(),
        })
    }

    /// Adds a verification-only key (builder form of
    /// [`add_verification_key`](Self::add_verification_key)).
    pub fn with_verification_key(mut self, key: JwtKey) -> Result<Self, JwtError> {
        self.add_verification_key(key)?;
        Ok(self)
    }

    /// Adds a key that verifies but never signs. Its `kid` must be new.
    pub fn add_verification_key(&mut self, key: JwtKey) -> Result<(), JwtError> {
        self.check_new_kid(&key)?;
        self.verification.push(key);
        Ok(())
    }

    /// Makes `signing` the active signing key; the previous one stays as a
    /// verification key, so the tokens it signed keep working until it is
    /// [`remove`](Self::remove)d. Its `kid` must be new.
    pub fn rotate(&mut self, signing: JwtKey) -> Result<(), JwtError> {
        check_can_sign(&signing)?;
        self.check_new_kid(&signing)?;
        let retired = std::mem::replace(&mut self.signing, signing);
        self.verification.insert(0, retired);
        Ok(())
    }

    /// Removes the verification key `kid`; tokens it signed fail from then
    /// on. The active signing key is never removed (`None` for it, as for an
    /// unknown kid): [`rotate`](Self::rotate) first.
    pub fn remove(&mut self, kid: &str) -> Option<JwtKey> {
        let index = self.verification.iter().position(|key| key.kid == kid)?;
        Some(self.verification.remove(index))
    }

    /// The active signing key.
    pub fn signing_key(&self) -> &JwtKey {
        &self.signing
    }

    /// The signing key's algorithm: the one kid-less tokens must use.
    pub fn algorithm(&self) -> Algorithm {
        self.signing.alg
    }

    /// The key with this `kid`, if any.
    pub fn get(&self, kid: &str) -> Option<&JwtKey> {
        self.iter().find(|key| key.kid == kid)
    }

    /// Every key, the signing key first.
    pub fn iter(&self) -> impl Iterator<Item = &JwtKey> {
        std::iter::once(&self.signing).chain(&self.verification)
    }

    fn check_new_kid(&self, key: &JwtKey) -> Result<(), JwtError> {
        match self.get(&key.kid) {
            Some(_) => Err(key_error(format!("duplicate kid {:?}", key.kid))),
            None => Ok(()),
        }
    }

    /// The public keys as a JWK Set, the signing key first; HMAC keys are
    /// left out.
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self.iter().filter_map(|key| key.public.clone()).collect(),
        }
    }

    /// Verifies a compact JWS (RFC 7515, RFC 8725) and returns its header and
    /// payload, which is not parsed: arbitrary bytes.
    ///
    /// The token must be exactly three parts of strict unpadded base64url;
    /// the header a JSON object with a string `alg`; no `crit` (no extension
    /// is understood). The key is chosen by `kid`, or without one among the
    /// keys of the signing key's algorithm; the header's `alg` must equal
    /// the key's algorithm (so `none` always fails), and only then is the
    /// signature checked, over the token's own `header.payload` text. The
    /// JSON serialization is refused as [`JwtError::Unsupported`].
    pub fn verify_jws(&self, token: &str) -> Result<VerifiedJws, JwtError> {
        self.accept(token).map(Accepted::into_verified)
    }

    /// [`verify_jws`](Self::verify_jws), keeping the key and the header as
    /// they are.
    pub(crate) fn accept(&self, token: &str) -> Result<Accepted<'_>, JwtError> {
        let mut signature = [0; jws::SIGNATURE_BUFFER];
        let parts = jws::split(token, &mut signature)?;
        let input = parts.signing_input.as_bytes();
        // The exact header one of these keys writes (every token issued
        // here): nothing to decode, and alg and kid are that key's.
        if let Some(key) = self.iter().find(|key| key.encoded_header == parts.header) {
            key.verify_signature(input, parts.signature)?;
            return Ok(Accepted {
                key,
                header: None,
                payload: parts.payload,
            });
        }
        let header = jws::parse_header(parts.header)?;
        let key = match header.kid.as_deref() {
            Some(kid) => {
                let key = self.get(kid).ok_or(JwtError::UnknownKey)?;
                key.check_alg(&header.alg)?;
                key.verify_signature(input, parts.signature)?;
                key
            }
            None => {
                let alg = self.algorithm();
                if header.alg != alg.as_str() {
                    return Err(JwtError::Algorithm(header.alg));
                }
                self.iter()
                    .filter(|key| key.alg == alg)
                    .find(|key| key.verify_signature(input, parts.signature).is_ok())
                    .ok_or(JwtError::Signature)?
            }
        };
        Ok(Accepted {
            key,
            header: Some(header),
            payload: parts.payload,
        })
    }
}

/// A JWS whose signature verified with `key`.
pub(crate) struct Accepted<'k> {
    pub(crate) key: &'k JwtKey,
    /// `None` when the header was byte for byte the one `key` writes
    /// (`{"alg":...,"kid":...,"typ":"JWT"}`), so it was not parsed again.
    pub(crate) header: Option<CheckedHeader>,
    pub(crate) payload: Vec<u8>,
}

impl Accepted<'_> {
    /// The header's `typ`.
    pub(crate) fn typ(&self) -> Option<&str> {
        match &self.header {
            None => Some("JWT"),
            Some(header) => header.typ.as_deref(),
        }
    }

    pub(crate) fn into_verified(self) -> VerifiedJws {
        let (kid, typ) = match self.header {
            None => (Some(self.key.kid().to_owned()), Some("JWT".to_owned())),
            Some(header) => (header.kid, header.typ),
        };
        VerifiedJws {
            header: JwsHeader {
                alg: self.key.algorithm(),
                kid,
                typ,
            },
            payload: self.payload,
        }
    }
}
