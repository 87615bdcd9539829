-- #24: a static token imported from Django REST framework (an authtoken_token
-- key) keeps only its digest: its seed is NULL.
ALTER TABLE auth_static_tokens ALTER COLUMN seed DROP NOT NULL;
