using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AgentCloud.Shared.UAgents;
using static AgentCloud.IntegrationTests.LlmAgentTests;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// An llm agent keeps each sender's conversation and memory apart (issue 31, items 1 and 2): a stranger's peer over the uAgents
/// wire and another user's agent neither see nor change the owner's; checked on what the model was sent.
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed class SenderIsolationTests(AgentCloudFixture fixture)
{
    private ScriptedModelServer Models => fixture.Models;

    [Fact]
    public async Task AStrangersPeerNeitherReadsNorOverwritesTheOwnersMemoryAndKeepsItsOwn()
    {
        // The model remembers or recalls as the user's text says, and answers with what the tool said.
        var script = Models.NewScript((_, body) =>
        {
            var last = body["messages"]!.AsArray()[^1]!;
            if (last["role"]!.GetValue<string>() == "tool")
            {
                return new TextReply("tool said: " + Content(last));
            }

            var text = Content(last);
            return text.StartsWith("remember ", StringComparison.Ordinal)
                ? new ToolCallsReply(("call_1", "remember", $$"""{"key":"color","value":"{{text["remember ".Length..]}}"}"""))
                : new ToolCallsReply(("call_1", "recall", """{"key":"color"}"""));
        });
        var owner = await fixture.CreateUserAsync();
        var agent = await CreateLlmAgentAsync(owner, script, tools: ["remember", "recall"]);
        var address = agent["address"]!.GetValue<string>();
        var peer = new UagentsPeer(fixture, $"sender-isolation-peer-{Guid.NewGuid()}");
        var session = Guid.NewGuid();

        // Each text differs: the same fields signed within one second are one envelope, which is handled once.
        async Task<string> AskAsPeerAsync(string text)
        {
            using var response = await peer.SubmitAsync(peer.Compose(address, MessageModels.Message,
                new JsonObject { ["message"] = text }.ToJsonString(), session), sync: true);
            var (status, body) = await UagentsPeer.ReadAsync(response);
            Assert.Equal(200, status);
            var answer = Envelope.FromJson(body)!;
            Assert.Equal(MessageModels.Message.Digest, answer.SchemaDigest);
            return JsonNode.Parse(answer.DecodePayload()!)!["message"]!.GetValue<string>();
        }

        Assert.Equal("tool said: Remembered 'color'.", (await SendAsync(owner, agent, "remember teal"))["reply"]!.GetValue<string>());

        var before = script.Count;
        Assert.Equal("tool said: Nothing is remembered under 'color'.", await AskAsPeerAsync("what is my color"));
        Assert.Equal("tool said: Remembered 'color'.", await AskAsPeerAsync("remember hacked"));
        Assert.Equal("tool said: hacked", await AskAsPeerAsync("and what is my color now?"));
        var peerRequests = Requests(script)[before..];

        // The owner's value is untouched, in the API's view and in the owner's next run.
        var memory = await GetJsonAsync(owner, $"/agents/{agent["id"]}/memory");
        var entry = Assert.Single(memory["items"]!.AsArray());
        Assert.Equal(("color", "teal"), (entry!["key"]!.GetValue<string>(), entry["value"]!.GetValue<string>()));
        Assert.Equal("tool said: teal", (await SendAsync(owner, agent, "what is my color"))["reply"]!.GetValue<string>());

        // What the model was sent on the peer's runs never held the owner's value, only the peer's own conversation.
        Assert.Equal(6, peerRequests.Count);
        Assert.All(peerRequests, request => Assert.DoesNotContain("teal", request));
        Assert.Contains("Nothing is remembered under", peerRequests[^1]);

        // An owner who lets outsiders read (never write) their memory: the peer's recall finds the owner's value first.
        Task<HttpResponseMessage> ConfigureAsync(string outsiderMemory) => owner.Client.PutAsJsonAsync($"/agents/{agent["id"]}", new
        {
            config = new { behavior = "llm", instructions = script.Marker, tools = new[] { "remember", "recall" },
                outsider_memory = outsiderMemory },
        });
        using (var refused = await ConfigureAsync("write_owner"))
        {
            var problem = await refused.AssertProblemAsync(HttpStatusCode.BadRequest);
            Assert.Contains("config.outsider_memory must be one of: none, own, read_owner.", problem.ToJsonString());
        }

        using (var update = await ConfigureAsync("read_owner"))
        {
            Assert.Equal(HttpStatusCode.OK, update.StatusCode);
        }

        Assert.Equal("tool said: teal", await AskAsPeerAsync("what is my color, then?"));
    }

    [Fact]
    public async Task AnotherUsersMessageInTheOwnersSessionStartsItsOwnConversation()
    {
        var script = Models.NewScript((_, body) => new TextReply("answer to " + Content(body["messages"]!.AsArray()[^1])));
        var owner = await fixture.CreateUserAsync();
        var agent = await CreateLlmAgentAsync(owner, script);
        var first = await SendAsync(owner, agent, "owner's secret plan");
        var session = first["session"]!.GetValue<string>();
        var other = await fixture.CreateUserAsync();
        var theirs = await other.CreateAgentAsync("intruder");

        using (var sent = await other.Client.PostAsJsonAsync($"/agents/{theirs["id"]}/send",
            new { target = agent["address"]!.GetValue<string>(), payload = "intruder's words", session }))
        {
            Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);
        }

        var intruded = await Wait.ForAsync(() => Task.FromResult(Requests(script).FirstOrDefault(r => r.Contains("intruder"))));
        var next = await SendAsync(owner, agent, "what was my plan?", session);

        // The intruder's run saw only its own text (the requests are JSON text, hence no apostrophes in what is looked for); the
        // owner's next run saw the owner's turns and nothing of the intruder's.
        Assert.DoesNotContain("secret plan", intruded);
        Assert.Equal(session, next["session"]!.GetValue<string>());
        var seen = script.Request(script.Count - 1)["messages"]!.AsArray().Select(m => Content(m)).ToList();
        Assert.Equal([script.Marker, "owner's secret plan", "answer to owner's secret plan", "what was my plan?"], seen);
        var turns = (await GetJsonAsync(owner, $"/agents/{agent["id"]}/conversations/{session}"))["turns"]!.AsArray();
        Assert.DoesNotContain(turns, t => t!["text"]!.GetValue<string>().Contains("intruder", StringComparison.Ordinal));
        Assert.Equal(4, turns.Count);
    }

    private static List<string> Requests(ScriptedModelServer.Script script) =>
        [.. Enumerable.Range(0, script.Count).Select(n => script.Request(n)["messages"]!.ToJsonString())];
}
