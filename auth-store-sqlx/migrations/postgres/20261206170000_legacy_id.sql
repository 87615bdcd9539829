-- #24: the integer primary key a user had in the Django deployment it was
-- imported from (NULL for users created here), unique when set: the unique
-- index admits any number of NULLs.
ALTER TABLE auth_users ADD COLUMN legacy_id BIGINT NULL;
CREATE UNIQUE INDEX auth_users_legacy_id_key ON auth_users (legacy_id);
