//! The store conformance suite, run against [`MemoryStore`].

use auth_core::MemoryStore;

auth_core::store_conformance_tests!(all; async { MemoryStore::new() });

auth_core::service_conformance_tests!(async {
    auth_core::Stores::all_in(std::sync::Arc::new(MemoryStore::new()))
});
