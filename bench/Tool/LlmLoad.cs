using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Npgsql;

namespace Bench;

/// <summary>
/// llm agents against <see cref="ModelServer"/>: the run overhead per message (accepted→done from the
/// rows minus the model server's own time for that message's request: the time not spent waiting for the
/// model) beside the echo path, and the streaming latency (time to the first <c>delta</c> at the client
/// minus the model server's time to its first token). Each message's text is a unique key the model
/// server files its timing under.
/// </summary>
public static class LlmLoad
{
    public static async Task OverheadAsync(Args args)
    {
        var (api, token, conn, model) = Common(args);
        var concurrency = args.Int("concurrency", 32);
        var sequential = args.Int("sequential", 50);
        var rounds = args.Int("rounds", 10);
        var run = Guid.NewGuid().ToString("N")[..8];
        using var client = Client(api, token, concurrency);
        var echo = await CreateAgentsAsync(client, $"bench-echo-{run}", new JsonObject { ["behavior"] = "echo" }, concurrency);
        var llm = await CreateAgentsAsync(client, $"bench-llm-{run}", LlmConfig(0), concurrency);

        // Sequential: one message at a time, echo and llm interleaved so both see the same machine.
        var seqEcho = new List<Sent>();
        var seqLlm = new List<Sent>();
        for (var i = 0; i < sequential; i++)
        {
            seqEcho.Add(await SendAndWaitAsync(client, echo[0], $"{run}-seq-echo-{i}"));
            seqLlm.Add(await SendAndWaitAsync(client, llm[0], $"{run}-seq-llm-{i}"));
        }

        // Concurrent: one poster per agent (an agent's messages run in order), each waiting for its answer.
        async Task<List<Sent>> ConcurrentAsync(int[] agents, string kind) =>
            [.. (await Task.WhenAll(agents.Select(async (agent, a) =>
            {
                var sent = new List<Sent>();
                for (var r = 0; r < rounds; r++)
                {
                    sent.Add(await SendAndWaitAsync(client, agent, $"{run}-conc-{kind}-{a}-{r}"));
                }

                return sent;
            }))).SelectMany(s => s)];

        var concEcho = await ConcurrentAsync(echo, "echo");
        var concLlm = await ConcurrentAsync(llm, "llm");

        await using var dataSource = NpgsqlDataSource.Create(conn);
        var timings = await TimingsAsync(model);
        foreach (var (name, echoSent, llmSent, c) in new[] { ("llm.seq", seqEcho, seqLlm, 1),
            ("llm.conc", concEcho, concLlm, concurrency) })
        {
            var echoMs = await AcceptedToDoneAsync(dataSource, echoSent);
            var llmMs = await AcceptedToDoneAsync(dataSource, llmSent);
            var modelMs = llmSent.Select(s => timings.TryGetValue(s.Key, out var t) ? t.TotalMs : double.NaN).ToList();
            var overhead = llmSent.Select((s, i) => llmMs.TryGetValue(s.Id, out var total) ? total - modelMs[i] : double.NaN)
                .Where(v => !double.IsNaN(v)).Order().ToList();
            var echoSorted = echoMs.Values.Order().ToList();
            var llmSorted = llmMs.Values.Order().ToList();
            var errors = echoSent.Count + llmSent.Count - echoMs.Count - llmMs.Count + modelMs.Count(double.IsNaN);
            Stats.Write(args.Get("out").Replace("{name}", name), new JsonObject
            {
                ["name"] = name,
                ["concurrency"] = c,
                ["messages"] = llmSent.Count,
                ["echo_p50"] = Stats.Percentile(echoSorted, 50),
                ["echo_p99"] = Stats.Percentile(echoSorted, 99),
                ["llm_p50"] = Stats.Percentile(llmSorted, 50),
                ["llm_p99"] = Stats.Percentile(llmSorted, 99),
                ["model_p50"] = Stats.Median(modelMs),
                ["overhead_p50"] = Stats.Percentile(overhead, 50),
                ["overhead_p99"] = Stats.Percentile(overhead, 99),
                ["overhead_beyond_echo_p50"] = Stats.Percentile(overhead, 50) - Stats.Percentile(echoSorted, 50),
                ["errors"] = errors,
            });
        }
    }

