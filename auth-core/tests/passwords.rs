//! Passwords against what Django makes: the hashes of Django 5.2's
//! `make_password` (shared test vectors) and the messages of its validators.

use std::collections::BTreeSet;
use std::num::NonZeroUsize;
use std::sync::Arc;

use auth_core::password::{
    Argon2Params, Argon2idHasher, MaximumLength, PasswordHasher, PasswordPolicy, Passwords,
    UserAttributes, Verification,
};
use serde_json::Value;

const DJANGO_HASHES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/testvectors/django_hashes.json"
);

struct Vector {
    password: String,
    hasher: String,
    encoded: String,
}

fn django_vectors() -> Vec<Vector> {
    let text = std::fs::read_to_string(DJANGO_HASHES)
        .unwrap_or_else(|err| panic!("reading {DJANGO_HASHES}: {err}"));
    let json: Value = serde_json::from_str(&text).expect("valid JSON");
    json["vectors"]
        .as_array()
        .expect("a vectors array")
        .iter()
        .map(|v| Vector {
            password: v["password"].as_str().expect("password").to_string(),
            hasher: v["hasher"].as_str().expect("hasher").to_string(),
            encoded: v["encoded"].as_str().expect("encoded").to_string(),
        })
        .collect()
}

/// `password` with its last character replaced by a different one.
fn one_character_changed(password: &str) -> String {
    let mut chars: Vec<char> = password.chars().collect();
    let last = chars.last_mut().expect("non-empty password");
    *last = if *last == 'y' { 'z' } else { 'y' };
    chars.into_iter().collect()
}

/// Every supported vector verifies for its own password (needing a rehash)
/// and for no other password in the file, nor its own with one character
/// changed. The 100-odd expensive verifications (PBKDF2 with 1,000,000
/// iterations, Argon2 with 100 MiB) run through the pool, on every core.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn django_hashes_verify_for_their_password_only() {
    let vectors = django_vectors();
    let hashers: BTreeSet<&str> = vectors.iter().map(|v| v.hasher.as_str()).collect();
    assert!(hashers.contains("pbkdf2_sha256") && hashers.contains("argon2"));
    let passwords: BTreeSet<&str> = vectors.iter().map(|v| v.password.as_str()).collect();
    assert!(passwords.len() >= 2);

    let supported = |hasher: &str| match hasher {
        "pbkdf2_sha256" | "pbkdf2_sha1" | "argon2" => true,
        "bcrypt_sha256" => cfg!(feature = "bcrypt"),
        other => panic!("unexpected hasher {other} in the vectors"),
    };

    // Every check is queued at once.
    let pool = Passwords::new(Argon2idHasher::default()).with_queue_limit(usize::MAX);
    let mut checks = tokio::task::JoinSet::new();
    let mut expected_count = 0;
    for vector in &vectors {
        let mut cases = vec![(vector.password.clone(), supported(&vector.hasher))];
        if supported(&vector.hasher) {
            cases.extend(
                passwords
                    .iter()
                    .filter(|p| **p != vector.password)
                    .map(|p| (p.to_string(), false)),
            );
            cases.push((one_character_changed(&vector.password), false));
        }
        for (password, should_match) in cases {
            expected_count += 1;
            let pool = pool.clone();
            let encoded = vector.encoded.clone();
            checks.spawn(async move {
                let got = pool
                    .verify(password.clone(), encoded.clone())
                    .await
                    .unwrap();
                let want = if should_match {
                    Verification::matched(true)
                } else {
                    Verification::FAILED
                };
                (
                    got == want,
                    format!("{password:?} against {encoded}: {got:?}"),
                )
            });
        }
    }
    let mut failures = Vec::new();
    while let Some(result) = checks.join_next().await {
        let (passed, what) = result.expect("check task");
        if !passed {
            failures.push(what);
        }
    }
    assert!(
        failures.is_empty(),
        "failed checks:\n{}",
        failures.join("\n")
    );
    assert_eq!(pool.verifications(), expected_count);
}

/// The Django formats can be told apart from each other: a hash of one
/// kind relabelled as another does not verify (and nothing panics).
#[test]
fn relabelled_django_hashes_fail() {
    let hasher = Argon2idHasher::default();
    for vector in django_vectors() {
        if vector.hasher != "pbkdf2_sha256" || !vector.encoded.contains("$260000$") {
            continue;
        }
        let relabelled = vector.encoded.replacen("pbkdf2_sha256", "pbkdf2_sha1", 1);
        assert_eq!(
            hasher.verify(&vector.password, &relabelled),
            Verification::FAILED
        );
        let iterations = vector.encoded.replacen("$260000$", "$260001$", 1);
        assert_eq!(
            hasher.verify(&vector.password, &iterations),
            Verification::FAILED
        );
    }
}

