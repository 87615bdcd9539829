-- The auth store's tables (auth-store-sqlx, SqliteStore).
--
-- Times are INTEGER microseconds since the Unix epoch (UTC), so they sort
-- and compare as numbers; ids are 16-byte UUID BLOBs; the profile is JSON
-- text. Case-insensitive uniqueness is enforced on the *_folded columns,
-- which hold auth_core::user::fold_case of the value (compared bytewise).
-- No foreign keys to auth_users: users may live in another store.

CREATE TABLE auth_users (
    id                BLOB    NOT NULL PRIMARY KEY,
    username          TEXT    NOT NULL,
    username_folded   TEXT    NOT NULL,
    email             TEXT    NOT NULL,
    email_folded      TEXT    NOT NULL,
    first_name        TEXT    NOT NULL,
    first_name_folded TEXT    NOT NULL,
    last_name         TEXT    NOT NULL,
    last_name_folded  TEXT    NOT NULL,
    is_active         INTEGER NOT NULL,
    is_staff          INTEGER NOT NULL,
    is_superuser      INTEGER NOT NULL,
    date_joined       INTEGER NOT NULL,
    last_login        INTEGER,
    password_hash     TEXT,
    profile           TEXT    NOT NULL
) STRICT;
CREATE UNIQUE INDEX auth_users_username_folded_key ON auth_users (username_folded);
CREATE UNIQUE INDEX auth_users_email_folded_key ON auth_users (email_folded);
CREATE INDEX auth_users_listing_idx ON auth_users (date_joined, id);

CREATE TABLE auth_knox_tokens (
    digest    TEXT    NOT NULL PRIMARY KEY,
    token_key TEXT    NOT NULL,
    user_id   BLOB    NOT NULL,
    created   INTEGER NOT NULL,
    expiry    INTEGER,
    last_used INTEGER,
    name      TEXT
) STRICT;
CREATE INDEX auth_knox_tokens_token_key_idx ON auth_knox_tokens (token_key);
CREATE INDEX auth_knox_tokens_user_idx ON auth_knox_tokens (user_id, created);
CREATE INDEX auth_knox_tokens_expiry_idx ON auth_knox_tokens (expiry);

CREATE TABLE auth_static_tokens (
    user_id BLOB    NOT NULL PRIMARY KEY,
    digest  TEXT    NOT NULL,
    seed    TEXT    NOT NULL,
    created INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX auth_static_tokens_digest_key ON auth_static_tokens (digest);

CREATE TABLE auth_jwt_blacklist (
    jti            TEXT    NOT NULL PRIMARY KEY,
    user_id        BLOB    NOT NULL,
    family         TEXT,
    expires_at     INTEGER NOT NULL,
    blacklisted_at INTEGER NOT NULL
) STRICT;
CREATE INDEX auth_jwt_blacklist_expires_idx ON auth_jwt_blacklist (expires_at);

CREATE TABLE auth_jwt_revoked_families (
    family     TEXT    NOT NULL PRIMARY KEY,
    user_id    BLOB    NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX auth_jwt_revoked_families_expires_idx ON auth_jwt_revoked_families (expires_at);

CREATE TABLE auth_jwt_valid_after (
    user_id     BLOB    NOT NULL PRIMARY KEY,
    valid_after INTEGER NOT NULL
) STRICT;

CREATE TABLE auth_throttle (
    throttle_key TEXT    NOT NULL PRIMARY KEY,
    hits         INTEGER NOT NULL,
    resets_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX auth_throttle_resets_idx ON auth_throttle (resets_at);

-- The rowid (id) orders entries recorded at one instant.
CREATE TABLE auth_login_history (
    id          INTEGER NOT NULL PRIMARY KEY,
    user_id     BLOB    NOT NULL,
    occurred_at INTEGER NOT NULL,
    event       TEXT    NOT NULL,
    ip          TEXT,
    user_agent  TEXT
) STRICT;
CREATE INDEX auth_login_history_user_idx ON auth_login_history (user_id, occurred_at, id);
