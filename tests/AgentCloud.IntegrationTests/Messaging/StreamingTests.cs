using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AgentCloud.AppHost.Postgres;
using Dapper;

namespace AgentCloud.IntegrationTests;

/// <summary>A message's events as server-sent events: POST …/messages with Accept: text/event-stream, and GET …/events.</summary>
[Collection(AgentCloudCollection.Name)]
public sealed class StreamingTests(AgentCloudFixture fixture)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task PostingWithAcceptEventStreamStreamsAcceptedTheDeltasAndDone()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync(config: new { behavior = "stream", delay_ms = 20 });
        using var timeout = new CancellationTokenSource(Timeout);

        using var stream = await EventStreamReader.OpenAsync(StreamClient(user),
            new HttpRequestMessage(HttpMethod.Post, $"/agents/{agent["id"]}/messages")
                { Content = JsonContent.Create(new { text = "one two three" }) },
            timeout.Token);
        Assert.Equal(HttpStatusCode.OK, stream.Response.StatusCode);
        Assert.Equal("text/event-stream", stream.Response.Content.Headers.ContentType?.MediaType);
        var events = await stream.ReadToEndAsync(timeout.Token);

        Assert.Equal(["accepted", "step", "delta", "delta", "delta", "done"], events.Select(e => e.Type));
        Assert.Equal(["0", "1", "2", "3", "4", "5"], events.Select(e => e.Id));
        Assert.Equal("queued", events[0].Json!["status"]!.GetValue<string>());
        Assert.Equal("one two three", string.Concat(events.Where(e => e.Type == "delta").Select(e => e.Json!["text"]!.GetValue<string>())));
        Assert.Equal("done", events[^1].Json!["status"]!.GetValue<string>());
        Assert.Equal("one two three", events[^1].Json!["reply"]!.GetValue<string>());
        Assert.Equal(events[0].Json!["id"]!.GetValue<string>(), events[^1].Json!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnEchoAgentStreamsAcceptedThenDoneWithStreamTrue()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync(config: new { behavior = "echo" });
        using var timeout = new CancellationTokenSource(Timeout);

        var request = new HttpRequestMessage(HttpMethod.Post, $"/agents/{agent["id"]}/messages?stream=true")
        {
            Content = JsonContent.Create(new { payload = new { hello = "world" } }),
        };
        using var response = await StreamClient(user).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        using var stream = new EventStreamReader(response, new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token)));
        var events = await stream.ReadToEndAsync(timeout.Token);

        Assert.Equal(["accepted", "done"], events.Select(e => e.Type));
        Assert.Equal("world", events[1].Json!["reply"]!["hello"]!.GetValue<string>());
    }

    [Fact]
    public async Task AStreamResumedWithLastEventIdMissesNothingAfterADroppedConnection()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync(config: new { behavior = "stream", delay_ms = 150 });
        var words = string.Join(' ', Enumerable.Range(1, 12).Select(i => $"w{i}"));
        using var timeout = new CancellationTokenSource(Timeout);
        using var sent = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages", new { text = words }, timeout.Token);
        Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);
        var messageId = (await sent.ReadJsonAsync())["id"]!.GetValue<string>();
        var path = $"/agents/{agent["id"]}/messages/{messageId}/events";

        var first = new List<ServerSentEvent>();
        using (var stream = await EventStreamReader.OpenAsync(StreamClient(user), new HttpRequestMessage(HttpMethod.Get, path),
            timeout.Token))
        {
            while (first.Count(e => e.Type == "delta") < 3 && await stream.NextAsync(timeout.Token) is { } next)
            {
                first.Add(next);
            }
        } // the connection drops here, mid-run

        Assert.Equal(3, first.Count(e => e.Type == "delta"));
        var resume = new HttpRequestMessage(HttpMethod.Get, path);
        resume.Headers.Add("Last-Event-ID", first[^1].Id);
        using var resumed = await EventStreamReader.OpenAsync(StreamClient(user), resume, timeout.Token);
        var rest = await resumed.ReadToEndAsync(timeout.Token);

        var all = first.Concat(rest).ToList();
        Assert.Equal(Enumerable.Range(0, all.Count).Select(i => i.ToString()), all.Select(e => e.Id));
        Assert.Equal(words, string.Concat(all.Where(e => e.Type == "delta").Select(e => e.Json!["text"]!.GetValue<string>())));
        Assert.Equal("done", all[^1].Type);
        Assert.DoesNotContain(rest, e => e.Type == "accepted");
    }

    [Fact]
    public async Task AFinishedMessagesEventsReplayAndTheStreamEnds()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync(config: new { behavior = "stream", delay_ms = 0 });
        using var timeout = new CancellationTokenSource(Timeout);
        using var sent = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages?wait=10", new { text = "a b" }, timeout.Token);
        Assert.Equal(HttpStatusCode.OK, sent.StatusCode);
        var messageId = (await sent.ReadJsonAsync())["id"]!.GetValue<string>();

        using var stream = await EventStreamReader.OpenAsync(StreamClient(user),
            new HttpRequestMessage(HttpMethod.Get, $"/agents/{agent["id"]}/messages/{messageId}/events"), timeout.Token);
        var events = await stream.ReadToEndAsync(timeout.Token);

        Assert.Equal(["accepted", "step", "delta", "delta", "done"], events.Select(e => e.Type));
        Assert.Equal("done", events[0].Json!["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task AWorkerKilledMidStreamStillLeavesTheClientWithDone()
    {
        var replicas = await fixture.RunningAsync("agent-worker");
        Assert.True(replicas.Count == 2, $"{replicas.Count} worker replicas running; this test kills one of two");
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync(config: new { behavior = "stream", delay_ms = 300 });
        var words = string.Join(' ', Enumerable.Range(1, 10).Select(i => $"w{i}"));
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        using var stream = await EventStreamReader.OpenAsync(StreamClient(user, TimeSpan.FromMinutes(2)),
            new HttpRequestMessage(HttpMethod.Post, $"/agents/{agent["id"]}/messages")
                { Content = JsonContent.Create(new { text = words }) },
            timeout.Token);
        var events = new List<ServerSentEvent>();
        while (events.Count(e => e.Type == "delta") < 2 && await stream.NextAsync(timeout.Token) is { } next)
        {
            events.Add(next);
        }

        // Kill the worker that holds the message's lease, mid-run: another one takes the message when the lease runs out.
        var messageId = events[0].Json!["id"]!.GetValue<Guid>();
        await using var db = await fixture.OpenDatabaseAsync();
        var leaseOwner = await db.ExecuteScalarAsync<string>("SELECT lease_owner FROM messages WHERE id = @messageId", new { messageId });
        Assert.NotNull(leaseOwner);
        var pid = int.Parse(leaseOwner.Split('/')[1]);
        var victim = replicas.Single(r => ResourceProcesses.ServicePid(r.Pid) == pid);
        using (var service = System.Diagnostics.Process.GetProcessById(pid))
        using (var replica = System.Diagnostics.Process.GetProcessById(victim.Pid))
        {
            replica.Kill(entireProcessTree: true);
            Assert.True(service.WaitForExit(TimeSpan.FromSeconds(10)), "the worker holding the lease is gone");
        }

        Assert.Equal("processing", await db.ExecuteScalarAsync<string>("SELECT status FROM messages WHERE id = @messageId",
            new { messageId }));
        try
        {
            events.AddRange(await stream.ReadToEndAsync(timeout.Token));
        }
        finally
        {
            await fixture.RestartAsync("agent-worker", victim.ResourceId);
        }

        Assert.Equal("done", events[^1].Type);
        Assert.Equal(words, events[^1].Json!["reply"]!.GetValue<string>());
        Assert.True(events[^1].Json!["attempts"]!.GetValue<int>() >= 2, "the message was handled again after the kill");
        // The ids still run without a gap: what the killed worker stored stays, the next attempt appends.
        Assert.Equal(Enumerable.Range(0, events.Count).Select(i => i.ToString()), events.Select(e => e.Id));
        Assert.EndsWith(words, string.Concat(events.Where(e => e.Type == "delta").Select(e => e.Json!["text"]!.GetValue<string>())));
    }

    [Fact]
    public async Task AStreamEndsWhenTheCallersTokenExpires()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync(config: new { behavior = "echo" });
        await fixture.HoldHeadOfLineAsync(agent);
        using var timeout = new CancellationTokenSource(Timeout);
        var token = TestApi.ForgeToken(AgentCloudFixture.JwtSecret, sub: user.Id.ToString(), expires: DateTimeOffset.UtcNow.AddSeconds(3));
        var client = StreamClient(user);
        var request = new HttpRequestMessage(HttpMethod.Post, $"/agents/{agent["id"]}/messages")
            { Content = JsonContent.Create(new { text = "stuck" }) }
            .WithBearer(token);

        var started = System.Diagnostics.Stopwatch.StartNew();
        using var stream = await EventStreamReader.OpenAsync(client, request, timeout.Token);
        var events = await stream.ReadToEndAsync(timeout.Token);

        Assert.Equal(["accepted"], events.Select(e => e.Type));
        Assert.InRange(started.Elapsed, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task AnIdleStreamGetsKeepAliveComments()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync(config: new { behavior = "echo" });
        await fixture.HoldHeadOfLineAsync(agent);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(40));
        var request = new HttpRequestMessage(HttpMethod.Post, $"/agents/{agent["id"]}/messages?stream=true")
        {
            Content = JsonContent.Create(new { text = "waits behind the held one" }),
        };
        using var response = await StreamClient(user).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));

        var started = System.Diagnostics.Stopwatch.StartNew();
        string? line;
        while ((line = await reader.ReadLineAsync(timeout.Token)) is not null && !line.StartsWith(':'))
        {
        }

        Assert.Equal(": keep-alive", line);
        Assert.InRange(started.Elapsed, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task ACanceledQueuedMessageEndsItsStreamWithAnErrorAndIsNeverHandled()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync(config: new { behavior = "echo" });
        await fixture.HoldHeadOfLineAsync(agent);
        using var timeout = new CancellationTokenSource(Timeout);
        using var sent = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages", new { text = "never" }, timeout.Token);
        var messageId = (await sent.ReadJsonAsync())["id"]!.GetValue<string>();
        using var stream = await EventStreamReader.OpenAsync(StreamClient(user),
            new HttpRequestMessage(HttpMethod.Get, $"/agents/{agent["id"]}/messages/{messageId}/events"), timeout.Token);
        Assert.Equal("accepted", (await stream.NextAsync(timeout.Token))!.Type);

        using var cancel = await user.Client.PostAsync($"/agents/{agent["id"]}/messages/{messageId}/cancel", null, timeout.Token);
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        Assert.Equal("canceled", (await cancel.ReadJsonAsync())["status"]!.GetValue<string>());
        var end = await stream.NextAsync(timeout.Token);
        Assert.Equal("error", end!.Type);
        Assert.Equal("canceled", end.Json!["status"]!.GetValue<string>());
        Assert.Null(await stream.NextAsync(timeout.Token));

        using var again = await user.Client.PostAsync($"/agents/{agent["id"]}/messages/{messageId}/cancel", null, timeout.Token);
        await again.AssertProblemAsync(HttpStatusCode.Conflict);
        await using var db = await fixture.OpenDatabaseAsync();
        Assert.Equal(0, await db.ExecuteScalarAsync<int>(
            "SELECT count(*) FROM agent_logs WHERE agent_id = @id AND message LIKE 'Received message ' || @messageId || '%'",
            new { id = agent["id"]!.GetValue<int>(), messageId }));
    }

    [Fact]
    public async Task AnotherUsersMessageEventsAreNotFound()
    {
        var owner = await fixture.CreateUserAsync();
        var stranger = await fixture.CreateUserAsync();
        var agent = await owner.CreateAgentAsync(config: new { behavior = "echo" });
        using var sent = await owner.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages?wait=10", new { text = "mine" });
        var messageId = (await sent.ReadJsonAsync())["id"]!.GetValue<string>();

        using var events = await stranger.Client.GetAsync($"/agents/{agent["id"]}/messages/{messageId}/events");
        await events.AssertProblemAsync(HttpStatusCode.NotFound);
        using var cancel = await stranger.Client.PostAsync($"/agents/{agent["id"]}/messages/{messageId}/cancel", null);
        await cancel.AssertProblemAsync(HttpStatusCode.NotFound);
        using var stream = await stranger.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages?stream=true", new { text = "theirs" });
        await stream.AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task AUsersHeldStreamsAreBoundedAndWaitWithoutADatabaseConnection()
    {
        // More streams held at once than the API's pool has connections, each user at its limit: if a waiting stream held a
        // pooled connection, the pool would run dry. Past a user's limit a stream is a 429 on every door and stores nothing,
        // and the held ones still get their end.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await using var db = await fixture.OpenDatabaseAsync();
        var pool = new ConnectionBudget(await db.ExecuteScalarAsync<int>("SELECT current_setting('max_connections')::int")).ApiPool;
        var held = new List<EventStreamReader>();
        var users = new List<(TestUser User, JsonObject Agent)>();
        try
        {
            while (held.Count <= pool)
            {
                var user = await fixture.CreateUserAsync();
                var agent = await user.CreateAgentAsync(config: new { behavior = "echo" });
                await fixture.HoldHeadOfLineAsync(agent);
                users.Add((user, agent));
                using var sent = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages", new { text = "waits" },
                    timeout.Token);
                var path = $"/agents/{agent["id"]}/messages/{(await sent.ReadJsonAsync())["id"]}/events";
                for (var i = 0; i < AgentCloudFixture.StreamsPerUser; i++)
                {
                    var stream = await EventStreamReader.OpenAsync(StreamClient(user), new HttpRequestMessage(HttpMethod.Get, path),
                        timeout.Token);
                    held.Add(stream);
                    Assert.Equal("accepted", (await stream.NextAsync(timeout.Token))!.Type);
                }
            }

            var (owner, mine) = users[0];
            // A dry pool would make this wait out PoolQueue.Patience and answer 503.
            using var listed = await owner.Client.GetAsync($"/agents/{mine["id"]}/messages", timeout.Token);
            Assert.Equal(HttpStatusCode.OK, listed.StatusCode);

            using var logs = await StreamClient(owner).GetAsync($"/agents/{mine["id"]}/logs/stream",
                HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            Assert.Equal("event_streams_per_user",
                (await logs.AssertProblemAsync(HttpStatusCode.TooManyRequests))["quota"]!.GetValue<string>());
            Assert.NotNull(logs.Headers.RetryAfter);
            using var posted = await StreamClient(owner).PostAsJsonAsync($"/agents/{mine["id"]}/messages?stream=true",
                new { text = "refused" }, timeout.Token);
            await posted.AssertProblemAsync(HttpStatusCode.TooManyRequests);
            using var chat = await owner.Client.PostAsJsonAsync("/v1/chat/completions", new
            {
                model = $"agent-{mine["id"]}", stream = true, messages = new[] { new { role = "user", content = "refused" } },
            }, timeout.Token);
            Assert.Equal(HttpStatusCode.TooManyRequests, chat.StatusCode);
            Assert.Equal("event_streams_per_user", (await chat.ReadJsonAsync())["error"]!["code"]!.GetValue<string>());
            using var agUi = await StreamClient(owner).PostAsJsonAsync($"/agents/{mine["id"]}/ag-ui", new
            {
                threadId = "refused", runId = "r", messages = new[] { new { id = "u", role = "user", content = "refused" } },
            }, timeout.Token);
            Assert.Equal("event_streams_per_user",
                (await agUi.AssertProblemAsync(HttpStatusCode.TooManyRequests))["quota"]!.GetValue<string>());
            Assert.Equal(2, await db.ExecuteScalarAsync<int>("SELECT count(*) FROM messages WHERE agent_id = @id",
                new { id = mine["id"]!.GetValue<int>() }));

            await db.ExecuteAsync("DELETE FROM messages WHERE payload = '\"held\"' AND agent_id = ANY(@ids)",
                new { ids = users.Select(u => u.Agent["id"]!.GetValue<int>()).ToArray() });
            foreach (var stream in held)
            {
                Assert.Equal("done", (await stream.ReadToEndAsync(timeout.Token))[^1].Type);
            }
        }
        finally
        {
            held.ForEach(stream => stream.Dispose());
        }

        // The ended streams gave their slots back.
        using var again = await StreamClient(users[0].User).GetAsync($"/agents/{users[0].Agent["id"]}/logs/stream",
            HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    private HttpClient StreamClient(TestUser user, TimeSpan? timeout = null)
    {
        var client = fixture.CreateApiClient();
        client.Timeout = timeout ?? Timeout;
        client.DefaultRequestHeaders.Authorization = user.Client.DefaultRequestHeaders.Authorization;
        return client;
    }
}
