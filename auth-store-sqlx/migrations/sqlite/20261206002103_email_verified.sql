-- #21.3: whether the account's email was ever verified, apart from
-- is_active, so an account staff deactivated cannot activate itself again.
-- Existing accounts count as verified when active or once logged in (an
-- inactive account that never logged in is one still waiting for its
-- activation link).
ALTER TABLE auth_users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0;
UPDATE auth_users SET email_verified = 1 WHERE is_active <> 0 OR last_login IS NOT NULL;
