//! Password hashing (Argon2id, and verification of imported Django hashes)
//! and password validators.
