-- The OAuth2 provider's tables (issue 23). Codes, tokens and sessions are
-- stored as the SHA-256 digests of what was handed out. No foreign keys:
-- applications, users and tokens may live in different stores.

CREATE TABLE auth_oauth_applications (
    id                        UUID        NOT NULL,
    client_id                 TEXT        COLLATE "C" NOT NULL,
    name                      TEXT        NOT NULL,
    client_type               TEXT        NOT NULL,
    grant_types               TEXT        NOT NULL,
    redirect_uris             JSONB       NOT NULL,
    post_logout_redirect_uris JSONB       NOT NULL,
    allowed_origins           JSONB       NOT NULL,
    skip_authorization        BOOLEAN     NOT NULL,
    owner                     UUID,
    secret_digest             TEXT,
    previous_secret_digest    TEXT,
    previous_secret_until     TIMESTAMPTZ,
    created                   TIMESTAMPTZ NOT NULL,
    updated                   TIMESTAMPTZ NOT NULL,
    CONSTRAINT auth_oauth_applications_pkey PRIMARY KEY (id)
);
CREATE UNIQUE INDEX auth_oauth_applications_client_id_key ON auth_oauth_applications (client_id);
CREATE INDEX auth_oauth_applications_owner_idx ON auth_oauth_applications (owner, created, id);

CREATE TABLE auth_oauth_codes (
    digest                TEXT        COLLATE "C" NOT NULL,
    application_id        UUID        NOT NULL,
    user_id               UUID        NOT NULL,
    redirect_uri          TEXT        NOT NULL,
    scopes                TEXT        NOT NULL,
    code_challenge        TEXT,
    code_challenge_method TEXT,
    nonce                 TEXT,
    auth_time             TIMESTAMPTZ NOT NULL,
    family                UUID        NOT NULL,
    created               TIMESTAMPTZ NOT NULL,
    expires               TIMESTAMPTZ NOT NULL,
    used_at               TIMESTAMPTZ,
    CONSTRAINT auth_oauth_codes_digest_pkey PRIMARY KEY (digest)
);
CREATE INDEX auth_oauth_codes_expires_idx ON auth_oauth_codes (expires);

CREATE TABLE auth_oauth_tokens (
    digest         TEXT        COLLATE "C" NOT NULL,
    kind           TEXT        NOT NULL,
    application_id UUID        NOT NULL,
    user_id        UUID,
    scopes         TEXT        NOT NULL,
    family         UUID        NOT NULL,
    created        TIMESTAMPTZ NOT NULL,
    expires        TIMESTAMPTZ,
    revoked_at     TIMESTAMPTZ,
    rotated_at     TIMESTAMPTZ,
    CONSTRAINT auth_oauth_tokens_digest_pkey PRIMARY KEY (digest)
);
CREATE INDEX auth_oauth_tokens_family_idx ON auth_oauth_tokens (family);
CREATE INDEX auth_oauth_tokens_user_idx ON auth_oauth_tokens (user_id);
CREATE INDEX auth_oauth_tokens_application_idx ON auth_oauth_tokens (application_id, user_id);
CREATE INDEX auth_oauth_tokens_expires_idx ON auth_oauth_tokens (expires);

-- Families revoked by a replay: a token of one is refused on insert.
CREATE TABLE auth_oauth_revoked_families (
    family     UUID        NOT NULL,
    revoked_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT auth_oauth_revoked_families_pkey PRIMARY KEY (family)
);

CREATE TABLE auth_oauth_consents (
    user_id        UUID        NOT NULL,
    application_id UUID        NOT NULL,
    scopes         TEXT        NOT NULL,
    created        TIMESTAMPTZ NOT NULL,
    updated        TIMESTAMPTZ NOT NULL,
    CONSTRAINT auth_oauth_consents_pkey PRIMARY KEY (user_id, application_id)
);
CREATE INDEX auth_oauth_consents_application_idx ON auth_oauth_consents (application_id);

CREATE TABLE auth_oauth_sessions (
    digest    TEXT        COLLATE "C" NOT NULL,
    user_id   UUID        NOT NULL,
    auth_time TIMESTAMPTZ NOT NULL,
    created   TIMESTAMPTZ NOT NULL,
    expires   TIMESTAMPTZ NOT NULL,
    CONSTRAINT auth_oauth_sessions_digest_pkey PRIMARY KEY (digest)
);
CREATE INDEX auth_oauth_sessions_user_idx ON auth_oauth_sessions (user_id);
CREATE INDEX auth_oauth_sessions_expires_idx ON auth_oauth_sessions (expires);
