using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using static AgentCloud.IntegrationTests.LlmAgentTests;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// The AG-UI door (POST /agents/{agent_id}/ag-ui): driven by @ag-ui/client's HttpAgent through a thread with text, a tool call and
/// an approval interrupt it answers; and over plain HTTP, a denial by resume, bad input, foreign agents and narrow keys.
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed class AgUiTests(AgentCloudFixture fixture)
{
    /// <summary>"remember X" calls remember; "ask ADDRESS: TEXT" calls send_message (which needs approval), "ask twice …" makes
    /// two such calls in one turn; after a tool the model
    /// says "done: RESULT"; else it answers naming the thread's first user message, which it knows only from the session.</summary>
    private ScriptedModelServer.Script Script() => fixture.Models.NewScript((_, body) =>
    {
        var messages = body["messages"]!.AsArray();
        var said = messages.Where(m => m!["role"]!.GetValue<string>() == "user").Select(Content).ToList();
        var text = said[^1];
        if (messages[^1]!["role"]!.GetValue<string>() == "tool")
        {
            return new TextReply($"done: {LastToolResult(body)}");
        }

        if (text.StartsWith("remember ", StringComparison.Ordinal))
        {
            return new ToolCallsReply(("call_remember", "remember", new JsonObject { ["key"] = "colour", ["value"] = text[9..] }
                .ToJsonString()));
        }

        if (text.StartsWith("ask twice ", StringComparison.Ordinal))
        {
            var call = new JsonObject { ["target"] = text[10..text.IndexOf(':')], ["text"] = text[(text.IndexOf(':') + 2)..] }
                .ToJsonString();
            return new ToolCallsReply(("call_first", "send_message", call), ("call_second", "send_message", call));
        }

        return text.StartsWith("ask ", StringComparison.Ordinal)
            ? new ToolCallsReply(($"call_ask_{said.Count}", "send_message", new JsonObject { ["target"] = text[4..text.IndexOf(':')],
                ["text"] = text[(text.IndexOf(':') + 2)..] }.ToJsonString()))
            : new TextReply($"first you said {said[0]}; now {text}");
    });

    private async Task<(TestUser User, JsonObject Agent, JsonObject Echo)> SetUpAsync()
    {
        var user = await fixture.CreateUserAsync();
        var echo = await user.CreateAgentAsync("echo", new { behavior = "echo" });
        var agent = await user.CreateAgentAsync("front", new
        {
            behavior = "llm", instructions = Script().Marker, tools = new[] { "remember", "send_message" },
            approve = new[] { "send_message" },
        });
        return (user, agent, echo);
    }

    private static string Ask(JsonObject echo, string text) => $"ask {echo["address"]!.GetValue<string>()}: {text}";

    [Fact]
    public async Task TheAgUiClientRunsAThreadWithTextAToolCallAndAnApprovalInterruptItAnswers()
    {
        var (user, agent, echo) = await SetUpAsync();

        var summary = await NodeClients.RunAsync("ag-ui.mjs", new Dictionary<string, string>
        {
            ["BASE_URL"] = BaseUrl(), ["TOKEN"] = user.Token, ["AGENT_ID"] = agent["id"]!.ToString(), ["ASK"] = Ask(echo, "over ag-ui"),
        }, TimeSpan.FromMinutes(2));

        Assert.True(summary["ok"]!.GetValue<bool>());
        var runs = summary["runs"]!.AsArray();
        string[] Types(int run) => [.. runs[run]!["types"]!.AsArray().Select(t => t!.GetValue<string>())];
        string Text(int run) => runs[run]!["text"]!.GetValue<string>();
        string[] text = ["RUN_STARTED", "TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END", "RUN_FINISHED"];
        Assert.Equal(text, Types(0));
        Assert.Equal("first you said hello; now hello", Text(0));
        Assert.Contains(runs[0]!["steps"]!.AsArray(), s => s!.GetValue<string>().StartsWith("model_call ", StringComparison.Ordinal));
        // The thread is the session: the model saw the first turn in the second run.
        Assert.Equal(text, Types(1));
        Assert.Equal("first you said hello; now and again", Text(1));

        Assert.Equal(["RUN_STARTED", "TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_END", "TOOL_CALL_RESULT", .. text[1..]], Types(2));
        Assert.Equal("remember", summary["tool"]!["name"]!.GetValue<string>());
        Assert.StartsWith("done: ", Text(2));

        // The approval: the call, then the run ends with it as the interrupt; the answer runs the tool and streams the rest.
        Assert.Equal(["RUN_STARTED", "TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_END", "RUN_FINISHED"], Types(3));
        Assert.Equal("tool_approval", summary["interrupt"]!["reason"]!.GetValue<string>());
        Assert.Equal("send_message", summary["interrupt"]!["tool"]!.GetValue<string>());
        Assert.Equal(["RUN_STARTED", "TOOL_CALL_RESULT", .. text[1..]], Types(4));
        Assert.Equal("done: over ag-ui", Text(4));
        using var decided = await user.Client.GetAsync($"/agents/{agent["id"]}/approvals/{summary["interrupt"]!["id"]}");
        var approval = await decided.ReadJsonAsync();
        Assert.Equal("approved", approval["status"]!.GetValue<string>());
        Assert.Equal("ag-ui", approval["decided_by"]!["via"]!.GetValue<string>());
        Assert.Equal("fine by me", approval["reason"]!.GetValue<string>());

        // Five runs, four messages of one session (the resume sent none; the fifth inbound is the echo agent's reply); the echo
        // agent got the approved message once.
        using var listed = await user.Client.GetAsync($"/agents/{agent["id"]}/messages?direction=inbound&limit=10");
        var items = (await listed.ReadJsonAsync())["items"]!.AsArray().Where(i => i!["sender"]!.GetValue<string>() != echo["address"]!
            .GetValue<string>()).ToList();
        Assert.Equal(4, items.Count);
        Assert.Equal(summary["thread"]!.GetValue<string>(), Assert.Single(items.Select(i => i!["session"]!.GetValue<string>()).Distinct()));
        using var inbound = await user.Client.GetAsync($"/agents/{echo["id"]}/messages?direction=inbound&limit=10");
        Assert.Equal("over ag-ui", Assert.Single((await inbound.ReadJsonAsync())["items"]!.AsArray())!["payload"]!.GetValue<string>());
    }

    [Fact(Skip = "Known bug, open: the last resume (denying the second of two interrupts after a resume that cancelled the first) "
        + "sometimes never finishes its run (2 of about 8 runs); see the closing note of 2026-12-08")]
    public async Task BadInputForeignAgentsAndNarrowKeysGetProblemsAndACancelledInterruptIsADenial()
    {
        var (user, agent, echo) = await SetUpAsync();
        var stranger = await fixture.CreateUserAsync();
        var other = await user.CreateAgentAsync("other", new { behavior = "echo" });
        var path = $"/agents/{agent["id"]}/ag-ui";

        string[] bad =
        [
            "{not json",
            """{"runId":"r","messages":[{"id":"m","role":"user","content":"hi"}]}""",
            """{"threadId":"t","runId":"r","messages":[]}""",
            """{"threadId":"t","runId":"r","messages":{"role":"user"}}""",
            """{"threadId":"t","runId":"r","messages":[{"id":"m","role":"assistant","content":"hi"}]}""",
            """{"threadId":"t","runId":"r","messages":[{"id":"m","role":"user","content":[{"type":"binary","data":"x"}]}]}""",
            """{"threadId":"t","runId":"r","messages":[],"resume":[]}""",
            """{"threadId":"t","runId":"r","messages":[],"resume":[{"interruptId":"x","status":"resolved"}]}""",
            Resume("t", Guid.NewGuid().ToString(), """{"status":"resolved","payload":{"decision":"maybe"}}"""),
            Resume("t", Guid.NewGuid().ToString(), """{"status":"resolved","payload":{"decision":"deny","arguments":{}}}"""),
            Resume("t", Guid.NewGuid().ToString(), """{"status":"answered"}"""),
        ];
        foreach (var body in bad)
        {
            using var response = await user.Client.PostAsync(path, TestApi.RawJson(body));
            await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        }

        var run = Run("t", "hello");
        using (var theirs = await stranger.Client.PostAsync(path, TestApi.RawJson(run)))
        {
            await theirs.AssertProblemAsync(HttpStatusCode.NotFound);
        }

        var narrow = (await ApiKeyTests.CreateKeyAsync(user, ["messages:send"], [other["id"]!.GetValue<int>()]))["key"]!.GetValue<string>();
        var reader = (await ApiKeyTests.CreateKeyAsync(user, ["agents:read"]))["key"]!.GetValue<string>();
        var sender = (await ApiKeyTests.CreateKeyAsync(user, ["messages:send"]))["key"]!.GetValue<string>();
        foreach (var (key, status) in new[] { (narrow, HttpStatusCode.NotFound), (reader, HttpStatusCode.Forbidden) })
        {
            using var response = await fixture.CreateApiClient().SendAsync(ApiKeyTests.WithApiKey(
                new HttpRequestMessage(HttpMethod.Post, path) { Content = TestApi.RawJson(run) }, key));
            await response.AssertProblemAsync(status);
        }

        // Over plain HTTP: a turn's two calls are two interrupts of one run's end; answers that may not decide them; a resume
        // that answers one (cancelled: a denial) ends at once with the other; answering that streams the rest; a late answer.
        var asked = await StreamAsync(user.Client, path, Run("raw thread", $"ask twice {echo["address"]}: never"));
        Assert.Equal("interrupt", asked[^1]["outcome"]!["type"]!.GetValue<string>());
        var interrupts = asked[^1]["outcome"]!["interrupts"]!.AsArray();
        Assert.Equal(["call_first", "call_second"], interrupts.Select(i => i!["toolCallId"]!.GetValue<string>()).Order());
        Assert.Equal(["call_first", "call_second"], asked.Where(e => e["type"]!.GetValue<string>() == "TOOL_CALL_START")
            .Select(e => e["toolCallId"]!.GetValue<string>()).Order());
        var interrupt = interrupts[0]!;
        var cancel = Resume("raw thread", interrupt["id"]!.GetValue<string>(), """{"status":"cancelled"}""");
        using (var unscoped = await fixture.CreateApiClient().SendAsync(ApiKeyTests.WithApiKey(
            new HttpRequestMessage(HttpMethod.Post, path) { Content = TestApi.RawJson(cancel) }, sender)))
        {
            await unscoped.AssertProblemAsync(HttpStatusCode.Forbidden);
        }

        using (var elsewhere = await user.Client.PostAsync(path,
            TestApi.RawJson(Resume("another thread", interrupt["id"]!.GetValue<string>(), """{"status":"cancelled"}"""))))
        {
            await elsewhere.AssertProblemAsync(HttpStatusCode.NotFound);
        }

        var partly = await StreamAsync(user.Client, path, cancel);
        Assert.Equal(["RUN_STARTED", "RUN_FINISHED"], partly.Select(e => e["type"]!.GetValue<string>()));
        var left = Assert.Single(partly[^1]["outcome"]!["interrupts"]!.AsArray());
        Assert.Equal(interrupts[1]!["id"]!.GetValue<string>(), left!["id"]!.GetValue<string>());

        var resumed = await StreamAsync(user.Client, path,
            Resume("raw thread", left["id"]!.GetValue<string>(), """{"status":"resolved","payload":{"decision":"deny"}}"""));
        Assert.Equal("success", resumed[^1]["outcome"]!["type"]!.GetValue<string>());
        Assert.Equal(["call_first", "call_second"], resumed.Where(e => e["type"]!.GetValue<string>() == "TOOL_CALL_RESULT")
            .Select(e => e["toolCallId"]!.GetValue<string>()).Order());
        Assert.DoesNotContain(resumed, e => e["type"]!.GetValue<string>() == "TOOL_CALL_START");
        Assert.StartsWith("done: A person denied this call", string.Concat(resumed
            .Where(e => e["type"]!.GetValue<string>() == "TEXT_MESSAGE_CONTENT").Select(e => e["delta"]!.GetValue<string>())));
        using (var late = await user.Client.PostAsync(path, TestApi.RawJson(cancel)))
        {
            await late.AssertProblemAsync(HttpStatusCode.Conflict);
        }

        using var inbound = await user.Client.GetAsync($"/agents/{echo["id"]}/messages?direction=inbound&limit=10");
        Assert.Empty((await inbound.ReadJsonAsync())["items"]!.AsArray());
    }

    private static string Run(string thread, string text) => new JsonObject
    {
        ["threadId"] = thread, ["runId"] = Guid.NewGuid().ToString(), ["tools"] = new JsonArray(), ["context"] = new JsonArray(),
        ["state"] = new JsonObject(), ["forwardedProps"] = new JsonObject(),
        ["messages"] = new JsonArray(new JsonObject { ["id"] = "m1", ["role"] = "user", ["content"] = text }),
    }.ToJsonString();

    private static string Resume(string thread, string interruptId, string entry)
    {
        var resume = JsonNode.Parse(entry)!.AsObject();
        resume["interruptId"] = interruptId;
        return new JsonObject
        {
            ["threadId"] = thread, ["runId"] = Guid.NewGuid().ToString(), ["messages"] = new JsonArray(),
            ["resume"] = new JsonArray(resume),
        }.ToJsonString();
    }

    /// <summary>A run's AG-UI events, read until the door ends the stream.</summary>
    private static async Task<List<JsonObject>> StreamAsync(HttpClient client, string path, string body)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var stream = await EventStreamReader.OpenAsync(client, new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = TestApi.RawJson(body),
        }, timeout.Token);
        Assert.Equal(HttpStatusCode.OK, stream.Response.StatusCode);
        var events = (await stream.ReadToEndAsync(timeout.Token)).Select(e => e.Json!.AsObject()).ToList();
        Assert.Equal("RUN_STARTED", events[0]["type"]!.GetValue<string>());
        Assert.Equal("RUN_FINISHED", events[^1]["type"]!.GetValue<string>());
        return events;
    }

    private string BaseUrl() => fixture.CreateApiClient().BaseAddress!.ToString().TrimEnd('/');
}
