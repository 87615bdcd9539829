-- #24: a static token imported from Django REST framework (an authtoken_token
-- key) keeps only its digest: its seed is NULL. SQLite cannot drop a NOT NULL
-- constraint, so the table is made again with the same rows.
CREATE TABLE auth_static_tokens_new (
    user_id BLOB    NOT NULL PRIMARY KEY,
    digest  TEXT    NOT NULL,
    seed    TEXT,
    created INTEGER NOT NULL
) STRICT;
INSERT INTO auth_static_tokens_new (user_id, digest, seed, created)
    SELECT user_id, digest, seed, created FROM auth_static_tokens;
DROP TABLE auth_static_tokens;
ALTER TABLE auth_static_tokens_new RENAME TO auth_static_tokens;
CREATE UNIQUE INDEX auth_static_tokens_digest_key ON auth_static_tokens (digest);
