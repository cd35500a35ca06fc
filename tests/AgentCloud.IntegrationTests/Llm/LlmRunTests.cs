using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;
using AgentCloud.Shared.UAgents;
using Aspire.Hosting.ApplicationModel;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using static AgentCloud.IntegrationTests.LlmAgentTests;

namespace AgentCloud.IntegrationTests;

/// <summary>Llm runs as durable work: tools with effects between agents, a killed worker, long model calls, the uAgents wire.</summary>
[Collection(AgentCloudCollection.Name)]
public sealed class LlmRunTests(AgentCloudFixture fixture)
{
    private ScriptedModelServer Models => fixture.Models;

    [Fact]
    public async Task SendMessageAsksAnEchoAgentAndItsReplyComesBackIntoTheRun()
    {
        var user = await fixture.CreateUserAsync();
        var echo = await user.CreateAgentAsync("echo", new { behavior = "echo" });
        var script = Models.NewScript((n, body) => n switch
        {
            0 => new ToolCallsReply(("call_1", "send_message",
                new JsonObject { ["target"] = echo["address"]!.GetValue<string>(), ["text"] = "ping 42" }.ToJsonString())),
            _ => new TextReply("The echo said: " + LastToolResult(body)),
        });
        var agent = await CreateLlmAgentAsync(user, script, tools: ["send_message"]);

        var message = await SendAsync(user, agent, "Ask the echo agent");

        Assert.Equal("done", message["status"]!.GetValue<string>());
        Assert.Equal("The echo said: ping 42", message["reply"]!.GetValue<string>());
        var steps = (await GetJsonAsync(user, $"/agents/{agent["id"]}/messages/{message["id"]}/steps"))["items"]!.AsArray();
        Assert.NotNull(steps[1]!["data"]!["sent_message_id"]);
    }

