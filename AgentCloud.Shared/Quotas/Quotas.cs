using System.Globalization;
using AgentCloud.Shared.Messaging;
using Dapper;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AgentCloud.Shared.Quotas;

/// <summary>
/// Per-user limits (section <c>Quotas</c>), sized for a small deployment: a user who reaches one is
/// refused with problem details naming it, and nobody else notices.
/// </summary>
public sealed class QuotaOptions
{
    public const string Section = "Quotas";

    /// <summary>Agents one user may own.</summary>
    public int AgentsPerUser { get; set; } = 100;

    /// <summary>Bytes of agent config one user may store, over all their agents (as PostgreSQL stores it).</summary>
    public long ConfigBytesPerUser { get; set; } = 1024 * 1024;

    /// <summary>Messages one user may send per UTC day (to their agents, and from them with /send).</summary>
    public int MessagesPerDay { get; set; } = 10_000;

    /// <summary>
    /// Unfinished messages one agent may have waiting in its outbox, and in each lane of its inbox: its owner's posts, and
    /// everyone else's (the owner's own agents may go on to twice this, so outsiders cannot fill the lane for them); sends
    /// beyond it wait for the queue to drain.
    /// </summary>
    public int QueuedMessagesPerAgent { get; set; } = 1_000;

    /// <summary>Of an agent's inbox, the unfinished messages all the agents of one other user may have waiting together.</summary>
    public int QueuedMessagesPerOutsider { get; set; } = 100;

    /// <summary>Schedules one agent may have.</summary>
    public int SchedulesPerAgent { get; set; } = 20;

    /// <summary>The shortest time a schedule (an interval, or a cron's closest due times) may leave between two messages.</summary>
    public TimeSpan ScheduleMinInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Model input tokens one user's agents may spend per UTC day, all together (see <see cref="TokenLimits"/>).</summary>
    public long InputTokensPerDay { get; set; } = 2_000_000;

    /// <summary>Model output tokens one user's agents may spend per UTC day, all together.</summary>
    public long OutputTokensPerDay { get; set; } = 500_000;

    /// <summary>
    /// The percentage of an agent's daily tokens (its own limit, else its owner's) that messages from anyone but the owner
    /// (uAgents peers, other users' agents, public callers) may spend, all of them together.
    /// </summary>
    public int OutsiderTokenSharePercent { get; set; } = 10;
}

public static class QuotaNames
{
    public const string AgentsPerUser = "agents_per_user";
    public const string ConfigBytesPerUser = "config_bytes_per_user";
    public const string MessagesPerDay = "messages_per_day";
    public const string QueuedMessagesPerAgent = "queued_messages_per_agent";
    public const string QueuedMessagesPerOutsider = "queued_messages_per_outsider";
    public const string SchedulesPerAgent = "schedules_per_agent";
    public const string InputTokensPerDay = "input_tokens_per_day";
    public const string OutputTokensPerDay = "output_tokens_per_day";
}

/// <summary>
/// A quota stopped the request; the statement's transaction is rolled back, so nothing was stored. The
/// exception handler answers it: 403 for a standing limit (agents, config bytes: free something first),
/// 429 with Retry-After for one that passes (the day's messages, a full queue).
/// </summary>
public sealed class QuotaExceededException(string quota, long limit, string detail, TimeSpan? retryAfter = null)
    : Exception(detail)
{
    public string Quota { get; } = quota;
    public long Limit { get; } = limit;
    public TimeSpan? RetryAfter { get; } = retryAfter;
    public int Status => RetryAfter is null ? StatusCodes.Status403Forbidden : StatusCodes.Status429TooManyRequests;
}

public sealed record QuotaUse(long Used, long Limit);

/// <summary>The day came near its end between a send's first read of it and its lock: see <see cref="QuotaChecks.SendAsync{T}"/>.</summary>
public sealed class DayFillingUpException() : Exception("The day's message count came near its limit during the send; run it again.");

