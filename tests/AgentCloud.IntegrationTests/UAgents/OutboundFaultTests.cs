using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using AgentCloud.Shared.UAgents;
using Dapper;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// Remote uAgent endpoints that are slow (answer 200, but after the attempt timeout) or answer 500:
/// retried with backoff, then dead with an ERROR line; other deliveries do not slow down meanwhile.
/// (OutboundTests covers down, hanging and 500 reaching dead.)
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed class OutboundFaultTests(AgentCloudFixture fixture)
{
    [Fact]
    public async Task APeerAnsweringAfterTheTimeoutIsRetriedThenDeadWhileOthersAreDeliveredPromptly()
    {
        var late = AgentCloudFixture.OutboxAttemptTimeout + TimeSpan.FromSeconds(1.5);
        await using var slow = await TimedPeer.StartAsync(200, late);
        await using var healthy = await TimedPeer.StartAsync(200, TimeSpan.Zero);
        await fixture.AddEndpointAsync(slow.Address, slow.Url);
        await fixture.AddEndpointAsync(healthy.Address, healthy.Url);
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("sender");

        var stuck = await SendAsync(user, agent, slow.Address);
        await Wait.ForAsync(async () => { await Task.Yield(); return slow.Received.IsEmpty ? null : (object)true; });

        // While the slow peer holds its deliveries, ten to the healthy peer each arrive well within one attempt timeout.
        var latencies = new List<TimeSpan>();
        for (var i = 0; i < 10; i++)
        {
            var clock = Stopwatch.StartNew();
            var quick = await SendAsync(user, agent, healthy.Address);
            Assert.Equal("done", (await WaitUntilFinishedAsync(quick)).Status);
            latencies.Add(clock.Elapsed);
        }

        var row = await WaitUntilFinishedAsync(stuck, seconds: 40);
        Assert.Equal("dead", row.Status);
        Assert.Equal(AgentCloudFixture.OutboxMaxAttempts, row.Attempts);
        Assert.StartsWith($"{slow.Url}: {AgentCloud.Shared.UAgents.OutboundDestinationPolicy.Refused}", row.Error);
        Assert.Null(row.DeliveredTo);
        Assert.Equal(AgentCloudFixture.OutboxMaxAttempts, slow.Received.Count);
        Assert.True(latencies.Max() < AgentCloudFixture.OutboxAttemptTimeout,
            $"healthy deliveries took up to {latencies.Max().TotalMilliseconds:F0} ms while a peer was slow");
        var attempts = slow.Received.ToArray();
        for (var i = 1; i < attempts.Length; i++)
        {
            // Each attempt waited out its timeout before the next one was made. The times are taken when
            // the peer's handler runs, late by however long this busy test host takes to schedule it.
            Assert.True(attempts[i] - attempts[i - 1] >= AgentCloudFixture.OutboxAttemptTimeout * 0.7,
                $"attempt {i + 1} came {(attempts[i] - attempts[i - 1]).TotalMilliseconds:F0} ms after attempt {i}");
        }

        Assert.Contains(await LogsAsync(agent), line => line.Level == "ERROR"
            && line.Message.StartsWith($"Message {stuck} to {slow.Address} is dead after {AgentCloudFixture.OutboxMaxAttempts} attempts",
                StringComparison.Ordinal));
        Console.WriteLine($"[outbound] slow peer: dead after {row.Attempts} attempts; healthy deliveries meanwhile: "
            + $"max {latencies.Max().TotalMilliseconds:F0} ms, median " +
                $"{latencies.Order().ElementAt(latencies.Count / 2).TotalMilliseconds:F0} ms");
    }

    [Fact]
    public async Task A500PeerIsRetriedWithGrowingBackoff()
    {
        await using var failing = await TimedPeer.StartAsync(500, TimeSpan.Zero);
        await fixture.AddEndpointAsync(failing.Address, failing.Url);
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("sender");

        var id = await SendAsync(user, agent, failing.Address);

        var row = await WaitUntilFinishedAsync(id, seconds: 30);
        Assert.Equal("dead", row.Status);
        Assert.StartsWith($"{failing.Url}: {AgentCloud.Shared.UAgents.OutboundDestinationPolicy.Refused}", row.Error);
        var attempts = failing.Received.ToArray();
        Assert.Equal(AgentCloudFixture.OutboxMaxAttempts, attempts.Length);
        // The fixture's backoff: 200 ms after the first failure, 400 ms after the second (±10 % jitter).
        Assert.True(attempts[1] - attempts[0] >= TimeSpan.FromMilliseconds(180),
            $"first retry after {(attempts[1] - attempts[0]).TotalMilliseconds:F0} ms");
        Assert.True(attempts[2] - attempts[1] >= TimeSpan.FromMilliseconds(360),
            $"second retry after {(attempts[2] - attempts[1]).TotalMilliseconds:F0} ms");
        var logs = await LogsAsync(agent);
        Assert.Equal(AgentCloudFixture.OutboxMaxAttempts - 1, logs.Count(line => line.Level == "WARNING"
            && line.Message.StartsWith($"Delivery of message {id}", StringComparison.Ordinal)));
        Assert.Single(logs, line => line.Level == "ERROR" && line.Message.StartsWith($"Message {id} to {failing.Address} is dead",
            StringComparison.Ordinal));
        Console.WriteLine($"[outbound] 500 peer: retries after {(attempts[1] - attempts[0]).TotalMilliseconds:F0} ms and " +
            $"{(attempts[2] - attempts[1]).TotalMilliseconds:F0} ms, then dead");
    }

    private static async Task<Guid> SendAsync(TestUser user, System.Text.Json.Nodes.JsonObject agent, string target)
    {
        using var response = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/send", new { target, text = "hello" });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return Guid.Parse((await response.ReadJsonAsync())["id"]!.GetValue<string>());
    }

    private sealed record Row(string Status, int Attempts, string? DeliveredTo, string? Error);

    private async Task<Row> WaitUntilFinishedAsync(Guid id, int seconds = 20) =>
        await Wait.ForAsync(async () =>
        {
            await using var db = await fixture.OpenDatabaseAsync();
            var row = await db.QuerySingleAsync<Row>(
                "SELECT status, attempts, delivered_to AS DeliveredTo, error FROM messages WHERE id = @id", new { id });
            return row.Status is "done" or "dead" ? row : null;
        }, seconds);

    private async Task<List<(string Level, string Message)>> LogsAsync(System.Text.Json.Nodes.JsonObject agent)
    {
        await using var db = await fixture.OpenDatabaseAsync();
        return (await db.QueryAsync<(string, string)>("SELECT log_level, message FROM agent_logs WHERE agent_id = @id ORDER BY id",
            new { id = agent["id"]!.GetValue<int>() })).ToList();
    }

    /// <summary>A uAgent on loopback that answers every envelope with <c>status</c> after <c>delay</c>, noting when each arrived.</summary>
    private sealed class TimedPeer(WebApplication app, string url) : IAsyncDisposable
    {
        public AgentIdentity Identity { get; } = AgentIdentity.FromSeed($"timed test peer {Guid.NewGuid()}");

        public string Address => Identity.Address;

        public string Url => url;

        public ConcurrentQueue<DateTime> Received { get; } = new();

        public static async Task<TimedPeer> StartAsync(int status, TimeSpan delay)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            TimedPeer? peer = null;
            app.MapPost("/submit", (Delegate)(async (HttpContext context) =>
            {
                peer!.Received.Enqueue(DateTime.UtcNow);
                await Task.Delay(delay, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                return Results.Text(status == 200 ? "{}" : "{\"error\": \"boom\"}", "application/json", statusCode: status);
            }));
            await app.StartAsync();
            peer = new TimedPeer(app, app.Urls.First().TrimEnd('/') + "/submit");
            return peer;
        }

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