    [Fact]
    public async Task SendMessageToARemoteUagentTakesItsReplyAndDoesNotAnswerThatReplyAgain()
    {
        await using var remote = await UagentPeer.StartAsync(PeerMode.Accept);
        var peer = new UagentsPeer(fixture, $"llm-remote-peer-{Guid.NewGuid()}");
        await fixture.AddEndpointAsync(peer.Address, remote.Url);
        var script = Models.NewScript((n, body) => n switch
        {
            0 => new ToolCallsReply(("call_1", "send_message",
                new JsonObject { ["target"] = peer.Address, ["text"] = "what time is it" }.ToJsonString())),
            _ => new TextReply("The remote agent said: " + LastToolResult(body)),
        });
        var user = await fixture.CreateUserAsync();
        var agent = await CreateLlmAgentAsync(user, script, tools: ["send_message"]);
        using var response = await user.Client.PostAsync($"/agents/{agent["id"]}/messages",
            TestApi.RawJson("""{"text":"ask the remote"}"""));
        var id = (await response.ReadJsonAsync())["id"]!.GetValue<string>();

        var delivered = await Wait.ForAsync(async () =>
            { await Task.Yield(); return remote.Received.TryPeek(out var r) ? r : null; }, seconds: 30);
        Assert.Equal("what time is it", JsonNode.Parse(delivered.Envelope.DecodePayload()!)!["message"]!.GetValue<string>());
        using var reply = await peer.SubmitAsync(peer.Compose(agent["address"]!.GetValue<string>(), MessageModels.Message,
            """{"message":"half past twelve"}""", session: delivered.Envelope.Session));
        Assert.Equal((200, "{}"), await UagentsPeer.ReadAsync(reply));

        var message = await Wait.ForAsync(async () =>
        {
            var m = await GetJsonAsync(user, $"/agents/{agent["id"]}/messages/{id}");
            return m["status"]!.GetValue<string>() is "done" or "dead" ? m : null;
        }, seconds: 40);
        Assert.Equal("The remote agent said: half past twelve", message["reply"]!.GetValue<string>());
        // The peer's reply, a new message on the wire, was taken into the run: done with its step, never answered.
        var inbox = await Wait.ForAsync(async () =>
        {
            var items = (await GetJsonAsync(user, $"/agents/{agent["id"]}/messages?direction=inbound"))["items"]!.AsArray();
            return items.Count == 2 && items.All(m => m!["status"]!.GetValue<string>() == "done") ? items : null;
        }, seconds: 30);
        Assert.Equal(2, script.Count);
        Assert.Single(remote.Received);
        using var logs = await user.Client.GetAsync($"/agents/{agent["id"]}/logs");
        Assert.Contains($"(the reply the run of message {id} waited for)", await logs.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task SendMessageToAnAddressNobodyCanReachTellsTheModelAtOnceAndStoresNothing()
    {
        // Not hosted here, not in the endpoint map, no Almanac: as /send's 400, the model hears it now, not after the reply
        // wait (60 s, longer than this request waits).
        var nowhere = AgentIdentity.FromSeed($"llm-nowhere-{Guid.NewGuid()}").Address;
        var script = Models.NewScript((n, body) => n switch
        {
            0 => new ToolCallsReply(("call_1", "send_message",
                new JsonObject { ["target"] = nowhere, ["text"] = "anyone?" }.ToJsonString())),
            _ => new TextReply("The tool said: " + LastToolResult(body)),
        });
        var user = await fixture.CreateUserAsync();
        var agent = await CreateLlmAgentAsync(user, script, tools: ["send_message"]);

        using var response = await user.Client.PostAsync($"/agents/{agent["id"]}/messages?wait=20",
            TestApi.RawJson("""{"text":"ask nowhere"}"""));
        var message = await response.ReadJsonAsync();

        Assert.Equal("done", message["status"]!.GetValue<string>());
        Assert.StartsWith("The tool said: ", message["reply"]!.GetValue<string>());
        Assert.Contains($"No endpoint is known for {nowhere}", message["reply"]!.GetValue<string>());
        Assert.Empty((await GetJsonAsync(user, $"/agents/{agent["id"]}/messages?direction=outbound"))["items"]!.AsArray());
    }

    [Fact]
    public async Task AWorkerKilledAfterAToolStepCommittedIsFollowedByOneThatContinuesTheRun()
    {
        var user = await fixture.CreateUserAsync();
        var echo = await user.CreateAgentAsync("echo", new { behavior = "echo" });
        var script = Models.NewScript((n, body) => n switch
        {
            0 => new ToolCallsReply(("call_1", "send_message",
                new JsonObject { ["target"] = echo["address"]!.GetValue<string>(), ["text"] = "once" }.ToJsonString())),
            // The worker is killed while it waits for this one.
            1 => new TextReply("too late") { Delay = TimeSpan.FromSeconds(90) },
            _ => new TextReply("finished after the crash"),
        });
        var agent = await CreateLlmAgentAsync(user, script, tools: ["send_message"]);
        using var response = await user.Client.PostAsync($"/agents/{agent["id"]}/messages", TestApi.RawJson("""{"text":"go"}"""));
        var id = Guid.Parse((await response.ReadJsonAsync())["id"]!.GetValue<string>());

        await using var db = await fixture.OpenDatabaseAsync();
        var owner = await Wait.ForAsync(async () =>
            await db.ExecuteScalarAsync<long>("SELECT count(*) FROM run_steps WHERE message_id = @id AND kind = 'tool_result'", new { id })
                == 1
            && script.Count == 2
                ? await db.ExecuteScalarAsync<string>("SELECT lease_owner FROM messages WHERE id = @id", new { id })
                : null, seconds: 60);
        var replicas = await fixture.RunningAsync("agent-worker");
        var victim = replicas.Single(r => owner.Contains($"/{ResourceProcesses.ServicePid(r.Pid)}/", StringComparison.Ordinal));
        using (var process = Process.GetProcessById(victim.Pid))
        {
            process.Kill(entireProcessTree: true);
        }

        await fixture.RestartAsync("agent-worker", victim.ResourceId);
        var message = await Wait.ForAsync(async () =>
        {
            var m = await GetJsonAsync(user, $"/agents/{agent["id"]}/messages/{id}");
            return m["status"]!.GetValue<string>() is "done" or "dead" ? m : null;
        }, seconds: 60);

        Assert.Equal("done", message["status"]!.GetValue<string>());
        Assert.Equal("finished after the crash", message["reply"]!.GetValue<string>());
        Assert.Equal(2, message["attempts"]!.GetValue<int>());
        // The tool's effect once: the echo agent got one message.
        Assert.Equal(1, await db.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM messages WHERE agent_id = @echo AND direction = 'inbound'", new { echo = echo["id"]!.GetValue<int>() }));
        // The finished first model call was not paid for again: one request without the tool's result, then the interrupted one, then the
        // last.
        Assert.Equal(3, script.Count);
        Assert.Equal(1, Enumerable.Range(0, 3).Count(n => script.Request(n)["messages"]!.AsArray()
            .All(m => m!["role"]!.GetValue<string>() != "tool")));
        var kinds = (await GetJsonAsync(user, $"/agents/{agent["id"]}/messages/{id}/steps"))["items"]!.AsArray()
            .Select(s => s!["kind"]!.GetValue<string>());
        Assert.Equal(["model_call", "tool_call", "tool_result", "model_call", "answer"], kinds);
    }

    [Fact]
    public async Task AModelCallLongerThanTheLeaseKeepsTheMessageWithItsWorker()
    {
        // The tests' lease is 5 s: without renewal the other replica would take the message over and call again.
        var script = Models.NewScript(new TextReply("slow but sure") { Delay = TimeSpan.FromSeconds(12) });
        var user = await fixture.CreateUserAsync();
        var agent = await CreateLlmAgentAsync(user, script);

        var message = await SendAsync(user, agent, "take your time");

        Assert.Equal("done", message["status"]!.GetValue<string>());
        Assert.Equal("slow but sure", message["reply"]!.GetValue<string>());
        Assert.Equal(1, message["attempts"]!.GetValue<int>());
        Assert.Equal(1, script.Count);
    }

    [Fact]
    public async Task AModelCallPastItsTimeoutIsAFailedAttemptAndTheNextOneSucceeds()
    {
        var script = Models.NewScript(
            new TextReply("never seen") { Delay = AgentCloudFixture.LlmModelCallTimeout + TimeSpan.FromSeconds(10) },
            new TextReply("second time lucky"));
        var user = await fixture.CreateUserAsync();
        var agent = await CreateLlmAgentAsync(user, script);
        using var response = await user.Client.PostAsync($"/agents/{agent["id"]}/messages", TestApi.RawJson("""{"text":"hello"}"""));
        var id = (await response.ReadJsonAsync())["id"]!.GetValue<string>();

        var message = await Wait.ForAsync(async () =>
        {
            var m = await GetJsonAsync(user, $"/agents/{agent["id"]}/messages/{id}");
            return m["status"]!.GetValue<string>() is "done" or "dead" ? m : null;
        }, seconds: 90);

        Assert.Equal("done", message["status"]!.GetValue<string>());
        Assert.Equal("second time lucky", message["reply"]!.GetValue<string>());
        Assert.Equal(2, message["attempts"]!.GetValue<int>());
        Assert.Equal(2, script.Count);
        using var logs = await user.Client.GetAsync($"/agents/{agent["id"]}/logs");
        Assert.Contains("did not answer within", await logs.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AChatMessageEnvelopeIsAcknowledgedAndAnsweredWithTheModelsText()
    {
        var script = Models.NewScript(new TextReply("Hello, uAgent"));
        var user = await fixture.CreateUserAsync();
        var agent = await CreateLlmAgentAsync(user, script);
        var peer = new UagentsPeer(fixture, $"llm-chat-peer-{Guid.NewGuid()}");
        var msgId = Guid.NewGuid();
        var chat = new JsonObject
        {
            ["timestamp"] = DateTimeOffset.UtcNow.ToString("O"),
            ["msg_id"] = msgId.ToString(),
            ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = "hi from python" }),
        }.ToJsonString();

        using var response = await peer.SubmitAsync(peer.Compose(agent["address"]!.GetValue<string>(), MessageModels.ChatMessage, chat,
            protocolDigest: ProtocolDigest.AgentChat));

        Assert.Equal((200, "{}"), await UagentsPeer.ReadAsync(response));
        var outbound = await OutboundAsync(agent, 2);
        Assert.Equal(MessageModels.ChatAcknowledgement.Digest, outbound[0].SchemaDigest);
        Assert.Equal(msgId.ToString(), JsonNode.Parse(outbound[0].Payload)!["acknowledged_msg_id"]!.GetValue<string>());
        Assert.Equal(MessageModels.ChatMessage.Digest, outbound[1].SchemaDigest);
        Assert.Equal(ProtocolDigest.AgentChat, outbound[1].ProtocolDigest);
        Assert.Equal("Hello, uAgent", JsonNode.Parse(outbound[1].Payload)!["content"]![0]!["text"]!.GetValue<string>());
        Assert.Equal("hi from python", Content(script.Request(0)["messages"]!.AsArray()[^1]));
    }

    [Fact]
    public async Task APlainMessageEnvelopeIsAnsweredWithAMessage()
    {
        var script = Models.NewScript(new TextReply("plain answer"));
        var user = await fixture.CreateUserAsync();
        var agent = await CreateLlmAgentAsync(user, script);
        var peer = new UagentsPeer(fixture, $"llm-message-peer-{Guid.NewGuid()}");

        using var response = await peer.SubmitAsync(peer.Compose(agent["address"]!.GetValue<string>(), MessageModels.Message,
            """{"message":"plain question"}"""));

        Assert.Equal((200, "{}"), await UagentsPeer.ReadAsync(response));
        var answer = Assert.Single(await OutboundAsync(agent, 1));
        Assert.Equal(MessageModels.Message.Digest, answer.SchemaDigest);
        Assert.Equal("plain answer", JsonNode.Parse(answer.Payload)!["message"]!.GetValue<string>());
        Assert.Equal("plain question", Content(script.Request(0)["messages"]!.AsArray()[^1]));
    }

    [Fact]
    public async Task AnMcpToolOfTheOperatorsServerIsCalledAndItsResultFedBack()
    {
        var script = Models.NewScript((n, body) => n switch
        {
            0 => new ToolCallsReply(("call_1", $"{McpTestServer.Name}__reverse", """{"text":"stressed"}""")),
            _ => new TextReply("Reversed: " + LastToolResult(body)),
        });
        var user = await fixture.CreateUserAsync();
        var agent = await CreateLlmAgentAsync(user, script, tools: [$"{McpTestServer.Name}.reverse"]);
        var before = McpTestServer.KitTools.Calls;

        var message = await SendAsync(user, agent, "reverse stressed");

        Assert.Equal("done", message["status"]!.GetValue<string>());
        Assert.Equal("Reversed: desserts", message["reply"]!.GetValue<string>());
        Assert.True(McpTestServer.KitTools.Calls > before);
        var declared = Assert.Single(script.Request(0)["tools"]!.AsArray());
        Assert.Equal($"{McpTestServer.Name}__reverse", declared!["function"]!["name"]!.GetValue<string>());
        Assert.Equal("Reverses a text.", declared["function"]!["description"]!.GetValue<string>());
        Assert.NotNull(declared["function"]!["parameters"]!["properties"]!["text"]);
    }

    [Fact]
    public async Task ARunPastItsWallTimeEndsWithAClearErrorOnTheMessageAndALogLine()
    {
        // The limit (10 minutes, the shipped default) counts from the run's first stored step, across attempts.
        // So the test ages those steps by an hour while the second model call is under way; that call fails
        // (503), and the attempt after it finds the run too old before it calls the model again.
        var agentId = 0;
        var script = Models.NewScript((n, _) =>
        {
            if (n == 0)
            {
                return new ToolCallsReply(("call_0", "recall", """{"key": "anything"}"""));
            }

            if (n == 1)
            {
                using var db = new Npgsql.NpgsqlConnection(fixture.ConnectionString);
                db.Execute("UPDATE run_steps SET created_at = created_at - interval '1 hour' WHERE agent_id = @agentId", new { agentId });
            }

            return new ErrorReply(503, "Busy.");
        });
        var user = await fixture.CreateUserAsync();
        var agent = await CreateLlmAgentAsync(user, script, tools: ["recall"]);
        agentId = agent["id"]!.GetValue<int>();
        var workerLogs = await WorkerLogs.WatchAsync(fixture);
        var lines = workerLogs.Lines;

        var message = await SendAsync(user, agent, "think for a long time");
        var id = message["id"]!.GetValue<string>();
        var logged = await Wait.ForAsync(() => Task.FromResult(
            lines.FirstOrDefault(line => line.Contains(id, StringComparison.Ordinal)
                && line.Contains("wall time", StringComparison.Ordinal))), seconds: 30);
        await workerLogs.StopAsync();

        Assert.Equal("dead", message["status"]!.GetValue<string>());
        Assert.Equal("Stopped: the run reached its limit of 00:10:00 wall time.", message["error"]!.GetValue<string>());
        // Two model calls (the second one's SDK retry makes the third request), none after the limit.
        Assert.Equal(3, script.Count);
        Assert.Equal(2, message["attempts"]!.GetValue<int>());
        Assert.Contains("stopped: the run reached its limit of 00:10:00 wall time", logged);
        var logs = (await GetJsonAsync(user, $"/agents/{agentId}/logs"))["items"]!.AsArray()
            .Select(l => l!["message"]!.GetValue<string>()).ToList();
        Assert.Contains(logs, l => l.Contains($"Message {id} is dead", StringComparison.Ordinal)
            && l.Contains("wall time", StringComparison.Ordinal));
    }

    private sealed record Row(string? SchemaDigest, string? ProtocolDigest, string Payload);

    private async Task<List<Row>> OutboundAsync(JsonObject agent, int count)
    {
        await using var db = await fixture.OpenDatabaseAsync();
        return await Wait.ForAsync(async () =>
        {
            var rows = (await db.QueryAsync<Row>(
                "SELECT schema_digest AS SchemaDigest, protocol_digest AS ProtocolDigest, payload::text AS Payload FROM messages WHERE " +
                "agent_id = @id AND direction = 'outbound' ORDER BY seq",
                new { id = agent["id"]!.GetValue<int>() })).ToList();
            return rows.Count >= count ? rows : null;
        }, seconds: 40);
    }
}