/// <summary>The checks, each inside the caller's transaction so two racing requests cannot both take the last unit.</summary>
public sealed class QuotaChecks(IOptions<QuotaOptions> options)
{
    public QuotaOptions Limits => options.Value;

    public static WebApplicationBuilder AddQuotas(WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<QuotaOptions>().BindConfiguration(QuotaOptions.Section)
            .Validate(o => o.AgentsPerUser > 0 && o.ConfigBytesPerUser > 0 && o.MessagesPerDay > 0 && o.QueuedMessagesPerAgent > 0
                    && o.QueuedMessagesPerOutsider > 0
                    && o.SchedulesPerAgent > 0 && o.ScheduleMinInterval > TimeSpan.Zero
                    && o.InputTokensPerDay > 0 && o.OutputTokensPerDay > 0 && o.OutsiderTokenSharePercent is >= 0 and <= 100,
                "Quotas must be positive.")
            .ValidateOnStart();
        builder.Services.AddSingleton<QuotaChecks>();
        return builder;
    }

    /// <summary>
    /// Room for one more agent with <paramref name="configJson"/>, or for replacing agent
    /// <paramref name="replacing"/>'s config with it. Locks the user's row: the user's agent changes queue here.
    /// </summary>
    public async Task CheckAgentsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, int userId, string? configJson,
        int? replacing, CancellationToken cancellationToken)
    {
        var limits = options.Value;
        await connection.ExecuteAsync(new CommandDefinition("SELECT 1 FROM users WHERE id = @userId FOR NO KEY UPDATE",
            new { userId }, transaction, cancellationToken: cancellationToken));
        var use = await connection.QuerySingleAsync<AgentUse>(new CommandDefinition(
            """
            SELECT count(*) AS agents,
                   COALESCE(sum(octet_length(COALESCE(config, '{}'::jsonb)::text)) FILTER (WHERE id IS DISTINCT FROM @replacing), 0)
                       + COALESCE(octet_length(@configJson::jsonb::text), 0) AS config_bytes
            FROM agents WHERE user_id = @userId
            """,
            new { userId, configJson, replacing }, transaction, cancellationToken: cancellationToken));
        if (replacing is null && use.Agents >= limits.AgentsPerUser)
        {
            throw new QuotaExceededException(QuotaNames.AgentsPerUser, limits.AgentsPerUser,
                $"Quota {QuotaNames.AgentsPerUser} reached: a user may have at most {limits.AgentsPerUser} agents. Delete one first.");
        }

        if (configJson is not null && use.ConfigBytes > limits.ConfigBytesPerUser)
        {
            throw new QuotaExceededException(QuotaNames.ConfigBytesPerUser, limits.ConfigBytesPerUser,
                $"Quota {QuotaNames.ConfigBytesPerUser} reached: a user's agent configs may total at most {limits.ConfigBytesPerUser} " +
                $"bytes "
                + $"(this would make {use.ConfigBytes}).");
        }
    }

    /// <summary>
    /// Room in agent <paramref name="agentId"/>'s outbox for one more message. (Sends racing into one queue can overshoot its
    /// cap by as many as arrive at once: a bound, not a hole; so for the other checks.)
    /// </summary>
    public async Task CheckOutboxAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, int agentId,
        CancellationToken cancellationToken) =>
        CheckQueue(await MessageTable.OutboxIsFullAsync(connection, transaction, agentId, options.Value.QueuedMessagesPerAgent,
            cancellationToken));

    /// <summary>Room in agent <paramref name="agentId"/>'s inbox for one more message of its owner <paramref name="ownerId"/>.</summary>
    public async Task CheckOwnerLaneAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, int agentId, int ownerId,
        CancellationToken cancellationToken) =>
        CheckQueue(await MessageTable.OwnerLaneIsFullAsync(connection, transaction, agentId, ownerId, options.Value.QueuedMessagesPerAgent,
            cancellationToken));

    /// <summary>
    /// Room in agent <paramref name="agentId"/>'s inbox for one more message from an agent of user <paramref name="senderUserId"/>
    /// (<see cref="MessageTable.InboxRoomForAgentOfAsync"/>): the other lane, and an outside user's share of it.
    /// </summary>
    public async Task CheckInboxForAgentOfAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, int agentId, int senderUserId,
        CancellationToken cancellationToken)
    {
        var limits = options.Value;
        var room = await MessageTable.InboxRoomForAgentOfAsync(connection, transaction, agentId, senderUserId,
            limits.QueuedMessagesPerAgent,
            limits.QueuedMessagesPerOutsider, cancellationToken);
        if (room.ShareFull)
        {
            throw new QuotaExceededException(QuotaNames.QueuedMessagesPerOutsider, limits.QueuedMessagesPerOutsider,
                $"Quota {QuotaNames.QueuedMessagesPerOutsider} reached: your agents already have {limits.QueuedMessagesPerOutsider} "
                + "unfinished messages waiting for this agent. Try again once it has worked through some.", TimeSpan.FromSeconds(10));
        }

        CheckQueue(room.LaneFull);
    }

    /// <summary>The answer to a full queue (<see cref="CheckOwnerLaneAsync"/>, <see cref="CheckOutboxAsync"/> …), once known.</summary>
    public void CheckQueue(bool full)
    {
        var limit = options.Value.QueuedMessagesPerAgent;
        if (full)
        {
            throw new QuotaExceededException(QuotaNames.QueuedMessagesPerAgent, limit,
                $"Quota {QuotaNames.QueuedMessagesPerAgent} reached: the agent already has {limit} "
                + "unfinished messages. Try again once it has worked through some.", TimeSpan.FromSeconds(10));
        }
    }

    /// <summary>
    /// Counts one stored message against <paramref name="userId"/>'s day: statements to ride in the round trip of the
    /// message's insert (<see cref="MessageTable.EnqueueAsync"/>), whose reading throws (and the caller's transaction
    /// rolls back with the message) when the day is used up. Never more than the limit, and concurrent sends do not take
    /// turns for it until the day is nearly used up:
    /// <list type="bullet">
    /// <item>The day is counted in shards (migration 0071): a send adds one to its connection's shard, whose row lock
    /// (held to the commit) only the few connections that share the shard wait for; the quota is the shards' sum.</item>
    /// <item>With more left than could be in flight at once (<see cref="InFlightAtMostAsync"/>: a statement of up to
    /// <see cref="MessageTable.MaxOwnerSendsPerStatement"/> sends on each of max_connections), a send counts under a
    /// shared lock on the user's day; nearer the end, under an exclusive one, so those sends take turns, each seeing
    /// every send before it. The way is chosen on a read with room to spare (twice that), and the count is
    /// checked again under the lock.</item>
    /// </list>
    /// </summary>
    /// <remarks>Reading throws <see cref="DayFillingUpException"/> when the day came near its end between the read and the
    /// lock: run the send again.</remarks>
    public async Task<RidingStatements> CountMessageAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, int userId,
        CancellationToken cancellationToken)
    {
        var limit = options.Value.MessagesPerDay;
        var inFlightAtMost = await InFlightAtMostAsync(connection, transaction, cancellationToken);

        // Two statements, so the second reads the day afresh once the first holds its lock.
        return new RidingStatements(
            $"""
            SELECT set_config('{TurnSetting}', {TakeTurn(UsedOn("@userId"), "@userId")}, true);

            INSERT INTO usage_daily (user_id, day, shard, messages)
            SELECT @userId, {Today}, pg_backend_pid() % 32, 1
            WHERE {UsedOn("@userId")} < CASE current_setting('{TurnSetting}') WHEN '{Shared}' THEN @sharedUpTo ELSE @limit END
            ON CONFLICT (user_id, day, shard) DO UPDATE SET messages = usage_daily.messages + 1
            RETURNING messages
            """,
            new { userId, limit, inFlightAtMost, sharedUpTo = limit - inFlightAtMost, dayLock = DayLock },
            async results =>
            {
                var turn = await results.ReadSingleOrDefaultAsync<string>();
                if (await results.ReadSingleOrDefaultAsync<int?>() is null)
                {
                    throw DayUsedUp(turn);
                }
            });
    }

    /// <summary>
    /// The day's count, by the rules of <see cref="CountMessageAsync"/>, for owners' sends that commit together
    /// (<see cref="MessageTable.EnqueueForOwnersAsync"/>): each user of the batch takes a turn, in user order (so two batches
    /// cannot deadlock on them), and each of a user's messages fits when the day's use read under the turn, plus its rank
    /// among them, stays within the turn's bound.
    /// </summary>
    public async Task<DayQuota> DayQuotaAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var limit = options.Value.MessagesPerDay;
        var inFlightAtMost = await InFlightAtMostAsync(connection, null, cancellationToken);
        return new DayQuota(
            $"""
            SELECT set_config('{TurnsSetting}', jsonb_object_agg(u.user_id, {TakeTurn(UsedOn("u.user_id"), "u.user_id")})::text, true)
            FROM (SELECT DISTINCT unnest(@userIds::int[]) AS user_id ORDER BY user_id) AS u
            """,
            UsedOn,
            user => $"current_setting('{TurnsSetting}')::jsonb ->> {user}::text",
            $"CASE turn WHEN '{Shared}' THEN @sharedUpTo ELSE @limit END",
            perUser => $"""
                INSERT INTO usage_daily (user_id, day, shard, messages)
                SELECT c.user_id, {Today}, pg_backend_pid() % 32, c.n FROM ({perUser}) AS c ORDER BY c.user_id
                ON CONFLICT (user_id, day, shard) DO UPDATE SET messages = usage_daily.messages + excluded.messages
                """,
            new { limit, inFlightAtMost, sharedUpTo = limit - inFlightAtMost, dayLock = DayLock });
    }

    /// <summary>Why a send found no room in the day on <paramref name="turn"/>: run it again (shared), or the quota is reached.</summary>
    public Exception DayUsedUp(string? turn)
    {
        if (turn == Shared)
        {
            return new DayFillingUpException();
        }

        var limit = options.Value.MessagesPerDay;
        var now = DateTime.UtcNow;
        return new QuotaExceededException(QuotaNames.MessagesPerDay, limit,
            $"Quota {QuotaNames.MessagesPerDay} reached: a user may send at most {limit} messages per UTC day.",
            now.Date.AddDays(1) - now);
    }

    /// <summary>
    /// More messages than this cannot be in flight at once: one statement per connection of the server's max_connections, of
    /// at most <see cref="MessageTable.MaxOwnerSendsPerStatement"/> messages each.
    /// </summary>
    private async Task<int> InFlightAtMostAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction,
        CancellationToken cancellationToken)
    {
        if (maxConnections == 0)
        {
            maxConnections = await connection.ExecuteScalarAsync<int>(new CommandDefinition(
                "SELECT current_setting('max_connections')::int", transaction: transaction, cancellationToken: cancellationToken));
        }

        return maxConnections * MessageTable.MaxOwnerSendsPerStatement;
    }

    // The turn taken on a day whose use is read as `used`: a shared lock with more left than could be in flight (and to spare),
    // else an exclusive one.
    private static string TakeTurn(string used, string user) => $"""
        CASE WHEN {used} < @sharedUpTo - @inFlightAtMost
            THEN (SELECT '{Shared}' FROM pg_advisory_xact_lock_shared(@dayLock, {user}))
            ELSE (SELECT '{Exclusive}' FROM pg_advisory_xact_lock(@dayLock, {user})) END
        """;

    /// <summary>Runs a send (one transaction that counts its message with <see cref="CountMessageAsync"/>) again if the day came near its
    /// end under it.</summary>
    public static async Task<T> SendAsync<T>(Func<Task<T>> send)
    {
        try
        {
            return await send();
        }
        catch (DayFillingUpException)
        {
            // Its transaction rolled back; now the read finds the day near its end, and the send takes its turn.
            return await send();
        }
    }

    // The two-int advisory lock class of a user's day (the key is the user id), and the transaction's way through it.
    private const int DayLock = 120_033;
    private const string TurnSetting = "agentcloud.day_turn";
    private const string Shared = "shared";
    private const string Exclusive = "exclusive";

    private const string TurnsSetting = "agentcloud.day_turns";
    private const string Today = "(now() AT TIME ZONE 'utc')::date";

    private static string UsedOn(string user) =>
        $"(SELECT COALESCE(sum(messages), 0) FROM usage_daily WHERE usage_daily.user_id = {user} AND usage_daily.day = {Today})";

    // The server's max_connections, read once (see InFlightAtMostAsync).
    private int maxConnections;

    /// <summary>The user's use of each quota; queued messages as the fullest queue of any of their agents.</summary>
    public async Task<IReadOnlyDictionary<string, QuotaUse>> UsageAsync(NpgsqlDataSource dataSource, int userId,
        CancellationToken cancellationToken)
    {
        var limits = options.Value;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var use = await connection.QuerySingleAsync<UserUse>(new CommandDefinition(
            $$"""
            SELECT (SELECT count(*) FROM agents WHERE user_id = @userId) AS agents,
                   (SELECT COALESCE(sum(octet_length(COALESCE(config, '{}'::jsonb)::text)), 0) FROM agents WHERE user_id = @userId) AS
                       config_bytes,
                   (SELECT COALESCE(sum(messages), 0) FROM usage_daily
                    WHERE user_id = @userId AND day = (now() AT TIME ZONE 'utc')::date) AS messages_today,
                   (SELECT COALESCE(sum(input_tokens), 0) FROM token_usage_daily
                    WHERE user_id = @userId AND day = (now() AT TIME ZONE 'utc')::date) AS input_tokens_today,
                   (SELECT COALESCE(sum(output_tokens), 0) FROM token_usage_daily
                    WHERE user_id = @userId AND day = (now() AT TIME ZONE 'utc')::date) AS output_tokens_today
            """,
            new { userId }, cancellationToken: cancellationToken));
        return new Dictionary<string, QuotaUse>
        {
            [QuotaNames.AgentsPerUser] = new(use.Agents, limits.AgentsPerUser),
            [QuotaNames.ConfigBytesPerUser] = new(use.ConfigBytes, limits.ConfigBytesPerUser),
            [QuotaNames.MessagesPerDay] = new(use.MessagesToday, limits.MessagesPerDay),
            [QuotaNames.InputTokensPerDay] = new(use.InputTokensToday, limits.InputTokensPerDay),
            [QuotaNames.OutputTokensPerDay] = new(use.OutputTokensToday, limits.OutputTokensPerDay),
            [QuotaNames.QueuedMessagesPerAgent] = new(await MessageTable.FullestQueueAsync(connection, userId, cancellationToken),
                limits.QueuedMessagesPerAgent),
        };
    }

    public static string Seconds(TimeSpan span) =>
        Math.Max(1, (int)Math.Ceiling(span.TotalSeconds)).ToString(CultureInfo.InvariantCulture);

    private sealed class AgentUse
    {
        public long Agents { get; init; }
        public long ConfigBytes { get; init; }
    }

    private sealed class UserUse
    {
        public long Agents { get; init; }
        public long ConfigBytes { get; init; }
        public long MessagesToday { get; init; }
        public long InputTokensToday { get; init; }
        public long OutputTokensToday { get; init; }
    }
}
