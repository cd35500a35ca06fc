-- The outbox's claim in one ordered index scan: every unfinished outbound row by available_at, in flight or
-- not (an expired lease is due again). The index of only queued and failed rows made the claim OR it with
-- a bitmap of every pending row, and bitmap scans never mark the index entries of finished rows dead, so
-- each claim re-read every row delivered (or dead) since the last vacuum: 5 ms a claim after 6,000 replies.
CREATE INDEX messages_outbox_pending ON messages (available_at)
    WHERE direction = 'outbound' AND status IN ('queued', 'processing', 'failed');

DROP INDEX messages_outbox_due;
