//! Single-use tokens for emailed links (account activation and password
//! reset), made like Django's `PasswordResetTokenGenerator`.
//!
//! Nothing is stored. A token is `<timestamp>-<mac>`: the creation time in
//! base 36 and an HMAC-SHA256, under a key derived from the server secret
//! and the token's purpose, over the user's id, password hash, last login,
//! email and active flag plus that timestamp. It is valid until its timeout
//! (inclusive) and void as soon as any of those fields changes: resetting
//! the password changes the hash, logging in changes the last login, and
//! activating changes the active flag, so each link works once.

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::secret::SecretKey;
use crate::user::{User, UserId};

type HmacSha256 = Hmac<Sha256>;

/// What a link token is for; a token made for one purpose never passes
/// for the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Activating a newly registered account.
    Activation,
    /// Resetting a forgotten password.
    PasswordReset,
}

impl Purpose {
    fn key_salt(self) -> &'static [u8] {
        match self {
            Purpose::Activation => b"auth-core.link-token.activation",
            Purpose::PasswordReset => b"auth-core.link-token.password-reset",
        }
    }
}

/// Makes and checks link tokens with a server secret.
#[derive(Clone)]
pub struct LinkTokens {
    activation_key: [u8; 32],
    reset_key: [u8; 32],
}

impl std::fmt::Debug for LinkTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkTokens([redacted])")
    }
}

/// Number of MAC bytes in a token (128 bits, hex encoded).
const MAC_BYTES: usize = 16;

impl LinkTokens {
    /// Token maker keyed by `secret`.
    pub fn new(secret: &SecretKey) -> Self {
        let derive = |purpose: Purpose| -> [u8; 32] {
            let mut mac = HmacSha256::new_from_slice(purpose.key_salt())
                .expect("HMAC accepts keys of any length");
            mac.update(secret.expose());
            mac.finalize().into_bytes().into()
        };
        Self {
            activation_key: derive(Purpose::Activation),
            reset_key: derive(Purpose::PasswordReset),
        }
    }

    fn mac(&self, purpose: Purpose, user: &User, timestamp: i64) -> [u8; MAC_BYTES] {
        let key = match purpose {
            Purpose::Activation => &self.activation_key,
            Purpose::PasswordReset => &self.reset_key,
        };
        let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
        // Length-prefix every field so no two different states hash alike.
        let mut field = |bytes: &[u8]| {
            mac.update(&(bytes.len() as u64).to_be_bytes());
            mac.update(bytes);
        };
        field(user.id.as_bytes());
        field(user.password_hash.as_deref().unwrap_or("").as_bytes());
        field(
            user.last_login
                .map(|at| at.timestamp().to_string())
                .unwrap_or_default()
                .as_bytes(),
        );
        field(user.email.as_bytes());
        field(&[u8::from(user.is_active)]);
        // Verifying the email voids every link made before: an old
        // activation link cannot come back to life when staff deactivate
        // the account to the state it was sent in.
        field(&[u8::from(user.email_verified)]);
        field(&timestamp.to_be_bytes());
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; MAC_BYTES];
        out.copy_from_slice(&full[..MAC_BYTES]);
        out
    }

    /// A token for `user`'s current state, made at `now`.
    pub fn make(&self, purpose: Purpose, user: &User, now: DateTime<Utc>) -> String {
        let timestamp = now.timestamp();
        format!(
            "{}-{}",
            to_base36(timestamp.max(0) as u64),
            hex::encode(self.mac(purpose, user, timestamp))
        )
    }

    /// Whether `token` was made for `purpose` and `user`'s current state no
    /// longer than `timeout` ago (a token exactly `timeout` old still
    /// passes; one second later it does not). Compared in constant time.
    pub fn check(
        &self,
        purpose: Purpose,
        user: &User,
        token: &str,
        now: DateTime<Utc>,
        timeout: Duration,
    ) -> bool {
        let Some((ts, mac_hex)) = token.split_once('-') else {
            return false;
        };
        let Some(timestamp) = from_base36(ts) else {
            return false;
        };
        let Ok(timestamp) = i64::try_from(timestamp) else {
            return false;
        };
        let mut given = [0u8; MAC_BYTES];
        if mac_hex.len() != MAC_BYTES * 2 || hex::decode_to_slice(mac_hex, &mut given).is_err() {
            return false;
        }
        let expected = self.mac(purpose, user, timestamp);
        // Constant-time comparison of the MACs.
        if !bool::from(expected.ct_eq(&given)) {
            return false;
        }
        let age = now.timestamp() - timestamp;
        age >= 0 && age <= timeout.num_seconds()
    }
}

