using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Npgsql;

namespace Bench;

/// <summary>
/// Runs that wait (docs/llm-agents.md): many llm runs in flight on one worker, and delegation between llm agents.
/// <list type="bullet">
/// <item><c>waits.echo</c>: the baseline, <c>--runs</c> echo agents, one message each, posted together: time to all done.</item>
/// <item><c>waits.llm</c>: as many llm agents whose model takes <c>--latency-ms</c>: time to all done (the goal: within
/// 2 × the latency plus the echo time), the most runs in flight at once, the workers' memory per run in flight.</item>
/// <item><c>waits.delegate</c>: <c>--delegations</c> llm askers each asking their own llm peer (latency
/// <c>--delegation-latency-ms</c>), together: all answered, the slowest accepted → done.</item>
/// <item><c>waits.chain</c>, <c>waits.cycle</c>: <c>--chains</c> chains A → B → C and cycles A → B → A.</item>
/// </list>
/// The model server's "ask ADDRESS: TEXT" makes the model call send_message (see <see cref="ModelServer"/>).
/// </summary>
public static class WaitLoad
{
    public static async Task RunAsync(Args args)
    {
        var (api, token, conn, _) = LlmLoad.Common(args);
        var runs = args.Int("runs", 500);
        var latency = args.Int("latency-ms", 2000);
        var delegations = args.Int("delegations", 200);
        var delegationLatency = args.Int("delegation-latency-ms", 1000);
        var chains = args.Int("chains", 50);
        var run = Guid.NewGuid().ToString("N")[..8];
        using var client = LlmLoad.Client(api, token, 64);
        await using var db = NpgsqlDataSource.Create(conn);
        var outFile = args.Get("out");

        var echo = await LlmLoad.CreateAgentsAsync(client, $"bench-wait-echo-{run}", new JsonObject { ["behavior"] = "echo" }, runs);
        var echoResult = await PostAllAsync(client, db, [.. echo.Select(agent => (agent, "hello"))], sample: null);
        Write(outFile, "waits.echo", echoResult, new JsonObject { ["runs"] = runs });

        var llm = await LlmLoad.CreateAgentsAsync(client, $"bench-wait-llm-{run}", Llm(latency, delegates: false), runs);
        var rssBefore = WorkersRssKb();
        var sampler = new Sampler(db, llm);
        var llmResult = await PostAllAsync(client, db, [.. llm.Select(agent => (agent, "hello"))], sampler);
        Write(outFile, "waits.llm", llmResult, new JsonObject
        {
            ["runs"] = runs, ["latency_ms"] = latency,
            ["goal_ms"] = 2 * latency + echoResult.WallMs,
            ["in_flight_max"] = sampler.MaxInFlight,
            ["workers_rss_before_kb"] = rssBefore,
            ["workers_rss_peak_kb"] = sampler.PeakRssKb,
            ["kb_per_run_in_flight"] = sampler.MaxInFlight > 0 ? (double)(sampler.PeakRssKb - rssBefore) / sampler.MaxInFlight : double.NaN,
        });

        var peers = await LlmLoad.CreateAgentsAsync(client, $"bench-wait-peer-{run}", Llm(delegationLatency, delegates: false),
            delegations);
        var askers = await LlmLoad.CreateAgentsAsync(client, $"bench-wait-asker-{run}", Llm(delegationLatency, delegates: true),
            delegations);
        var address = await AddressesAsync(db, [.. peers, .. askers]);
        var delegated = await PostAllAsync(client, db, [.. askers.Select((asker, i) => (asker, $"ask {address[peers[i]]}: question {i}"))],
            null);
        var correct = delegated.Replies.Select((reply, i) => reply == $"{address[peers[i]]} said: " + Answer).Count(ok => ok);
        Write(outFile, "waits.delegate", delegated, new JsonObject
        {
            ["delegations"] = delegations, ["latency_ms"] = delegationLatency, ["answered"] = correct,
        });

        // Chains of three (A asks B, whose run asks C) and cycles (A asks B, whose run asks A back).
        var a = await LlmLoad.CreateAgentsAsync(client, $"bench-wait-a-{run}", Llm(delegationLatency, delegates: true), chains);
        var b = await LlmLoad.CreateAgentsAsync(client, $"bench-wait-b-{run}", Llm(delegationLatency, delegates: true), chains);
        var c = await LlmLoad.CreateAgentsAsync(client, $"bench-wait-c-{run}", Llm(delegationLatency, delegates: false), chains);
        address = await AddressesAsync(db, [.. a, .. b, .. c]);
        var chain = await PostAllAsync(client, db, [.. a.Select((x, i) => (x, $"ask {address[b[i]]}: ask {address[c[i]]}: hello {i}"))],
            null);
        var chainOk = chain.Replies.Select((reply, i) => reply == $"{address[b[i]]} said: {address[c[i]]} said: " + Answer).Count(ok => ok);
        Write(outFile, "waits.chain", chain, new JsonObject { ["chains"] = chains, ["depth"] = 3, ["answered"] = chainOk });
        var cycle = await PostAllAsync(client, db, [.. a.Select((x, i) => (x, $"ask {address[b[i]]}: ask {address[x]}: who {i}"))], null);
        var cycleOk = cycle.Replies.Select((reply, i) => reply == $"{address[b[i]]} said: {address[a[i]]} said: " + Answer).Count(ok => ok);
        Write(outFile, "waits.cycle", cycle, new JsonObject { ["cycles"] = chains, ["answered"] = cycleOk });
    }

