-- Two things made every send in the cluster commit one after another, whatever the number of clients.

-- 1. A transaction that NOTIFYs holds the server's one notification-queue lock from its commit until the
--    commit is flushed. Our processes now send a commit's NOTIFYs just after it, from a transaction of their
--    own (AgentCloud.Shared/Messaging/Wakeups.cs), and their connections say so with this setting; an insert
--    by anyone else (psql, a script) still wakes the live log tails here.
DROP TRIGGER agent_logs_notify ON agent_logs;
CREATE TRIGGER agent_logs_notify
    AFTER INSERT ON agent_logs
    FOR EACH ROW
    WHEN (current_setting('agentcloud.wakes_after_commit', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION notify_agent_log();

-- 2. The day's message counter was one row per user, locked by each send until its commit. It is now
--    counted in shards (a connection's shard is its backend pid modulo 32), summed to check the quota;
--    near the limit the sends of a user take turns (see QuotaChecks.CountMessageAsync).
ALTER TABLE usage_daily ADD COLUMN shard SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE usage_daily DROP CONSTRAINT usage_daily_pkey;
ALTER TABLE usage_daily ADD PRIMARY KEY (user_id, day, shard);
