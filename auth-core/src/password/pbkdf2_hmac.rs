//! PBKDF2-HMAC-SHA256 and PBKDF2-HMAC-SHA1 (RFC 8018) for a derived key of
//! one hash length, as Django uses them.
//!
//! The iteration loop works on the hashes' compression functions directly,
//! with the HMAC key pads absorbed once: each round is two compressions on
//! one block. The `pbkdf2` crate computes the same thing, but it is generic
//! over the hash, so its loop is compiled in this crate; in a debug build it
//! is unoptimised and Django's 1,000,000 rounds take seconds. This loop only
//! calls the non-generic compression functions of `sha2` and `sha1`, which
//! the workspace optimises even in debug builds. The tests check it against
//! the `pbkdf2` crate and RFC vectors.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::digest::generic_array::GenericArray;
use sha2::{Digest, Sha256};

/// Both hashes work on 64-byte blocks.
const BLOCK: usize = 64;

const SHA256_IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

const SHA1_IV: [u32; 5] = [
    0x6745_2301,
    0xefcd_ab89,
    0x98ba_dcfe,
    0x1032_5476,
    0xc3d2_e1f0,
];

fn compress_sha256(state: &mut [u32; 8], block: &[u8; BLOCK]) {
    sha2::compress256(state, std::slice::from_ref(GenericArray::from_slice(block)));
}

fn compress_sha1(state: &mut [u32; 5], block: &[u8; BLOCK]) {
    sha1::compress(state, std::slice::from_ref(GenericArray::from_slice(block)));
}

/// PBKDF2-HMAC-SHA256 with a 32-byte output; `None` only if `rounds` is 0.
pub(super) fn pbkdf2_sha256(password: &[u8], salt: &[u8], rounds: u32) -> Option<[u8; 32]> {
    let first = Hmac::<Sha256>::new_from_slice(password)
        .ok()?
        .chain_update(salt)
        .chain_update(1u32.to_be_bytes())
        .finalize()
        .into_bytes();
    let key = key_block(password, |long| Sha256::digest(long).to_vec());
    let derived = iterate(&SHA256_IV, compress_sha256, &key, &first, rounds)?;
    let mut out = [0u8; 32];
    write_words(&mut out, &derived);
    Some(out)
}

/// PBKDF2-HMAC-SHA1 with a 20-byte output; `None` only if `rounds` is 0.
pub(super) fn pbkdf2_sha1(password: &[u8], salt: &[u8], rounds: u32) -> Option<[u8; 20]> {
    let first = Hmac::<Sha1>::new_from_slice(password)
        .ok()?
        .chain_update(salt)
        .chain_update(1u32.to_be_bytes())
        .finalize()
        .into_bytes();
    let key = key_block(password, |long| Sha1::digest(long).to_vec());
    let derived = iterate(&SHA1_IV, compress_sha1, &key, &first, rounds)?;
    let mut out = [0u8; 20];
    write_words(&mut out, &derived);
    Some(out)
}

/// HMAC's key as one block: the key itself, or its hash when longer than a
/// block, padded with zeros.
fn key_block(key: &[u8], hash: impl Fn(&[u8]) -> Vec<u8>) -> [u8; BLOCK] {
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        let digest = hash(key);
        block[..digest.len()].copy_from_slice(&digest);
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    block
}

