using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Npgsql;

namespace Bench;

/// <summary>
/// Messages to the echo agents: through the API (workers handle them), or the same database work
/// done by a tight loop of plain SQL (the baseline). Either way the figures come from the rows:
/// accepted/s from created_at, handled/s from first created_at to last completed_at, latency from
/// completed_at − created_at. Each run has its own session id to pick its rows out.
/// </summary>
public static class MessageLoad
{
    // The product's statements (AgentCloud.Shared/Messaging/MessageTable*.cs, AgentCloud.AgentWorker/Messaging/Inbox.cs).
    private const string Columns =
        """
        id, seq, agent_id, direction, sender, target, session, schema_digest, protocol_digest,
        payload::text AS payload, status, attempts, available_at, lease_owner, lease_until,
        reply::text AS reply, error, in_reply_to, hops, traceparent, expires_at, sender_waits, delivered_to,
        created_at, updated_at, completed_at
        """;

    private const string Now = "(now() AT TIME ZONE 'utc')";

    public static async Task PostThroughApiAsync(Args args)
    {
        // --phase post: post only and write what was posted to --out; --phase measure: wait for and measure what --posted says
        // (a backlog: posted while the workers are stopped, measured once they go on).
        var phase = args.Optional("phase") ?? "all";
        if (phase == "measure")
        {
            var (posted, measured) = await MeasurePostedAsync(args);
            measured["client_posts_per_s"] = posted["client_posts_per_s"]!.GetValue<double>();
            Stats.Write(args.Get("out"), measured);
            return;
        }

        var state = JsonNode.Parse(File.ReadAllText(args.Get("state")))!;
        var agents = state["echo_agents"]!.AsArray().Select(a => a!.GetValue<int>()).ToArray();
        var token = state["token"]!.GetValue<string>();
        var count = args.Int("count", 20_000);
        var concurrency = args.Int("concurrency", 32);
        var rate = args.Double("rate", 0);
        var session = Guid.NewGuid();
        var api = new Uri(args.Get("api"));

        using var client = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = concurrency,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            UseProxy = false,
        }) { BaseAddress = api, Timeout = TimeSpan.FromSeconds(30) };

        var next = -1;
        var errors = 0;
        string? firstError = null;
        var start = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            while (true)
            {
                var i = Interlocked.Increment(ref next);
                if (i >= count)
                {
                    return;
                }

                if (rate > 0)
                {
                    // A paced poster: message i leaves at i / rate seconds.
                    var due = start + (long)(i / rate * Stopwatch.Frequency);
                    var wait = (due - Stopwatch.GetTimestamp()) * 1000.0 / Stopwatch.Frequency;
                    if (wait > 1)
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(wait));
                    }
                }

                using var request = new HttpRequestMessage(HttpMethod.Post, $"/agents/{agents[i % agents.Length]}/messages")
                {
                    Content = new StringContent($$"""{"payload": {"i": {{i}}, "text": "hello agent"}, "session": "{{session}}"}""",
                        Encoding.UTF8, "application/json"),
                };
                request.Headers.Authorization = new("Bearer", token);
                try
                {
                    using var response = await client.SendAsync(request);
                    await response.Content.CopyToAsync(Stream.Null);
                    if (response.StatusCode != HttpStatusCode.Accepted)
                    {
                        Interlocked.Increment(ref errors);
                        firstError ??= $"HTTP {(int)response.StatusCode}";
                    }
                }
                catch (Exception e)
                {
                    Interlocked.Increment(ref errors);
                    firstError ??= e.Message;
                }
            }
        })));
        var postSeconds = (Stopwatch.GetTimestamp() - start) / (double)Stopwatch.Frequency;
        if (phase == "post")
        {
            Stats.Write(args.Get("out"), new JsonObject
            {
                ["session"] = session.ToString(), ["count"] = count, ["errors"] = errors, ["client_posts_per_s"] = count / postSeconds,
                ["first_error"] = firstError,
            });
            return;
        }

        await using var dataSource = NpgsqlDataSource.Create(args.Get("conn"));
        var result = await WaitAndMeasureAsync(dataSource, session, count - errors, args.Double("timeout", 180));
        if (args.Optional("analyze") == "true")
        {
            // A warm-up's end: the tables' statistics, as autovacuum takes them within a minute of use (and every
            // prepared statement is planned again on them).
            await using var analyze = dataSource.CreateCommand("ANALYZE messages, agents, agent_logs, usage_daily");
            await analyze.ExecuteNonQueryAsync();
        }

        result["name"] = args.Get("name");
        result["errors"] = errors + result["dead"]!.GetValue<long>() + result["missing"]!.GetValue<long>();
        result["client_posts_per_s"] = count / postSeconds;
        result["target_rate"] = rate;
        if (firstError is not null)
        {
            result["first_error"] = firstError;
        }

        Stats.Write(args.Get("out"), result);
    }

    /// <summary>
    /// The design's limit: inserters run the API's transaction (owner check FOR KEY SHARE, insert, NOTIFY),
    /// handlers claim each agent's head of line and run the worker's transaction (fence, log line, done,
    /// NOTIFY), all at once, with no HTTP, JSON, auth or scheduling in between.
    /// </summary>
    public static async Task PlainSqlAsync(Args args)
    {
        var state = JsonNode.Parse(File.ReadAllText(args.Get("state")))!;
        var agents = state["echo_agents"]!.AsArray().Select(a => a!.GetValue<int>()).ToArray();
        var userId = state["user_id"]!.GetValue<int>();
        var count = args.Int("count", 20_000);
        var inserters = args.Int("inserters", 16);
        var handlers = args.Int("handlers", 8);
        var session = Guid.NewGuid();
        await using var dataSource = NpgsqlDataSource.Create(args.Get("conn"));

        var next = -1;
        var handled = 0;
        var insertTask = Task.WhenAll(Enumerable.Range(0, inserters).Select(_ => Task.Run(async () =>
        {
            while (true)
            {
                var i = Interlocked.Increment(ref next);
                if (i >= count)
                {
                    return;
                }

                await InsertAsync(dataSource, userId, agents[i % agents.Length], session, i);
            }
        })));
        var handleTask = Task.WhenAll(Enumerable.Range(0, handlers).Select(h => Task.Run(async () =>
        {
            var mine = agents.Where((_, index) => index % handlers == h).ToArray();
            var owner = $"bench-sql-{h}";
            while (Volatile.Read(ref handled) < count)
            {
                var any = false;
                foreach (var agent in mine)
                {
                    if (await HandleHeadAsync(dataSource, agent, owner))
                    {
                        any = true;
                        Interlocked.Increment(ref handled);
                    }
                }

                if (!any)
                {
                    await Task.Delay(1);
                }
            }
        })));
        await insertTask;
        await handleTask.WaitAsync(TimeSpan.FromSeconds(args.Double("timeout", 180)));

        var result = await WaitAndMeasureAsync(dataSource, session, count, 10);
        result["name"] = args.Get("name");
        result["errors"] = result["dead"]!.GetValue<long>() + result["missing"]!.GetValue<long>();
        result["inserters"] = inserters;
        result["handlers"] = handlers;
        Stats.Write(args.Get("out"), result);
    }

    private static async Task InsertAsync(NpgsqlDataSource dataSource, int userId, int agentId, Guid session, int i)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        string address;
        await using (var owner = new NpgsqlCommand("SELECT id, address FROM agents WHERE id = @agentId AND user_id = @userId FOR KEY SHARE",
            connection, transaction))
        {
            owner.Parameters.AddWithValue("agentId", agentId);
            owner.Parameters.AddWithValue("userId", userId);
            await using var reader = await owner.ExecuteReaderAsync();
            await reader.ReadAsync();
            address = reader.GetString(1);
        }

        await using (var insert = new NpgsqlCommand(
            $"""
            INSERT INTO messages (agent_id, direction, sender, target, session, schema_digest, protocol_digest,
                                  payload, in_reply_to, hops, dedup_key, traceparent, expires_at, sender_waits)
            VALUES (@AgentId, 'inbound', @Sender, @Target, @Session, NULL, NULL,
                    @PayloadJson::jsonb, NULL, 0, NULL, NULL, NULL, false)
            ON CONFLICT (agent_id, direction, dedup_key) WHERE dedup_key IS NOT NULL DO NOTHING
            RETURNING {Columns}
            """, connection, transaction))
        {
            insert.Parameters.AddWithValue("AgentId", agentId);
            insert.Parameters.AddWithValue("Sender", $"user:{userId}");
            insert.Parameters.AddWithValue("Target", address);
            insert.Parameters.AddWithValue("Session", session);
            insert.Parameters.AddWithValue("PayloadJson", $$"""{"i": {{i}}, "text": "hello agent"}""");
            await using var reader = await insert.ExecuteReaderAsync();
            await reader.ReadAsync();
        }

        await using (var notify = new NpgsqlCommand("SELECT pg_notify('agent_inbox', @agentId)", connection, transaction))
        {
            notify.Parameters.AddWithValue("agentId", agentId.ToString(System.Globalization.CultureInfo.InvariantCulture));
            await notify.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
    }

    private static async Task<bool> HandleHeadAsync(NpgsqlDataSource dataSource, int agentId, string leaseOwner)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        Guid id;
        string sender;
        await using (var claim = new NpgsqlCommand(
            $"""
            UPDATE messages
            SET status = 'processing', lease_owner = @leaseOwner, lease_until = {Now} + interval '30 seconds', attempts = attempts + 1
            WHERE id = (SELECT id FROM messages
                        WHERE direction = 'inbound' AND status IN ('queued', 'processing', 'failed') AND agent_id = @agentId
                        ORDER BY seq LIMIT 1)
              AND status = 'queued'
            RETURNING {Columns}
            """, connection))
        {
            claim.Parameters.AddWithValue("leaseOwner", leaseOwner);
            claim.Parameters.AddWithValue("agentId", agentId);
            await using var reader = await claim.ExecuteReaderAsync();
            if (!await reader.ReadAsync())
            {
                return false;
            }

            id = reader.GetGuid(0);
            sender = reader.GetString(4);
        }

        await using (var load = new NpgsqlCommand(
            "SELECT id, address, COALESCE(config, '{}'::jsonb)::text AS config FROM agents WHERE id = @agentId", connection))
        {
            load.Parameters.AddWithValue("agentId", agentId);
            await using var reader = await load.ExecuteReaderAsync();
            await reader.ReadAsync();
        }

        await using var transaction = await connection.BeginTransactionAsync();
        await Run(connection, transaction,
            "SELECT 1 FROM messages WHERE id = @id AND lease_owner = @leaseOwner AND status = 'processing' FOR UPDATE",
            ("id", id), ("leaseOwner", leaseOwner));
        await Run(connection, transaction, "INSERT INTO agent_logs (agent_id, log_level, message) VALUES (@agentId, @level, @message)",
            ("agentId", agentId), ("level", "INFO"), ("message", $"Received message {id} from {sender}"));
        await Run(connection, transaction,
            $"""
            UPDATE messages
            SET status = 'done', reply = @replyJson::jsonb, error = NULL, completed_at = {Now},
                lease_owner = NULL, lease_until = NULL
            WHERE id = @id
            RETURNING EXTRACT(EPOCH FROM completed_at - created_at)::float8 * 1000
            """, ("id", id), ("replyJson", """{"i": 0, "text": "hello agent"}"""));
        await Run(connection, transaction, "SELECT pg_notify('message_finished', @id)", ("id", id.ToString("D")));
        await transaction.CommitAsync();
        return true;
    }

    private static async Task Run(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql,
        params (string Name, object Value)[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        await command.ExecuteScalarAsync();
    }

    /// <summary>The <c>--phase measure</c> of a backlog: waits for and measures what <c>--posted</c> (a <c>--phase post</c>'s output)
    /// says.</summary>
    internal static async Task<(JsonNode Posted, JsonObject Measured)> MeasurePostedAsync(Args args)
    {
        var posted = JsonNode.Parse(File.ReadAllText(args.Get("posted")))!;
        await using var source = NpgsqlDataSource.Create(args.Get("conn"));
        var measured = await WaitAndMeasureAsync(source, Guid.Parse(posted["session"]!.GetValue<string>()),
            posted["count"]!.GetValue<int>() - posted["errors"]!.GetValue<int>(), args.Double("timeout", 300));
        measured["name"] = args.Get("name");
        measured["errors"] = posted["errors"]!.GetValue<int>() + measured["dead"]!.GetValue<long>() + measured["missing"]!.GetValue<long>();
        return (posted, measured);
    }

    internal static async Task<JsonObject> WaitAndMeasureAsync(NpgsqlDataSource dataSource, Guid session, int expected,
        double timeoutSeconds)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeoutSeconds * Stopwatch.Frequency);
        // Waiting asks only whether one of the run's messages is unfinished, reading the unfinished ones (a partial index;
        // MATERIALIZED, or the planner walks all of messages_by_session instead): it runs four times a second beside the
        // system it measures. Counting the run's finished ones read the whole table (no index leads with session): 100-170 ms
        // of the server's time a poll once 40,000 waited, a third of a core taken from the drain being measured.
        while (Stopwatch.GetTimestamp() < deadline)
        {
            await using var poll = dataSource.CreateCommand(
                """
                WITH unfinished AS MATERIALIZED (
                    SELECT session FROM messages WHERE direction = 'inbound' AND status IN ('queued', 'processing', 'failed'))
                SELECT EXISTS (SELECT 1 FROM unfinished WHERE session = @session)
                """);
            poll.Parameters.AddWithValue("session", session);
            if (!(bool)(await poll.ExecuteScalarAsync())!)
            {
                break;
            }

            await Task.Delay(250);
        }

        {
            await using var command = dataSource.CreateCommand(
                """
                SELECT count(*) AS total,
                       count(*) FILTER (WHERE status = 'done') AS done,
                       count(*) FILTER (WHERE status = 'dead') AS dead,
                       EXTRACT(EPOCH FROM max(created_at) - min(created_at))::float8 AS accept_seconds,
                       EXTRACT(EPOCH FROM max(completed_at) - min(created_at))::float8 AS handle_seconds,
                       percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM completed_at - created_at)::float8
                           * 1000)
                           FILTER (WHERE status = 'done') AS latency,
                       max(EXTRACT(EPOCH FROM completed_at - created_at)::float8 * 1000) AS max_latency,
                       EXTRACT(EPOCH FROM max(completed_at) - min(completed_at))::float8 AS drain_seconds,
                       percentile_cont(0.9) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM completed_at)::float8)
                           - percentile_cont(0.1) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM completed_at)::float8) AS middle_drain_seconds
                FROM messages WHERE session = @session AND direction = 'inbound'
                """);
            command.Parameters.AddWithValue("session", session);
            await using var reader = await command.ExecuteReaderAsync();
            await reader.ReadAsync();
            var total = reader.GetInt64(0);
            var done = reader.GetInt64(1);
            var dead = reader.GetInt64(2);
            {
                var latency = reader.IsDBNull(5) ? [double.NaN, double.NaN, double.NaN] : reader.GetFieldValue<double[]>(5);
                return new JsonObject
                {
                    ["messages"] = total,
                    ["done"] = done,
                    ["dead"] = dead,
                    ["missing"] = Math.Max(0, expected - done - dead),
                    ["accepted_per_s"] = total / Math.Max(reader.GetDouble(3), 1e-3),
                    ["handled_per_s"] = reader.IsDBNull(4) ? 0 : done / reader.GetDouble(4),
                    ["p50"] = latency[0],
                    ["p95"] = latency[1],
                    ["p99"] = latency[2],
                    ["max"] = reader.IsDBNull(6) ? double.NaN : reader.GetDouble(6),
                    // From the first finished to the last: a backlog's rate, whatever came before the first was handled.
                    ["drained_per_s"] = reader.IsDBNull(7) ? 0 : Math.Max(0, done - 1) / Math.Max(reader.GetDouble(7), 1e-3),
                    // The middle 80 % of the finishes: a backlog's steady rate, without the first moments of a start or the last agent's
                    // tail.
                    ["drained_middle_per_s"] = reader.IsDBNull(8) ? 0 : 0.8 * done / Math.Max(reader.GetDouble(8), 1e-3),
                };
            }
        }
    }
}