    // The model server answers a plain message with its fixed text.
    private const string Answer = "The scripted model answers this same text every time.";

    private static JsonObject Llm(int latencyMs, bool delegates) => new()
    {
        ["behavior"] = "llm",
        ["model"] = ModelServer.Model,
        ["instructions"] = $"You are the bench's agent. [ttft:{latencyMs}]",
        ["tools"] = delegates ? new JsonArray("send_message") : new JsonArray(),
    };

    private sealed record Result(double WallMs, double P50, double P99, double Max, int Done, int Errors, List<string?> Replies);

    /// <summary>Posts one message to each agent at once (64 connections), then waits for every one to be final.</summary>
    private static async Task<Result> PostAllAsync(HttpClient client, NpgsqlDataSource db, (int Agent, string Text)[] sends,
        Sampler? sample)
    {
        var started = Stopwatch.StartNew();
        var ids = await Task.WhenAll(sends.Select(async send =>
        {
            using var response = await client.PostAsJsonAsync($"/agents/{send.Agent}/messages", new JsonObject { ["text"] = send.Text });
            var body = await response.Content.ReadFromJsonAsync<JsonObject>();
            return Guid.Parse(body!["id"]!.GetValue<string>());
        }));
        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (DateTime.UtcNow < deadline)
        {
            if (sample is not null)
            {
                await sample.TakeAsync();
            }

            await using var count = db.CreateCommand(
                "SELECT count(*) FROM messages WHERE id = ANY($1) AND status IN ('done', 'dead', 'canceled')");
            count.Parameters.Add(new NpgsqlParameter { Value = ids });
            if ((long)(await count.ExecuteScalarAsync())! == ids.Length)
            {
                break;
            }

            await Task.Delay(50);
        }

        var wall = started.Elapsed.TotalMilliseconds;
        await using var read = db.CreateCommand(
            """
            SELECT id, status, reply #>> '{}', EXTRACT(EPOCH FROM completed_at - created_at)::float8 * 1000
            FROM messages WHERE id = ANY($1)
            """);
        read.Parameters.Add(new NpgsqlParameter { Value = ids });
        var rows = new Dictionary<Guid, (string Status, string? Reply, double Ms)>();
        await using (var reader = await read.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                rows[reader.GetGuid(0)] = (reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3)
                    ? double.NaN : reader.GetDouble(3));
            }
        }

        var done = ids.Where(id => rows.TryGetValue(id, out var row) && row.Status == "done").ToList();
        var latencies = done.Select(id => rows[id].Ms).Order().ToList();
        return new Result(wall, Stats.Percentile(latencies, 50), Stats.Percentile(latencies, 99), latencies.Count > 0 ? latencies[^1]
            : double.NaN,
            done.Count, ids.Length - done.Count, [.. ids.Select(id => rows.TryGetValue(id, out var row) ? row.Reply : null)]);
    }

    private static void Write(string outFile, string name, Result result, JsonObject extra)
    {
        var json = new JsonObject
        {
            ["name"] = name, ["wall_ms"] = result.WallMs, ["p50"] = result.P50, ["p99"] = result.P99, ["max"] = result.Max,
            ["done"] = result.Done, ["errors"] = result.Errors,
        };
        foreach (var (key, value) in extra)
        {
            json[key] = value?.DeepClone();
        }

        Stats.Write(outFile.Replace("{name}", name), json);
    }

    private static async Task<Dictionary<int, string>> AddressesAsync(NpgsqlDataSource db, int[] agents)
    {
        await using var command = db.CreateCommand("SELECT id, address FROM agents WHERE id = ANY($1)");
        command.Parameters.Add(new NpgsqlParameter { Value = agents });
        var addresses = new Dictionary<int, string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            addresses[reader.GetInt32(0)] = reader.GetString(1);
        }

        return addresses;
    }

    /// <summary>The resident memory of the worker processes on this machine, in KB.</summary>
    private static long WorkersRssKb()
    {
        long total = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), out _)))
        {
            try
            {
                if (!File.ReadAllText(Path.Combine(dir, "cmdline")).Contains("AgentCloud.AgentWorker", StringComparison.Ordinal))
                {
                    continue;
                }

                var rss = File.ReadLines(Path.Combine(dir, "status")).FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
                total += rss is null ? 0 : long.Parse(rss.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return total;
    }

    /// <summary>Samples the agents' messages in flight (processing or waiting) and the workers' memory.</summary>
    private sealed class Sampler(NpgsqlDataSource db, int[] agents)
    {
        public long MaxInFlight { get; private set; }

        public long PeakRssKb { get; private set; }

        public async Task TakeAsync()
        {
            await using var command = db.CreateCommand(
                "SELECT count(*) FROM messages WHERE agent_id = ANY($1) AND direction = 'inbound' AND status IN ('processing', 'waiting')");
            command.Parameters.Add(new NpgsqlParameter { Value = agents });
            MaxInFlight = Math.Max(MaxInFlight, (long)(await command.ExecuteScalarAsync())!);
            PeakRssKb = Math.Max(PeakRssKb, WorkersRssKb());
        }
    }
}
