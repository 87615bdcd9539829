//! Argon2: the cost parameters this library accepts, and verification of
//! Argon2 PHC strings (new hashes, and Django's `argon2$...` hashes).

use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};

use super::PasswordError;
use crate::secret::constant_time_eq;

/// Argon2id cost parameters.
///
/// The default is OWASP's first recommendation for Argon2id: 19 MiB of
/// memory, 2 passes, 1 lane.
///
/// ```
/// use auth_core::password::Argon2Params;
/// let params = Argon2Params::default();
/// assert_eq!((params.m_cost_kib, params.t_cost, params.p_cost), (19_456, 2, 1));
/// assert!(Argon2Params::new(4, 1, 1).is_err()); // below argon2's minimum memory
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Argon2Params {
    /// Memory in KiB (1 KiB blocks); at least 8 per lane.
    pub m_cost_kib: u32,
    /// Number of passes over the memory; at least 1.
    pub t_cost: u32,
    /// Degree of parallelism (lanes); at least 1.
    pub p_cost: u32,
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self {
            m_cost_kib: 19 * 1024,
            t_cost: 2,
            p_cost: 1,
        }
    }
}

impl Argon2Params {
    /// The most memory this library accepts, in KiB (1 GiB), for new hashes
    /// and for stored hashes alike: a corrupt or hostile row must not make a
    /// verification allocate without bound.
    pub const MAX_M_COST_KIB: u32 = 1024 * 1024;
    /// The most lanes accepted.
    pub const MAX_P_COST: u32 = 255;
    /// The most work accepted, as `m_cost_kib * t_cost` (4 GiB of memory
    /// passes, a few seconds of CPU): 20 times OWASP's default and Django's
    /// (100 MiB, 2 passes).
    pub const MAX_WORK: u64 = 4 * 1024 * 1024;

    /// Validated parameters: argon2's own limits (`t_cost >= 1`,
    /// `1 <= p_cost`, `m_cost_kib >= 8 * p_cost`) and this library's caps
    /// ([`MAX_M_COST_KIB`](Self::MAX_M_COST_KIB),
    /// [`MAX_P_COST`](Self::MAX_P_COST), [`MAX_WORK`](Self::MAX_WORK)).
    pub fn new(m_cost_kib: u32, t_cost: u32, p_cost: u32) -> Result<Self, PasswordError> {
        let params = Self {
            m_cost_kib,
            t_cost,
            p_cost,
        };
        params.validate()?;
        Ok(params)
    }

    /// Checks the parameters as [`Argon2Params::new`] does.
    pub fn validate(&self) -> Result<(), PasswordError> {
        self.to_argon2().map(|_| ())
    }

    /// The argon2 crate's parameters (32-byte output), after every check.
    pub(super) fn to_argon2(self) -> Result<Params, PasswordError> {
        check_caps(self.m_cost_kib, self.t_cost, self.p_cost)
            .map_err(|reason| PasswordError::InvalidParams(reason.to_string()))?;
        Params::new(
            self.m_cost_kib,
            self.t_cost,
            self.p_cost,
            Some(Params::DEFAULT_OUTPUT_LEN),
        )
        .map_err(|err| PasswordError::InvalidParams(err.to_string()))
    }
}

/// This library's caps on Argon2 costs; argon2's own minimums are checked by
/// `Params::new`.
pub(super) fn check_caps(m_cost_kib: u32, t_cost: u32, p_cost: u32) -> Result<(), &'static str> {
    if m_cost_kib > Argon2Params::MAX_M_COST_KIB {
        return Err("memory cost above 1 GiB");
    }
    if p_cost > Argon2Params::MAX_P_COST {
        return Err("more than 255 lanes");
    }
    if u64::from(m_cost_kib) * u64::from(t_cost) > Argon2Params::MAX_WORK {
        return Err("memory cost times passes above 4 GiB");
    }
    Ok(())
}

/// What verifying an Argon2 PHC string found.
#[derive(Debug)]
pub(super) struct Argon2Found {
    /// The password matched.
    pub(super) ok: bool,
    pub(super) algorithm: Algorithm,
    pub(super) version: Version,
    pub(super) params: Params,
    pub(super) output_len: usize,
}

/// Verifies `password` against an Argon2 PHC string
/// (`$argon2id$v=19$m=..,t=..,p=..$salt$hash`; also `argon2i`, `argon2d`,
/// and strings without `v=`, which mean version 0x10 as in the reference
/// implementation). `None` when the string is malformed, names a key id (we
/// hold no secret), or asks for more than [`Argon2Params`]' caps.
pub(super) fn verify_argon2_phc(password: &[u8], encoded: &str) -> Option<Argon2Found> {
    let phc = PasswordHash::new(encoded).ok()?;
    let algorithm = Algorithm::new(phc.algorithm.as_str()).ok()?;
    let version = match phc.version {
        None => Version::V0x10,
        Some(v) => Version::try_from(v).ok()?,
    };
    let params = Params::try_from(&phc).ok()?;
    if let Err(reason) = check_caps(params.m_cost(), params.t_cost(), params.p_cost()) {
        tracing::warn!(
            reason,
            "refusing to verify a stored Argon2 hash above the cost caps"
        );
        return None;
    }
    if !params.keyid().is_empty() {
        return None;
    }
    let mut salt_buf = [0u8; 64];
    let salt = phc.salt?.decode_b64(&mut salt_buf).ok()?;
    let expected = phc.hash?;
    let expected = expected.as_bytes();

    let mut derived = vec![0u8; expected.len()];
    argon2_into(
        algorithm,
        version,
        params.clone(),
        password,
        salt,
        &mut derived,
    )
    .ok()?;
    Some(Argon2Found {
        ok: constant_time_eq(&derived, expected),
        algorithm,
        version,
        params,
        output_len: expected.len(),
    })
}

/// Runs Argon2 into `out`, allocating its memory fallibly (a failed
/// allocation is an error, not an abort).
pub(super) fn argon2_into(
    algorithm: Algorithm,
    version: Version,
    params: Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), PasswordError> {
    #[cfg(test)]
    ARGON2_RUNS.with(|runs| runs.set(runs.get() + 1));
    let blocks = params.block_count();
    let mut memory: Vec<Block> = Vec::new();
    memory
        .try_reserve_exact(blocks)
        .map_err(|err| PasswordError::Hashing(Box::new(err)))?;
    memory.resize(blocks, Block::default());
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, out, &mut memory)
        .map_err(|err| PasswordError::Hashing(Box::new(err)))
}

#[cfg(test)]
thread_local! {
    /// How many Argon2 computations this thread has run.
    pub(super) static ARGON2_RUNS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}
