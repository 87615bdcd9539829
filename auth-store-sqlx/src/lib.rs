//! SQL stores for `auth-core` over sqlx: SQLite, PostgreSQL and MySQL/MariaDB.
//!
//! Not written yet: this crate holds its place in the workspace until the
//! stores issue lands. Use [`auth_core::store::memory::MemoryStore`] meanwhile.
