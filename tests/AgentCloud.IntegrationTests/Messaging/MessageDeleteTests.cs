using System.Net.Http.Json;
using Dapper;

namespace AgentCloud.IntegrationTests;

[Collection(AgentCloudCollection.Name)]
public sealed class MessageDeleteTests(AgentCloudFixture fixture)
{
    [Fact]
    public async Task AnOwnerDeletesAMessage()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("echo", new { behavior = "echo" });
        using var sent = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages?wait=20", new { text = "forget me" });
        var id = (await sent.ReadJsonAsync())["id"]!.GetValue<string>();

        using var delete = await user.Client.DeleteAsync($"/agents/{agent["id"]}/messages/{id}");

        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        using var gone = await user.Client.GetAsync($"/agents/{agent["id"]}/messages/{id}");
        await gone.AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Empty(await MessagingTests.ListMessagesAsync(user, agent, ""));
        using var again = await user.Client.DeleteAsync($"/agents/{agent["id"]}/messages/{id}");
        await again.AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task AnotherUserCannotDeleteAMessage()
    {
        var owner = await fixture.CreateUserAsync();
        var stranger = await fixture.CreateUserAsync();
        var agent = await owner.CreateAgentAsync("mine");
        using var sent = await owner.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages", new { text = "keep" });
        var id = (await sent.ReadJsonAsync())["id"]!.GetValue<string>();

        using var delete = await stranger.Client.DeleteAsync($"/agents/{agent["id"]}/messages/{id}");
        using var purge = await stranger.Client.DeleteAsync($"/agents/{agent["id"]}/messages?status=queued");
        using var badId = await owner.Client.DeleteAsync($"/agents/{agent["id"]}/messages/not-a-uuid");

        await delete.AssertProblemAsync(HttpStatusCode.NotFound);
        await purge.AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Contains("message_id", (await badId.AssertProblemAsync(HttpStatusCode.BadRequest)).ToJsonString());
        using var still = await owner.Client.GetAsync($"/agents/{agent["id"]}/messages/{id}");
        Assert.Equal(HttpStatusCode.OK, still.StatusCode);
    }

    [Fact]
    public async Task PurgingQueuedMessagesLeavesTheOthers()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("echo", new { behavior = "echo" });
        using (var done = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages?wait=20", new { text = "done" }))
        {
            Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        }

        // Behind a held head of line, new messages stay queued.
        await fixture.HoldHeadOfLineAsync(agent);
        for (var i = 0; i < 3; i++)
        {
            using var queued = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages", new { text = $"queued {i}" });
            Assert.Equal(HttpStatusCode.Accepted, queued.StatusCode);
        }

        using var purge = await user.Client.DeleteAsync($"/agents/{agent["id"]}/messages?status=queued");
        using var noStatus = await user.Client.DeleteAsync($"/agents/{agent["id"]}/messages");
        using var badStatus = await user.Client.DeleteAsync($"/agents/{agent["id"]}/messages?status=everything");

        Assert.Equal(3, (await purge.ReadJsonAsync())["deleted"]!.GetValue<int>());
        Assert.Contains("status", (await noStatus.AssertProblemAsync(HttpStatusCode.BadRequest)).ToJsonString());
        Assert.Contains("status", (await badStatus.AssertProblemAsync(HttpStatusCode.BadRequest)).ToJsonString());
        var left = await MessagingTests.ListMessagesAsync(user, agent, "");
        Assert.Equal(["processing", "done"], left.Select(m => m["status"]!.GetValue<string>()));
    }

    [Fact]
    public async Task DeletingAMessageAWorkerHoldsLetsTheQueueMoveOn()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("echo", new { behavior = "echo" });
        await fixture.HoldHeadOfLineAsync(agent);
        using var waiting = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages", new { text = "behind" });
        var waitingId = (await waiting.ReadJsonAsync())["id"]!.GetValue<string>();
        var held = Assert.Single(await MessagingTests.ListMessagesAsync(user, agent, "?status=processing"));

        using var delete = await user.Client.DeleteAsync($"/agents/{agent["id"]}/messages/{held["id"]}");

        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        var done = await Wait.ForAsync(async () =>
        {
            using var response = await user.Client.GetAsync($"/agents/{agent["id"]}/messages/{waitingId}");
            var message = await response.ReadJsonAsync();
            return message["status"]!.GetValue<string>() == "done" ? message : null;
        });
        Assert.Equal("behind", done["reply"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnOutboundMessageDeletedMidDeliveryIsNotRecreatedAndTheWorkerCarriesOn()
    {
        await using var hanging = await UagentPeer.StartAsync(PeerMode.Hang);
        await using var healthy = await UagentPeer.StartAsync(PeerMode.Accept);
        await fixture.AddEndpointAsync(hanging.Address, hanging.Url);
        await fixture.AddEndpointAsync(healthy.Address, healthy.Url);
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("sender");

        using var stuck = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/send", new { target = hanging.Address, text = "slow" });
        var stuckId = (await stuck.ReadJsonAsync())["id"]!.GetValue<string>();
        // The worker's POST is on the wire: it holds the lease.
        await Wait.ForAsync(async () => hanging.Received.IsEmpty ? null : (object)true);
        using var delete = await user.Client.DeleteAsync($"/agents/{agent["id"]}/messages/{stuckId}");
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);

        // Past the attempt's timeout the worker records its outcome: fenced, it finds no row and writes nothing.
        await Task.Delay(AgentCloudFixture.OutboxAttemptTimeout + TimeSpan.FromSeconds(2));
        using var quick = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/send", new { target = healthy.Address, text = "fast" });
        var quickId = (await quick.ReadJsonAsync())["id"]!.GetValue<string>();

        await using var db = await fixture.OpenDatabaseAsync();
        await Wait.ForAsync(async () => await db.ExecuteScalarAsync<string>(
            "SELECT status FROM messages WHERE id = @id::uuid AND status = 'done'", new { id = quickId }));
        Assert.Equal(0, await db.ExecuteScalarAsync<long>("SELECT count(*) FROM messages WHERE id = @id::uuid", new { id = stuckId }));
        var logs = (await db.QueryAsync<string>("SELECT message FROM agent_logs WHERE agent_id = @id",
            new { id = agent["id"]!.GetValue<int>() })).ToList();
        Assert.DoesNotContain(logs, line => line.Contains(stuckId) && !line.StartsWith("Sent message", StringComparison.Ordinal));
    }
}
