//! The [`PasswordHasher`] trait and [`Argon2idHasher`], its implementation.

use std::fmt;
use std::sync::OnceLock;

use argon2::{Algorithm, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;

use super::argon2_phc::{Argon2Found, Argon2Params, argon2_into, verify_argon2_phc};
use super::{PasswordError, django};

/// Hashes new passwords and verifies stored hashes.
///
/// The trait is object safe; the service holds it as
/// `Arc<dyn PasswordHasher>` inside [`Passwords`](super::Passwords), which
/// runs it on threads of its own. Every method is CPU-bound and may take tens
/// of milliseconds: do not call them on an async worker thread.
///
/// Implementations must never panic on a malformed `encoded` string: it comes
/// from a database row and may be anything.
pub trait PasswordHasher: fmt::Debug + Send + Sync + 'static {
    /// Hashes `password` with a fresh random salt under the current
    /// parameters, returning the string to store.
    fn hash(&self, password: &str) -> Result<String, PasswordError>;

    /// Checks `password` against a stored hash. A malformed or unknown format
    /// gives [`Verification::FAILED`], and should cost what a verification
    /// costs (verify against [`dummy_hash`](Self::dummy_hash)), so that an
    /// account whose hash cannot verify (Django's unusable `!...`, say) is
    /// not told apart by timing.
    fn verify(&self, password: &str, encoded: &str) -> Verification;

    /// A hash of a random password under the current parameters, computed
    /// once. Verifying against it costs what verifying a real password costs,
    /// so an unknown user is not told apart by timing.
    fn dummy_hash(&self) -> &str;
}

/// The result of [`PasswordHasher::verify`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[must_use]
pub struct Verification {
    /// The password matches the hash.
    pub ok: bool,
    /// Only meaningful when `ok`: the hash is not in the current format with
    /// the current parameters, so the caller should store a new hash of the
    /// (now known good) password.
    pub needs_rehash: bool,
}

impl Verification {
    /// A failed verification (wrong password, malformed or unknown hash).
    pub const FAILED: Self = Self {
        ok: false,
        needs_rehash: false,
    };

    /// A successful verification.
    pub const fn matched(needs_rehash: bool) -> Self {
        Self {
            ok: true,
            needs_rehash,
        }
    }
}

/// The salt length of new hashes, in bytes.
const SALT_LEN: usize = 16;

/// Hashes new passwords with Argon2id (RFC 9106) as PHC strings, and
/// verifies Argon2 PHC strings and Django's hash formats (see
/// [`django`](super::django)).
///
/// `needs_rehash` is set for every successful verification of a hash that is
/// not an Argon2id (v=19) PHC string with exactly this hasher's parameters
/// and a 32-byte output; Django's formats therefore always need a rehash.
///
/// `Debug` prints the parameters and never the dummy hash.
pub struct Argon2idHasher {
    params: Argon2Params,
    argon2: Params,
    dummy: OnceLock<String>,
}

impl fmt::Debug for Argon2idHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Argon2idHasher")
            .field("params", &self.params)
            .field("dummy_hash", &"[redacted]")
            .finish()
    }
}

impl Default for Argon2idHasher {
    /// OWASP's parameters, see [`Argon2Params::default`].
    fn default() -> Self {
        let params = Argon2Params::default();
        Self {
            // The defaults are valid; argon2's own default is the same costs.
            argon2: params.to_argon2().unwrap_or(Params::DEFAULT),
            params,
            dummy: OnceLock::new(),
        }
    }
}

impl Argon2idHasher {
    /// A hasher with the given parameters, checked as
    /// [`Argon2Params::new`] checks them.
    pub fn new(params: Argon2Params) -> Result<Self, PasswordError> {
        Ok(Self {
            argon2: params.to_argon2()?,
            params,
            dummy: OnceLock::new(),
        })
    }

    /// The parameters new hashes use.
    pub fn params(&self) -> Argon2Params {
        self.params
    }

    fn hash_with_salt(&self, password: &[u8], salt: &[u8]) -> Result<String, PasswordError> {
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        argon2_into(
            Algorithm::Argon2id,
            Version::V0x13,
            self.argon2.clone(),
            password,
            salt,
            &mut out,
        )?;
        Ok(self.encode(salt, &out))
    }

    fn encode(&self, salt: &[u8], hash: &[u8]) -> String {
        let Argon2Params {
            m_cost_kib,
            t_cost,
            p_cost,
        } = self.params;
        format!(
            "$argon2id$v=19$m={m_cost_kib},t={t_cost},p={p_cost}${}${}",
            STANDARD_NO_PAD.encode(salt),
            STANDARD_NO_PAD.encode(hash)
        )
    }

