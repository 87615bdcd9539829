-- #21.3: whether the account's email was ever verified, apart from
-- is_active, so an account staff deactivated cannot activate itself again.
-- Existing accounts count as verified when active or once logged in (an
-- inactive account that never logged in is one still waiting for its
-- activation link).
ALTER TABLE auth_users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE auth_users SET email_verified = TRUE WHERE is_active OR last_login IS NOT NULL;
