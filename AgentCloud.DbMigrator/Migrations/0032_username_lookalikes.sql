-- ALICE, alice and ａｌｉｃｅ are one name to a reader: usernames are unique after NFKC and lower
-- case. Accounts that already collide keep working under their exact names (login matches the exact
-- name); only the oldest of each group holds the normalised name, and no new account can take it.

ALTER TABLE users ADD COLUMN lookalike_of_older BOOLEAN NOT NULL DEFAULT false;

UPDATE users u
SET lookalike_of_older = true
WHERE EXISTS (
    SELECT 1 FROM users older
    WHERE lower(normalize(older.username, NFKC)) = lower(normalize(u.username, NFKC))
      AND older.id < u.id
);

CREATE UNIQUE INDEX users_username_normalized_key ON users (lower(normalize(username, NFKC)))
    WHERE NOT lookalike_of_older;
