using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Npgsql;

namespace Bench;

/// <summary>
/// A user and its agents through the API, then the bulk data by SQL: 1,000,000 log lines, 10,000 of
/// them for the agent the log benchmark reads. Writes what later steps need to a state file.
/// </summary>
public static class Setup
{
    public const int EchoAgents = 100;

    public static async Task RunAsync(Args args)
    {
        var api = new HttpClient { BaseAddress = new Uri(args.Get("api")), Timeout = TimeSpan.FromSeconds(60) };
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var username = $"bench_{suffix}";
        var password = $"bench-password-{suffix}";
        (await api.PostAsJsonAsync("/signup", new { username, email = $"{username}@example.com", password })).EnsureSuccessStatusCode();
        var token = await LoginAsync(api, username, password);
        api.DefaultRequestHeaders.Authorization = new("Bearer", token);
        var me = await api.GetFromJsonAsync<JsonObject>("/users/me");
        var userId = me!["id"]!.GetValue<int>();

        var logsAgent = await CreateAgentAsync(api, "bench-logs", null);
        var echoAgents = new int[EchoAgents];
        await Parallel.ForAsync(0, EchoAgents, new ParallelOptions { MaxDegreeOfParallelism = 8 },
            async (i, _) => echoAgents[i] = await CreateAgentAsync(api, $"bench-echo-{i}", new JsonObject { ["behavior"] = "echo" }));
        Console.WriteLine($"  user {userId} ({username}), logs agent {logsAgent}, {EchoAgents} echo agents");

        await using var dataSource = NpgsqlDataSource.Create(args.Get("conn"));
        // --logs 0: no log lines (a run that does not measure the reads).
        var withLogs = args.Int("logs", 1) != 0;
        var loadSeconds = withLogs ? await LoadLogsAsync(dataSource, userId, logsAgent) : 0;

        // A cursor ~9,000 lines deep into the agent's 10,000, found the way a client would: page by page.
        string? cursor = null;
        for (var page = 0; withLogs && page < 90; page++)
        {
            var url = $"/agents/{logsAgent}/logs?limit=100" + (cursor is null ? "" : $"&cursor={cursor}");
            cursor = (await api.GetFromJsonAsync<JsonObject>(url))!["next_cursor"]!.GetValue<string>();
        }

        var state = new JsonObject
        {
            ["name"] = "setup",
            ["username"] = username,
            ["password"] = password,
            ["token"] = token,
            ["user_id"] = userId,
            ["logs_agent"] = logsAgent,
            ["echo_agents"] = new JsonArray(echoAgents.Select(id => (JsonNode)id).ToArray()),
            ["deep_cursor"] = cursor,
            ["log_load_seconds"] = loadSeconds,
        };
        File.WriteAllText(args.Get("out"), state.ToJsonString());
        if (withLogs)
        {
            Console.WriteLine($"  1,000,000 log lines loaded and analyzed in {loadSeconds:0.0} s; deep cursor after 90 pages");
        }
    }

    public static async Task<string> LoginAsync(HttpClient api, string username, string password)
    {
        var response = await api.PostAsJsonAsync("/login", new { username, password });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["access_token"]!.GetValue<string>();
    }

    private static async Task<int> CreateAgentAsync(HttpClient api, string name, JsonObject? config)
    {
        var response = await api.PostAsJsonAsync("/agents", config is null ? new JsonObject { ["name"] = name }
            : new JsonObject { ["name"] = name, ["config"] = config });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<int>();
    }

    private static async Task<double> LoadLogsAsync(NpgsqlDataSource dataSource, int userId, int logsAgent)
    {
        var watch = Stopwatch.StartNew();
        await using var connection = await dataSource.OpenConnectionAsync();
        try
        {
            // Triggers (the live-tail NOTIFY) and FK checks off for the bulk load only; needs a superuser.
            await Execute(connection, "SET session_replication_role = replica");
        }
        catch (PostgresException e)
        {
            Console.WriteLine($"  (loading with triggers on: {e.MessageText})");
        }

        // 99 more agents of the same user own the other 990,000 lines; ids of one INSERT are consecutive.
        await using var fillers = new NpgsqlCommand(
            """
            WITH inserted AS (
                INSERT INTO agents (name, user_id) SELECT 'bench-filler-' || g, @userId FROM generate_series(1, 99) g RETURNING id)
            SELECT min(id), max(id) FROM inserted
            """, connection);
        fillers.Parameters.AddWithValue("userId", userId);
        int first, last;
        await using (var reader = await fillers.ExecuteReaderAsync())
        {
            await reader.ReadAsync();
            (first, last) = (reader.GetInt32(0), reader.GetInt32(1));
        }

        if (last - first != 98)
        {
            throw new InvalidOperationException($"Filler agent ids are not consecutive ({first}..{last}).");
        }

        await using var load = new NpgsqlCommand(
            """
            INSERT INTO agent_logs (agent_id, log_level, message, timestamp)
            SELECT CASE WHEN g % 100 = 0 THEN @logsAgent ELSE @first + g % 100 - 1 END,
                   (ARRAY['DEBUG', 'INFO', 'WARNING', 'ERROR'])[1 + g % 4],
                   'bench line ' || g || ': the agent handled a request and wrote a line of ordinary length',
                   (now() AT TIME ZONE 'utc') - make_interval(secs => (1000000 - g) * 0.5)
            FROM generate_series(1, 1000000) g
            """, connection) { CommandTimeout = 600 };
        load.Parameters.AddWithValue("logsAgent", logsAgent);
        load.Parameters.AddWithValue("first", first);
        await load.ExecuteNonQueryAsync();
        await Execute(connection, "RESET session_replication_role");
        await Execute(connection, "ANALYZE agent_logs");
        await Execute(connection, "ANALYZE agents");
        return watch.Elapsed.TotalSeconds;
    }

    private static async Task Execute(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 600 };
        await command.ExecuteNonQueryAsync();
    }
}
