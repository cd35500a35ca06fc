using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// A message is recognised as a repeat only by a key its client chose (header Idempotency-Key, or
/// idempotency_key in the body), never by its content.
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed class IdempotencyTests(AgentCloudFixture fixture)
{
    [Fact]
    public async Task ARepeatWithTheSameIdempotencyKeyReturnsTheFirstMessageAndStoresOneRow()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("echo", new { behavior = "echo" });
        var key = $"retry-{Guid.NewGuid()}";

        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/agents/{agent["id"]}/messages")
            {
                Content = JsonContent.Create(new { text = "pay once" }),
            };
            request.Headers.Add("Idempotency-Key", key);
            using var response = await user.Client.SendAsync(request);
            Assert.True(response.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.OK, $"{(int)response.StatusCode}");
            ids.Add((await response.ReadJsonAsync())["id"]!.GetValue<string>());
        }

        Assert.Single(ids.Distinct());
        await MessagingTests.PollUntilFinishedAsync(user, agent, ids[0]);
        Assert.Equal(1, await CountAsync(agent));
    }

    [Fact]
    public async Task TheKeyMayComeInTheBodyAndARepeatDuringAWaitAnswersWithTheFinishedMessage()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("echo", new { behavior = "echo" });
        var key = $"body-{Guid.NewGuid()}";

        using var first = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages?wait=20",
            new { payload = new { n = 1 }, idempotency_key = key });
        using var again = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages?wait=20",
            new { payload = new { n = 1 }, idempotency_key = key });

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        var (one, two) = (await first.ReadJsonAsync(), await again.ReadJsonAsync());
        Assert.Equal(one["id"]!.GetValue<string>(), two["id"]!.GetValue<string>());
        Assert.Equal("done", two["status"]!.GetValue<string>());
        Assert.Equal(1, await CountAsync(agent));
    }

    [Fact]
    public async Task WithoutAKeyTwoIdenticalPostsAreTwoMessages()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("echo", new { behavior = "echo" });
        var session = Guid.NewGuid();

        var first = await SendAndWaitAsync(user, agent, new { text = "same", session });
        var second = await SendAndWaitAsync(user, agent, new { text = "same", session });

        Assert.NotEqual(first["id"]!.GetValue<string>(), second["id"]!.GetValue<string>());
        Assert.Equal(2, await CountAsync(agent));
    }

    [Fact]
    public async Task AKeyReusedForAnotherAgentIsRefusedAndStoresNothing()
    {
        var user = await fixture.CreateUserAsync();
        var first = await user.CreateAgentAsync("first");
        var second = await user.CreateAgentAsync("second");
        var key = $"reuse-{Guid.NewGuid()}";

        using var accepted = await user.Client.PostAsJsonAsync($"/agents/{first["id"]}/messages",
            new { text = "a", idempotency_key = key });
        using var refused = await user.Client.PostAsJsonAsync($"/agents/{second["id"]}/messages",
            new { text = "b", idempotency_key = key });

        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        await refused.AssertProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Equal(0, await CountAsync(second));
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("ünïcode")]
    public async Task AnUnusableKeyIsA400(string key)
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("plain");

        using var response = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages",
            new { text = "x", idempotency_key = key });

        await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(0, await CountAsync(agent));
    }

    [Fact]
    public async Task ASendRepeatedWithItsKeyIsSentOnce()
    {
        var user = await fixture.CreateUserAsync();
        var sender = await user.CreateAgentAsync("sender");
        var receiver = await user.CreateAgentAsync("receiver", new { behavior = "echo" });
        var key = $"send-{Guid.NewGuid()}";

        var ids = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/agents/{sender["id"]}/send")
            {
                Content = JsonContent.Create(new { target = receiver["address"]!.GetValue<string>(), text = "once" }),
            };
            request.Headers.Add("Idempotency-Key", key);
            using var response = await user.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            ids.Add((await response.ReadJsonAsync())["id"]!.GetValue<string>());
        }

        Assert.Single(ids.Distinct());
        Assert.Equal(1, await CountAsync(receiver, "inbound"));
        await using var db = await fixture.OpenDatabaseAsync();
        Assert.Equal(1, await db.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM agent_logs WHERE agent_id = @id AND message LIKE 'Sent message %'",
                new { id = sender["id"]!.GetValue<int>() }));
    }

    [Fact]
    public async Task ConcurrentSendsThatShareCommitsEachGetTheirOwnAnswer()
    {
        // Sends that arrive together are checked and committed together: each must still be answered for itself, a key
        // repeated inside one batch stores one row, and another user's agent is a 404 beside sends that succeed.
        var user = await fixture.CreateUserAsync();
        var stranger = await fixture.CreateUserAsync();
        var mine = await user.CreateAgentAsync("mine", new { behavior = "echo" });
        var theirs = await stranger.CreateAgentAsync("theirs");
        var key = $"crowd-{Guid.NewGuid()}";
        var session = Guid.NewGuid();

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 96).Select(async i =>
        {
            var (agent, withKey) = (i % 4) switch { 0 => (theirs, false), 1 => (mine, true), _ => (mine, false) };
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/agents/{agent["id"]}/messages")
            {
                Content = JsonContent.Create(new { payload = new { i }, session }),
            };
            if (withKey)
            {
                request.Headers.Add("Idempotency-Key", key);
            }

            using var response = await user.Client.SendAsync(request);
            var body = await response.ReadJsonAsync();
            return (i, response.StatusCode, Id: body["id"]?.GetValue<string>());
        }));

        Assert.All(outcomes.Where(o => o.i % 4 == 0), o => Assert.Equal(HttpStatusCode.NotFound, o.StatusCode));
        Assert.All(outcomes.Where(o => o.i % 4 >= 2), o => Assert.Equal(HttpStatusCode.Accepted, o.StatusCode));
        // A repeat answers with the first message as it is now: 200 once the echo agent has finished it.
        Assert.All(outcomes.Where(o => o.i % 4 == 1), o => Assert.True(o.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.OK,
            $"{o.StatusCode}"));
        var keyed = outcomes.Where(o => o.i % 4 == 1).Select(o => o.Id).Distinct().ToList();
        Assert.Single(keyed);
        var plain = outcomes.Where(o => o.i % 4 >= 2).Select(o => o.Id).ToList();
        Assert.Equal(48, plain.Distinct().Count());
        Assert.DoesNotContain(keyed[0], plain);

        // One row per answer, each with the payload its own request sent; nothing reached the other user's agent.
        await using var db = await fixture.OpenDatabaseAsync();
        var rows = (await db.QueryAsync<(Guid Id, string Payload)>(
            "SELECT id, payload::text FROM messages WHERE agent_id = @id AND session = @session",
                new { id = mine["id"]!.GetValue<int>(), session })).ToList();
        Assert.Equal(49, rows.Count);
        Assert.All(outcomes.Where(o => o.i % 4 >= 2), o => Assert.Equal(
            JsonNode.Parse($"{{\"i\": {o.i}}}")!.ToJsonString(),
                JsonNode.Parse(rows.Single(row => row.Id == Guid.Parse(o.Id!)).Payload)!.ToJsonString()));
        Assert.Equal(0, await db.ExecuteScalarAsync<long>("SELECT count(*) FROM messages WHERE agent_id = @id",
            new { id = theirs["id"]!.GetValue<int>() }));
        Assert.Equal(49, await db.ExecuteScalarAsync<long>(
            "SELECT COALESCE(sum(messages), 0) FROM usage_daily WHERE user_id = @id", new { id = user.Id }));
    }

    private static async Task<JsonObject> SendAndWaitAsync(TestUser user, JsonObject agent, object body)
    {
        using var response = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages?wait=20", body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.ReadJsonAsync();
    }

    private async Task<long> CountAsync(JsonObject agent, string direction = "inbound")
    {
        await using var db = await fixture.OpenDatabaseAsync();
        return await db.ExecuteScalarAsync<long>("SELECT count(*) FROM messages WHERE agent_id = @id AND direction = @direction",
            new { id = agent["id"]!.GetValue<int>(), direction });
    }
}
