using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using AgentCloud.Shared.UAgents;
using Dapper;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// Remote delivery over the real wire: peers are uAgents the tests host on loopback, registered in the
/// static endpoint map file; and two AgentCloud agents reach each other through the worker's own /submit.
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed class OutboundTests(AgentCloudFixture fixture)
{
    [Fact]
    public async Task AnAgentDeliversASignedEnvelopeToARemotePeer()
    {
        await using var peer = await UagentPeer.StartAsync(PeerMode.Accept);
        await fixture.AddEndpointAsync(peer.Address, peer.Url);
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("sender");
        var session = Guid.NewGuid();

        using var response = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/send",
            new { target = $"agent://{peer.Address}", text = "hello peer", session });

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var sent = await response.ReadJsonAsync();
        Assert.Equal("remote", sent["delivery"]!.GetValue<string>());
        var id = Guid.Parse(sent["id"]!.GetValue<string>());
        var row = await WaitUntilFinishedAsync(id);
        Assert.Equal("done", row.Status);
        Assert.Equal(peer.Url, row.DeliveredTo);

        var received = Assert.Single(peer.Received);
        var envelope = received.Envelope;
        Assert.Equal("application/json", received.ContentType);
        Assert.Equal(1, envelope.Version);
        Assert.Equal(agent["address"]!.GetValue<string>(), envelope.Sender);
        Assert.Equal(peer.Address, envelope.Target);
        Assert.Equal(session, envelope.Session);
        Assert.True(Signatures.Verify(agent["address"]!.GetValue<string>(), envelope.Digest(), envelope.Signature));
        Assert.Equal(MessageModels.Message.Digest, envelope.SchemaDigest);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("{\"message\": \"hello peer\"}"), JsonNode.Parse(envelope.DecodePayload()!)));
        Assert.InRange(envelope.Expires!.Value - DateTimeOffset.UtcNow.ToUnixTimeSeconds(), 15, 31);
        Assert.Null(envelope.Nonce);
        // The send's trace continues at the peer.
        Assert.Matches($"^00-{sent["trace_id"]!.GetValue<string>()}-[0-9a-f]{{16}}-0[01]$", received.Traceparent ?? "");
        Assert.Contains(await LogsAsync(agent), line =>
            line.Level == "INFO" && line.Message == $"Delivered message {id} to {peer.Address} at {peer.Url}");
    }

    [Theory]
    // One text for all: the sender must not tell a closed port from an open one (the worker's own log says which).
    [InlineData(PeerMode.Fail500, OutboundDestinationPolicy.Refused)]
    [InlineData(PeerMode.Hang, OutboundDestinationPolicy.Refused)]
    [InlineData(PeerMode.Refuse, OutboundDestinationPolicy.Refused)]
    public async Task APeerThatDoesNotAcceptIsRetriedUntilTheMessageIsDead(PeerMode mode, string reason)
    {
        await using var peer = await UagentPeer.StartAsync(mode);
        await fixture.AddEndpointAsync(peer.Address, peer.Url);
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("sender");

        var id = await SendAsync(user, agent, peer.Address, new { n = 1 });

        var row = await WaitUntilFinishedAsync(id, seconds: 40);
        Assert.Equal("dead", row.Status);
        Assert.Equal(AgentCloudFixture.OutboxMaxAttempts, row.Attempts);
        Assert.Null(row.DeliveredTo);
        Assert.Contains(reason, row.Error);
        if (mode != PeerMode.Refuse)
        {
            Assert.Equal(AgentCloudFixture.OutboxMaxAttempts, peer.Received.Count);
        }

        var logs = await LogsAsync(agent);
        Assert.Contains(logs, line => line.Level == "WARNING"
            && line.Message.StartsWith($"Delivery of message {id} to {peer.Address} failed (attempt 1 of " +
                $"{AgentCloudFixture.OutboxMaxAttempts})", StringComparison.Ordinal));
        Assert.Contains(logs, line => line.Level == "ERROR"
            && line.Message.StartsWith($"Message {id} to {peer.Address} is dead after {AgentCloudFixture.OutboxMaxAttempts} attempts",
                StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnAddressNobodyCanResolveIsDeadAfterOneAttempt()
    {
        // Not in the static map and no Almanac configured: no retry could ever find it. The API refuses such a
        // send up front (below), so the message comes from the worker: a forward to that address.
        var user = await fixture.CreateUserAsync();
        var nowhere = AgentIdentity.FromSeed($"nowhere {Guid.NewGuid()}").Address;
        var agent = await user.CreateAgentAsync("forwarder", new { behavior = "forward", target = nowhere });

        using var posted = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages?wait=20", new { text = "anyone?" });
        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);

        var outbound = await Wait.ForAsync(async () =>
            (await MessagingTests.ListMessagesAsync(user, agent, "?direction=outbound")).FirstOrDefault());
        var row = await WaitUntilFinishedAsync(Guid.Parse(outbound["id"]!.GetValue<string>()));
        Assert.Equal("dead", row.Status);
        Assert.Equal(1, row.Attempts);
        Assert.Contains($"no endpoint for {nowhere}", row.Error);
        Assert.Contains("no Almanac is configured", row.Error);
        var logs = await LogsAsync(agent);
        Assert.Contains(logs, line => line.Level == "ERROR" && line.Message.Contains($"no endpoint for {nowhere}"));
        Assert.DoesNotContain(logs, line => line.Level == "WARNING"
            && line.Message.StartsWith($"Delivery of message {outbound["id"]}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ASendToAnAddressNobodyCanResolveIsRefusedUpFrontAndStoresNothing()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("sender");
        var nowhere = AgentIdentity.FromSeed($"nowhere {Guid.NewGuid()}").Address;

        using var response = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/send", new { target = nowhere, text = "anyone?" });
        using var waited = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/send?wait=5",
            new { target = nowhere, text = "anyone?" });

        foreach (var refused in new[] { response, waited })
        {
            var problem = await refused.AssertProblemAsync(HttpStatusCode.BadRequest);
            Assert.Contains(nowhere, problem["detail"]!.GetValue<string>());
        }

        Assert.Empty(await MessagingTests.ListMessagesAsync(user, agent, ""));
        Assert.DoesNotContain(await LogsAsync(agent), line => line.Message.StartsWith("Sent message", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AHangingPeerDoesNotHoldUpDeliveriesToOthers()
    {
        await using var hanging = await UagentPeer.StartAsync(PeerMode.Hang);
        await using var healthy = await UagentPeer.StartAsync(PeerMode.Accept);
        await fixture.AddEndpointAsync(hanging.Address, hanging.Url);
        await fixture.AddEndpointAsync(healthy.Address, healthy.Url);
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("sender");

        var stuck = await SendAsync(user, agent, hanging.Address, "slow");
        await Wait.ForAsync(async () => hanging.Received.IsEmpty ? null : (object)true);
        var started = DateTime.UtcNow;
        var quick = await SendAsync(user, agent, healthy.Address, "fast");

        var row = await WaitUntilFinishedAsync(quick);
        Assert.Equal("done", row.Status);
        Assert.True(DateTime.UtcNow - started < AgentCloudFixture.OutboxAttemptTimeout,
            "The healthy peer's delivery waited for the hanging one.");
        Assert.Equal("processing", (await ReadAsync(stuck)).Status);
    }

    [Fact]
    public async Task ASyncSendReturnsThePeersReply()
    {
        await using var peer = await UagentPeer.StartAsync(PeerMode.SyncReply);
        await fixture.AddEndpointAsync(peer.Address, peer.Url);
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("asker");

        using var response = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/send?wait=20",
            new { target = peer.Address, text = "ping" });

        var body = await response.ReadJsonAsync();
        Assert.True(HttpStatusCode.OK == response.StatusCode, body.ToJsonString());
        Assert.Equal("done", body["status"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("{\"message\": \"pong: ping\"}"), body["reply"]), body.ToJsonString());
        Assert.Equal(peer.Url, body["delivered_to"]!.GetValue<string>());
        Assert.Equal("sync", Assert.Single(peer.Received).Connection);
    }

    [Fact]
    public async Task ASyncSendToALocalAgentReturnsItsReply()
    {
        var user = await fixture.CreateUserAsync();
        var echo = await user.CreateAgentAsync("echo", new { behavior = "echo" });
        var agent = await user.CreateAgentAsync("asker");

        using var response = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/send?wait=20",
            new { target = echo["address"]!.GetValue<string>(), payload = new { question = 6 } });

        var body = await response.ReadJsonAsync();
        Assert.True(HttpStatusCode.OK == response.StatusCode, body.ToJsonString());
        Assert.Equal("local", body["delivery"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("{\"question\": 6}"), body["reply"]), body.ToJsonString());
    }

    [Fact]
    public async Task AnAsyncSendIsNotSentAsSync()
    {
        await using var peer = await UagentPeer.StartAsync(PeerMode.Accept);
        await fixture.AddEndpointAsync(peer.Address, peer.Url);
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("sender");

        var id = await SendAsync(user, agent, peer.Address, "fire and forget");

        Assert.Equal("done", (await WaitUntilFinishedAsync(id)).Status);
        Assert.Null(Assert.Single(peer.Received).Connection);
    }

    [Fact]
    public async Task TwoAgentCloudAgentsTalkOverRealHttp()
    {
        var user = await fixture.CreateUserAsync();
        var receiver = await user.CreateAgentAsync("receiver");
        var sender = await user.CreateAgentAsync("sender");
        var relay = await user.CreateAgentAsync("relay", new { behavior = "forward", target = receiver["address"]!.GetValue<string>() });
        var submit = new Uri(fixture.App.GetEndpoint("agent-worker", "http"), "/submit").ToString();
        await fixture.AddEndpointAsync(receiver["address"]!.GetValue<string>(), submit);

        // A direct send, and a forward through the relay: both leave as outbound rows over HTTP.
        using var response = await user.Client.PostAsJsonAsync($"/agents/{sender["id"]}/send",
            new { target = receiver["address"]!.GetValue<string>(), payload = new { over = "http" } });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var sent = await response.ReadJsonAsync();
        Assert.Equal("remote", sent["delivery"]!.GetValue<string>());
        await MessagingTests.SendAndWaitAsync(user, relay, JsonNode.Parse("{\"relayed\": true}"));

        var direct = await WaitUntilFinishedAsync(Guid.Parse(sent["id"]!.GetValue<string>()));
        Assert.Equal("done", direct.Status);
        Assert.Equal(submit, direct.DeliveredTo);
        var forwarded = await Wait.ForAsync(async () =>
            (await MessagingTests.ListMessagesAsync(user, relay, "?direction=outbound"))
                .FirstOrDefault(m => m["status"]!.GetValue<string>() is "done" or "dead"));
        Assert.Equal("done", forwarded["status"]!.GetValue<string>());
        Assert.Equal(submit, (await ReadAsync(Guid.Parse(forwarded["id"]!.GetValue<string>()))).DeliveredTo);

        var inbox = await Wait.ForAsync(async () =>
        {
            var items = await MessagingTests.ListMessagesAsync(user, receiver, "?direction=inbound");
            return items.Count(m => m["status"]!.GetValue<string>() == "done") >= 2 ? items : null;
        });
        var fromSender = Assert.Single(inbox, m => m["sender"]!.GetValue<string>() == sender["address"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("{\"message\": \"{\\\"over\\\":\\\"http\\\"}\"}"), fromSender["payload"]),
            fromSender.ToJsonString());
        var fromRelay = Assert.Single(inbox, m => m["sender"]!.GetValue<string>() == relay["address"]!.GetValue<string>());
        Assert.Equal(receiver["address"]!.GetValue<string>(), fromRelay["target"]!.GetValue<string>());
    }

    private static async Task<Guid> SendAsync(TestUser user, JsonObject agent, string target, object payload)
    {
        using var response = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/send", new { target, payload });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return Guid.Parse((await response.ReadJsonAsync())["id"]!.GetValue<string>());
    }

    private sealed record Row(string Status, int Attempts, string? DeliveredTo, string? Error);

    private async Task<Row> ReadAsync(Guid id)
    {
        await using var db = await fixture.OpenDatabaseAsync();
        return await db.QuerySingleAsync<Row>(
            "SELECT status, attempts, delivered_to AS DeliveredTo, error FROM messages WHERE id = @id", new { id });
    }

    private Task<Row> WaitUntilFinishedAsync(Guid id, int seconds = 20) =>
        Wait.ForAsync(async () => await ReadAsync(id) is { Status: "done" or "dead" } row ? row : null, seconds);

    private async Task<List<(string Level, string Message)>> LogsAsync(JsonObject agent)
    {
        await using var db = await fixture.OpenDatabaseAsync();
        return (await db.QueryAsync<(string, string)>("SELECT log_level, message FROM agent_logs WHERE agent_id = @id ORDER BY id",
            new { id = agent["id"]!.GetValue<int>() })).ToList();
    }
}

public enum PeerMode
{
    /// <summary>200 <c>{}</c>: accepted.</summary>
    Accept,
    Fail500,
    /// <summary>Never answers.</summary>
    Hang,
    /// <summary>Nothing listens on the port: connection refused.</summary>
    Refuse,
    /// <summary>Answers a sync request with a signed <c>Message</c> envelope "pong: {text}".</summary>
    SyncReply,
}

/// <summary>A uAgent on loopback: a minimal Kestrel app with its own identity that records every envelope.</summary>
internal sealed class UagentPeer : IAsyncDisposable
{
    private readonly WebApplication? app;
    private readonly CancellationTokenSource stopping = new();

    private UagentPeer(PeerMode mode, WebApplication? app, string url)
    {
        Mode = mode;
        this.app = app;
        Url = url;
    }

    public sealed record Request(Envelope Envelope, string? ContentType, string? Connection, string? Traceparent);

    public PeerMode Mode { get; }

    public AgentIdentity Identity { get; } = AgentIdentity.FromSeed($"outbound test peer {Guid.NewGuid()}");

    public string Address => Identity.Address;

    public string Url { get; }

    public ConcurrentQueue<Request> Received { get; } = new();

    public static async Task<UagentPeer> StartAsync(PeerMode mode)
    {
        if (mode == PeerMode.Refuse)
        {
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            return new UagentPeer(mode, null, $"http://127.0.0.1:{port}/submit");
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        UagentPeer? peer = null;
        app.MapPost("/submit", (Delegate)((HttpContext context) => peer!.HandleAsync(context)));
        await app.StartAsync();
        peer = new UagentPeer(mode, app, app.Urls.First().TrimEnd('/') + "/submit");
        return peer;
    }

    private async Task<IResult> HandleAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        var envelope = Envelope.FromJson(await reader.ReadToEndAsync())!;
        var connection = context.Request.Headers["x-uagents-connection"].ToString();
        var traceparent = context.Request.Headers["traceparent"].ToString();
        Received.Enqueue(new Request(envelope, context.Request.ContentType,
            connection.Length == 0 ? null : connection, traceparent.Length == 0 ? null : traceparent));

        switch (Mode)
        {
            case PeerMode.Fail500:
                return Results.StatusCode(StatusCodes.Status500InternalServerError);
            case PeerMode.Hang:
                using (var both = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping.Token))
                {
                    await Task.Delay(Timeout.InfiniteTimeSpan, both.Token).ContinueWith(_ => { }, TaskScheduler.Default);
                }

                return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
            case PeerMode.SyncReply:
                var text = JsonNode.Parse(envelope.DecodePayload()!)!["message"]!.GetValue<string>();
                var reply = Envelope.Create(Address, envelope.Sender, MessageModels.Message,
                    new JsonObject { ["message"] = $"pong: {text}" }.ToJsonString(), envelope.Session,
                    expires: DateTimeOffset.UtcNow.AddSeconds(30).ToUnixTimeSeconds()).SignedBy(Identity);
                return Results.Text(reply.ToJson(), "application/json");
            default:
                return Results.Text("{}", "application/json");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        if (app is not null)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        stopping.Dispose();
    }
}
