using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;

namespace AgentCloud.IntegrationTests;

[Collection(AgentCloudCollection.Name)]
public sealed class MessagingTests(AgentCloudFixture fixture)
{
    [Fact]
    public async Task AnEchoAgentAnswersWithTheSamePayloadWithinAWait()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("echo", new { behavior = "echo" });
        var payload = JsonNode.Parse("{\"greeting\": \"hello\", \"n\": [1, 2, 3]}");

        using var response = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages?wait=20", new { payload });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var message = await response.ReadJsonAsync();
        Assert.Equal("done", message["status"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(payload, message["payload"]));
        Assert.True(JsonNode.DeepEquals(payload, message["reply"]));
        Assert.Equal("inbound", message["direction"]!.GetValue<string>());
        Assert.Equal(agent["address"]!.GetValue<string>(), message["target"]!.GetValue<string>());
        Assert.Equal(1, message["attempts"]!.GetValue<int>());
        Assert.Matches("^[0-9a-f]{32}$", message["trace_id"]!.GetValue<string>());
        Assert.NotNull(message["completed_at"]);
    }

    [Fact]
    public async Task AMessageIsAcceptedAt202AndCanBeFollowedUntilDone()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("echo", new { behavior = "echo" });

        using var response = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages", new { text = "ping" });

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = await response.ReadJsonAsync();
        Assert.Contains(accepted["status"]!.GetValue<string>(), new[] { "queued", "processing", "done" });
        var done = await PollUntilFinishedAsync(user, agent, accepted["id"]!.GetValue<string>());
        Assert.Equal("done", done["status"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(accepted["payload"], done["reply"]));
    }

    [Fact]
    public async Task TheDefaultAgentLogsTheMessageAndAcknowledgesIt()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("plain");

        var message = await SendAndWaitAsync(user, agent, JsonNode.Parse("{\"task\": \"remember this\"}"));

