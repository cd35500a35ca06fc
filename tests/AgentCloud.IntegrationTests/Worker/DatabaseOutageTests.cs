using System.Diagnostics;
using System.Net.Http.Json;
using Aspire.Hosting.ApplicationModel;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// PostgreSQL stops under a running system and comes back: clients get quick 503s meanwhile, nothing
/// needs a restart afterwards, and no message accepted before the outage is lost or handled twice.
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed class DatabaseOutageTests(AgentCloudFixture fixture)
{
    [Fact]
    public async Task ThePlatformAnswers503DuringAnOutageAndRecoversWithoutLosingMessages()
    {
        var user = await fixture.CreateUserAsync();
        var agents = new List<int>();
        for (var i = 0; i < 5; i++)
        {
            agents.Add((await user.CreateAgentAsync($"outage {i}", new { behavior = "echo" }))["id"]!.GetValue<int>());
        }

        var accepted = new List<Guid>();
        foreach (var agent in agents)
        {
            for (var n = 0; n < 40; n++)
            {
                using var response = await user.Client.PostAsJsonAsync($"/agents/{agent}/messages", new { payload = new { n } });
                Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
                accepted.Add(Guid.Parse((await response.ReadJsonAsync())["id"]!.GetValue<string>()));
            }
        }

        var submitTarget = await user.CreateAgentAsync("outage submit", new { behavior = "echo" });
        var peer = new UagentsPeer(fixture, $"outage peer {Guid.NewGuid()}");

        var postgres = fixture.App.Services.GetRequiredService<DistributedApplicationModel>().Resources.Single(r => r.Name == "postgres");
        var commands = fixture.App.Services.GetRequiredService<ResourceCommandService>();
        var notifications = fixture.App.Services.GetRequiredService<ResourceNotificationService>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));

        var stopped = await commands.ExecuteCommandAsync(postgres, KnownResourceCommands.StopCommand, timeout.Token);
        Assert.True(stopped.Success, stopped.Message);
        try
        {
            await notifications.WaitForResourceAsync("postgres",
                e => e.Snapshot.State?.Text is "Exited" or "Finished" or "Stopping" or "NotStarted", timeout.Token);
            await Task.Delay(500);

            await AssertQuick503Async(user.Client, HttpMethod.Get, "/health");
            await AssertQuick503Async(user.Client, HttpMethod.Get, "/users/me");
            await AssertQuick503Async(user.Client, HttpMethod.Get, $"/agents/{agents[0]}");
            await AssertQuick503Async(user.Client, HttpMethod.Post, $"/agents/{agents[0]}/messages", "{\"payload\": \"during\"}");

            // The uAgents door too: a 503 with the reference's {"error": …} body, not an empty 500.
            var clock = Stopwatch.StartNew();
            using var submitted = await peer.SubmitAsync(peer.Compose(submitTarget["address"]!.GetValue<string>(),
                AgentCloud.Shared.UAgents.MessageModels.Message, "{\"message\": \"during\"}"));
            var (status, body) = await UagentsPeer.ReadAsync(submitted);
            Console.WriteLine($"[outage] POST /submit: {status} in {clock.Elapsed.TotalMilliseconds:F0} ms: {body}");
            Assert.Equal(503, status);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"POST /submit took {clock.Elapsed}");
            Assert.Equal("the service is unavailable; retry later",
                System.Text.Json.Nodes.JsonNode.Parse(body)!["error"]!.GetValue<string>());
            Assert.NotNull(submitted.Headers.RetryAfter);
        }
        finally
        {
            var started = await commands.ExecuteCommandAsync(postgres, KnownResourceCommands.StartCommand, timeout.Token);
            Assert.True(started.Success, started.Message);
            await notifications.WaitForResourceHealthyAsync("postgres", timeout.Token);
            // The test's own pooled connections died with the server (the services' pools must cope
            // by themselves: that is what this test checks).
            Npgsql.NpgsqlConnection.ClearAllPools();
        }

        // Back without restarting anything: within a short grace, then every request succeeds.
        await Wait.ForAsync(async () =>
        {
            using var health = await user.Client.GetAsync("/health");
            return health.StatusCode == HttpStatusCode.OK ? health.StatusCode.ToString() : null;
        }, seconds: 30);
        for (var i = 0; i < 20; i++)
        {
            using var me = await user.Client.GetAsync("/users/me");
            Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        }

        var after = await user.CreateAgentAsync("after", new { behavior = "echo" });
        var answered = await MessagingTests.SendAndWaitAsync(user, after, System.Text.Json.Nodes.JsonValue.Create("after the outage"));
        Assert.Equal("done", answered["status"]!.GetValue<string>());

        await using var db = await fixture.OpenDatabaseAsync();
        await Wait.ForAsync(async () =>
            await db.ExecuteScalarAsync<long>("SELECT count(*) FROM messages WHERE id = ANY(@accepted) AND status <> 'done'",
                new { accepted }) == 0 ? "all done" : null, seconds: 60);
        var received = await db.QueryAsync<string>(
            "SELECT message FROM agent_logs WHERE agent_id = ANY(@agents) AND message LIKE 'Received message %'", new { agents });
        var handled = received.Select(line => LogText.ReceivedMessageId(line)).ToList();
        Assert.Equal(accepted.Order(), handled.Order());
    }

    private static async Task AssertQuick503Async(HttpClient client, HttpMethod method, string path, string? body = null)
    {
        var clock = Stopwatch.StartNew();
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : TestApi.RawJson(body) };
        using var response = await client.SendAsync(request);

        Console.WriteLine($"[outage] {method} {path}: {(int)response.StatusCode} in {clock.Elapsed.TotalMilliseconds:F0} ms");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"{method} {path} took {clock.Elapsed}");
        Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable,
            $"{method} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        if (path != "/health")
        {
            await response.AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
        }
    }
}