    public static async Task StreamAsync(Args args)
    {
        var (api, token, conn, model) = Common(args);
        var streams = args.Int("streams", 32);
        var perStream = args.Int("messages", 10);
        var ttft = args.Int("ttft-ms", 50);
        // messages: POST …/messages?stream=true (our own SSE); responses: POST /v1/responses with stream: true;
        // ag-ui: POST /agents/{id}/ag-ui.
        var door = args.Optional("door") ?? "messages";
        if (door is not ("messages" or "responses" or "ag-ui"))
        {
            throw new ArgumentException("--door is messages, responses or ag-ui.");
        }

        var run = Guid.NewGuid().ToString("N")[..8];
        using var client = Client(api, token, streams + 4);
        var agents = await CreateAgentsAsync(client, $"bench-stream-{run}", LlmConfig(ttft), streams);
        Func<HttpClient, int, string, Task<StreamResult>> streamOne = door switch
        {
            "responses" => StreamResponseAsync,
            "ag-ui" => StreamAgUiAsync,
            _ => StreamMessageAsync,
        };

        // A warm-up message per agent: the first run of a process pays for JIT and connection set-up.
        await Task.WhenAll(agents.Select(agent => streamOne(client, agent, $"{run}-warm-{agent}")));
        var results = (await Task.WhenAll(agents.Select(async (agent, a) =>
        {
            var mine = new List<StreamResult>();
            for (var m = 0; m < perStream; m++)
            {
                mine.Add(await streamOne(client, agent, $"{run}-stream-{a}-{m}"));
            }

            return mine;
        }))).SelectMany(r => r).ToList();

        var timings = await TimingsAsync(model);
        await using var dataSource = NpgsqlDataSource.Create(conn);
        var breakdown = await BreakdownAsync(dataSource, results, timings);
        var net = results.Select(r => timings.TryGetValue(r.Key, out var t) ? r.FirstDelta - t.FirstTokenMs : double.NaN)
            .Where(v => !double.IsNaN(v)).Order().ToList();
        var clientFirst = results.Select(r => r.FirstDelta).Where(v => !double.IsNaN(v)).Order().ToList();
        var accepted = results.Select(r => r.Accepted).Where(v => !double.IsNaN(v)).Order().ToList();
        var serverFirst = results.Select(r => timings.TryGetValue(r.Key, out var t) ? t.FirstTokenMs : double.NaN).ToList();
        Stats.Write(args.Get("out"), new JsonObject
        {
            ["name"] = args.Get("name"),
            ["door"] = door,
            ["streams"] = streams,
            ["messages"] = results.Count,
            ["configured_ttft_ms"] = ttft,
            ["p50"] = Stats.Percentile(net, 50),
            ["p99"] = Stats.Percentile(net, 99),
            ["max"] = net.Count > 0 ? net[^1] : double.NaN,
            ["client_first_delta_p50"] = Stats.Percentile(clientFirst, 50),
            ["client_accepted_p50"] = Stats.Percentile(accepted, 50),
            ["client_accepted_p99"] = Stats.Percentile(accepted, 99),
            ["server_first_token_p50"] = Stats.Median(serverFirst),
            // Where the time goes, p50 / p99 of each leg (clocks of one machine): client send → `accepted` at
            // the client (of which: the row's created_at, its transaction's start → accepted); → the model
            // server has the request; model's first token → the delta row's created_at; → the client has it.
            ["accept_p50"] = breakdown.Accept.P50, ["accept_p99"] = breakdown.Accept.P99,
            ["accept_tx_p50"] = breakdown.InTransaction.P50, ["accept_tx_p99"] = breakdown.InTransaction.P99,
            ["pickup_p50"] = breakdown.Pickup.P50, ["pickup_p99"] = breakdown.Pickup.P99,
            ["publish_p50"] = breakdown.Publish.P50, ["publish_p99"] = breakdown.Publish.P99,
            ["deliver_p50"] = breakdown.Deliver.P50, ["deliver_p99"] = breakdown.Deliver.P99,
            ["errors"] = results.Count(r => !r.Done) + (results.Count - net.Count),
        });
    }

