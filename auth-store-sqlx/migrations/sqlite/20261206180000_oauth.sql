-- The OAuth2 provider's tables (issue 23; times as INTEGER microseconds,
-- ids as 16-byte BLOBs, URI lists as JSON text). Codes, tokens
-- and sessions are stored as the SHA-256 digests of what was handed out.
-- No foreign keys: applications, users and tokens may live in different
-- stores.

CREATE TABLE auth_oauth_applications (
    id                        BLOB        NOT NULL,
    client_id                 TEXT        NOT NULL,
    name                      TEXT        NOT NULL,
    client_type               TEXT        NOT NULL,
    grant_types               TEXT        NOT NULL,
    redirect_uris             TEXT        NOT NULL,
    post_logout_redirect_uris TEXT        NOT NULL,
    allowed_origins           TEXT        NOT NULL,
    skip_authorization        INTEGER     NOT NULL,
    owner                     BLOB,
    secret_digest             TEXT,
    previous_secret_digest    TEXT,
    previous_secret_until     INTEGER,
    created                   INTEGER NOT NULL,
    updated                   INTEGER NOT NULL,
    CONSTRAINT auth_oauth_applications_pkey PRIMARY KEY (id)
) STRICT;
CREATE UNIQUE INDEX auth_oauth_applications_client_id_key ON auth_oauth_applications (client_id);
CREATE INDEX auth_oauth_applications_owner_idx ON auth_oauth_applications (owner, created, id);

CREATE TABLE auth_oauth_codes (
    digest                TEXT        NOT NULL,
    application_id        BLOB        NOT NULL,
    user_id               BLOB        NOT NULL,
    redirect_uri          TEXT        NOT NULL,
    scopes                TEXT        NOT NULL,
    code_challenge        TEXT,
    code_challenge_method TEXT,
    nonce                 TEXT,
    auth_time             INTEGER NOT NULL,
    family                BLOB        NOT NULL,
    created               INTEGER NOT NULL,
    expires               INTEGER NOT NULL,
    used_at               INTEGER,
    CONSTRAINT auth_oauth_codes_digest_pkey PRIMARY KEY (digest)
) STRICT;
CREATE INDEX auth_oauth_codes_expires_idx ON auth_oauth_codes (expires);

CREATE TABLE auth_oauth_tokens (
    digest         TEXT        NOT NULL,
    kind           TEXT        NOT NULL,
    application_id BLOB        NOT NULL,
    user_id        BLOB,
    scopes         TEXT        NOT NULL,
    family         BLOB        NOT NULL,
    created        INTEGER NOT NULL,
    expires        INTEGER,
    revoked_at     INTEGER,
    rotated_at     INTEGER,
    CONSTRAINT auth_oauth_tokens_digest_pkey PRIMARY KEY (digest)
) STRICT;
CREATE INDEX auth_oauth_tokens_family_idx ON auth_oauth_tokens (family);
CREATE INDEX auth_oauth_tokens_user_idx ON auth_oauth_tokens (user_id);
CREATE INDEX auth_oauth_tokens_application_idx ON auth_oauth_tokens (application_id, user_id);
CREATE INDEX auth_oauth_tokens_expires_idx ON auth_oauth_tokens (expires);

-- Families revoked by a replay: a token of one is refused on insert.
CREATE TABLE auth_oauth_revoked_families (
    family     BLOB        NOT NULL,
    revoked_at INTEGER NOT NULL,
    CONSTRAINT auth_oauth_revoked_families_pkey PRIMARY KEY (family)
) STRICT;

CREATE TABLE auth_oauth_consents (
    user_id        BLOB        NOT NULL,
    application_id BLOB        NOT NULL,
    scopes         TEXT        NOT NULL,
    created        INTEGER NOT NULL,
    updated        INTEGER NOT NULL,
    CONSTRAINT auth_oauth_consents_pkey PRIMARY KEY (user_id, application_id)
) STRICT;
CREATE INDEX auth_oauth_consents_application_idx ON auth_oauth_consents (application_id);

CREATE TABLE auth_oauth_sessions (
    digest    TEXT        NOT NULL,
    user_id   BLOB        NOT NULL,
    auth_time INTEGER NOT NULL,
    created   INTEGER NOT NULL,
    expires   INTEGER NOT NULL,
    CONSTRAINT auth_oauth_sessions_digest_pkey PRIMARY KEY (digest)
) STRICT;
CREATE INDEX auth_oauth_sessions_user_idx ON auth_oauth_sessions (user_id);
CREATE INDEX auth_oauth_sessions_expires_idx ON auth_oauth_sessions (expires);