    /// True when a verified Argon2 hash was made exactly as this hasher
    /// makes new ones.
    fn is_current(&self, found: &Argon2Found) -> bool {
        found.algorithm == Algorithm::Argon2id
            && found.version == Version::V0x13
            && found.params.m_cost() == self.params.m_cost_kib
            && found.params.t_cost() == self.params.t_cost
            && found.params.p_cost() == self.params.p_cost
            && found.params.data().is_empty()
            && found.output_len == Params::DEFAULT_OUTPUT_LEN
    }
}

impl PasswordHasher for Argon2idHasher {
    fn hash(&self, password: &str) -> Result<String, PasswordError> {
        let mut salt = [0u8; SALT_LEN];
        fill_random(&mut salt)?;
        self.hash_with_salt(password.as_bytes(), &salt)
    }

    fn verify(&self, password: &str, encoded: &str) -> Verification {
        // `Some(needs_rehash)` on a match; `None` when the hash was checked
        // and did not match.
        let checked = if encoded.starts_with('$') {
            verify_argon2_phc(password.as_bytes(), encoded)
                .map(|found| found.ok.then(|| !self.is_current(&found)))
        } else {
            django::check(password, encoded).map(|ok| ok.then_some(true))
        };
        match checked {
            Some(Some(needs_rehash)) => Verification::matched(needs_rehash),
            Some(None) => Verification::FAILED,
            // Nothing was computed: pay what a verification costs.
            None => {
                let dummy = verify_argon2_phc(password.as_bytes(), self.dummy_hash());
                let _ = std::hint::black_box(dummy);
                Verification::FAILED
            }
        }
    }

    fn dummy_hash(&self) -> &str {
        self.dummy.get_or_init(|| {
            let mut bytes = [0u8; 32 + SALT_LEN];
            // The dummy only has to cost what a real verification costs; its
            // result is always ignored, so a failing RNG (all zeros) is fine.
            let _ = fill_random(&mut bytes);
            let (secret, salt) = bytes.split_at(32);
            let password = STANDARD_NO_PAD.encode(secret);
            // If even hashing fails, a string with the right parameters still
            // makes a verification do the full work (and fail).
            self.hash_with_salt(password.as_bytes(), salt)
                .unwrap_or_else(|_| self.encode(salt, &[0u8; Params::DEFAULT_OUTPUT_LEN]))
        })
    }
}

/// A failure of the OS random number generator.
#[derive(Debug)]
struct RngFailure(getrandom::Error);

impl fmt::Display for RngFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for RngFailure {}