/// Rounds 2 to `rounds` of PBKDF2's first block, given U1 (`first`, the
/// first HMAC, of `4 * N` bytes); returns T1 as big-endian words.
fn iterate<const N: usize>(
    iv: &[u32; N],
    compress: fn(&mut [u32; N], &[u8; BLOCK]),
    key: &[u8; BLOCK],
    first: &[u8],
    rounds: u32,
) -> Option<[u32; N]> {
    if rounds == 0 || first.len() != 4 * N {
        return None;
    }
    let pad = |byte: u8| {
        let mut block = *key;
        block.iter_mut().for_each(|b| *b ^= byte);
        block
    };
    let mut inner_start = *iv;
    compress(&mut inner_start, &pad(0x36));
    let mut outer_start = *iv;
    compress(&mut outer_start, &pad(0x5c));

    // Every message hashed below is one key block plus one digest, so the
    // last block always has the same padding: 0x80, zeros, the bit length.
    let digest_len = 4 * N;
    let mut block = [0u8; BLOCK];
    block[digest_len] = 0x80;
    let bits = ((BLOCK + digest_len) * 8) as u64;
    block[BLOCK - 8..].copy_from_slice(&bits.to_be_bytes());

    let mut u = [0u32; N];
    for (word, bytes) in u.iter_mut().zip(first.chunks_exact(4)) {
        *word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    }
    let mut t = u;
    // The loop is written with plain indexing and shifts, which stay cheap
    // even unoptimised (iterator adaptors would be calls in a debug build).
    for _ in 1..rounds {
        put_words(&mut block, &u);
        let mut inner = inner_start;
        compress(&mut inner, &block);
        put_words(&mut block, &inner);
        u = outer_start;
        compress(&mut u, &block);
        let mut i = 0;
        while i < N {
            t[i] ^= u[i];
            i += 1;
        }
    }
    Some(t)
}

/// Writes `words` big-endian at the start of `block`.
fn put_words<const N: usize>(block: &mut [u8; BLOCK], words: &[u32; N]) {
    let mut i = 0;
    while i < N {
        let word = words[i];
        block[4 * i] = (word >> 24) as u8;
        block[4 * i + 1] = (word >> 16) as u8;
        block[4 * i + 2] = (word >> 8) as u8;
        block[4 * i + 3] = word as u8;
        i += 1;
    }
}

/// Writes `words` big-endian into `out` (which holds exactly their bytes).
fn write_words(out: &mut [u8], words: &[u32]) {
    for (bytes, word) in out.chunks_exact_mut(4).zip(words) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `pbkdf2` crate, as the reference.
    fn reference_sha256(password: &[u8], salt: &[u8], rounds: u32) -> [u8; 32] {
        pbkdf2::pbkdf2_hmac_array::<Sha256, 32>(password, salt, rounds)
    }

    fn reference_sha1(password: &[u8], salt: &[u8], rounds: u32) -> [u8; 20] {
        pbkdf2::pbkdf2_hmac_array::<Sha1, 20>(password, salt, rounds)
    }

    #[test]
    fn agrees_with_the_pbkdf2_crate() {
        // Keys around the block size (HMAC hashes keys longer than 64
        // bytes), salts around the padding boundaries.
        for password_len in [0, 1, 20, 32, 55, 63, 64, 65, 100, 200] {
            for salt_len in [0, 1, 22, 51, 52, 55, 56, 64, 119, 120, 130] {
                let password: Vec<u8> = (0..password_len).map(|i| (i * 7 + 1) as u8).collect();
                let salt: Vec<u8> = (0..salt_len).map(|i| (i * 13 + 5) as u8).collect();
                for rounds in [1, 2, 3, 17] {
                    assert_eq!(
                        pbkdf2_sha256(&password, &salt, rounds),
                        Some(reference_sha256(&password, &salt, rounds)),
                        "sha256 {password_len} {salt_len} {rounds}"
                    );
                    assert_eq!(
                        pbkdf2_sha1(&password, &salt, rounds),
                        Some(reference_sha1(&password, &salt, rounds)),
                        "sha1 {password_len} {salt_len} {rounds}"
                    );
                }
            }
        }
        assert_eq!(
            pbkdf2_sha256(b"pw", b"salt", 5000),
            Some(reference_sha256(b"pw", b"salt", 5000))
        );
    }

    /// RFC 6070 (SHA-1, 4096 rounds) and RFC 7914 section 11 (SHA-256, the
    /// first 32 bytes of its 64).
    #[test]
    fn rfc_vectors() {
        assert_eq!(
            hex::encode(pbkdf2_sha1(b"password", b"salt", 4096).unwrap()),
            "4b007901b765489abead49d926f721d065a429c1"
        );
        assert_eq!(
            hex::encode(pbkdf2_sha256(b"passwd", b"salt", 1).unwrap()),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        );
    }

    #[test]
    fn zero_rounds_is_refused() {
        assert_eq!(pbkdf2_sha256(b"pw", b"salt", 0), None);
        assert_eq!(pbkdf2_sha1(b"pw", b"salt", 0), None);
    }
}
