-- An inbox's unfinished messages by sender, each sender's in seq order: the owner's lane is one sender (user:{owner}), so
-- its queue cap is one probe of this index and a count of that lane alone, never of a stranger's flood in the other lane;
-- and one outside user's share of an inbox (QuotaOptions.QueuedMessagesPerOutsider) is a probe per agent of theirs.
CREATE INDEX messages_inbox_by_sender ON messages (agent_id, sender, seq)
    WHERE direction = 'inbound' AND status IN ('queued', 'processing', 'failed');
