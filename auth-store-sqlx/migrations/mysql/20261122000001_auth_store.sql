-- The auth store's tables (auth-store-sqlx, MySqlStore; MySQL 8 or
-- MariaDB 10.5+).
--
-- Times are DATETIME(6) in UTC; ids are UUIDs as BINARY(16). Keys that
-- are looked up (digests, token keys, jtis, families, throttle keys) and
-- the fold_case forms of usernames, emails and names are VARBINARY, so
-- they compare bytewise: no collation folds accents or "ß", and no PAD
-- SPACE rule makes "a" equal "a ". No foreign keys to auth_users: users
-- may live in another store.

CREATE TABLE auth_users (
    id                BINARY(16)      NOT NULL,
    username          TEXT            NOT NULL,
    username_folded   VARBINARY(1024) NOT NULL,
    email             TEXT            NOT NULL,
    email_folded      VARBINARY(1536) NOT NULL,
    first_name        TEXT            NOT NULL,
    first_name_folded BLOB            NOT NULL,
    last_name         TEXT            NOT NULL,
    last_name_folded  BLOB            NOT NULL,
    is_active         BOOLEAN         NOT NULL,
    is_staff          BOOLEAN         NOT NULL,
    is_superuser      BOOLEAN         NOT NULL,
    date_joined       DATETIME(6)     NOT NULL,
    last_login        DATETIME(6)     NULL,
    password_hash     TEXT            NULL,
    profile           JSON            NOT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY auth_users_username_folded_key (username_folded),
    UNIQUE KEY auth_users_email_folded_key (email_folded),
    KEY auth_users_listing_idx (date_joined, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE auth_knox_tokens (
    digest    VARBINARY(255) NOT NULL,
    token_key VARBINARY(255) NOT NULL,
    user_id   BINARY(16)     NOT NULL,
    created   DATETIME(6)    NOT NULL,
    expiry    DATETIME(6)    NULL,
    last_used DATETIME(6)    NULL,
    name      TEXT           NULL,
    PRIMARY KEY (digest),
    KEY auth_knox_tokens_token_key_idx (token_key),
    KEY auth_knox_tokens_user_idx (user_id, created),
    KEY auth_knox_tokens_expiry_idx (expiry)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE auth_static_tokens (
    user_id BINARY(16)     NOT NULL,
    digest  VARBINARY(255) NOT NULL,
    seed    TEXT           NOT NULL,
    created DATETIME(6)    NOT NULL,
    PRIMARY KEY (user_id),
    UNIQUE KEY auth_static_tokens_digest_key (digest)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE auth_jwt_blacklist (
    jti            VARBINARY(255) NOT NULL,
    user_id        BINARY(16)     NOT NULL,
    family         VARBINARY(255) NULL,
    expires_at     DATETIME(6)    NOT NULL,
    blacklisted_at DATETIME(6)    NOT NULL,
    PRIMARY KEY (jti),
    KEY auth_jwt_blacklist_expires_idx (expires_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE auth_jwt_revoked_families (
    family     VARBINARY(255) NOT NULL,
    user_id    BINARY(16)     NOT NULL,
    expires_at DATETIME(6)    NOT NULL,
    PRIMARY KEY (family),
    KEY auth_jwt_revoked_families_expires_idx (expires_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE auth_jwt_valid_after (
    user_id     BINARY(16)  NOT NULL,
    valid_after DATETIME(6) NOT NULL,
    PRIMARY KEY (user_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE auth_throttle (
    throttle_key VARBINARY(1024) NOT NULL,
    hits         BIGINT          NOT NULL,
    resets_at    DATETIME(6)     NOT NULL,
    PRIMARY KEY (throttle_key),
    KEY auth_throttle_resets_idx (resets_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- The AUTO_INCREMENT id orders entries recorded at one instant.
CREATE TABLE auth_login_history (
    id          BIGINT      NOT NULL AUTO_INCREMENT,
    user_id     BINARY(16)  NOT NULL,
    occurred_at DATETIME(6) NOT NULL,
    event       VARCHAR(32) NOT NULL,
    ip          TEXT        NULL,
    user_agent  TEXT        NULL,
    PRIMARY KEY (id),
    KEY auth_login_history_user_idx (user_id, occurred_at, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- One row per user whose tokens were inserted under a limit: locked
-- (SELECT ... FOR UPDATE) to serialise a user's Knox inserts and static
-- token creation.
CREATE TABLE auth_user_locks (
    user_id BINARY(16) NOT NULL,
    PRIMARY KEY (user_id)
) ENGINE = InnoDB;
