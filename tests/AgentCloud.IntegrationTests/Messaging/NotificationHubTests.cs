using System.Diagnostics;
using System.Net.Http.Json;
using AgentCloud.Shared.Messaging;
using Dapper;
using static AgentCloud.IntegrationTests.LlmAgentTests;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// Each process has one notification hub: the only connection that LISTENs. It names its process in
/// application_name ("AgentCloud.Api 1234"), so the server can say whose each LISTEN connection is.
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed class NotificationHubTests(AgentCloudFixture fixture)
{
    private sealed record Listener(int Pid, string ApplicationName);

    /// <summary>
    /// Our transactions send no NOTIFY (one would make every notifying commit in the cluster wait for the one before):
    /// the wake-ups follow the commits. A send's (inbox), its handling's (finished, log lines) arrive, each after the
    /// row it announces can be read.
    /// </summary>
    [Fact]
    public async Task ASendItsEndAndItsLogLinesAreAnnouncedOnceTheyAreCommitted()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("announced", new { behavior = "echo" });
        var agentId = agent["id"]!.GetValue<int>().ToString(System.Globalization.CultureInfo.InvariantCulture);
        await using var listener = await fixture.OpenDatabaseAsync();
        await using var reader = await fixture.OpenDatabaseAsync();
        var heard = new List<(string Channel, string Payload)>();
        listener.Notification += (_, notification) => heard.Add((notification.Channel, notification.Payload));
        await listener.ExecuteAsync($"LISTEN {NotifyChannels.Inbox}; LISTEN {NotifyChannels.MessageFinished}; LISTEN " +
            $"{NotifyChannels.AgentLogs}");

        string id;
        try
        {
            using var response = await user.Client.PostAsJsonAsync($"/agents/{agentId}/messages?wait=20", new { text = "hello" });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            id = (await response.ReadJsonAsync())["id"]!.GetValue<string>();
            var expected = new[] { (NotifyChannels.Inbox, agentId), (NotifyChannels.MessageFinished, id),
                (NotifyChannels.AgentLogs, agentId) };
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            while (!expected.All(heard.Contains))
            {
                await listener.WaitAsync(timeout.Token);
                if (heard[^1] == (NotifyChannels.Inbox, agentId))
                {
                    // Read as it arrives: the row it announces is committed.
                    Assert.True(await reader.ExecuteScalarAsync<bool>(
                        "SELECT EXISTS (SELECT 1 FROM messages WHERE agent_id = @agentId::int)", new { agentId }));
                }
            }
        }
        finally
        {
            // The other tests here find the hubs' connections as those whose last statement was a LISTEN.
            await listener.ExecuteAsync("UNLISTEN *");
        }

        Assert.Equal("done", await reader.ExecuteScalarAsync<string>("SELECT status FROM messages WHERE id = @id::uuid", new { id }));
    }

    [Fact]
    public async Task TheApiAndEachWorkerReplicaHoldExactlyOneListenConnection()
    {
        var expected = await ExpectedListenersAsync();
        Assert.Equal(["AgentCloud.AgentWorker", "AgentCloud.AgentWorker", "AgentCloud.Api"], expected);

        // Polled: an earlier test may have restarted the server or a process, and a hub may still be reconnecting.
        var listeners = await ListenersWhenAsync(found => Processes(found).SequenceEqual(expected));

        Assert.Equal(expected, Processes(listeners));
        // A process names its own id: one connection per name is one per process.
        Assert.Equal(listeners.Count, listeners.Select(l => l.ApplicationName).Distinct().Count());
    }

    [Fact]
    public async Task AWaitingRequestIsAnsweredAfterEveryHubsConnectionIsKilledWhileItWaits()
    {
        var script = fixture.Models.NewScript(new TextReply("after the kill") { Delay = TimeSpan.FromSeconds(6) });
        var user = await fixture.CreateUserAsync();
        var agent = await CreateLlmAgentAsync(user, script);
        var expected = await ExpectedListenersAsync();
        var before = await ListenersWhenAsync(found => Processes(found).SequenceEqual(expected));

        var clock = Stopwatch.StartNew();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var waiting = user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages?wait=30", new { text = "take your time" },
            timeout.Token);
        await Wait.ForAsync(async () => waiting.IsCompleted
            ? throw new InvalidOperationException(
                $"Answered before the model: {(int)(await waiting).StatusCode} {await (await waiting).Content.ReadAsStringAsync()}")
            : script.Count > 0 ? (object)true : null, seconds: 30);

        // The model is still thinking: the request waits on the API's hub, the finish will come through it.
        await using (var db = await fixture.OpenDatabaseAsync())
        {
            var killed = await db.ExecuteScalarAsync<long>(
                """
                SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
                WHERE datname = current_database() AND query ILIKE 'LISTEN%' AND pid = ANY(@pids)
                """, new { pids = before.Select(l => l.Pid).ToArray() });
            Assert.Equal(before.Count, killed);
        }

        using var response = await waiting;
        var message = await response.ReadJsonAsync();

        // Without a reconnecting hub the request would have waited its whole 30 s and answered 202.
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("done", message["status"]!.GetValue<string>());
        Assert.Equal("after the kill", message["reply"]!.GetValue<string>());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(25), $"The wait took {clock.Elapsed}");

        // Every process listens again, each on one new connection.
        var after = await ListenersWhenAsync(found => Processes(found).SequenceEqual(expected) && !found.Any(l => before.Contains(l)));
        Assert.Empty(after.Select(l => l.Pid).Intersect(before.Select(l => l.Pid)));
    }

    [Fact]
    public async Task ASyncSubmitIsAnsweredAfterTheWorkersHubConnectionsAreKilledWhileItWaits()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("echo after the kill", new { behavior = "echo" });
        var address = agent["address"]!.GetValue<string>();
        // Its messages queue behind one a worker "elsewhere" holds: the sync request waits until the test lets go.
        await fixture.HoldHeadOfLineAsync(agent);
        var peer = new UagentsPeer(fixture, $"hub kill peer {Guid.NewGuid()}");
        var payload = "{\"message\": \"after the kill\"}";
        var clock = Stopwatch.StartNew();
        var waiting = peer.SubmitAsync(peer.Compose(address, AgentCloud.Shared.UAgents.MessageModels.Message, payload), sync: true);

        await using var db = await fixture.OpenDatabaseAsync();
        var agentId = agent["id"]!.GetValue<int>();
        await Wait.ForAsync(async () => waiting.IsCompleted
            ? throw new InvalidOperationException($"Answered too early: {(await UagentsPeer.ReadAsync(await waiting)).Body}")
            : await db.ExecuteScalarAsync<long>(
                "SELECT count(*) FROM messages WHERE agent_id = @agentId AND direction = 'inbound' AND sender = @sender",
                new { agentId, sender = peer.Address }) > 0 ? (object)true : null);
        var before = await ListenersWhenAsync(found => Processes(found)
            .SequenceEqual(["AgentCloud.AgentWorker", "AgentCloud.AgentWorker", "AgentCloud.Api"]));
        var workers = before.Where(l => l.ApplicationName.StartsWith("AgentCloud.AgentWorker ", StringComparison.Ordinal))
            .Select(l => l.Pid).ToArray();
        Assert.Equal(2, await db.ExecuteScalarAsync<long>(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity WHERE pid = ANY(@workers)", new { workers }));

        // Let go of the head of the line: the echo runs now, and its finish reaches the waiting request
        // through a hub that has had to reconnect.
        await db.ExecuteAsync(
            "UPDATE messages SET status = 'done', lease_owner = NULL, lease_until = NULL WHERE agent_id = @agentId AND lease_owner = " +
            "'elsewhere'",
            new { agentId });
        using var response = await waiting;

        var (status, body) = await UagentsPeer.ReadAsync(response);
        Assert.Equal(200, status);
        var reply = AgentCloud.Shared.UAgents.Envelope.FromJson(body)!;
        Assert.Equal(AgentCloud.Shared.UAgents.MessageModels.Message.Digest, reply.SchemaDigest);
        Assert.Equal(payload, reply.DecodePayload());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(25), $"The wait took {clock.Elapsed}");
    }

    [Fact]
    public async Task TheHubWakesASubscriberForItsIdOnlyAndEverySubscriberAfterItsConnectionIsKilled()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var name = $"hub test {Guid.NewGuid():N}";
        using var hub = new NotificationHub(fixture.ConnectionString, name, [NotifyChannels.MessageFinished],
            Microsoft.Extensions.Logging.Abstractions.NullLogger<NotificationHub>.Instance);
        var id = Guid.NewGuid();
        using var subscription = hub.Subscribe(NotifyChannels.MessageFinished, id.ToString("D"));
        await hub.StartAsync(timeout.Token);
        try
        {
            await using var db = await fixture.OpenDatabaseAsync();
            var listener = (await ListenersWhenAsync(found => found.Any(l => l.ApplicationName == name)))
                .Single(l => l.ApplicationName == name);
            while (await subscription.WaitAsync(TimeSpan.FromMilliseconds(300), timeout.Token))
            {
                // The wake-up every subscriber gets when the hub has connected.
            }

            await db.ExecuteAsync("SELECT pg_notify(@channel, @other)",
                new { channel = NotifyChannels.MessageFinished, other = Guid.NewGuid().ToString() });
            Assert.False(await subscription.WaitAsync(TimeSpan.FromSeconds(1), timeout.Token), "woken by another message's id");
            await db.ExecuteAsync("SELECT pg_notify(@channel, @id)",
                new { channel = NotifyChannels.MessageFinished, id = id.ToString("D").ToUpperInvariant() });
            Assert.True(await subscription.WaitAsync(TimeSpan.FromSeconds(10), timeout.Token), "not woken by its own id");

            // No notification at all: what was sent while the hub was away is lost, so it must wake everyone itself.
            Assert.True(await db.ExecuteScalarAsync<bool>("SELECT pg_terminate_backend(@Pid)", listener));
            Assert.True(await subscription.WaitAsync(TimeSpan.FromSeconds(20), timeout.Token), "not woken after the hub reconnected");
            var again = await ListenersWhenAsync(found => found.Any(l => l.ApplicationName == name && l.Pid != listener.Pid));
            Assert.Single(again, l => l.ApplicationName == name);
        }
        finally
        {
            await hub.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>The application names the hubs of the running API and worker replicas have, less the process id, sorted.</summary>
    private async Task<List<string>> ExpectedListenersAsync() =>
    [
        .. (await fixture.RunningAsync("api")).Select(_ => "AgentCloud.Api")
            .Concat((await fixture.RunningAsync("agent-worker")).Select(_ => "AgentCloud.AgentWorker"))
            .Order(),
    ];

    private static List<string> Processes(List<Listener> listeners) =>
        [.. listeners.Select(l => l.ApplicationName.Split(' ')[0]).Order()];

    /// <summary>Every backend of this database whose session last ran a LISTEN, once <paramref name="done"/> holds (or after 60
    /// s).</summary>
    private async Task<List<Listener>> ListenersWhenAsync(Func<List<Listener>, bool> done)
    {
        await using var db = await fixture.OpenDatabaseAsync();
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var found = (await db.QueryAsync<Listener>(
                """
                SELECT pid AS Pid, application_name AS ApplicationName FROM pg_stat_activity
                WHERE datname = current_database() AND query ILIKE 'LISTEN%'
                """)).AsList();
            if (done(found) || deadline.Elapsed > TimeSpan.FromSeconds(60))
            {
                return [.. found];
            }

            await Task.Delay(250);
        }
    }
}