        Assert.Equal("done", message["status"]!.GetValue<string>());
        Assert.NotNull(message["reply"]);
        var logs = await LogMessagesAsync(agent);
        Assert.Contains(logs, line => line.Contains(message["id"]!.GetValue<string>()) && line.Contains("Received"));
    }

    [Fact]
    public async Task AForwardAgentPassesMessagesToItsTarget()
    {
        var user = await fixture.CreateUserAsync();
        var target = await user.CreateAgentAsync("sink");
        var forwarder = await user.CreateAgentAsync("relay", new { behavior = "forward", target = $"agent://{target["address"]}" });

        var sent = await SendAndWaitAsync(user, forwarder, JsonNode.Parse("{\"relay\": \"me\"}"));

        Assert.Equal("done", sent["status"]!.GetValue<string>());
        var arrived = await Wait.ForAsync(async () =>
        {
            var items = await ListMessagesAsync(user, target, "?direction=inbound");
            return items.FirstOrDefault(m => m["sender"]!.GetValue<string>() == forwarder["address"]!.GetValue<string>()
                && m["status"]!.GetValue<string>() == "done");
        });
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("{\"relay\": \"me\"}"), arrived["payload"]));
        Assert.Contains(await LogMessagesAsync(forwarder), line => line.Contains("Forwarded") || line.Contains("Sent"));
    }

    [Fact]
    public async Task AnAgentSendsToAnotherAgentByAddressAndGetsTheEchoBack()
    {
        var user = await fixture.CreateUserAsync();
        var echo = await user.CreateAgentAsync("echo", new { behavior = "echo" });
        var sender = await user.CreateAgentAsync("sender");

        using var response = await user.Client.PostAsJsonAsync($"/agents/{sender["id"]}/send",
            new { target = $"agent://{echo["address"]}", payload = new { question = 42 } });

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        // The echo comes back into the sender's inbox as a reply from the echo agent.
        var reply = await Wait.ForAsync(async () =>
        {
            var items = await ListMessagesAsync(user, sender, "?direction=inbound");
            return items.FirstOrDefault(m => m["sender"]!.GetValue<string>() == echo["address"]!.GetValue<string>()
                && m["status"]!.GetValue<string>() == "done");
        });
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("{\"question\": 42}"), reply["payload"]));
        Assert.NotNull(reply["in_reply_to"]);
    }

    [Fact]
    public async Task ASendToAnAddressNotHostedHereBecomesAnOutboundMessage()
    {
        var user = await fixture.CreateUserAsync();
        var sender = await user.CreateAgentAsync("sender");
        var remote = AgentCloud.Shared.UAgents.AgentIdentity.FromSeed("some remote uagent somewhere").Address;
        // An address the API knows how to reach (nothing listens there); one nobody can reach is refused (OutboundTests).
        await fixture.AddEndpointAsync(remote, "http://127.0.0.1:9/submit");

        using var response = await user.Client.PostAsJsonAsync($"/agents/{sender["id"]}/send", new { target = remote, payload = "hi" });

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var outbound = await ListMessagesAsync(user, sender, "?direction=outbound");
        var queued = Assert.Single(outbound);
        Assert.Equal(remote, queued["target"]!.GetValue<string>());
        // The outbox takes it at once; with nobody answering at the endpoint it fails and ends dead (OutboundTests).
        Assert.Contains(queued["status"]!.GetValue<string>(), new[] { "queued", "processing", "failed", "dead" });
    }

    [Fact]
    public async Task TwoEchoAgentsDoNotPingPongForever()
    {
        var user = await fixture.CreateUserAsync();
        var first = await user.CreateAgentAsync("echo one", new { behavior = "echo" });
        var second = await user.CreateAgentAsync("echo two", new { behavior = "echo" });

        using var response = await user.Client.PostAsJsonAsync($"/agents/{first["id"]}/send",
            new { target = second["address"]!.GetValue<string>(), payload = "ball" });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        await Task.Delay(TimeSpan.FromSeconds(3));

        await using var db = await fixture.OpenDatabaseAsync();
        var total = await db.ExecuteScalarAsync<long>("SELECT count(*) FROM messages WHERE agent_id IN (@a, @b)",
            new { a = first["id"]!.GetValue<int>(), b = second["id"]!.GetValue<int>() });
        Assert.InRange(total, 2, 12);
    }

    [Fact]
    public async Task TwoForwardAgentsPointedAtEachOtherStopAtTheHopLimit()
    {
        var user = await fixture.CreateUserAsync();
        var first = await user.CreateAgentAsync("ping");
        var second = await user.CreateAgentAsync("pong", new { behavior = "forward", target = first["address"]!.GetValue<string>() });
        using var update = await user.Client.PutAsJsonAsync($"/agents/{first["id"]}",
            new { config = new { behavior = "forward", target = second["address"]!.GetValue<string>() } });
        Assert.Equal(HttpStatusCode.OK, update.StatusCode);

        using var posted = await user.Client.PostAsJsonAsync($"/agents/{first["id"]}/messages", new { payload = "round and round" });
        Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);

        var warning = await Wait.ForAsync(async () =>
            (await LogLinesAsync(first)).Concat(await LogLinesAsync(second))
                .Select(l => l.Level == "WARNING" && l.Message.Contains("limit") ? l.Message : null)
                .FirstOrDefault(m => m is not null));
        await Task.Delay(TimeSpan.FromSeconds(1));
        await using var db = await fixture.OpenDatabaseAsync();
        var total = await db.ExecuteScalarAsync<long>("SELECT count(*) FROM messages WHERE agent_id IN (@a, @b)",
            new { a = first["id"]!.GetValue<int>(), b = second["id"]!.GetValue<int>() });
        Assert.InRange(total, 2, 20);
        Assert.Equal(0, await db.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM messages WHERE agent_id IN (@a, @b) AND status NOT IN ('done', 'dead')",
            new { a = first["id"]!.GetValue<int>(), b = second["id"]!.GetValue<int>() }));
    }

    [Fact]
    public async Task ABehaviourThatThrowsIsRetriedThenDeadWithLogLinesAndOthersCarryOn()
    {
        var user = await fixture.CreateUserAsync();
        var failing = await user.CreateAgentAsync("broken", new { behavior = "fail" });
        var healthy = await user.CreateAgentAsync("fine", new { behavior = "echo" });

        using var posted = await user.Client.PostAsJsonAsync($"/agents/{failing["id"]}/messages", new { payload = "doomed" });
        Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        var id = (await posted.ReadJsonAsync())["id"]!.GetValue<string>();
        var meanwhile = await SendAndWaitAsync(user, healthy, JsonNode.Parse("\"still fine\""));

        Assert.Equal("done", meanwhile["status"]!.GetValue<string>());
        var dead = await PollUntilFinishedAsync(user, failing, id);
        Assert.Equal("dead", dead["status"]!.GetValue<string>());
        Assert.Equal(AgentCloudFixture.MaxAttempts, dead["attempts"]!.GetValue<int>());
        Assert.False(string.IsNullOrEmpty(dead["error"]?.GetValue<string>()));

        var lines = await LogLinesAsync(failing);
        Assert.Equal(AgentCloudFixture.MaxAttempts - 1, lines.Count(l => l.Level == "WARNING" && l.Message.Contains(id)));
        Assert.Single(lines, l => l.Level == "ERROR" && l.Message.Contains(id));
    }

    [Fact]
    public async Task WaitingBehindABusyHeadOfLineAnswers202WhenTimeRunsOut()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("busy", new { behavior = "echo" });
        // A message some worker holds for a long while: the next one must wait its turn.
        await fixture.HoldHeadOfLineAsync(agent);

        var started = DateTime.UtcNow;
        using var response = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages?wait=1", new { payload = 1 });

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(10));
        Assert.Equal("queued", (await response.ReadJsonAsync())["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task MessagesAreListedNewestFirstWithFiltersAndACursor()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("echo", new { behavior = "echo" });
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add((await SendAndWaitAsync(user, agent, JsonValue.Create(i)))["id"]!.GetValue<string>());
        }

        var seen = new List<string>();
        string? cursor = null;
        do
        {
            using var response = await user.Client.GetAsync($"/agents/{agent["id"]}/messages?limit=2&status=done"
                + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var page = await response.ReadJsonAsync();
            seen.AddRange(page["items"]!.AsArray().Select(m => m!["id"]!.GetValue<string>()));
            cursor = page["next_cursor"]?.GetValue<string>();
        }
        while (cursor is not null && seen.Count < 20);

        Assert.Equal(ids.AsEnumerable().Reverse(), seen);
        Assert.Empty(await ListMessagesAsync(user, agent, "?status=dead"));
        Assert.Empty(await ListMessagesAsync(user, agent, "?direction=outbound"));
    }

    [Theory]
    [InlineData("?status=lost")]
    [InlineData("?direction=sideways")]
    [InlineData("?limit=0")]
    [InlineData("?limit=101")]
    [InlineData("?cursor=garbage!")]
    public async Task ListingMessagesRejectsBadFilters(string query)
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync();

        using var response = await user.Client.GetAsync($"/agents/{agent["id"]}/messages{query}");

        await response.AssertProblemAsync(HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("{\"payload\": 1, \"text\": \"both\"}")]
    [InlineData("{\"text\": 5}")]
    [InlineData("{\"payload\": 1, \"extra\": true}")]
    [InlineData("{\"payload\": ")]
    public async Task PostingAMessageRejectsBadBodiesAndStoresNothing(string body)
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync();

        using var response = await user.Client.PostAsync($"/agents/{agent["id"]}/messages", TestApi.RawJson(body));

        await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(0, await CountMessagesAsync(agent));
    }

    [Theory]
    [InlineData("?wait=31")]
    [InlineData("?wait=-1")]
    [InlineData("?wait=soon")]
    public async Task PostingAMessageRejectsABadWait(string query)
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync();

        using var response = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages{query}", new { payload = 1 });

        await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(0, await CountMessagesAsync(agent));
    }

    [Fact]
    public async Task AnOversizedPayloadIs413AndStoresNothing()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync();

        using var response = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages",
            new { payload = new string('x', 40_000) });

        await response.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal(0, await CountMessagesAsync(agent));
    }

    [Theory]
    [InlineData("not-an-address")]
    [InlineData("agent1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq")]
    [InlineData("")]
    public async Task SendingToAMalformedAddressIs400AndStoresNothing(string target)
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync();

        using var response = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/send", new { target, payload = 1 });

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("target", problem.ToJsonString());
        Assert.Equal(0, await CountMessagesAsync(agent));
    }

    [Fact]
    public async Task AnotherUsersAgentIs404OnEveryMessagingRoute()
    {
        var owner = await fixture.CreateUserAsync();
        var stranger = await fixture.CreateUserAsync();
        var agent = await owner.CreateAgentAsync("private", new { behavior = "echo" });
        var message = await SendAndWaitAsync(owner, agent, JsonValue.Create("secret"));
        var id = agent["id"]!.GetValue<int>();

        using var post = await stranger.Client.PostAsJsonAsync($"/agents/{id}/messages", new { payload = 1 });
        using var list = await stranger.Client.GetAsync($"/agents/{id}/messages");
        using var get = await stranger.Client.GetAsync($"/agents/{id}/messages/{message["id"]}");
        using var send = await stranger.Client.PostAsJsonAsync($"/agents/{id}/send",
            new { target = agent["address"]!.GetValue<string>(), payload = 1 });
        using var stream = await stranger.Client.GetAsync($"/agents/{id}/logs/stream", HttpCompletionOption.ResponseHeadersRead);

        foreach (var response in new[] { post, list, get, send, stream })
        {
            await response.AssertProblemAsync(HttpStatusCode.NotFound);
        }

        Assert.Equal(1, await CountMessagesAsync(agent));
    }

    [Fact]
    public async Task AMessageOfAnotherAgentIs404()
    {
        var user = await fixture.CreateUserAsync();
        var first = await user.CreateAgentAsync("one", new { behavior = "echo" });
        var second = await user.CreateAgentAsync("two");
        var message = await SendAndWaitAsync(user, first, JsonValue.Create(1));

        using var wrongAgent = await user.Client.GetAsync($"/agents/{second["id"]}/messages/{message["id"]}");
        using var unknown = await user.Client.GetAsync($"/agents/{first["id"]}/messages/{Guid.NewGuid()}");
        using var right = await user.Client.GetAsync($"/agents/{first["id"]}/messages/{message["id"]}");

        await wrongAgent.AssertProblemAsync(HttpStatusCode.NotFound);
        await unknown.AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
    }

    [Fact]
    public async Task ConfigsAreValidatedAgainstTheBehaviours()
    {
        var user = await fixture.CreateUserAsync();

        using var unknown = await user.Client.PostAsJsonAsync("/agents", new { name = "x", config = new { behavior = "teleport" } });
        using var noTarget = await user.Client.PostAsJsonAsync("/agents", new { name = "x", config = new { behavior = "forward" } });
        using var badTarget = await user.Client.PostAsJsonAsync("/agents",
            new { name = "x", config = new { behavior = "forward", target = "nowhere" } });
        var agent = await user.CreateAgentAsync();
        using var badUpdate = await user.Client.PutAsJsonAsync($"/agents/{agent["id"]}", new { config = new { behavior = 7 } });

        foreach (var response in new[] { unknown, noTarget, badTarget, badUpdate })
        {
            Assert.Contains("config", (await response.AssertProblemAsync(HttpStatusCode.BadRequest)).ToJsonString());
        }
    }

    internal static async Task<JsonObject> SendAndWaitAsync(TestUser user, JsonObject agent, JsonNode? payload)
    {
        using var response = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages?wait=20", new { payload });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.ReadJsonAsync();
    }

    internal static async Task<JsonObject> PollUntilFinishedAsync(TestUser user, JsonObject agent, string messageId) =>
        await Wait.ForAsync(async () =>
        {
            using var response = await user.Client.GetAsync($"/agents/{agent["id"]}/messages/{messageId}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var message = await response.ReadJsonAsync();
            return message["status"]!.GetValue<string>() is "done" or "dead" ? message : null;
        });

    internal static async Task<List<JsonObject>> ListMessagesAsync(TestUser user, JsonObject agent, string query)
    {
        using var response = await user.Client.GetAsync($"/agents/{agent["id"]}/messages{query}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.ReadJsonAsync())["items"]!.AsArray().Select(m => m!.AsObject()).ToList();
    }

    private async Task<List<string>> LogMessagesAsync(JsonObject agent) =>
        (await LogLinesAsync(agent)).Select(l => l.Message).ToList();

    private async Task<List<(string Level, string Message)>> LogLinesAsync(JsonObject agent)
    {
        await using var db = await fixture.OpenDatabaseAsync();
        return (await db.QueryAsync<(string, string)>("SELECT log_level, message FROM agent_logs WHERE agent_id = @id ORDER BY id",
            new { id = agent["id"]!.GetValue<int>() })).ToList();
    }

    private async Task<long> CountMessagesAsync(JsonObject agent)
    {
        await using var db = await fixture.OpenDatabaseAsync();
        return await db.ExecuteScalarAsync<long>("SELECT count(*) FROM messages WHERE agent_id = @id",
            new { id = agent["id"]!.GetValue<int>() });
    }
}
