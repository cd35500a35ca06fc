using AgentCloud.Shared.Data;
using Npgsql;

namespace AgentCloud.Shared.Messaging;

// Claims: taking inbound heads of line and outbound rows under a lease.
public static partial class MessageTable
{
    /// <summary>
    /// Claims up to <paramref name="batchSize"/> due heads of line in one statement. An agent's head is the message
    /// in flight, else its owner lane's lowest pending seq, else its lowest pending seq. The heads come from a skip
    /// scan of the pending index (one probe per agent with work) in agent order, from the first agent after
    /// <paramref name="afterAgent"/>, and the scan stops once the batch is full: a claim costs about as many probes as
    /// it claims, however many agents have work, and a caller that passes the last agent it claimed goes round them
    /// all in turn (<see cref="InboundClaim.Wrapped"/>: the scan reached the last agent, so the next starts from the
    /// first). The due test sits on the locked row, so under READ COMMITTED a row claimed or finished since our
    /// snapshot is re-checked and dropped.
    /// </summary>
    public static async Task<InboundClaim> ClaimInboundAsync(NpgsqlConnection connection, string leaseOwner,
        TimeSpan lease, int batchSize, int afterAgent, CancellationToken cancellationToken)
    {
        try
        {
            // The claim's commit does not wait for the disk: a claim lost to a crash is only a message claimed again, and the
            // completion that commits the handling's effects (and waits for the disk, with every earlier commit) is fenced on it.
            var claimed = await connection.QueryPreparedMultipleAsync(
                ClaimInbound,
                [new { leaseOwner, lease, batchSize, afterAgent }], null,
                async results =>
                {
                    await results.ReadAsync<string>();
                    return await results.ReadSplitAsync<HeadExtras, MessageRow>(3);
                },
                cancellationToken);
            return new InboundClaim([.. claimed.Select(head =>
                new ClaimedHead(head.Second!, head.First.AgentAddress, head.First.AgentConfig ?? "{}",
                head.First.HasFollowers))], Wrapped: claimed.Count < batchSize);
        }
        catch (PostgresException exception) when (exception is
            { SqlState: PostgresErrorCodes.UniqueViolation, ConstraintName: "messages_one_in_flight" })
        {
            // Our snapshot predates another worker's claim on one of these agents: the next claim sees it.
            return new InboundClaim([], Wrapped: false);
        }
    }

    // See ClaimInboundAsync.
    private static readonly string ClaimInbound =
        $"""
        SELECT set_config('synchronous_commit', 'off', true);
        WITH RECURSIVE pending_agents AS (
            (SELECT agent_id FROM messages WHERE {Inbound} AND {Pending} AND agent_id > @afterAgent ORDER BY agent_id LIMIT 1)
            UNION ALL
            SELECT (SELECT m.agent_id FROM messages m
                    WHERE m.{Inbound} AND m.{Pending} AND m.agent_id > p.agent_id
                    ORDER BY m.agent_id LIMIT 1)
            FROM pending_agents p
            WHERE p.agent_id IS NOT NULL
        ),
        -- An agent with a waiting run (a parked one) is held by it: its head is then that run once woken, or a message
        -- of its call chain (ParkedRuns). Runs that timed out with nothing else pending come from the second source.
        heads AS (
            SELECT COALESCE(
                (SELECT m.id FROM messages m WHERE m.{Inbound} AND m.status = '{Processing}' AND m.agent_id = p.agent_id),
                CASE WHEN {ParkedRuns.HasWaiting("p.agent_id")} THEN {ParkedRuns.NextOfWaitingAgent("p.agent_id")}
                ELSE (SELECT m.id FROM messages m WHERE m.{Inbound} AND m.{Pending} AND m.agent_id = p.agent_id
                      ORDER BY {OtherLane}, m.seq LIMIT 1) END) AS id
            FROM pending_agents p
            WHERE p.agent_id IS NOT NULL
            UNION ALL
            (SELECT id FROM ({ParkedRuns.TimedOut}) AS timed_out LIMIT @batchSize)
        ),
        -- Each head locked by its own look-up (a subquery with FOR UPDATE is never flattened into a join): as a
        -- join, the planner, counting on a hundred heads, read every pending row of the table in one bitmap scan
        -- instead (20 ms a claim with one agent's 3,000 waiting).
        claimable AS MATERIALIZED (
            SELECT m.id AS claimed_id
            FROM (SELECT DISTINCT id FROM heads) h,
                 LATERAL (SELECT id FROM messages WHERE id = h.id AND ({Due} OR status = '{MessageStatus.Waiting}') FOR UPDATE SKIP LOCKED)
                     m
            LIMIT @batchSize
        )
        UPDATE messages
        SET status = '{Processing}', lease_owner = @leaseOwner, lease_until = {Now} + @lease, attempts = attempts + 1
        FROM claimable
        WHERE id = claimable.claimed_id
        RETURNING EXISTS (SELECT 1 FROM messages f WHERE f.{Inbound} AND f.{Pending} AND f.agent_id = messages.agent_id AND f.id <>
            messages.id)
                      AS has_followers,
                  (SELECT address FROM agents WHERE agents.id = messages.agent_id) AS agent_address,
                  (SELECT config::text FROM agents WHERE agents.id = messages.agent_id) AS agent_config,
                  {Columns}
        """;

    private sealed class HeadExtras
    {
        public bool HasFollowers { get; init; }
        public string? AgentAddress { get; init; }
        public string? AgentConfig { get; init; }
    }

    /// <summary>Claims due outbound rows one by one, not head of line (a dead peer holds up nobody); starts their delivery
    /// window.</summary>
    public static async Task<IReadOnlyList<OutboundMessage>> ClaimOutboundAsync(NpgsqlConnection connection, string leaseOwner,
        TimeSpan lease, TimeSpan deliveryWindow, int limit, CancellationToken cancellationToken) =>
        await connection.QueryPreparedAsync<OutboundMessage>(
            $"""
            WITH due AS (
                -- available_at <= now holds for every row in flight too (it was due when claimed): so the claim is one
                -- ordered scan of messages_outbox_pending (migration 0073).
                SELECT id FROM messages
                WHERE {Outbound} AND {Pending} AND available_at <= {Now} AND (status <> '{Processing}' OR lease_until <= {Now})
                ORDER BY available_at
                LIMIT @limit
                FOR UPDATE SKIP LOCKED
            )
            UPDATE messages m
            SET status = '{Processing}', lease_owner = @leaseOwner, lease_until = {Now} + @lease, attempts = m.attempts + 1,
                expires_at = COALESCE(m.expires_at, m.created_at + @deliveryWindow)
            FROM due, agents a
            WHERE m.id = due.id AND a.id = m.agent_id
            RETURNING m.id, m.agent_id, a.user_id AS agent_user_id, a.address AS agent_address, m.sender, m.target, m.session,
                      m.schema_digest, m.protocol_digest, m.payload::text AS payload, m.attempts, m.traceparent, m.expires_at, m.post_sync
            """,
            new { leaseOwner, lease, deliveryWindow, limit }, null, cancellationToken);
}
