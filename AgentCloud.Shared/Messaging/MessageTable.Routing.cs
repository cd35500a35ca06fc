using AgentCloud.Shared.Data;
using AgentCloud.Shared.UAgents;
using Dapper;
using Npgsql;

namespace AgentCloud.Shared.Messaging;

// Routing and the queue caps: where a send goes, and whether its queue has room.
public static partial class MessageTable
{
    /// <summary>
    /// The one routing rule for what an agent sends (<c>/send</c>, replies, forwards): an address in the static map, or
    /// <paramref name="overHttp"/>, goes over HTTP from the sender's outbox; else an agent hosted here gets it in its inbox;
    /// anything else waits in the sender's outbox, <see cref="Route.Unreachable"/> when no endpoint source could ever name it
    /// (the API refuses such a send, a handler's is dead at once with <see cref="NoEndpoint"/>).
    /// </summary>
    public static async Task<Route> RouteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction,
        StaticEndpointMap endpointMap, int senderAgentId, string target, bool overHttp, CancellationToken cancellationToken) =>
        !overHttp && !endpointMap.Contains(target)
            && await FindLocalAgentAsync(connection, transaction, target, cancellationToken) is { } local
            ? new Route(local, MessageDirection.Inbound)
            : new Route(senderAgentId, MessageDirection.Outbound, Unreachable: !endpointMap.CanResolve(target));

    /// <summary>Why a message to <paramref name="target"/>, which no endpoint source could ever resolve, is dead after one
    /// attempt.</summary>
    public static string NoEndpoint(string target) =>
        $"no endpoint for {target}: it is not in the static endpoint map and no Almanac is configured";

    /// <summary>Why a send to <paramref name="target"/>, which no endpoint source could ever resolve, is refused before anything is
    /// stored.</summary>
    public static string Unresolvable(string target) =>
        $"No endpoint is known for {target}: it is not hosted here, not in the static endpoint map, and no Almanac is configured.";

    /// <summary>The agent hosted here under <paramref name="address"/>, if any.</summary>
    public static Task<int?> FindLocalAgentAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string address,
        CancellationToken cancellationToken) =>
        connection.QueryPreparedSingleOrDefaultAsync<int?>("SELECT id FROM agents WHERE address = @address", new { address }, transaction,
            cancellationToken);

    /// <summary>Whether an agent's outbox holds <paramref name="cap"/> unfinished messages or more.</summary>
    public static async Task<bool> OutboxIsFullAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, int agentId, int cap,
        CancellationToken cancellationToken) =>
        (await connection.QueryPreparedAsync<bool>(OutboxIsFull, new { agentId, cap }, transaction, cancellationToken)).Single();

    /// <summary>Whether the owner's lane of agent <paramref name="agentId"/>'s inbox holds <paramref name="cap"/> unfinished.</summary>
    public static async Task<bool> OwnerLaneIsFullAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, int agentId,
        int ownerId,
        int cap, CancellationToken cancellationToken) =>
        (await connection.QueryPreparedAsync<bool>(OwnerLaneOfParametersIsFull, new { agentId, ownerId, cap }, transaction,
            cancellationToken)).Single();

    /// <summary>
    /// Whether the inbox of the agent <paramref name="agentId"/> (a column or parameter) holds <c>@cap</c> unfinished messages
    /// from its owner <paramref name="ownerId"/> (a column or parameter): the owner's lane, which nobody else can fill. It
    /// counts (up to the cap) only when it must: <c>seq</c> is one sequence for every queue, so a queue holds at most as many
    /// messages as have arrived since its oldest unfinished one, one probe of messages_inbox_by_sender (migration 0120) away;
    /// when that is fewer than the cap, the queue cannot be full. (Counting a backlog of thousands was a few milliseconds a send.)
    /// </summary>
    public static string OwnerLaneIsFull(string agentId, string ownerId) =>
        FullQueueQuery($"{Inbound} AND agent_id = {agentId} AND {Pending} AND sender = '{Senders.UserPrefix}' || {ownerId}");

    private static readonly string OwnerLaneOfParametersIsFull = OwnerLaneIsFull("@agentId", "@ownerId");

    // The same of an agent's outbox (parameter @agentId), on messages_outbox_by_agent (migration 0076).
    private static readonly string OutboxIsFull = FullQueueQuery($"{Outbound} AND agent_id = @agentId AND {Pending}");

    /// <summary>
    /// Whether the inbox of the agent <paramref name="agentId"/> (a column, for a query on <c>agents</c>) holds <c>@cap</c>
    /// unfinished messages from others than its owner, as <see cref="OwnerLaneIsFull"/> decides it for the owner's lane.
    /// </summary>
    // Its own text, not a flag: a prepared statement's generic plan cannot see which way a flag goes, and with
    // "(NOT @othersOnly OR …)" and min(seq) it read every pending row of the agent to find the oldest (7 ms at 3,000
    // waiting). Hence also ORDER BY seq LIMIT 1 rather than min(seq).
    public static string InboxOtherLaneIsFull(string agentId, string cap = "@cap") =>
        FullQueueQuery($"{Inbound} AND agent_id = {agentId} AND {Pending} AND {OtherLane}", cap);

    /// <summary>
    /// Room in agent <paramref name="agentId"/>'s inbox for one more message from an agent of user <paramref name="senderUserId"/>
    /// (<c>/send</c>): the other lane (everyone but the owner's own posts) takes <paramref name="cap"/> messages from outsiders
    /// and up to twice that from the owner's own agents, so outsiders cannot fill it for them either; all of one outside user's
    /// agents together at most <paramref name="perOutsider"/> (one probe of messages_inbox_by_sender per agent of theirs).
    /// </summary>
    public static async Task<InboxRoom> InboxRoomForAgentOfAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, int agentId,
        int senderUserId, int cap, int perOutsider, CancellationToken cancellationToken) =>
        (await connection.QueryPreparedAsync<InboxRoom>(InboxRoomForAgentOf,
            new { agentId, senderUserId, cap, ownCap = 2 * cap, perOutsider }, transaction, cancellationToken)).Single();

    private static readonly string InboxRoomForAgentOf = $"""
        SELECT CASE WHEN a.user_id IS NOT DISTINCT FROM @senderUserId THEN ({InboxOtherLaneIsFull("@agentId", "@ownCap")})
                    ELSE ({InboxOtherLaneIsFull("@agentId")}) END AS lane_full,
               COALESCE(a.user_id IS DISTINCT FROM @senderUserId
                   AND (SELECT count(*) FROM (SELECT 1 FROM messages
                                              WHERE {Inbound} AND agent_id = @agentId AND {Pending}
                                                AND sender IN (SELECT address FROM agents mine WHERE mine.user_id = @senderUserId)
                                              LIMIT @perOutsider) AS theirs) >= @perOutsider, false) AS share_full
        FROM agents a WHERE a.id = @agentId
        """;

    // The queue's oldest seq is its first in seq order, one index probe.
    private static string FullQueueQuery(string queue, string cap = "@cap") => $"""
        SELECT COALESCE(
            (SELECT max(seq) FROM messages) - {OldestOf(queue)} >= {cap} - 1
            AND (SELECT count(*) FROM (SELECT 1 FROM messages WHERE {queue} LIMIT {cap}) AS pending) >= {cap},
            false)
        """;

    private static string OldestOf(string queue) => $"(SELECT seq FROM messages WHERE {queue} ORDER BY seq LIMIT 1)";

    /// <summary>The longest unfinished queue (either direction) of any of the user's agents.</summary>
    public static Task<long> FullestQueueAsync(NpgsqlConnection connection, int userId, CancellationToken cancellationToken) =>
        connection.ExecuteScalarAsync<long>(new CommandDefinition(
            $"""
            SELECT COALESCE(max(n), 0) FROM (
                SELECT count(*) AS n FROM messages m JOIN agents a ON a.id = m.agent_id
                WHERE a.user_id = @userId AND m.{Pending}
                GROUP BY m.agent_id, m.direction) AS queues
            """,
            new { userId }, cancellationToken: cancellationToken));

    /// <summary>Inbound messages not finished yet, all agents (the queue-depth gauge).</summary>
    public static Task<long> CountPendingInboundAsync(NpgsqlConnection connection, CancellationToken cancellationToken) =>
        connection.ExecuteScalarAsync<long>(new CommandDefinition(
            $"SELECT count(*) FROM messages WHERE {Inbound} AND {Pending}", cancellationToken: cancellationToken));
}

/// <summary>Whether a message from an agent fits an inbox: the other lane as a whole, and the sending user's share of it.</summary>
public sealed record InboxRoom(bool LaneFull, bool ShareFull);
