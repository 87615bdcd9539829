//! JWT sign and verify per algorithm, beside the bare primitive.
//!
//! `cargo bench --bench jwt`. The `primitive/hmac-sha256` line is HMAC-SHA256
//! (`hmac` + `sha2`) over the same signing input an HS256 access token has,
//! keyed and checked as a verification would (`-prekeyed`: with the key
//! schedule done once, as `JwtKey` does); `verify/HS256` is the whole of
//! `Jwt::verify_access` (strict parsing, header, key lookup, MAC, claims);
//! `jws/HS256` is the JWS layer alone (no claims).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_core::SystemClock;
use auth_core::token::jwt::{Algorithm, Jwt, JwtConfig, JwtKey, KeySet};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{BenchmarkId, Criterion};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const SECRET: &[u8] = b"a benchmark secret of 32+ bytes!";

fn key(alg: Algorithm) -> JwtKey {
    let pem = match alg {
        Algorithm::RS256 => include_str!("../auth-core/tests/keys/rsa_private.pem"),
        Algorithm::ES256 => include_str!("../auth-core/tests/keys/ec_private.pem"),
        Algorithm::EdDSA => include_str!("../auth-core/tests/keys/ed25519_private.pem"),
        _ => {
            let secret = SECRET.repeat(2);
            let len = alg.min_secret_len().unwrap_or(32);
            return JwtKey::hmac(alg, &secret[..len]).expect("hmac key");
        }
    };
    JwtKey::from_pem(alg, pem).expect("test key")
}

fn jwt(alg: Algorithm) -> Jwt {
    let config = JwtConfig::default().with_algorithm(alg);
    let keys = KeySet::new(key(alg)).expect("key set");
    // The system clock, as in production: tokens are issued just before
    // each verify benchmark and live 5 minutes.
    Jwt::new(config, keys, Arc::new(SystemClock)).expect("jwt")
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();

    let mut sign = c.benchmark_group("sign");
    for alg in Algorithm::ALL {
        let jwt = jwt(alg);
        sign.bench_function(BenchmarkId::from_parameter(alg), |b| {
            b.iter(|| jwt.issue_access(black_box("12345"), None).expect("issue"))
        });
    }
    sign.finish();

    let mut verify = c.benchmark_group("verify");
    for alg in Algorithm::ALL {
        let jwt = jwt(alg);
        let (token, _) = jwt.issue_access("12345", None).expect("issue");
        verify.bench_function(BenchmarkId::from_parameter(alg), |b| {
            b.iter(|| {
                jwt.verify_access(black_box(token.as_str()))
                    .expect("verify")
            })
        });
    }
    verify.finish();

    // The same HS256 token, layer by layer.
    let jwt = jwt(Algorithm::HS256);
    let (token, _) = jwt.issue_access("12345", None).expect("issue");
    let keys = jwt.keys();
    c.bench_function("jws/HS256", |b| {
        b.iter(|| keys.verify_jws(black_box(token.as_str())).expect("jws"))
    });
    let (signing_input, signature) = token.as_str().rsplit_once('.').expect("three parts");
    let tag = URL_SAFE_NO_PAD.decode(signature).expect("base64url");
    c.bench_function("primitive/hmac-sha256", |b| {
        b.iter(|| {
            let mut mac = Hmac::<Sha256>::new_from_slice(black_box(SECRET)).expect("any key size");
            mac.update(black_box(signing_input.as_bytes()));
            mac.verify_slice(black_box(&tag)).expect("tag")
        })
    });
    // The same with the key schedule done once, as `JwtKey` keeps it.
    let keyed = Hmac::<Sha256>::new_from_slice(SECRET).expect("any key size");
    c.bench_function("primitive/hmac-sha256-prekeyed", |b| {
        b.iter(|| {
            let mut mac = black_box(&keyed).clone();
            mac.update(black_box(signing_input.as_bytes()));
            mac.verify_slice(black_box(&tag)).expect("tag")
        })
    });

    c.final_summary();

    // On a shared machine, load shifts between one benchmark and the next.
    // Alternating short batches of both, and reading a low percentile of
    // each, keeps preempted batches out of the comparison.
    let (rounds, batch) = (2_000, 200);
    let per_op = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        for _ in 0..batch {
            f();
        }
        start.elapsed().as_nanos() as f64 / f64::from(batch)
    };
    let (mut verify_ns, mut hmac_ns) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        verify_ns.push(per_op(&mut || {
            black_box(
                jwt.verify_access(black_box(token.as_str()))
                    .expect("verify"),
            );
        }));
        hmac_ns.push(per_op(&mut || {
            let mut mac = Hmac::<Sha256>::new_from_slice(black_box(SECRET)).expect("any key size");
            mac.update(black_box(signing_input.as_bytes()));
            mac.verify_slice(black_box(&tag)).expect("tag");
        }));
    }
    verify_ns.sort_by(f64::total_cmp);
    hmac_ns.sort_by(f64::total_cmp);
    for (name, index) in [("p10", rounds / 10), ("median", rounds / 2)] {
        let (v, h) = (verify_ns[index], hmac_ns[index]);
        println!(
            "interleaved {name}: verify/HS256 {v:.0} ns, primitive/hmac-sha256 {h:.0} ns, ratio {:.2}",
            v / h
        );
    }
}
