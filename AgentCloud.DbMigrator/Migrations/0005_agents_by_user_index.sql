-- A user's agents, paginated by id.

CREATE INDEX agents_user_id_id_idx ON agents (user_id, id);
