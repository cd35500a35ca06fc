using AgentCloud.Shared.Data;
using Dapper;
using Npgsql;

namespace AgentCloud.Shared.Messaging;

// Finishing a claimed inbound message (fenced on its lease), the rest of its run, and the sync answer.
public static partial class MessageTable
{
    // A prepared statement that finds one row by id names the status it expects as a parameter, never as a literal: from the
    // literal its generic plan could prove the row is in a partial index of pending rows, and chose to scan that whole index
    // (estimated tiny, thousands of entries under load: 3 to 5 ms) over one probe of the primary key.
    private static readonly string[] Retryable = [Queued, Failed];

    /// <summary>Locks the message if it is still ours to finish; false (commit nothing) when taken over, canceled or deleted.</summary>
    public static async Task<bool> FenceAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id,
        string leaseOwner, CancellationToken cancellationToken) =>
        (await connection.QueryPreparedAsync<int>(
            "SELECT 1 FROM messages WHERE id = @id AND lease_owner = @leaseOwner AND status = @processing FOR UPDATE",
            new { id, leaseOwner, processing = Processing }, transaction, cancellationToken)).Count > 0;

    /// <summary>Pushes the lease forward; false when it is no longer ours.</summary>
    public static async Task<bool> RenewLeaseAsync(NpgsqlConnection connection, Guid id, string leaseOwner, TimeSpan lease,
        CancellationToken cancellationToken) =>
        await connection.ExecuteAsync(new CommandDefinition(
            $"UPDATE messages SET lease_until = {Now} + @lease WHERE id = @id AND lease_owner = @leaseOwner AND status = '{Processing}'",
            new { id, lease, leaseOwner }, cancellationToken: cancellationToken)) == 1;

    /// <summary>
    /// Done, each with its reply and a waiting sync sender's answer (then <see cref="Wakeups.Finished"/>), if they are
    /// still ours to finish: the first of each run, the run's head, under our lease and still processing (the fence); each
    /// other, one the head's lease has kept to us since <see cref="ReadAheadAsync"/> (no other worker claims an agent's
    /// message while its head is in flight), still queued. Null when any was taken over, canceled or deleted: then the
    /// statement fails, so nothing of the round trip stays (with <paramref name="transaction"/> null the round trip is its own
    /// implicit transaction and commit; with a transaction, the caller rolls it back). The same round trip appends each run's
    /// log lines (<see cref="AgentLogs.InsertLines"/>) and, for a run that asks, claims its agent's next due head (the lane
    /// rule of <see cref="ClaimInboundAsync"/>; or <see cref="RunCompletion.NextId"/>, when the caller read it ahead, if it is
    /// still due) under our lease for <paramref name="lease"/>. Several agents' runs complete together (each agent at most
    /// once); one run's lost lease fails them all. Returns, for each run, ms from accepted to done of each of its messages,
    /// and its next message.
    /// </summary>
    public static async Task<IReadOnlyList<CompletedRun>?> CompleteInboundAsync(NpgsqlConnection connection,
        NpgsqlTransaction? transaction, string leaseOwner, IReadOnlyList<RunCompletion> runs, TimeSpan lease,
        CancellationToken cancellationToken)
    {
        var messages = runs.SelectMany(run => run.Messages.Select((done, i) => (Done: done, Head: i == 0))).ToArray();
        var lines = runs.SelectMany(run => run.Lines.Select(line => (run.AgentId, line.Level, line.Message))).ToArray();
        try
        {
            // The log lines' INSERT returns no rows, so it goes last: the reader sees the update's and the claim's rows.
            return await connection.QueryPreparedMultipleAsync(
                $"""
                WITH done AS (
                    UPDATE messages m
                    SET status = '{MessageStatus.Done}', reply = c.reply::jsonb, error = NULL, completed_at = {Now}, {ReleaseLease},
                        attempts = m.attempts + (m.status = '{Queued}')::int,
                        sync_answer = c.answer::jsonb, sync_answer_schema_digest = c.answer_schema, sync_answer_protocol_digest =
                            c.answer_protocol
                    FROM unnest(@ids::uuid[], @heads::bool[], @replies::text[], @answers::text[], @answerSchemas::text[],
                        @answerProtocols::text[])
                        AS c(id, head, reply, answer, answer_schema, answer_protocol)
                    WHERE m.id = c.id
                      AND CASE WHEN c.head THEN m.lease_owner = @leaseOwner AND m.status = '{Processing}' ELSE m.status = '{Queued}' END
                    RETURNING m.id, EXTRACT(EPOCH FROM m.completed_at - m.created_at)::float8 * 1000 AS latency
                ),
                -- Every one of the runs, or the statement fails (migration 0075).
                fence AS (SELECT agentcloud_lease_held(count(*) = cardinality(@ids::uuid[])) FROM done)
                SELECT done.id, done.latency FROM fence LEFT JOIN done ON true;
                {ClaimNextHeads};
                {AgentLogs.InsertLines}
                """,
                [new
                {
                    leaseOwner, lease, retryable = Retryable,
                    ids = messages.Select(m => m.Done.Id).ToArray(),
                    heads = messages.Select(m => m.Head).ToArray(),
                    replies = messages.Select(m => m.Done.ReplyJson).ToArray(),
                    answers = messages.Select(m => m.Done.Answer?.PayloadJson).ToArray(),
                    answerSchemas = messages.Select(m => m.Done.Answer?.SchemaDigest).ToArray(),
                    answerProtocols = messages.Select(m => m.Done.Answer?.ProtocolDigest).ToArray(),
                    nextIds = runs.Where(run => run.ClaimNext && run.NextId is not null).Select(run => run.NextId!.Value).ToArray(),
                    nextOfAgents = runs.Where(run => run.ClaimNext && run.NextId is null).Select(run => run.AgentId).ToArray(),
                    logAgentIds = lines.Select(line => line.AgentId).ToArray(),
                    levels = lines.Select(line => line.Level).ToArray(),
                    messages = lines.Select(line => line.Message).ToArray(),
                }],
                transaction,
                async results =>
                {
                    var latencies = (await results.ReadAsync<Finished>()).ToDictionary(done => done.Id, done => done.Latency);
                    var next = (await results.ReadAsync<MessageRow>()).ToDictionary(row => row.AgentId);
                    return (IReadOnlyList<CompletedRun>)[.. runs.Select(run => new CompletedRun(
                        [.. run.Messages.Select(done => latencies[done.Id])],
                        run.ClaimNext ? next.GetValueOrDefault(run.AgentId) : null))];
                },
                cancellationToken);
        }
        catch (PostgresException exception) when (exception.SqlState == LeaseLostState)
        {
            return null;
        }
    }

    // What agentcloud_lease_held raises (migration 0075).
    private const string LeaseLostState = "AC001";

    private sealed record Finished(Guid Id, double Latency);

    /// <summary>
    /// The agent's messages that come after its <paramref name="head"/> in lane order, up to the first one not due or not
    /// simply queued (a retry waits its turn as the next head), at most <paramref name="limit"/>: the rest of a run that
    /// <see cref="CompleteInboundAsync"/> finishes with the head. Not locked: the head's lease keeps them ours. <paramref name="riding"/>
    /// shares the round trip, after it. (An owner's
    /// message that arrives behind a head of the other lane is not among them: the next claim takes it first.)
    /// </summary>
    public static Task<List<MessageRow>> ReadAheadAsync(NpgsqlConnection connection, MessageRow head, int limit,
        CancellationToken cancellationToken, RidingStatements? riding = null) =>
        connection.QueryPreparedMultipleAsync(
            // After the head as a row comparison on messages_inbox_heads' keys, which makes the index the plan's only
            // sensible choice even when the statistics have not yet seen the agent's flood.
            $"""
            SELECT {Columns} FROM (
                SELECT *, bool_and(status = '{Queued}' AND available_at <= {Now}) OVER (ORDER BY {OtherLane}, seq) AS ready
                FROM (SELECT * FROM messages
                      WHERE {Inbound} AND {Pending} AND agent_id = @agentId AND ({OtherLane}, seq) > (@headOtherLane, @headSeq)
                        AND NOT {ParkedRuns.HasWaiting("@agentId")}
                      ORDER BY {OtherLane}, seq LIMIT @limit) AS next) AS ahead
            WHERE ready
            ORDER BY {OtherLane}, seq;
            {riding?.Sql}
            """,
            [new { agentId = head.AgentId, headOtherLane = !Senders.IsUser(head.Sender), headSeq = head.Seq, limit = Math.Max(limit, 0) },
                .. riding is null ? Array.Empty<object>() : [riding.Parameters]],
            null,
            async results =>
            {
                var ahead = await results.ReadAsync<MessageRow>();
                if (riding is not null)
                {
                    await riding.ReadAsync(results);
                }

                return ahead;
            },
            cancellationToken);

    // Each run's agent's next due head, once the messages it completes are done; see CompleteInboundAsync. The message read
    // ahead as the next head is claimed by id: under a flood the planner, its statistics behind, took the look-up of the
    // next head through messages_by_session and sorted the agent's every row (6 to 13 ms a run). ANY(ARRAY(...)) keeps each
    // a probe of the primary key.
    private static readonly string ClaimNextHeads =
        $"""
        UPDATE messages SET status = '{Processing}', lease_owner = @leaseOwner, lease_until = {Now} + @lease, attempts = attempts + 1
        WHERE id = ANY(ARRAY(
                SELECT unnest(@nextIds::uuid[])
                UNION ALL
                SELECT (SELECT id FROM messages WHERE {Inbound} AND {Pending} AND agent_id = a.agent_id ORDER BY {OtherLane}, seq LIMIT 1)
                FROM unnest(@nextOfAgents::int[]) AS a(agent_id)))
          AND status = ANY(@retryable) AND available_at <= {Now}
          -- A parked run holds its agent: the claim decides what may pass it.
          AND NOT {ParkedRuns.HasWaiting("messages.agent_id")}
        RETURNING {Columns}
        """;

    // The sync answer: what a sender that holds its HTTP request open gets back.

    /// <summary>An inbound message's status and, once it is final, the answer its waiting sender gets (null: none).</summary>
    public static Task<SyncState?> SyncStateAsync(NpgsqlConnection connection, Guid id, CancellationToken cancellationToken) =>
        connection.QuerySingleOrDefaultAsync<SyncState?>(new CommandDefinition(
            """
            SELECT status, sync_answer::text AS payload, sync_answer_schema_digest AS schemadigest,
                   sync_answer_protocol_digest AS protocoldigest
            FROM messages WHERE id = @id
            """,
            new { id }, cancellationToken: cancellationToken));

    public sealed record SyncState(string Status, string? Payload, string? SchemaDigest, string? ProtocolDigest);

    /// <summary>Records (once) that the answer went back in the HTTP response; a replayed request gets it again.</summary>
    public static Task MarkAnswerSentAsync(NpgsqlConnection connection, Guid id, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(
            $"UPDATE messages SET sync_answer_sent_at = {Now} WHERE id = @id AND sync_answer_sent_at IS NULL",
            new { id }, cancellationToken: cancellationToken));
}