/// Huge or absurd costs are refused at once instead of computed.
#[test]
fn absurd_costs_are_refused_quickly() {
    let hasher = Argon2idHasher::default();
    let started = std::time::Instant::now();
    for encoded in [
        "pbkdf2_sha256$1000000000000$salt$EnbEcoGT9qwbXfBEENf4OI67FlxEW9/LoCExDdG9mjg=",
        "pbkdf2_sha256$4294967295$salt$EnbEcoGT9qwbXfBEENf4OI67FlxEW9/LoCExDdG9mjg=",
        "pbkdf2_sha1$10000001$salt$FhDHAWeXRKiDUeDIdf8fAfpGIYs=",
        "pbkdf2_sha256$0$salt$EnbEcoGT9qwbXfBEENf4OI67FlxEW9/LoCExDdG9mjg=",
        "argon2$argon2id$v=19$m=4194304,t=2,p=8$S0ZybU1HN0xad3VEZGJIYksyUWdkdQ$RGwXgcKBx/52kh9r+2IKnNLyz/8D5kumlgqLr+6jJ68",
        "argon2$argon2id$v=19$m=102400,t=100000,p=8$S0ZybU1HN0xad3VEZGJIYksyUWdkdQ$RGwXgcKBx/52kh9r+2IKnNLyz/8D5kumlgqLr+6jJ68",
        "$argon2id$v=19$m=102400,t=4294967295,p=1$S0ZybU1HN0xad3VEZGJIYksyUWdkdQ$RGwXgcKBx/52kh9r+2IKnNLyz/8D5kumlgqLr+6jJ68",
        "bcrypt_sha256$$2b$31$s/07HNMvSLCMi9ulJF9OGOkOIsabX17lIZxhoMuEhlWwLYwAZD2va",
    ] {
        assert_eq!(
            hasher.verify("Bench-pass-123!", encoded),
            Verification::FAILED
        );
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

/// Every one-character change to a valid hash of each format (replaced,
/// deleted or inserted) fails to verify, and nothing panics.
#[test]
fn mutated_hashes_never_verify() {
    let hasher = Argon2idHasher::new(Argon2Params::new(64, 1, 1).unwrap()).unwrap();
    let own = hasher.hash("pw").unwrap();
    let originals = [
        own.clone(),
        format!("argon2{own}"),
        "pbkdf2_sha256$10$NaClNaCl$EDfjdTQ0O6SYYyfDjOvULW7IEg74NYELkmu+2HMd4cw=".to_string(),
        "pbkdf2_sha1$10$NaClNaCl$My1/lh1n5EqxDC8N0jeGuSoulMY=".to_string(),
    ];
    for original in &originals {
        assert!(hasher.verify("pw", original).ok, "{original}");
        let chars: Vec<char> = original.chars().collect();
        for at in 0..=chars.len() {
            let mut mutations = Vec::new();
            for replacement in ['A', 'g', '0', '9', '$', '=', ',', '+', 'ü'] {
                let mut inserted = chars.clone();
                inserted.insert(at, replacement);
                mutations.push(inserted);
                if at < chars.len() {
                    let mut replaced = chars.clone();
                    replaced[at] = replacement;
                    mutations.push(replaced);
                }
            }
            if at < chars.len() {
                let mut deleted = chars.clone();
                deleted.remove(at);
                mutations.push(deleted);
            }
            for mutated in mutations {
                let mutated: String = mutated.into_iter().collect();
                if mutated != *original {
                    assert!(!hasher.verify("pw", &mutated).ok, "{mutated}");
                }
            }
        }
    }
}

/// The pool with a fixed concurrency, counting exactly.
#[tokio::test]
async fn pool_counts_verifications() {
    let hasher: Arc<dyn PasswordHasher> =
        Arc::new(Argon2idHasher::new(Argon2Params::new(256, 1, 1).unwrap()).unwrap());
    let pool = Passwords::with_max_concurrency(hasher, NonZeroUsize::new(1).unwrap());
    let encoded = pool.hash("pw".into()).await.unwrap();
    for _ in 0..3 {
        assert!(pool.verify("pw".into(), encoded.clone()).await.unwrap().ok);
    }
    pool.verify_dummy("pw".into()).await.unwrap();
    assert_eq!(pool.verifications(), 4);
}

fn attributes(user: Option<[&'static str; 4]>) -> UserAttributes<'static> {
    match user {
        None => UserAttributes::default(),
        Some([username, email, first_name, last_name]) => UserAttributes {
            username,
            email,
            first_name,
            last_name,
        },
    }
}

/// The messages Django 5.2.19's `validate_password` gives with its four
/// default validators, for the same password and user.
#[test]
fn default_policy_agrees_with_django() {
    type Case = (
        &'static str,
        Option<[&'static str; 4]>,
        &'static [&'static str],
    );
    const TOO_SHORT: &str = "This password is too short. It must contain at least 8 characters.";
    const COMMON: &str = "This password is too common.";
    const NUMERIC: &str = "This password is entirely numeric.";
    let jdoe = ["jdoe", "john.doe@example.org", "John", "Doe"];
    let ada = ["ada", "ada@example.com", "Augusta Ada", "King"];
    let cases: &[Case] = &[
        ("password", None, &[COMMON]),
        ("12345678", None, &[COMMON, NUMERIC]),
        ("abc", None, &[TOO_SHORT, COMMON]),
        ("1234", None, &[TOO_SHORT, COMMON, NUMERIC]),
        ("qwertyuiop", None, &[COMMON]),
        ("   ", None, &[TOO_SHORT]),
        ("٣٤٥٦٧٨٩٠", None, &[NUMERIC]),
        (
            "ada_lovelace1",
            Some(["ada_lovelace", "", "", ""]),
            &["The password is too similar to the username."],
        ),
        (
            "Lovelace1815!",
            Some(["ada", "ada.lovelace@example.com", "Ada", "Lovelace"]),
            &["The password is too similar to the last name."],
        ),
        (
            "analytical engine",
            Some(["ada_lovelace", "ada@example.com", "Augusta Ada", "King"]),
            &[],
        ),
        (
            "exampleCOM99",
            Some(["ada", "ada@example.com", "", ""]),
            &["The password is too similar to the email address."],
        ),
        (
            "kingaugusta",
            Some(ada),
            &["The password is too similar to the first name."],
        ),
        ("adalovelace", Some(["ada", "", "", ""]), &[]),
        (
            "Tr0ub4dor&3",
            Some(["troubador", "", "", ""]),
            &["The password is too similar to the username."],
        ),
        ("correcthorse", Some(["horse", "", "", ""]), &[]),
        ("zoëzoëzoë", Some(["zoë", "", "", ""]), &[]),
        (
            "ΣΊΣΥΦΟΣ2024",
            Some(["σίσυφος", "", "", ""]),
            &["The password is too similar to the username."],
        ),
        ("Passw0rd!", Some(jdoe), &[]),
        ("johndoe1984", Some(jdoe), &[]),
        (
            "elpmaxe.nhoj",
            Some(jdoe),
            &["The password is too similar to the email address."],
        ),
        ("", Some(["a..b", "", "", ""]), &[TOO_SHORT]),
        (
            "",
            Some(["ab@", "", "", ""]),
            &["The password is too similar to the username.", TOO_SHORT],
        ),
    ];
    let policy = PasswordPolicy::default();
    for (password, user, expected) in cases {
        assert_eq!(
            policy.validate(password, &attributes(*user)),
            *expected,
            "{password:?} {user:?}"
        );
    }
}

#[test]
fn length_limits() {
    let policy = PasswordPolicy::default();
    let none = UserAttributes::default();
    // Long, but neither common nor numeric: only the length rules speak.
    let of_len = |n: usize| {
        "correct horse battery staple "
            .chars()
            .cycle()
            .take(n)
            .collect::<String>()
    };
    assert!(policy.validate(&of_len(64), &none).is_empty());
    assert!(policy.validate(&of_len(1024), &none).is_empty());
    assert_eq!(
        policy.validate(&of_len(1025), &none),
        ["This password is too long. It must contain at most 1024 characters."]
    );
    assert_eq!(
        policy.validate(&"x".repeat(64), &none),
        Vec::<String>::new(),
        "Django accepts 64 x's too"
    );
    assert_eq!(MaximumLength::default().max(), 1024);
}

#[test]
fn help_texts_are_djangos() {
    assert_eq!(
        PasswordPolicy::default().help_texts(),
        [
            "Your password can’t be too similar to your other personal information.",
            "Your password must contain at least 8 characters.",
            "Your password must contain at most 1024 characters.",
            "Your password can’t be a commonly used password.",
            "Your password can’t be entirely numeric.",
        ]
    );
    let policy = PasswordPolicy::default();
    assert!(
        policy
            .validators()
            .iter()
            .all(|v| !v.help_text().is_empty())
    );
}
