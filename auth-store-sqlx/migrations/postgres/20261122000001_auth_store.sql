-- The auth store's tables (auth-store-sqlx, PostgresStore).
--
-- No foreign keys from token, revocation or history tables to auth_users:
-- users may live in another store. Case-insensitive uniqueness is enforced
-- on the *_folded columns, which hold auth_core::user::fold_case of the
-- value, compared bytewise (COLLATE "C"), never by a collation's rules.

CREATE TABLE auth_users (
    id                UUID        NOT NULL,
    username          TEXT        NOT NULL,
    username_folded   TEXT        COLLATE "C" NOT NULL,
    email             TEXT        NOT NULL,
    email_folded      TEXT        COLLATE "C" NOT NULL,
    first_name        TEXT        NOT NULL,
    first_name_folded TEXT        COLLATE "C" NOT NULL,
    last_name         TEXT        NOT NULL,
    last_name_folded  TEXT        COLLATE "C" NOT NULL,
    is_active         BOOLEAN     NOT NULL,
    is_staff          BOOLEAN     NOT NULL,
    is_superuser      BOOLEAN     NOT NULL,
    date_joined       TIMESTAMPTZ NOT NULL,
    last_login        TIMESTAMPTZ,
    password_hash     TEXT,
    profile           JSONB       NOT NULL,
    CONSTRAINT auth_users_id_pkey PRIMARY KEY (id)
);
CREATE UNIQUE INDEX auth_users_username_folded_key ON auth_users (username_folded);
CREATE UNIQUE INDEX auth_users_email_folded_key ON auth_users (email_folded);
CREATE INDEX auth_users_listing_idx ON auth_users (date_joined, id);

-- Knox-style tokens: only digests are stored.
CREATE TABLE auth_knox_tokens (
    digest    TEXT        NOT NULL,
    token_key TEXT        NOT NULL,
    user_id   UUID        NOT NULL,
    created   TIMESTAMPTZ NOT NULL,
    expiry    TIMESTAMPTZ,
    last_used TIMESTAMPTZ,
    name      TEXT,
    CONSTRAINT auth_knox_tokens_digest_pkey PRIMARY KEY (digest)
);
CREATE INDEX auth_knox_tokens_token_key_idx ON auth_knox_tokens (token_key);
CREATE INDEX auth_knox_tokens_user_idx ON auth_knox_tokens (user_id, created);
CREATE INDEX auth_knox_tokens_expiry_idx ON auth_knox_tokens (expiry);

-- Static (DRF-style) tokens: one per user.
CREATE TABLE auth_static_tokens (
    user_id UUID        NOT NULL,
    digest  TEXT        NOT NULL,
    seed    TEXT        NOT NULL,
    created TIMESTAMPTZ NOT NULL,
    CONSTRAINT auth_static_tokens_user_pkey PRIMARY KEY (user_id)
);
CREATE UNIQUE INDEX auth_static_tokens_digest_key ON auth_static_tokens (digest);

-- JWT revocation: blacklisted jtis, revoked rotation families, and the
-- per-user "tokens valid after" marks.
CREATE TABLE auth_jwt_blacklist (
    jti            TEXT        NOT NULL,
    user_id        UUID        NOT NULL,
    family         TEXT,
    expires_at     TIMESTAMPTZ NOT NULL,
    blacklisted_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT auth_jwt_blacklist_jti_pkey PRIMARY KEY (jti)
);
CREATE INDEX auth_jwt_blacklist_expires_idx ON auth_jwt_blacklist (expires_at);

CREATE TABLE auth_jwt_revoked_families (
    family     TEXT        NOT NULL,
    user_id    UUID        NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT auth_jwt_revoked_families_pkey PRIMARY KEY (family)
);
CREATE INDEX auth_jwt_revoked_families_expires_idx ON auth_jwt_revoked_families (expires_at);

CREATE TABLE auth_jwt_valid_after (
    user_id     UUID        NOT NULL,
    valid_after TIMESTAMPTZ NOT NULL,
    CONSTRAINT auth_jwt_valid_after_pkey PRIMARY KEY (user_id)
);

-- Fixed-window throttle counters.
CREATE TABLE auth_throttle (
    throttle_key TEXT        NOT NULL,
    hits         BIGINT      NOT NULL,
    resets_at    TIMESTAMPTZ NOT NULL,
    CONSTRAINT auth_throttle_pkey PRIMARY KEY (throttle_key)
);
CREATE INDEX auth_throttle_resets_idx ON auth_throttle (resets_at);

-- Login history; the identity column orders entries recorded at one instant.
CREATE TABLE auth_login_history (
    id          BIGINT      GENERATED ALWAYS AS IDENTITY,
    user_id     UUID        NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    event       TEXT        NOT NULL,
    ip          TEXT,
    user_agent  TEXT,
    CONSTRAINT auth_login_history_pkey PRIMARY KEY (id)
);
CREATE INDEX auth_login_history_user_idx ON auth_login_history (user_id, occurred_at, id);

-- One row per user whose tokens were inserted under a limit: locked
-- (SELECT ... FOR UPDATE) to serialise a user's Knox inserts and static
-- token creation.
CREATE TABLE auth_user_locks (
    user_id UUID NOT NULL,
    CONSTRAINT auth_user_locks_pkey PRIMARY KEY (user_id)
);
