using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using AgentCloud.Shared.UAgents;
using Npgsql;

namespace Bench;

/// <summary>
/// One hot agent: <c>--count</c> messages to ONE default agent, either as signed uAgents envelopes posted
/// to a worker's <c>/submit</c> or as <c>POST /agents/{id}/messages</c>, <c>--concurrency</c> at a time.
/// Stored/s and handled/s come from the rows (one session per run), as for the other message figures.
/// </summary>
public static class HotAgent
{
    public static async Task RunAsync(Args args)
    {
        // --phase post: post only and write what was posted to --out; --phase measure: wait for and measure what --posted says.
        var phase = args.Optional("phase") ?? "all";
        if (phase == "measure")
        {
            var (posted, measured) = await MessageLoad.MeasurePostedAsync(args);
            measured["via"] = posted["via"]!.GetValue<string>();
            Stats.Write(args.Get("out"), measured);
            return;
        }

        var state = JsonNode.Parse(File.ReadAllText(args.Get("state")))!;
        var token = state["token"]!.GetValue<string>();
        var via = args.Get("via");
        var count = args.Int("count", 6000);
        var concurrency = args.Int("concurrency", 32);
        var session = Guid.NewGuid();
        using var api = LlmLoad.Client(new Uri(args.Get("api")), token, concurrency);
        var agentResponse = await api.PostAsJsonAsync("/agents",
            new JsonObject { ["name"] = $"bench-hot-{via}-{session.ToString("N")[..8]}" });
        agentResponse.EnsureSuccessStatusCode();
        var agent = (await agentResponse.Content.ReadFromJsonAsync<JsonObject>())!;
        var agentId = agent["id"]!.GetValue<int>();
        var address = agent["address"]!.GetValue<string>();

        // Signed before the clock starts: the figure is the product's, not the bench's signing.
        string[] bodies = [];
        if (via == "submit")
        {
            var peer = AgentIdentity.FromSeed($"bench-hot-peer-{session}");
            var expires = DateTimeOffset.UtcNow.AddMinutes(10).ToUnixTimeSeconds();
            bodies = new string[count];
            Parallel.For(0, count, i => bodies[i] = Envelope.Create(peer.Address, address, MessageModels.Message,
                $$"""{"message": "hot message {{i}}"}""", session, expires: expires).SignedBy(peer).ToJson());
        }

        using var worker = via == "submit"
            ? new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency, UseProxy = false })
            { BaseAddress = new Uri(args.Get("worker")), Timeout = TimeSpan.FromSeconds(60) }
            : null;
        var next = -1;
        var errors = 0;
        string? firstError = null;
        var start = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            for (var i = Interlocked.Increment(ref next); i < count; i = Interlocked.Increment(ref next))
            {
                try
                {
                    using var response = worker is not null
                        ? await worker.PostAsync("/submit", new StringContent(bodies[i], Encoding.UTF8, "application/json"))
                        : await api.PostAsync($"/agents/{agentId}/messages", new StringContent(
                            $$"""{"payload": {"message": "hot message {{i}}"}, "session": "{{session}}"}""", Encoding.UTF8,
                                "application/json"));
                    if (!response.IsSuccessStatusCode)
                    {
                        Interlocked.Increment(ref errors);
                        firstError ??= $"HTTP {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}";
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    Interlocked.Increment(ref errors);
                    firstError ??= e.Message;
                }
            }
        })));
        var postSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        if (phase == "post")
        {
            Stats.Write(args.Get("out"), new JsonObject
            {
                ["session"] = session.ToString(), ["count"] = count, ["errors"] = errors, ["via"] = via, ["first_error"] = firstError,
            });
            return;
        }

        await using var dataSource = NpgsqlDataSource.Create(args.Get("conn"));
        var result = await MessageLoad.WaitAndMeasureAsync(dataSource, session, count - errors, args.Double("timeout", 300));
        result["name"] = args.Get("name");
        result["via"] = via;
        result["errors"] = errors + result["dead"]!.GetValue<long>() + result["missing"]!.GetValue<long>();
        result["client_posts_per_s"] = count / postSeconds;
        if (firstError is not null)
        {
            result["first_error"] = firstError;
        }

        Stats.Write(args.Get("out"), result);
    }
}
