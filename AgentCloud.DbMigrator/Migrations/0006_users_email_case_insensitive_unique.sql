-- Alice@example.com and alice@example.com are the same mailbox: one account per address.

CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
