-- Sync sends (POST /agents/{id}/send?wait=N to a remote address): the outbox POSTs such a message with
-- x-uagents-connection: sync and stores the reply envelope's payload, handed back in the response, as
-- the outbound row's reply. (sync_reply is the other way round: a reply handed back in our response.)
ALTER TABLE messages ADD COLUMN wait_for_reply BOOLEAN NOT NULL DEFAULT false;