fn fill_random(buf: &mut [u8]) -> Result<(), PasswordError> {
    getrandom::fill(buf).map_err(|err| PasswordError::Rng(Box::new(RngFailure(err))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::{Argon2, AssociatedData, ParamsBuilder};

    fn fast() -> Argon2idHasher {
        Argon2idHasher::new(Argon2Params::new(64, 1, 1).unwrap()).unwrap()
    }

    /// How many Argon2 computations `f` runs on this thread.
    fn argon2_runs(f: impl FnOnce()) -> u64 {
        let before = super::super::argon2_phc::ARGON2_RUNS.with(std::cell::Cell::get);
        f();
        super::super::argon2_phc::ARGON2_RUNS.with(std::cell::Cell::get) - before
    }

    #[test]
    fn a_hash_that_cannot_verify_costs_one_verification() {
        let hasher = fast();
        let real = hasher.hash("pw").unwrap();
        let _ = hasher.dummy_hash();
        assert_eq!(
            argon2_runs(|| assert!(!hasher.verify("px", &real).ok)),
            1,
            "a wrong password: one Argon2 run"
        );
        for unusable in [
            // Django's unusable password, as imported from a Django database.
            "!Xk3bA0xq9ZyWcT1dEfGhIjKlMnOpQrStUvWxYz01",
            "!",
            "",
            "$argon2id$v=19$m=64,t=1,p=1$not-a-salt",
            "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
            "pbkdf2_sha256$0$salt$hash",
            "md5$salt$0123456789abcdef",
            "unknown",
        ] {
            assert_eq!(
                argon2_runs(|| assert_eq!(hasher.verify("pw", unusable), Verification::FAILED)),
                1,
                "{unusable:?} cannot verify and still costs one verification"
            );
        }
    }

    /// RFC 9106, section 5.3: the Argon2id test vector.
    #[test]
    fn rfc9106_argon2id_test_vector() {
        let params = ParamsBuilder::new()
            .m_cost(32)
            .t_cost(3)
            .p_cost(4)
            .data(AssociatedData::new(&[0x04; 12]).unwrap())
            .output_len(32)
            .build()
            .unwrap();
        let argon2 =
            Argon2::new_with_secret(&[0x03; 8], Algorithm::Argon2id, Version::V0x13, params)
                .unwrap();
        let mut tag = [0u8; 32];
        argon2
            .hash_password_into(&[0x01; 32], &[0x02; 16], &mut tag)
            .unwrap();
        assert_eq!(
            tag,
            [
                0x0d, 0x64, 0x0d, 0xf5, 0x8d, 0x78, 0x76, 0x6c, 0x08, 0xc0, 0x37, 0xa3, 0x4a, 0x8b,
                0x53, 0xc9, 0xd0, 0x1e, 0xf0, 0x45, 0x2d, 0x75, 0xb6, 0x5e, 0xb5, 0x25, 0x20, 0xe9,
                0x6b, 0x01, 0xe6, 0x59,
            ]
        );
    }

    #[test]
    fn default_params_are_owasps() {
        let hasher = Argon2idHasher::default();
        assert_eq!(hasher.params(), Argon2Params::new(19_456, 2, 1).unwrap());
        assert_eq!(hasher.argon2, Argon2Params::default().to_argon2().unwrap());
    }

    #[test]
    fn hashes_round_trip_as_phc_strings() {
        let hasher = fast();
        let encoded = hasher.hash("s3cret pässword").unwrap();
        let parts: Vec<&str> = encoded.split('$').collect();
        assert_eq!(parts[..4], ["", "argon2id", "v=19", "m=64,t=1,p=1"]);
        assert_eq!(STANDARD_NO_PAD.decode(parts[4]).unwrap().len(), 16);
        assert_eq!(STANDARD_NO_PAD.decode(parts[5]).unwrap().len(), 32);
        assert_eq!(
            hasher.verify("s3cret pässword", &encoded),
            Verification::matched(false)
        );
        assert_eq!(
            hasher.verify("s3cret passwort", &encoded),
            Verification::FAILED
        );
        assert_eq!(hasher.verify("", &encoded), Verification::FAILED);
        // Fresh salt every time.
        assert_ne!(encoded, hasher.hash("s3cret pässword").unwrap());
    }

    #[test]
    fn long_passwords_are_not_truncated() {
        let hasher = fast();
        let long = "a".repeat(4096);
        let encoded = hasher.hash(&long).unwrap();
        assert!(hasher.verify(&long, &encoded).ok);
        let mut other = long.clone();
        other.push('a');
        assert!(!hasher.verify(&other, &encoded).ok);
        assert!(!hasher.verify(&long[..4095], &encoded).ok);
    }

    #[test]
    fn other_params_need_a_rehash() {
        let old = fast();
        let new = Argon2idHasher::new(Argon2Params::new(128, 1, 1).unwrap()).unwrap();
        let encoded = old.hash("pw").unwrap();
        assert_eq!(new.verify("pw", &encoded), Verification::matched(true));
        assert_eq!(new.verify("px", &encoded), Verification::FAILED);
        for (t, p) in [(2, 1), (1, 2)] {
            let other = Argon2idHasher::new(Argon2Params::new(64, t, p).unwrap()).unwrap();
            assert_eq!(other.verify("pw", &encoded), Verification::matched(true));
        }
    }

    /// Hashes made elsewhere: Argon2i/Argon2d, version 0x10, other output
    /// lengths. They verify and need a rehash.
    #[test]
    fn other_argon2_variants_verify_and_need_a_rehash() {
        let hasher = fast();
        let salt = b"somesaltsomesalt";
        for (algorithm, version, out_len) in [
            (Algorithm::Argon2i, Version::V0x13, 32),
            (Algorithm::Argon2d, Version::V0x13, 32),
            (Algorithm::Argon2id, Version::V0x10, 32),
            (Algorithm::Argon2id, Version::V0x13, 16),
        ] {
            let params = Params::new(64, 1, 1, Some(out_len)).unwrap();
            let mut out = vec![0u8; out_len];
            argon2_into(algorithm, version, params, b"pw", salt, &mut out).unwrap();
            let v = if version == Version::V0x13 {
                "v=19$"
            } else {
                ""
            };
            let encoded = format!(
                "${}${v}m=64,t=1,p=1${}${}",
                algorithm.as_str(),
                STANDARD_NO_PAD.encode(salt),
                STANDARD_NO_PAD.encode(&out)
            );
            assert_eq!(
                hasher.verify("pw", &encoded),
                Verification::matched(true),
                "{encoded}"
            );
            assert!(!hasher.verify("pW", &encoded).ok);
        }
    }

    #[test]
    fn malformed_hashes_fail_without_panicking() {
        let hasher = fast();
        let good = hasher.hash("pw").unwrap();
        let mut inputs: Vec<String> = [
            "",
            "$",
            "$$$$",
            "$argon2id$",
            "$argon2id$v=19$",
            "$argon2id$v=19$m=64,t=1,p=1$",
            "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ",
            "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$",
            "$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHQ$c2FsdHNhbHRzYWx0c2FsdA",
            "$argon2x$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$c2FsdHNhbHRzYWx0c2FsdA",
            "$argon2id$v=19$m=1,t=1,p=1$c2FsdHNhbHQ$c2FsdHNhbHRzYWx0c2FsdA",
            "$argon2id$v=19$m=64,t=0,p=1$c2FsdHNhbHQ$c2FsdHNhbHRzYWx0c2FsdA",
            "$argon2id$v=19$m=64,t=1,p=0$c2FsdHNhbHQ$c2FsdHNhbHRzYWx0c2FsdA",
            // Costs beyond the caps are refused before any work is done.
            "$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHQ$c2FsdHNhbHRzYWx0c2FsdA",
            "$argon2id$v=19$m=65536,t=4294967295,p=1$c2FsdHNhbHQ$c2FsdHNhbHRzYWx0c2FsdA",
            "$argon2id$v=19$m=1048576,t=5,p=1$c2FsdHNhbHQ$c2FsdHNhbHRzYWx0c2FsdA",
            "$argon2id$v=19$m=65536,t=1,p=16777215$c2FsdHNhbHQ$c2FsdHNhbHRzYWx0c2FsdA",
            // A key id needs a secret we do not hold.
            "$argon2id$v=19$m=64,t=1,p=1,keyid=AAAA$c2FsdHNhbHQ$c2FsdHNhbHRzYWx0c2FsdA",
            // Salt shorter than argon2's 8-byte minimum.
            "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$c2FsdHNhbHRzYWx0c2FsdA",
            "$argon2id$v=19$m=64,t=1,p=1$!!!!!!!!$c2FsdHNhbHRzYWx0c2FsdA",
            "argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$c2FsdHNhbHRzYWx0c2FsdA",
            "$2b$12$s/07HNMvSLCMi9ulJF9OGOkOIsabX17lIZxhoMuEhlWwLYwAZD2va",
            "pbkdf2_sha256$notanumber$x$y",
            "md5$salt$hash",
            "!unusable",
            "$argon2id$v=19$m=64,t=1,p=1$ü$ü",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for cut in 0..good.len() {
            inputs.push(good[..cut].to_string());
        }
        inputs.push(format!("{good}A"));
        inputs.push(good.replace("argon2id", "argon2i"));
        for input in &inputs {
            assert_eq!(
                hasher.verify("pw", input),
                Verification::FAILED,
                "{input:?}"
            );
        }
    }

    #[test]
    fn params_are_validated() {
        assert!(Argon2Params::new(8, 1, 1).is_ok());
        assert!(Argon2Params::new(7, 1, 1).is_err());
        assert!(Argon2Params::new(64, 0, 1).is_err());
        assert!(Argon2Params::new(64, 1, 0).is_err());
        assert!(Argon2Params::new(64, 1, 9).is_err()); // fewer than 8 KiB per lane
        assert!(Argon2Params::new(Argon2Params::MAX_M_COST_KIB + 1, 1, 1).is_err());
        assert!(Argon2Params::new(1 << 20, 4, 1).is_ok());
        assert!(Argon2Params::new(1 << 20, 5, 1).is_err());
        assert!(Argon2Params::new(4096, 1, 256).is_err());
        let bad = Argon2Params {
            m_cost_kib: 0,
            t_cost: 1,
            p_cost: 1,
        };
        assert!(matches!(
            Argon2idHasher::new(bad),
            Err(PasswordError::InvalidParams(_))
        ));
    }

    #[test]
    fn dummy_hash_uses_current_params_and_is_computed_once() {
        let hasher = fast();
        let dummy = hasher.dummy_hash();
        assert!(dummy.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(std::ptr::eq(dummy, hasher.dummy_hash()));
        assert!(!hasher.verify("", dummy).ok);
        let other = fast();
        assert_ne!(dummy, other.dummy_hash());
    }

    #[test]
    fn debug_redacts_the_dummy_hash() {
        let hasher = fast();
        let dummy = hasher.dummy_hash().to_string();
        let debug = format!("{hasher:?}");
        assert!(debug.contains("[redacted]"));
        assert!(!debug.contains(&dummy[30..]));
    }
}
