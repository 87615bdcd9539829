//! The store conformance suite, run against [`MemoryStore`].

use auth_core::store::memory::MemoryStore;

auth_core::store_conformance_tests!(all; async { MemoryStore::new() });