    private sealed record StreamResult(string Key, double FirstDelta, double Accepted, bool Done, Guid? MessageId, DateTime SentAt,
        DateTime FirstDeltaAt);

    private readonly record struct Leg(double P50, double P99);

    private static async Task<(Leg Accept, Leg InTransaction, Leg Pickup, Leg Publish, Leg Deliver)>
        BreakdownAsync(NpgsqlDataSource dataSource,
        List<StreamResult> results, Dictionary<string, ModelTiming> timings)
    {
        await using var command = dataSource.CreateCommand(
            """
            SELECT m.id, m.created_at, (SELECT min(e.created_at) FROM run_events e WHERE e.message_id = m.id AND e.type = 'delta')
            FROM messages m WHERE m.id = ANY($1)
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = results.Where(r => r.MessageId is not null).Select(r => r.MessageId!.Value)
            .ToArray() });
        var rows = new Dictionary<Guid, (DateTime Created, DateTime? Delta)>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                rows[reader.GetGuid(0)] = (reader.GetDateTime(1), reader.IsDBNull(2) ? null : reader.GetDateTime(2));
            }
        }

        List<double> accept = [], inTransaction = [], pickup = [], publish = [], deliver = [];
        foreach (var r in results)
        {
            if (r.MessageId is not { } id || double.IsNaN(r.Accepted) || !rows.TryGetValue(id, out var row) || row.Delta is not { } delta
                || !timings.TryGetValue(r.Key, out var t) || t.ArrivedAt is not { } arrived || t.FirstTokenAt is not { } first)
            {
                continue;
            }

            var acceptedAt = r.SentAt.AddMilliseconds(r.Accepted);
            accept.Add(r.Accepted);
            inTransaction.Add((acceptedAt - row.Created).TotalMilliseconds);
            pickup.Add((arrived - acceptedAt).TotalMilliseconds);
            publish.Add((delta - first).TotalMilliseconds);
            deliver.Add((r.FirstDeltaAt - delta).TotalMilliseconds);
        }

        static Leg Of(List<double> values)
        {
            values.Sort();
            return new Leg(Stats.Percentile(values, 50), Stats.Percentile(values, 99));
        }

        return (Of(accept), Of(inTransaction), Of(pickup), Of(publish), Of(deliver));
    }

    /// <summary>POST ?stream=true; milliseconds from sending to the first delta and to accepted, and whether done came.</summary>
    private static async Task<StreamResult> StreamMessageAsync(HttpClient client, int agent, string key)
    {
        var sentAt = DateTime.UtcNow;
        var start = Stopwatch.GetTimestamp();
        var firstDeltaAt = DateTime.MinValue;
        Guid? messageId = null;
        var afterAccepted = false;
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/agents/{agent}/messages?stream=true")
        {
            Content = new StringContent(new JsonObject { ["text"] = key }.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        double firstDelta = double.NaN, accepted = double.NaN;
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            response.EnsureSuccessStatusCode();
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            while (await reader.ReadLineAsync() is { } line)
            {
                if (afterAccepted && line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    messageId = Guid.Parse(JsonNode.Parse(line[6..])!["id"]!.GetValue<string>());
                    afterAccepted = false;
                }

                switch (line)
                {
                    case "event: accepted" when double.IsNaN(accepted):
                        accepted = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                        afterAccepted = true;
                        break;
                    case "event: delta" when double.IsNaN(firstDelta):
                        firstDelta = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                        firstDeltaAt = DateTime.UtcNow;
                        break;
                    case "event: done":
                        return new StreamResult(key, firstDelta, accepted, true, messageId, sentAt, firstDeltaAt);
                    case "event: error":
                        return new StreamResult(key, firstDelta, accepted, false, messageId, sentAt, firstDeltaAt);
                }
            }
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
        {
            Console.WriteLine($"  stream of {key}: {e.Message}");
        }

        return new StreamResult(key, firstDelta, accepted, false, messageId, sentAt, firstDeltaAt);
    }

    /// <summary>
    /// POST /v1/responses with stream: true, read as <see cref="StreamMessageAsync"/> reads our own stream: response.created
    /// is the accepted (its response id names the message), the first response.output_text.delta the first delta,
    /// response.completed the end.
    /// </summary>
    private static async Task<StreamResult> StreamResponseAsync(HttpClient client, int agent, string key)
    {
        var sentAt = DateTime.UtcNow;
        var start = Stopwatch.GetTimestamp();
        var firstDeltaAt = DateTime.MinValue;
        Guid? messageId = null;
        var afterCreated = false;
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/responses")
        {
            Content = new StringContent(new JsonObject { ["model"] = $"agent-{agent}", ["input"] = key, ["stream"] = true }.ToJsonString(),
                Encoding.UTF8, "application/json"),
        };
        double firstDelta = double.NaN, accepted = double.NaN;
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            response.EnsureSuccessStatusCode();
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            while (await reader.ReadLineAsync() is { } line)
            {
                if (afterCreated && line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    var id = JsonNode.Parse(line[6..])!["response"]!["id"]!.GetValue<string>();
                    messageId = Guid.ParseExact(id["resp_".Length..], "N");
                    afterCreated = false;
                }

                switch (line)
                {
                    case "event: response.created" when double.IsNaN(accepted):
                        accepted = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                        afterCreated = true;
                        break;
                    case "event: response.output_text.delta" when double.IsNaN(firstDelta):
                        firstDelta = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                        firstDeltaAt = DateTime.UtcNow;
                        break;
                    case "event: response.completed":
                        return new StreamResult(key, firstDelta, accepted, true, messageId, sentAt, firstDeltaAt);
                    case "event: response.failed":
                        return new StreamResult(key, firstDelta, accepted, false, messageId, sentAt, firstDeltaAt);
                }
            }
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
        {
            Console.WriteLine($"  response stream of {key}: {e.Message}");
        }

        return new StreamResult(key, firstDelta, accepted, false, messageId, sentAt, firstDeltaAt);
    }

    /// <summary>
    /// POST /agents/{id}/ag-ui (RunAgentInput; a thread per message), read as <see cref="StreamMessageAsync"/> reads our own
    /// stream: RUN_STARTED is the accepted, the first TEXT_MESSAGE_CONTENT the first delta (its message id names the message),
    /// RUN_FINISHED or RUN_ERROR the end.
    /// </summary>
    private static async Task<StreamResult> StreamAgUiAsync(HttpClient client, int agent, string key)
    {
        var sentAt = DateTime.UtcNow;
        var start = Stopwatch.GetTimestamp();
        var firstDeltaAt = DateTime.MinValue;
        Guid? messageId = null;
        var input = new JsonObject
        {
            ["threadId"] = $"bench-{key}", ["runId"] = key, ["state"] = new JsonObject(), ["tools"] = new JsonArray(),
            ["context"] = new JsonArray(), ["forwardedProps"] = new JsonObject(),
            ["messages"] = new JsonArray(new JsonObject { ["id"] = key, ["role"] = "user", ["content"] = key }),
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/agents/{agent}/ag-ui")
        {
            Content = new StringContent(input.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.ParseAdd("text/event-stream");
        double firstDelta = double.NaN, accepted = double.NaN;
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            response.EnsureSuccessStatusCode();
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            while (await reader.ReadLineAsync() is { } line)
            {
                if (!line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    continue;
                }

                var data = JsonNode.Parse(line[6..])!;
                switch (data["type"]!.GetValue<string>())
                {
                    case "RUN_STARTED" when double.IsNaN(accepted):
                        accepted = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                        break;
                    case "TEXT_MESSAGE_CONTENT" when double.IsNaN(firstDelta):
                        firstDelta = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                        firstDeltaAt = DateTime.UtcNow;
                        // msg_{message id, N}_{event id}
                        messageId = Guid.ParseExact(data["messageId"]!.GetValue<string>().Split('_')[1], "N");
                        break;
                    case "RUN_FINISHED":
                        return new StreamResult(key, firstDelta, accepted, true, messageId, sentAt, firstDeltaAt);
                    case "RUN_ERROR":
                        return new StreamResult(key, firstDelta, accepted, false, messageId, sentAt, firstDeltaAt);
                }
            }
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
        {
            Console.WriteLine($"  ag-ui stream of {key}: {e.Message}");
        }

        return new StreamResult(key, firstDelta, accepted, false, messageId, sentAt, firstDeltaAt);
    }

    internal static (Uri Api, string Token, string Conn, Uri Model) Common(Args args)
    {
        var state = JsonNode.Parse(File.ReadAllText(args.Get("state")))!;
        return (new Uri(args.Get("api")), state["token"]!.GetValue<string>(), args.Get("conn"), new Uri(args.Get("model")));
    }

    internal static HttpClient Client(Uri api, string token, int connections)
    {
        var client = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = connections,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            UseProxy = false,
        }) { BaseAddress = api, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new("Bearer", token);
        return client;
    }

    private static JsonObject LlmConfig(int ttftMs) => new()
    {
        ["behavior"] = "llm",
        ["model"] = ModelServer.Model,
        ["instructions"] = $"You are the bench's agent. [ttft:{ttftMs}]",
    };

    internal static async Task<int[]> CreateAgentsAsync(HttpClient client, string prefix, JsonObject? config, int count)
    {
        var ids = new int[count];
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, _) =>
        {
            var body = new JsonObject { ["name"] = $"{prefix}-{i}" };
            if (config is not null)
            {
                body["config"] = config.DeepClone();
            }

            using var response = await client.PostAsJsonAsync("/agents", body);
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException(
                    $"POST /agents: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }

            ids[i] = (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<int>();
        });
        return ids;
    }

    private sealed record Sent(string Key, Guid Id);

    private static async Task<Sent> SendAndWaitAsync(HttpClient client, int agent, string key)
    {
        using var response = await client.PostAsJsonAsync($"/agents/{agent}/messages?wait=30", new JsonObject { ["text"] = key });
        var body = await response.Content.ReadFromJsonAsync<JsonObject>();
        if (response.StatusCode != System.Net.HttpStatusCode.OK || body?["status"]?.GetValue<string>() != "done")
        {
            Console.WriteLine($"  {key}: HTTP {(int)response.StatusCode}, status {body?["status"]}, error {body?["error"]}");
        }

        return new Sent(key, Guid.Parse(body!["id"]!.GetValue<string>()));
    }

    /// <summary>accepted→done in ms from the rows, for the messages that are done.</summary>
    private static async Task<Dictionary<Guid, double>> AcceptedToDoneAsync(NpgsqlDataSource dataSource, List<Sent> sent)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT id, EXTRACT(EPOCH FROM completed_at - created_at)::float8 * 1000 FROM messages WHERE id = ANY($1) AND status = 'done'");
        command.Parameters.Add(new NpgsqlParameter { Value = sent.Select(s => s.Id).ToArray() });
        var result = new Dictionary<Guid, double>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            result[reader.GetGuid(0)] = reader.GetDouble(1);
        }

        return result;
    }

    private sealed record ModelTiming(double FirstTokenMs, double TotalMs, DateTime? ArrivedAt, DateTime? FirstTokenAt);

    private static async Task<Dictionary<string, ModelTiming>> TimingsAsync(Uri model)
    {
        using var client = new HttpClient { BaseAddress = model };
        var list = (await client.GetFromJsonAsync<JsonArray>("/timings"))!;
        return list.ToDictionary(t => t!["key"]!.GetValue<string>(),
            t => new ModelTiming(t!["first_token_ms"]!.GetValue<double>(), t["total_ms"]!.GetValue<double>(),
                At(t["arrived_at"]), At(t["first_token_at"])));
    }

    private static DateTime? At(JsonNode? value) =>
        value is null ? null : DateTime.Parse(value.GetValue<string>(), null, System.Globalization.DateTimeStyles.RoundtripKind);
}
