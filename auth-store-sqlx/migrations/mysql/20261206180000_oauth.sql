-- The OAuth2 provider's tables (issue 23; lookup keys as VARBINARY, compared
-- bytewise). Codes, tokens
-- and sessions are stored as the SHA-256 digests of what was handed out.
-- No foreign keys: applications, users and tokens may live in different
-- stores.

CREATE TABLE auth_oauth_applications (
    id                        BINARY(16)     NOT NULL,
    client_id                 VARBINARY(255) NOT NULL,
    name                      TEXT           NOT NULL,
    client_type               TEXT           NOT NULL,
    grant_types               TEXT           NOT NULL,
    redirect_uris             JSON           NOT NULL,
    post_logout_redirect_uris JSON           NOT NULL,
    allowed_origins           JSON           NOT NULL,
    skip_authorization        BOOLEAN        NOT NULL,
    owner                     BINARY(16)     NULL,
    secret_digest             TEXT           NULL,
    previous_secret_digest    TEXT           NULL,
    previous_secret_until     DATETIME(6)    NULL,
    created                   DATETIME(6)    NOT NULL,
    updated                   DATETIME(6)    NOT NULL,
    PRIMARY KEY (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE UNIQUE INDEX auth_oauth_applications_client_id_key ON auth_oauth_applications (client_id);
CREATE INDEX auth_oauth_applications_owner_idx ON auth_oauth_applications (owner, created, id);

CREATE TABLE auth_oauth_codes (
    digest                VARBINARY(255) NOT NULL,
    application_id        BINARY(16)     NOT NULL,
    user_id               BINARY(16)     NOT NULL,
    redirect_uri          TEXT           NOT NULL,
    scopes                TEXT           NOT NULL,
    code_challenge        TEXT           NULL,
    code_challenge_method TEXT           NULL,
    nonce                 TEXT           NULL,
    auth_time             DATETIME(6)    NOT NULL,
    family                BINARY(16)     NOT NULL,
    created               DATETIME(6)    NOT NULL,
    expires               DATETIME(6)    NOT NULL,
    used_at               DATETIME(6)    NULL,
    PRIMARY KEY (digest)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE INDEX auth_oauth_codes_expires_idx ON auth_oauth_codes (expires);

CREATE TABLE auth_oauth_tokens (
    digest         VARBINARY(255) NOT NULL,
    kind           TEXT           NOT NULL,
    application_id BINARY(16)     NOT NULL,
    user_id        BINARY(16)     NULL,
    scopes         TEXT           NOT NULL,
    family         BINARY(16)     NOT NULL,
    created        DATETIME(6)    NOT NULL,
    expires        DATETIME(6)    NULL,
    revoked_at     DATETIME(6)    NULL,
    rotated_at     DATETIME(6)    NULL,
    PRIMARY KEY (digest)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE INDEX auth_oauth_tokens_family_idx ON auth_oauth_tokens (family);
CREATE INDEX auth_oauth_tokens_user_idx ON auth_oauth_tokens (user_id);
CREATE INDEX auth_oauth_tokens_application_idx ON auth_oauth_tokens (application_id, user_id);
CREATE INDEX auth_oauth_tokens_expires_idx ON auth_oauth_tokens (expires);

-- Families revoked by a replay: a token of one is refused on insert.
CREATE TABLE auth_oauth_revoked_families (
    family     BINARY(16)     NOT NULL,
    revoked_at DATETIME(6)    NOT NULL,
    PRIMARY KEY (family)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE auth_oauth_consents (
    user_id        BINARY(16)     NOT NULL,
    application_id BINARY(16)     NOT NULL,
    scopes         TEXT           NOT NULL,
    created        DATETIME(6)    NOT NULL,
    updated        DATETIME(6)    NOT NULL,
    PRIMARY KEY (user_id, application_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE INDEX auth_oauth_consents_application_idx ON auth_oauth_consents (application_id);

CREATE TABLE auth_oauth_sessions (
    digest    VARBINARY(255) NOT NULL,
    user_id   BINARY(16)     NOT NULL,
    auth_time DATETIME(6)    NOT NULL,
    created   DATETIME(6)    NOT NULL,
    expires   DATETIME(6)    NOT NULL,
    PRIMARY KEY (digest)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE INDEX auth_oauth_sessions_user_idx ON auth_oauth_sessions (user_id);
CREATE INDEX auth_oauth_sessions_expires_idx ON auth_oauth_sessions (expires);
