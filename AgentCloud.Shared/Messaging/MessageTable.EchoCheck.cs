using AgentCloud.Shared.Data;
using Npgsql;

namespace AgentCloud.Shared.Messaging;

// The echo check: whether a run's answer would send a peer what the agent already sent it.
public static partial class MessageTable
{
    /// <summary>
    /// The echo checks of a run's messages, in one statement: for each of <paramref name="checks"/> (a message from a peer
    /// that its handling would answer), whether the agent already sent that peer this content in the session, an echo of
    /// ours coming back (which comes back at once). Bounded: the look-back is the last <see cref="EchoLookBack"/> the agent
    /// sent there, in its outbox and (for a peer hosted here) in the peer's inbox, each. It answers for what was committed
    /// before the run, as <see cref="EchoCheckResult"/>'s ranks, and for what the run itself would send
    /// (<paramref name="runSends"/>: whichever of them match each check), so that the caller decides each message in
    /// order as if the messages before it had been sent one by one.
    /// </summary>
    public static Task<List<EchoCheckResult>> CheckEchoesAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, int agentId,
        string address, IReadOnlyList<EchoCheck> checks, IReadOnlyList<RunSend> runSends, string chatDigest,
            CancellationToken cancellationToken) =>
        connection.QueryPreparedAsync<EchoCheckResult>(
            $"""
            WITH checks AS (
                SELECT c.position, c.peer, c.session, c.chat, c.payload::jsonb AS payload
                FROM unnest(@positions::int[], @peers::text[], @sessions::uuid[], @chats::bool[], @payloads::text[])
                     AS c(position, peer, session, chat, payload)),
            run_sends AS (
                SELECT s.number::int AS number, s.position, s.target, s.session, s.schema_digest, s.payload::jsonb AS payload
                FROM unnest(@sendPositions::int[], @sendTargets::text[], @sendSessions::uuid[], @sendSchemas::text[], @sendPayloads::text[])
                     WITH ORDINALITY AS s(position, target, session, schema_digest, payload, number)),
            -- Each look-back read once for the run, however many of its messages share it (a busy peer's run shares one).
            look_backs AS (SELECT DISTINCT peer, session FROM checks),
            outbox AS MATERIALIZED (
                SELECT l.peer, l.session, sent.*
                FROM look_backs l, LATERAL (
                    SELECT row_number() OVER (ORDER BY seq DESC) AS rank, schema_digest, payload FROM messages
                    WHERE agent_id = @agentId AND {Outbound} AND session = l.session AND sender = @address AND target = l.peer
                    ORDER BY seq DESC LIMIT @lookBack) AS sent),
            -- Only for a peer hosted here (the EXISTS is checked before any scan): with no such agent the planner walked the
            -- whole table backwards by seq looking for agent_id = NULL.
            peer_inbox AS MATERIALIZED (
                SELECT l.peer, l.session, sent.*
                FROM look_backs l, LATERAL (
                    SELECT row_number() OVER (ORDER BY seq DESC) AS rank, schema_digest, payload FROM messages
                    WHERE EXISTS (SELECT 1 FROM agents WHERE address = l.peer)
                      AND agent_id = (SELECT id FROM agents WHERE address = l.peer) AND {Inbound} AND session = l.session
                      AND sender = @address AND target = l.peer
                    ORDER BY seq DESC LIMIT @lookBack) AS sent)
            SELECT c.position,
                   (SELECT min(o.rank) FROM outbox o WHERE o.peer = c.peer AND o.session = c.session AND {Matches("o", "c")})::int AS
                       outbox_rank,
                   (SELECT min(i.rank) FROM peer_inbox i WHERE i.peer = c.peer AND i.session = c.session AND {Matches("i", "c")})::int AS
                       peer_inbox_rank,
                   ARRAY(SELECT s.number - 1 FROM run_sends s
                         WHERE s.position < c.position AND s.target = c.peer AND s.session = c.session AND {Matches("s", "c")}
                         ORDER BY s.number) AS matching_run_sends
            FROM checks c ORDER BY c.position
            """,
            new
            {
                agentId, address, chatDigest, lookBack = EchoLookBack,
                positions = checks.Select(check => check.Position).ToArray(),
                peers = checks.Select(check => check.Peer).ToArray(),
                sessions = checks.Select(check => check.Session).ToArray(),
                chats = checks.Select(check => check.SchemaDigest == chatDigest).ToArray(),
                payloads = checks.Select(check => check.PayloadJson).ToArray(),
                sendPositions = runSends.Select(send => send.Position).ToArray(),
                sendTargets = runSends.Select(send => send.Target).ToArray(),
                sendSessions = runSends.Select(send => send.Session).ToArray(),
                sendSchemas = runSends.Select(send => send.SchemaDigest).ToArray(),
                sendPayloads = runSends.Select(send => send.PayloadJson).ToArray(),
            },
            transaction, cancellationToken);

    // The same content: for a chat message its text (a chat message is new each time it is sent), else the whole payload.
    private static string Matches(string sent, string check) =>
        $"CASE WHEN {check}.chat THEN {sent}.schema_digest = @chatDigest AND {sent}.payload -> 'content' = {check}.payload -> 'content' "
        + $"ELSE {sent}.payload = {check}.payload END";

    /// <summary>How many of its latest messages in a session an agent's echo check looks at.</summary>
    public const int EchoLookBack = 100;
}
