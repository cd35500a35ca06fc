using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;
using AgentCloud.Shared.UAgents;
using static AgentCloud.IntegrationTests.LlmAgentTests;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// Spending limits, with the scripted model reporting 11 input and 7 output tokens per call: the run that would pass a limit
/// stops before its model call, dead with the limit named; an outsider's messages get only their share of the agent's tokens.
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed class TokenLimitTests(AgentCloudFixture fixture)
{
    [Fact]
    public async Task TheAgentsDailyLimitStopsTheRunBeforeItsModelCallAndEachDoorSaysWhich()
    {
        var user = await fixture.CreateUserAsync();
        var script = fixture.Models.NewScript((_, _) => new TextReply("fine"));
        var agent = await user.CreateAgentAsync("frugal", new
        {
            behavior = "llm", instructions = script.Marker, token_limits = new { input_per_day = 20, output_per_day = 1000 },
        });

        Assert.Equal("done", (await SendAsync(user, agent, "one"))["status"]!.GetValue<string>());
        Assert.Equal("done", (await SendAsync(user, agent, "two"))["status"]!.GetValue<string>());
        var stopped = await SendAsync(user, agent, "three");

        Assert.Equal("dead", stopped["status"]!.GetValue<string>());
        Assert.Contains("token_limits.input_per_day", stopped["error"]!.GetValue<string>());
        Assert.Contains("22 of 20 input tokens", stopped["error"]!.GetValue<string>());
        Assert.Equal(2, script.Count);
        using var completion = await user.Client.PostAsJsonAsync("/v1/chat/completions",
            new { model = $"agent-{agent["id"]}", messages = new[] { new { role = "user", content = "four" } } });
        Assert.Equal(HttpStatusCode.BadGateway, completion.StatusCode);
        var error = (await completion.ReadJsonAsync())["error"]!;
        Assert.Equal("agent_dead", error["code"]!.GetValue<string>());
        Assert.Contains("token_limits.input_per_day", error["message"]!.GetValue<string>());
        using var a2a = await user.Client.PostAsync($"/a2a/{agent["id"]}", TestApi.RawJson(
            """{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"@","role":"ROLE_USER","parts":[{"text":"five"}]}}}"""
                .Replace("@", Guid.NewGuid().ToString("D"), StringComparison.Ordinal)));
        var task = (await a2a.ReadJsonAsync())["result"]!["task"]!;
        Assert.Equal("TASK_STATE_FAILED", task["status"]!["state"]!.GetValue<string>());
        Assert.Contains("token_limits.input_per_day", task["status"]!["message"]!["parts"]![0]!["text"]!.GetValue<string>());
        Assert.Equal(2, script.Count);

        // Nothing spent is lost: the two calls are counted, for the agent and for its owner.
        var usage = await GetJsonAsync(user, $"/agents/{agent["id"]}/usage");
        Assert.Equal(22, usage["input_tokens"]!.GetValue<long>());
        Assert.Equal(22, usage["today"]!["agent"]!["input_used"]!.GetValue<long>());
        Assert.Equal(20, usage["today"]!["agent"]!["input_limit"]!.GetValue<long>());
        Assert.Equal(14, usage["today"]!["user"]!["output_used"]!.GetValue<long>());
        var mine = await GetJsonAsync(user, "/users/me/usage");
        Assert.Equal(22, mine["input_tokens_per_day"]!["used"]!.GetValue<long>());
        Assert.Equal(14, mine["output_tokens_per_day"]!["used"]!.GetValue<long>());

        using var bad = await user.Client.PutAsJsonAsync($"/agents/{agent["id"]}",
            new { config = new { behavior = "llm", token_limits = new { input_per_day = -1 } } });
        await bad.AssertProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task TheOwnersDailyLimitOverAllTheirAgentsStopsARunOfAnyOfThem()
    {
        var user = await fixture.CreateUserAsync();
        var script = fixture.Models.NewScript((_, _) => new TextReply("fine"));
        var spender = await user.CreateAgentAsync("spender", new { behavior = "echo" });
        var agent = await user.CreateAgentAsync("thinker", new { behavior = "llm", instructions = script.Marker });
        // Another of the owner's agents spent the day's 500,000 output tokens (Quotas:OutputTokensPerDay).
        await using (var db = await fixture.OpenDatabaseAsync())
        {
            await db.ExecuteAsync(
                "INSERT INTO token_usage_daily (agent_id, user_id, day, outsider, output_tokens) "
                + "VALUES (@agent, @user, (now() AT TIME ZONE 'utc')::date, false, 500000)",
                new { agent = spender["id"]!.GetValue<int>(), user = user.Id });
        }

        var stopped = await SendAsync(user, agent, "think");

        Assert.Equal("dead", stopped["status"]!.GetValue<string>());
        Assert.Contains("output_tokens_per_day", stopped["error"]!.GetValue<string>());
        Assert.Equal(0, script.Count);
        var mine = (await GetJsonAsync(user, "/users/me/usage"))["output_tokens_per_day"]!;
        Assert.Equal(500_000, mine["used"]!.GetValue<long>());
        Assert.Equal(500_000, mine["limit"]!.GetValue<long>());
    }

    [Fact]
    public async Task OutsidersShareASmallerPartOfTheAgentsTokensAndTheOwnerKeepsTheRest()
    {
        var owner = await fixture.CreateUserAsync();
        var script = fixture.Models.NewScript((_, _) => new TextReply("noted"));
        // 10 % of 100 input tokens a day: outsiders have 10, which their first call (11) uses up.
        var agent = await owner.CreateAgentAsync("public", new
        {
            behavior = "llm", instructions = script.Marker, token_limits = new { input_per_day = 100 },
        });
        var address = agent["address"]!.GetValue<string>();
        var stranger = await fixture.CreateUserAsync();
        var theirs = await stranger.CreateAgentAsync("caller", new { behavior = "default" });

        using (var sent = await stranger.Client.PostAsJsonAsync($"/agents/{theirs["id"]}/send", new { target = address, text = "hello" }))
        {
            Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);
        }

        await FinishedInboundAsync(owner, agent, 1, theirs["address"]!.GetValue<string>());
        var peer = new UagentsPeer(fixture, $"token-limit-peer-{Guid.NewGuid()}");
        using (var submitted = await peer.SubmitAsync(peer.Compose(address, MessageModels.Message, """{"message":"hi there"}""")))
        {
            Assert.Equal(HttpStatusCode.OK, submitted.StatusCode);
        }

        var inbound = await FinishedInboundAsync(owner, agent, 1, peer.Address);
        var fromPeer = inbound.Single(m => m["sender"]!.GetValue<string>() == peer.Address);
        Assert.Equal("dead", fromPeer["status"]!.GetValue<string>());
        Assert.Contains("outsider_input_tokens_per_day", fromPeer["error"]!.GetValue<string>());
        Assert.Equal("done", inbound.Single(m => m["sender"]!.GetValue<string>() ==
            theirs["address"]!.GetValue<string>())["status"]!.GetValue<string>());
        Assert.Equal(1, script.Count);

        // The owner's own message still has the agent's other 89 tokens.
        Assert.Equal("done", (await SendAsync(owner, agent, "mine"))["status"]!.GetValue<string>());
        var today = (await GetJsonAsync(owner, $"/agents/{agent["id"]}/usage"))["today"]!;
        Assert.Equal(11, today["outsiders"]!["input_used"]!.GetValue<long>());
        Assert.Equal(10, today["outsiders"]!["input_limit"]!.GetValue<long>());
        Assert.Equal(22, today["agent"]!["input_used"]!.GetValue<long>());
    }

    // The agent's inbound messages once <paramref name="count"/> from <paramref name="sender"/> are finished.
    private static async Task<List<JsonObject>> FinishedInboundAsync(TestUser user, JsonObject agent, int count, string sender) =>
        await Wait.ForAsync(async () =>
        {
            var items = await MessagingTests.ListMessagesAsync(user, agent, "?direction=inbound&limit=100");
            return items.Count(m => m["sender"]!.GetValue<string>() == sender && m["status"]!.GetValue<string>() is "done" or "dead") >=
                count
                ? items : null;
        }, seconds: 40);
}