/// The `uid` part of an emailed link: the user id's 16 bytes in unpadded
/// base64url (22 characters), as Django's `urlsafe_base64_encode` does.
///
/// ```
/// use auth_core::link_token::{decode_uid, encode_uid};
/// use auth_core::UserId;
/// let id = UserId::new();
/// assert_eq!(decode_uid(&encode_uid(id)), Some(id));
/// assert_eq!(decode_uid("not a uid"), None);
/// ```
pub fn encode_uid(id: UserId) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.as_bytes())
}

/// Reads a `uid` made by [`encode_uid`]; `None` for anything else.
pub fn decode_uid(uid: &str) -> Option<UserId> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(uid.trim())
        .ok()?;
    let bytes: [u8; 16] = bytes.try_into().ok()?;
    Some(UserId(uuid::Uuid::from_bytes(bytes)))
}

fn to_base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    if n == 0 {
        return "0".into();
    }
    let mut out = Vec::new();
    while n > 0 {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

fn from_base36(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 13 {
        return None;
    }
    s.chars().try_fold(0u64, |acc, c| {
        acc.checked_mul(36)?.checked_add(u64::from(c.to_digit(36)?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (LinkTokens, User, DateTime<Utc>) {
        let tokens = LinkTokens::new(&SecretKey::from_bytes(vec![7u8; 32]).unwrap());
        let mut user = User::new_for_tests("ada", "ada@example.com");
        user.password_hash = Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into());
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        (tokens, user, now)
    }

    #[test]
    fn valid_until_exactly_the_timeout() {
        let (tokens, user, now) = setup();
        let token = tokens.make(Purpose::PasswordReset, &user, now);
        let timeout = Duration::hours(1);
        assert!(tokens.check(Purpose::PasswordReset, &user, &token, now, timeout));
        assert!(tokens.check(
            Purpose::PasswordReset,
            &user,
            &token,
            now + timeout,
            timeout
        ));
        assert!(!tokens.check(
            Purpose::PasswordReset,
            &user,
            &token,
            now + timeout + Duration::seconds(1),
            timeout
        ));
    }

    #[test]
    fn void_after_state_changes() {
        let (tokens, user, now) = setup();
        let token = tokens.make(Purpose::PasswordReset, &user, now);
        let timeout = Duration::hours(1);
        let check = |u: &User| tokens.check(Purpose::PasswordReset, u, &token, now, timeout);
        assert!(check(&user));
        let mut changed = user.clone();
        changed.password_hash = Some("$argon2id$other".into());
        assert!(!check(&changed), "password change voids it");
        let mut changed = user.clone();
        changed.email = "ada@elsewhere.example".into();
        assert!(!check(&changed), "email change voids it");
        let mut changed = user.clone();
        changed.last_login = Some(now);
        assert!(!check(&changed), "a login voids it");
        let mut changed = user.clone();
        changed.is_active = !user.is_active;
        assert!(!check(&changed), "activation voids it");
        let mut changed = user.clone();
        changed.email_verified = !user.email_verified;
        assert!(!check(&changed), "verifying the email voids it");
    }

    #[test]
    fn purposes_and_users_do_not_mix() {
        let (tokens, user, now) = setup();
        let token = tokens.make(Purpose::Activation, &user, now);
        let timeout = Duration::days(3);
        assert!(tokens.check(Purpose::Activation, &user, &token, now, timeout));
        assert!(!tokens.check(Purpose::PasswordReset, &user, &token, now, timeout));
        let other = User::new_for_tests("bob", "bob@example.com");
        assert!(!tokens.check(Purpose::Activation, &other, &token, now, timeout));
        let other_secret = LinkTokens::new(&SecretKey::from_bytes(vec![8u8; 32]).unwrap());
        assert!(!other_secret.check(Purpose::Activation, &user, &token, now, timeout));
    }

    #[test]
    fn malformed_tokens_fail_without_panicking() {
        let (tokens, user, now) = setup();
        let good = tokens.make(Purpose::Activation, &user, now);
        let (ts, mac) = good.split_once('-').unwrap();
        for bad in [
            String::new(),
            "-".into(),
            format!("{ts}-"),
            format!("-{mac}"),
            format!("{ts}-{}", &mac[..30]),
            format!("{ts}-{mac}00"),
            format!("zzzzzzzzzzzzzz-{mac}"),
            format!("{ts}-{}", "g".repeat(32)),
            format!("{}-{mac}", to_base36(now.timestamp() as u64 + 1)),
            "ü-ü".into(),
        ] {
            assert!(
                !tokens.check(Purpose::Activation, &user, &bad, now, Duration::days(3)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn base36_round_trips() {
        for n in [0, 1, 35, 36, 1_800_000_000, u64::MAX] {
            assert_eq!(from_base36(&to_base36(n)), Some(n));
        }
    }
}
