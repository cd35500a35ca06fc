using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AgentCloud.Shared.UAgents;
using static AgentCloud.IntegrationTests.LlmAgentTests;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// Runs that wait hold nothing: model calls hold no handling slot, a run waiting for a reply parks (status waiting) and is
/// woken by the reply or its deadline, and delegation between llm agents (more askers than slots, cycles, chains) completes.
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed class ParkedRunTests(AgentCloudFixture fixture)
{
    private ScriptedModelServer Models => fixture.Models;

    /// <summary>
    /// One script for every agent of a test: "ask ADDRESS: TEXT" makes the model send TEXT to ADDRESS and, once the reply
    /// is back, answer "ADDRESS said: REPLY"; any other text is answered "answer to: TEXT".
    /// </summary>
    private ScriptedModelServer.Script DelegatingScript(TimeSpan latency, ConcurrentQueue<DateTime>? arrivals = null) =>
        Models.NewScript((_, body) =>
        {
            arrivals?.Enqueue(DateTime.UtcNow);
            var messages = body["messages"]!.AsArray();
            var text = Content(messages.Last(m => m!["role"]!.GetValue<string>() == "user"));
            if (messages[^1]!["role"]!.GetValue<string>() == "tool")
            {
                return new TextReply($"{Target(text)} said: {LastToolResult(body)}") { Delay = latency };
            }

            return text.StartsWith("ask ", StringComparison.Ordinal)
                ? new ToolCallsReply(("call_1", "send_message", new JsonObject
                {
                    ["target"] = Target(text), ["text"] = text[(text.IndexOf(':') + 2)..],
                }.ToJsonString())) { Delay = latency }
                : new TextReply($"answer to: {text}") { Delay = latency };
        });

    private static string Target(string text) => text[4..text.IndexOf(':')];

    private static string Ask(JsonObject agent, string text) => $"ask {agent["address"]!.GetValue<string>()}: {text}";

    [Fact]
    public async Task ModelRunsHoldNoHandlingSlotSoManyAreInFlightAtOnce()
    {
        // Two workers of 8 slots each: 40 runs whose model takes 2 s would take three rounds if each held a slot.
        var latency = TimeSpan.FromSeconds(2);
        var arrivals = new ConcurrentQueue<DateTime>();
        var script = DelegatingScript(latency, arrivals);
        var user = await fixture.CreateUserAsync();
        var agents = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => CreateLlmAgentAsync(user, script)));

        var messages = await Task.WhenAll(agents.Select(agent => SendAsync(user, agent, "hello")));

        Assert.All(messages, m => Assert.Equal("answer to: hello", m["reply"]?.GetValue<string>()));
        // More model calls were in flight together than the workers have slots (16): calls arriving within one latency of
        // each other overlapped.
        var times = arrivals.Order().ToList();
        var overlapping = times.Select((t, i) => times.Skip(i).TakeWhile(u => u - t < latency).Count()).Max();
        Assert.True(overlapping > 16, $"At most {overlapping} model calls were in flight at once.");
    }

    [Fact]
    public async Task MoreDelegationsThanSlotsAllGetTheirPeersAnswers()
    {
        // 20 llm askers each ask their own llm peer, together: more waits than the two workers' 16 slots, which
        // deadlocked when a waiting run held its slot.
        var script = DelegatingScript(TimeSpan.FromMilliseconds(300));
        var user = await fixture.CreateUserAsync();
        var peers = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => CreateLlmAgentAsync(user, script)));
        var askers = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => CreateLlmAgentAsync(user, script, tools: ["send_message"])));

        var messages = await Task.WhenAll(askers.Select((asker, i) => SendAsync(user, asker, Ask(peers[i], $"question {i}"))));

        for (var i = 0; i < messages.Length; i++)
        {
            Assert.Equal($"{peers[i]["address"]} said: answer to: question {i}", messages[i]["reply"]?.GetValue<string>());
        }
    }

    [Fact]
    public async Task ACycleBackIntoTheWaitingAgentAndAChainOfThreeComplete()
    {
        var script = DelegatingScript(TimeSpan.Zero);
        var user = await fixture.CreateUserAsync();
        var a = await CreateLlmAgentAsync(user, script, tools: ["send_message"]);
        var b = await CreateLlmAgentAsync(user, script, tools: ["send_message"]);
        var c = await CreateLlmAgentAsync(user, script);

        // A asks B, whose run asks A: that message is part of A's waiting run's call chain, so it goes in past it.
        var cycle = await SendAsync(user, a, Ask(b, Ask(a, "who are you")));
        var chain = await SendAsync(user, a, Ask(b, Ask(c, "hello")));

        Assert.Equal($"{b["address"]} said: {a["address"]} said: answer to: who are you", cycle["reply"]?.GetValue<string>());
        Assert.Equal($"{b["address"]} said: {c["address"]} said: answer to: hello", chain["reply"]?.GetValue<string>());
    }

    [Fact]
    public async Task AWaitingRunShowsWhatItWaitsForKeepsLaterMessagesBehindAndEndsWhenCanceled()
    {
        // The "fail" agent never answers: the asker parks until its deadline, unless canceled.
        var script = DelegatingScript(TimeSpan.Zero);
        var user = await fixture.CreateUserAsync();
        var silent = await user.CreateAgentAsync("silent", new { behavior = "fail" });
        var asker = await CreateLlmAgentAsync(user, script, tools: ["send_message"]);
        var first = await PostAsync(user, asker, Ask(silent, "are you there"));

        var waiting = await WaitForStatusAsync(user, asker, first, "waiting");
        Assert.Equal("reply", waiting["waiting_for"]!["kind"]!.GetValue<string>());
        Assert.Equal(silent["address"]!.GetValue<string>(), waiting["waiting_for"]!["from"]!.GetValue<string>());
        var events = await ReadEventsAsync(user, asker, first);
        Assert.Contains("event: waiting", events);

        // The agent's next message stays behind its waiting run (no model call for it)...
        var calls = script.Count;
        var second = await PostAsync(user, asker, "hello");
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < TimeSpan.FromSeconds(2))
        {
            Assert.Equal("queued", (await GetJsonAsync(user, $"/agents/{asker["id"]}/messages/{second}"))["status"]!.GetValue<string>());
            await Task.Delay(200);
        }

        Assert.Equal(calls, script.Count);
        // ... until the waiting run is canceled.
        using (var cancel = await user.Client.PostAsync($"/agents/{asker["id"]}/messages/{first}/cancel", null))
        {
            Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        }

        Assert.Equal("canceled", (await GetJsonAsync(user, $"/agents/{asker["id"]}/messages/{first}"))["status"]!.GetValue<string>());
        var next = await WaitForStatusAsync(user, asker, second, "done");
        Assert.Equal("answer to: hello", next["reply"]!.GetValue<string>());
    }

    [Fact]
    public async Task AWaitThatTimesOutTellsTheModelNoReplyCameAndADeletedWaitingRunFreesItsAgent()
    {
        var script = DelegatingScript(TimeSpan.Zero);
        var user = await fixture.CreateUserAsync();
        var silent = await user.CreateAgentAsync("silent", new { behavior = "fail" });
        var asker = await user.CreateAgentAsync("asker", new
        {
            behavior = "llm", instructions = script.Marker, tools = new[] { "send_message" }, reply_timeout_seconds = 3,
        });

        // The deadline stored with the call wakes the parked run.
        var timedOut = await SendAsync(user, asker, Ask(silent, "anyone"));
        Assert.Equal($"{silent["address"]} said: No reply from {silent["address"]} within 3 seconds.",
            timedOut["reply"]?.GetValue<string>());

        var parked = await PostAsync(user, asker, Ask(silent, "again"));
        await WaitForStatusAsync(user, asker, parked, "waiting");
        var later = await PostAsync(user, asker, "after the delete");
        using (var delete = await user.Client.DeleteAsync($"/agents/{asker["id"]}/messages/{parked}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }

        Assert.Equal("answer to: after the delete", (await WaitForStatusAsync(user, asker, later, "done"))["reply"]!.GetValue<string>());
    }

    [Fact]
    public async Task AReplyThatArrivesAfterEveryWorkerWasKilledIsTakenByTheNextOneAndTheSendHappenedOnce()
    {
        await using var remote = await UagentPeer.StartAsync(PeerMode.Accept);
        var peer = new UagentsPeer(fixture, $"parked-remote-peer-{Guid.NewGuid()}");
        await fixture.AddEndpointAsync(peer.Address, remote.Url);
        var script = DelegatingScript(TimeSpan.Zero);
        var user = await fixture.CreateUserAsync();
        var asker = await CreateLlmAgentAsync(user, script, tools: ["send_message"]);
        var id = await PostAsync(user, asker, $"ask {peer.Address}: what time is it");

        var delivered = await Wait.ForAsync(async () =>
            { await Task.Yield(); return remote.Received.TryPeek(out var r) ? r : null; },
            seconds: 30);
        await WaitForStatusAsync(user, asker, id, "waiting");
        // The parked run is in no worker: kill them all, start them again.
        var replicas = await fixture.RunningAsync("agent-worker");
        foreach (var replica in replicas)
        {
            using var process = Process.GetProcessById(replica.Pid);
            process.Kill(entireProcessTree: true);
        }

        foreach (var replica in replicas)
        {
            await fixture.RestartAsync("agent-worker", replica.ResourceId);
        }

        using var reply = await peer.SubmitAsync(peer.Compose(asker["address"]!.GetValue<string>(), MessageModels.Message,
            """{"message":"half past twelve"}""", session: delivered.Envelope.Session));
        Assert.Equal((200, "{}"), await UagentsPeer.ReadAsync(reply));

        var done = await WaitForStatusAsync(user, asker, id, "done");
        Assert.Equal($"{peer.Address} said: half past twelve", done["reply"]!.GetValue<string>());
        Assert.Single(remote.Received);
        // The reply was taken into the run: done with it, never handled as a message of its own.
        var inbound = (await GetJsonAsync(user, $"/agents/{asker["id"]}/messages?direction=inbound"))["items"]!.AsArray();
        Assert.Equal(2, inbound.Count);
        Assert.All(inbound, m => Assert.Equal("done", m!["status"]!.GetValue<string>()));
        Assert.Equal(2, script.Count);
    }

    private static async Task<string> PostAsync(TestUser user, JsonObject agent, string text)
    {
        using var response = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages", new { text });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.ReadJsonAsync())["id"]!.GetValue<string>();
    }

    private static Task<JsonObject> WaitForStatusAsync(TestUser user, JsonObject agent, string id, string status) =>
        Wait.ForAsync(async () =>
        {
            var message = await GetJsonAsync(user, $"/agents/{agent["id"]}/messages/{id}");
            return message["status"]!.GetValue<string>() == status ? message : null;
        }, seconds: 60);

    /// <summary>The message's event stream so far (the request ends at the stream's end or after a short while).</summary>
    private static async Task<string> ReadEventsAsync(TestUser user, JsonObject agent, string id)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        var text = new System.Text.StringBuilder();
        try
        {
            using var stream = await user.Client.GetStreamAsync($"/agents/{agent["id"]}/messages/{id}/events", timeout.Token);
            using var reader = new StreamReader(stream);
            while (await reader.ReadLineAsync(timeout.Token) is { } line)
            {
                text.AppendLine(line);
                if (line == "event: waiting")
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        return text.ToString();
    }
}
