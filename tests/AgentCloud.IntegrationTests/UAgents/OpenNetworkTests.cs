using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Aspire.Hosting.ApplicationModel;
using AgentCloud.Shared.UAgents;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// The attacks of "hold on an open network" (issue 12), tried the way an outsider would, each against the
/// running system. Every destination here is loopback (the fixture allows it, as development does).
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed class OpenNetworkTests(AgentCloudFixture fixture)
{
    [Fact]
    public async Task ARedirectFromAPeerIsNotFollowed()
    {
        var hits = new ConcurrentQueue<string>();
        await using var internalService = await LoopbackAppAsync(app =>
            app.MapPost("/internal/hook", () => { hits.Enqueue("hook"); return Results.Text("{}", "application/json"); }));
        var hook = internalService.Urls.First().TrimEnd('/') + "/internal/hook";
        await using var redirecting = await LoopbackAppAsync(app =>
            app.MapPost("/submit", () => { hits.Enqueue("submit"); return
                Results.Redirect(hook, permanent: false, preserveMethod: true); }));
        var peer = AgentIdentity.FromSeed($"redirecting peer {Guid.NewGuid()}").Address;
        await fixture.AddEndpointAsync(peer, redirecting.Urls.First().TrimEnd('/') + "/submit");
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("sender");

        using var response = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/send", new { target = peer, text = "follow me" });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = Guid.Parse((await response.ReadJsonAsync())["id"]!.GetValue<string>());

        var row = await WaitUntilFinishedAsync(id);
        Assert.Equal("dead", row.Status);
        Assert.Contains(OutboundDestinationPolicy.Refused, row.Error);
        Assert.DoesNotContain("hook", hits);
        Assert.Equal(AgentCloudFixture.OutboxMaxAttempts, hits.Count(hit => hit == "submit"));
    }

    // The worker's defaults (SubmitOptions): a burst of 20 per sender, then 5 a second, in each of the 2 replicas.
    private const int SenderBurst = 20;
    private const int SenderPerSecond = 5;
    private const int Replicas = 2;

    [Fact]
    public async Task AFloodFromOneKeyPairIsAnswered429WithRetryAfter()
    {
        var (_, agent) = await fixture.UserWithAgentAsync();
        var peer = new UagentsPeer(fixture, $"flooding peer {Guid.NewGuid()}");
        var statuses = new ConcurrentBag<int>();
        var refusals = new ConcurrentBag<(string? RetryAfter, string Body)>();
        var clock = Stopwatch.StartNew();

        await Parallel.ForEachAsync(Enumerable.Range(0, 150), new ParallelOptions { MaxDegreeOfParallelism = 6 }, async (n, _) =>
        {
            // A new session each time, as the attack did: deduplication does not help.
            using var response = await peer.SubmitAsync(peer.Compose(agent["address"]!.GetValue<string>(), MessageModels.Message,
                $$"""{"message": "flood {{n}}"}"""));
            var (status, body) = await UagentsPeer.ReadAsync(response);
            statuses.Add(status);
            if (status == 429)
            {
                refusals.Add((response.Headers.RetryAfter?.Delta?.TotalSeconds.ToString(), body));
            }
        });
        var elapsed = clock.Elapsed;

        var accepted = statuses.Count(status => status == 200);
        Console.WriteLine($"[open network] one key pair, 150 envelopes in {elapsed.TotalSeconds:F1} s: {accepted} accepted, " +
            $"{refusals.Count} answered 429");
        Assert.All(statuses, status => Assert.Contains(status, new[] { 200, 429 }));
        Assert.NotEmpty(refusals);
        Assert.InRange(accepted, 1, Replicas * (SenderBurst + SenderPerSecond * (int)Math.Ceiling(elapsed.TotalSeconds)));
        Assert.All(refusals, refusal =>
        {
            Assert.NotNull(refusal.RetryAfter);
            Assert.Equal("too many envelopes from this sender; retry later", JsonNode.Parse(refusal.Body)!["error"]!.GetValue<string>());
        });
    }

    [Fact]
    public async Task RemoteMessagesWaitingForAnAgentAreCappedWhileItsOwnerStillGetsIn()
    {
        var user = await fixture.CreateUserAsync();
        // Each message fails three times before it is dead: the inbox drains at about one a second.
        var agent = await user.CreateAgentAsync("slow", new { behavior = "fail" });
        var peers = Enumerable.Range(0, 10).Select(i => new UagentsPeer(fixture, $"crowd {i} {Guid.NewGuid()}")).ToList();
        var statuses = new ConcurrentBag<(int Status, string Body)>();

        await Parallel.ForEachAsync(peers.SelectMany(peer => Enumerable.Range(0, 10).Select(n => (peer, n))),
            new ParallelOptions { MaxDegreeOfParallelism = 6 }, async (item, _) =>
            {
                using var response = await item.peer.SubmitAsync(item.peer.Compose(agent["address"]!.GetValue<string>(),
                    MessageModels.Message, $$"""{"message": "crowd {{item.n}}"}"""));
                var (status, body) = await UagentsPeer.ReadAsync(response);
                statuses.Add((status, body));
                if (status == 429)
                {
                    Assert.NotNull(response.Headers.RetryAfter);
                }
            });

        using var own = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages", new { payload = "mine" });
        Assert.Equal(HttpStatusCode.Accepted, own.StatusCode);
        await using var db = await fixture.OpenDatabaseAsync();
        var waiting = await db.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM messages WHERE agent_id = @id AND direction = 'inbound' AND sender NOT LIKE 'user:%'",
            new { id = agent["id"]!.GetValue<int>() });
        var full = statuses.Count(s => s.Status == 429
            && JsonNode.Parse(s.Body)!["error"]!.GetValue<string>() == "too many messages waiting for this agent; retry later");
        Console.WriteLine($"[open network] 100 envelopes from 10 key pairs to a slow agent: {statuses.Count(s => s.Status == 200)} " +
            $"accepted, "
            + $"{full} refused as the queue was full; {waiting} stored");
        Assert.All(statuses, s => Assert.Contains(s.Status, new[] { 200, 429 }));
        Assert.True(full > 0, "the cap was never reached");
        // Stored at most: the cap, plus those handled (and so no longer waiting) while the flood went on.
        Assert.InRange(waiting, AgentCloudFixture.MaxQueuedPerAgent, AgentCloudFixture.MaxQueuedPerAgent + 30);
    }

    [Fact]
    public async Task EnvelopesWithBadSignaturesAndHugeSendersLeaveTheWorkerLogShortAndEscaped()
    {
        var (_, agent) = await fixture.UserWithAgentAsync();
        var target = agent["address"]!.GetValue<string>();
        var marker = $"forged{Guid.NewGuid():N}";
        var workerLogs = await WorkerLogs.WatchAsync(fixture);
        var lines = workerLogs.Lines;
        var peer = AgentIdentity.FromSeed($"bad signer {Guid.NewGuid()}");

        var uploaded = 0L;
        await Parallel.ForEachAsync(Enumerable.Range(0, 100), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (n, _) =>
        {
            // A sender of 250 KB with a line break that would forge a log line of its own, and a signature that cannot verify.
            var sender = $"agent1{marker}\nwarn: FAKE line {n}\r\n" + new string('q', 250_000);
            var envelope = Envelope.Create(sender, target, MessageModels.Message, "{\"message\": \"hi\"}",
                expires: DateTimeOffset.UtcNow.AddSeconds(30).ToUnixTimeSeconds()) with { Signature = "sig1notasignature" };
            var json = envelope.ToJson();
            Interlocked.Add(ref uploaded, json.Length);
            using var response = await new UagentsPeer(fixture, "unused").PostAsync(json, "application/json");
            var (status, body) = await UagentsPeer.ReadAsync(response);
            Assert.Equal(400, status);
            Assert.Equal("Signature verification failed", JsonNode.Parse(body)!["error"]!.GetValue<string>());
        });
        await Task.Delay(TimeSpan.FromSeconds(2));
        await workerLogs.StopAsync();

        var ours = lines.Where(line => line.Contains(marker, StringComparison.Ordinal)).ToList();
        var bytes = ours.Sum(line => (long)line.Length);
        Console.WriteLine($"[open network] 100 bad-signature envelopes with 250 KB senders ({uploaded / 1024 / 1024} MiB sent): "
            + $"{ours.Count} log lines name them, {bytes} characters in all");
        Assert.DoesNotContain(lines, line => line.Contains("FAKE line", StringComparison.Ordinal)
            && !line.Contains(marker, StringComparison.Ordinal));
        Assert.All(ours, line =>
        {
            Assert.True(line.Length < 1_000, $"a log line of {line.Length} characters");
            Assert.Contains("\\u000a", line);
        });
        // The throttle's burst in each replica, and a few more as it refills.
        Assert.InRange(ours.Count, 0, Replicas * 15);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AReplyToAUserSenderNamingALocalAgentGoesBackOverTheWireNotIntoItsInbox(bool sync)
    {
        var (victimOwner, victim) = await fixture.UserWithAgentAsync();
        var owner = await fixture.CreateUserAsync();
        var echo = await owner.CreateAgentAsync("echo", new { behavior = "echo", allow_user_senders = true });
        var sender = $"user/{victim["address"]!.GetValue<string>()}";
        var envelope = Envelope.Create(sender, echo["address"]!.GetValue<string>(), MessageModels.Message, "{\"message\": \"spoof\"}",
            expires: DateTimeOffset.UtcNow.AddSeconds(30).ToUnixTimeSeconds());

        using var response = await new UagentsPeer(fixture, "unused").SubmitAsync(envelope, sync);
        var (status, body) = await UagentsPeer.ReadAsync(response);

        Assert.Equal(200, status);
        if (sync)
        {
            // The answer goes back in the response itself (it lives on the inbound row, no outbound row stands in for it).
            var answer = Envelope.FromJson(body)!;
            Assert.Equal(sender, answer.Target);
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse("{\"message\": \"spoof\"}"), JsonNode.Parse(answer.DecodePayload()!)));
        }
        else
        {
            var reply = await Wait.ForAsync(async () =>
                (await MessagingTests.ListMessagesAsync(owner, echo, "?direction=outbound")).FirstOrDefault());
            Assert.Equal(sender, reply["target"]!.GetValue<string>());
        }

        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Empty(await MessagingTests.ListMessagesAsync(victimOwner, victim, "?direction=inbound"));
    }

    /// <summary>Objects nested <paramref name="depth"/> levels deep, e.g. 2: <c>{"d": {"d": 1}}</c>.</summary>
    private static JsonNode Deep(int depth)
    {
        JsonNode value = 1;
        for (var i = 0; i < depth; i++)
        {
            value = new JsonObject { ["d"] = value };
        }

        return value;
    }

    [Fact]
    public async Task AMaximallyDeepValueIsShownByEveryRouteAndADeeperOneIsRefused()
    {
        var user = await fixture.CreateUserAsync();
        var config = new JsonObject { ["behavior"] = "echo", ["deep"] = Deep(AgentCloud.Shared.Data.StorableText.MaxJsonDepth - 1) };

        using var created = await user.Client.PostAsJsonAsync("/agents", new { name = "deep", config });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var agent = await created.ReadJsonAsync();
        using var updated = await user.Client.PutAsJsonAsync($"/agents/{agent["id"]}", new { config });
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        using var posted = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages?wait=20",
            new { payload = Deep(AgentCloud.Shared.Data.StorableText.MaxJsonDepth) });
        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        var message = await posted.ReadJsonAsync();
        Assert.Equal("done", message["status"]!.GetValue<string>());
        using var sent = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/send?wait=20",
            new { target = agent["address"]!.GetValue<string>(), payload = Deep(AgentCloud.Shared.Data.StorableText.MaxJsonDepth) });
        Assert.Equal(HttpStatusCode.OK, sent.StatusCode);

        foreach (var route in new[]
        {
            "/agents", $"/agents/{agent["id"]}", $"/agents/{agent["id"]}/messages", $"/agents/{agent["id"]}/messages?direction=outbound",
            $"/agents/{agent["id"]}/messages/{message["id"]}", $"/agents/{agent["id"]}/logs",
        })
        {
            using var response = await user.Client.GetAsync(route);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {route}: {(int)response.StatusCode}");
        }

        // What a victim's list once broke on: 62 levels, sent by someone else's agent, or its owner; and one level too many.
        var (attacker, attackerAgent) = await fixture.UserWithAgentAsync();
        var before = await fixture.StateAsync(user, agent);
        foreach (var (client, path, body) in new (HttpClient, string, object)[]
        {
            (attacker.Client, $"/agents/{attackerAgent["id"]}/send",
                new { target = agent["address"]!.GetValue<string>(), payload = Deep(62) }),
            (user.Client, $"/agents/{agent["id"]}/messages", new { payload = Deep(AgentCloud.Shared.Data.StorableText.MaxJsonDepth + 1) }),
            (user.Client, $"/agents/{agent["id"]}", new { config =
                new JsonObject { ["behavior"] = "echo", ["deep"] = Deep(AgentCloud.Shared.Data.StorableText.MaxJsonDepth) } }),
            (user.Client, "/agents", new { name = "deeper", config =
                new JsonObject { ["behavior"] = "echo", ["deep"] = Deep(AgentCloud.Shared.Data.StorableText.MaxJsonDepth) } }),
        })
        {
            using var response = path == $"/agents/{agent["id"]}" ? await client.PutAsJsonAsync(path, body)
                : await client.PostAsJsonAsync(path, body);
            var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
            Assert.Contains(AgentCloud.Shared.Data.StorableText.DepthProblem, problem.ToJsonString());
        }

        Assert.Equal(before, await fixture.StateAsync(user, agent));
        using var list = await user.Client.GetAsync($"/agents/{agent["id"]}/messages");
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
    }

    [Theory]
    [InlineData("POST /signup", """{"username": "x\ud800y", "email": "lone@example.com", "password": "correct horse battery staple"}""")]
    [InlineData("POST /login", """{"username": "x\ud800y", "password": "whatever it is"}""")]
    [InlineData("POST /agents", """{"name": "x\ud800y"}""")]
    [InlineData("POST /agents", """{"name": "fine", "config": {"behavior": "echo", "note": "x\ud800y"}}""")]
    [InlineData("POST /agents", """{"name": "fine", "config": {"behavior": "echo", "\udc00": 1}}""")]
    [InlineData("PUT /agents/{agent}", """{"name": "x\ud800y"}""")]
    [InlineData("PUT /agents/{agent}", """{"config": {"behavior": "echo", "note": "x\ud800y"}}""")]
    [InlineData("POST /agents/{agent}/messages", """{"payload": "x\ud800y"}""")]
    [InlineData("POST /agents/{agent}/messages", """{"payload": {"k": ["x\ud800y"]}}""")]
    [InlineData("POST /agents/{agent}/messages", """{"text": "x\ud800y"}""")]
    [InlineData("POST /agents/{agent}/send", """{"target": "agent1x\ud800y", "text": "hi"}""")]
    [InlineData("POST /agents/{agent}/send", """{"target": "agent1qqqq", "payload": {"x\ud800y": 1}}""")]
    public async Task ALoneSurrogateIsRefusedWith400AndChangesNothing(string endpoint, string body)
    {
        var (user, agent) = await fixture.UserWithAgentAsync();
        var (method, path) = HostileInput.Route(endpoint, agent);
        var before = await fixture.StateAsync(user, agent);

        using var request = new HttpRequestMessage(method, path) { Content = TestApi.RawJson(body) };
        using var response = await user.Client.SendAsync(request);

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("surrogate", problem.ToJsonString());
        Assert.Equal(before, await fixture.StateAsync(user, agent));
    }

    [Fact]
    public async Task AnOwnersMessageIsHandledBeforeARemoteBacklog()
    {
        var user = await fixture.CreateUserAsync();
        // Every message fails three times before it is dead: a backlog of 40 takes half a minute or more.
        var agent = await user.CreateAgentAsync("busy", new { behavior = "fail" });
        var peers = Enumerable.Range(0, 4).Select(i => new UagentsPeer(fixture, $"backlog {i} {Guid.NewGuid()}")).ToList();
        await Parallel.ForEachAsync(peers.SelectMany(peer => Enumerable.Range(0, 10).Select(n => (peer, n))),
            new ParallelOptions { MaxDegreeOfParallelism = 6 }, async (item, _) =>
            {
                using var response = await item.peer.SubmitAsync(item.peer.Compose(agent["address"]!.GetValue<string>(),
                    MessageModels.Message, $$"""{"message": "backlog {{item.n}}"}"""));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            });

        var clock = Stopwatch.StartNew();
        using var own = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages?wait=20", new { payload = "mine first" });
        var elapsed = clock.Elapsed;

        var body = await own.ReadJsonAsync();
        Assert.True(own.StatusCode == HttpStatusCode.OK, $"{(int)own.StatusCode} after {elapsed.TotalSeconds:F1} s: {body.ToJsonString()}");
        Assert.Equal("dead", body["status"]!.GetValue<string>());
        await using var db = await fixture.OpenDatabaseAsync();
        var stillWaiting = await db.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM messages WHERE agent_id = @id AND direction = 'inbound' AND status IN ('queued', 'processing', 'failed')",
            new { id = agent["id"]!.GetValue<int>() });
        Console.WriteLine($"[open network] the owner's message behind 40 remote ones: finished in {elapsed.TotalSeconds:F1} s, "
            + $"{stillWaiting} remote still waiting");
        Assert.True(stillWaiting >= 20, $"only {stillWaiting} remote messages were still waiting: the test proves nothing");
    }

    private sealed record Row(string Status, string? Error);

    private Task<Row> WaitUntilFinishedAsync(Guid id, int seconds = 30) =>
        Wait.ForAsync(async () =>
        {
            await using var db = await fixture.OpenDatabaseAsync();
            return await db.QuerySingleAsync<Row>("SELECT status, error FROM messages WHERE id = @id", new { id })
                is { Status: "dead" or "done" } row ? row : null;
        }, seconds);

    /// <summary>A small Kestrel app on 127.0.0.1 with the routes <paramref name="map"/> adds.</summary>
    internal static async Task<WebApplication> LoopbackAppAsync(Action<WebApplication> map)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        return app;
    }
}
