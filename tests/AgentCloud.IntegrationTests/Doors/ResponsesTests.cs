using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// The Responses door (/v1/responses and /v1/conversations): driven by the official OpenAI JavaScript client and by the AI SDK's
/// Open Responses provider, an llm agent's tool calls as function_call items, and hostile or foreign input.
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed class ResponsesTests(AgentCloudFixture fixture)
{
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task TheOfficialOpenAIClientCreatesStreamsContinuesPollsAndCancelsResponses()
    {
        var user = await fixture.CreateUserAsync();
        var stranger = await fixture.CreateUserAsync();
        var echo = await user.CreateAgentAsync(config: new { behavior = "stream", delay_ms = 10 });
        var slow = await user.CreateAgentAsync(config: new { behavior = "echo" });
        var theirs = await stranger.CreateAgentAsync(config: new { behavior = "echo" });
        await fixture.HoldHeadOfLineAsync(slow);

        var summary = await NodeClients.RunAsync("responses.mjs", new Dictionary<string, string>
        {
            ["BASE_URL"] = BaseUrl(), ["TOKEN"] = user.Token, ["AGENT_ID"] = echo["id"]!.ToString(),
                ["SLOW_AGENT_ID"] = slow["id"]!.ToString(),
            ["OTHER_TOKEN"] = stranger.Token, ["OTHER_AGENT_ID"] = theirs["id"]!.ToString(),
        }, ScriptTimeout);

        Assert.True(summary["ok"]!.GetValue<bool>());
        // The first and the streamed response are one session of the agent: previous_response_id continued it.
        using var history = await user.Client.GetAsync($"/agents/{echo["id"]}/messages?limit=10");
        var items = (await history.ReadJsonAsync())["items"]!.AsArray();
        var first = items.Single(i => i!["payload"]!.ToString() == "hello over Responses");
        var streamed = items.Single(i => i!["payload"]!.ToString() == "streamed hello");
        Assert.Equal(first!["session"]!.GetValue<string>(), streamed!["session"]!.GetValue<string>());
        await using var db = await fixture.OpenDatabaseAsync();
        Assert.Equal(0, await db.ExecuteScalarAsync<long>("SELECT count(*) FROM messages WHERE agent_id = @id",
            new { id = theirs["id"]!.GetValue<int>() }));
    }

    [Fact]
    public async Task TheAiSdkOpenResponsesProviderGeneratesAndStreamsText()
    {
        var user = await fixture.CreateUserAsync();
        var echo = await user.CreateAgentAsync(config: new { behavior = "stream", delay_ms = 10 });

        var summary = await NodeClients.RunAsync("open-responses.mjs", new Dictionary<string, string>
        {
            ["BASE_URL"] = BaseUrl(), ["TOKEN"] = user.Token, ["AGENT_ID"] = echo["id"]!.ToString(),
        }, ScriptTimeout, node22: true);

        Assert.True(summary["ok"]!.GetValue<bool>());
        Assert.True(summary["parts"]!.GetValue<int>() >= 2);
    }

    [Fact]
    public async Task AnLlmAgentsToolCallsAreFunctionCallItemsAlikeInTheResponseItsStreamAndItsConversation()
    {
        var script = fixture.Models.NewScript(
            new ToolCallsReply(("call_1", "remember", """{"key":"colour","value":"teal"}""")),
            new TextReply("Noted: teal."));
        var user = await fixture.CreateUserAsync();
        var agent = await LlmAgentTests.CreateLlmAgentAsync(user, script, tools: ["remember"]);
        using var created = await user.Client.PostAsJsonAsync("/v1/conversations", new { metadata = new { topic = "colours" } });
        var conversation = (await created.ReadJsonAsync())["id"]!.GetValue<string>();

        using var answer = await user.Client.PostAsJsonAsync("/v1/responses",
            new { model = $"agent-{agent["id"]}", input = "My colour is teal.", conversation });
        var response = await answer.ReadJsonAsync();

        Assert.Equal("completed", response["status"]!.GetValue<string>());
        Assert.Equal(conversation, response["conversation"]!["id"]!.GetValue<string>());
        var output = response["output"]!.AsArray();
        Assert.Equal(["function_call", "function_call_output", "message"], output.Select(i => i!["type"]!.GetValue<string>()));
        Assert.Equal("call_1", output[0]!["call_id"]!.GetValue<string>());
        Assert.Equal("remember", output[0]!["name"]!.GetValue<string>());
        Assert.Equal("teal", JsonNode.Parse(output[0]!["arguments"]!.GetValue<string>())!["value"]!.GetValue<string>());
        Assert.Equal("call_1", output[1]!["call_id"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(output[1]!["output"]!.GetValue<string>()));
        Assert.Equal("Noted: teal.", output[2]!["content"]![0]!["text"]!.GetValue<string>());
        Assert.Equal(22, response["usage"]!["input_tokens"]!.GetValue<int>());
        Assert.Equal(14, response["usage"]!["output_tokens"]!.GetValue<int>());

        // The stream (replayed from the stored run events) numbers its events without a gap and ends with the same items.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var replay = await EventStreamReader.OpenAsync(user.Client,
            new HttpRequestMessage(HttpMethod.Get, $"/v1/responses/{response["id"]}?stream=true"), timeout.Token);
        var events = await replay.ReadToEndAsync(timeout.Token);
        Assert.Equal("[DONE]", events[^1].Data);
        var data = events.SkipLast(1).Select(e => e.Json!.AsObject()).ToList();
        Assert.Equal(Enumerable.Range(0, data.Count), data.Select(e => e["sequence_number"]!.GetValue<int>()));
        Assert.All(events.SkipLast(1), e => Assert.Equal(e.Type, e.Json!["type"]!.GetValue<string>()));
        Assert.Equal(["response.created", "response.in_progress", "response.output_item.added", "response.function_call_arguments.delta",
            "response.function_call_arguments.done", "response.output_item.done", "response.output_item.added", "response.output_item.done",
            "response.output_item.added", "response.content_part.added"], data.Take(10).Select(e => e["type"]!.GetValue<string>()));
        var completed = data[^1];
        Assert.Equal("response.completed", completed["type"]!.GetValue<string>());
        Assert.Equal(output.ToJsonString(), completed["response"]!["output"]!.ToJsonString());
        Assert.Equal("Noted: teal.", string.Concat(data.Where(e => e["type"]!.GetValue<string>() == "response.output_text.delta")
            .Select(e => e["delta"]!.GetValue<string>())));

        // The conversation's items: what was said, then the same output items.
        using var listed = await user.Client.GetAsync($"/v1/conversations/{conversation}/items?order=asc");
        var items = (await listed.ReadJsonAsync())["data"]!.AsArray();
        Assert.Equal(["message", "function_call", "function_call_output", "message"], items.Select(i => i!["type"]!.GetValue<string>()));
        Assert.Equal("My colour is teal.", items[0]!["content"]![0]!["text"]!.GetValue<string>());
        Assert.Equal(output.ToJsonString(), new JsonArray([.. items.Skip(1).Select(i => i!.DeepClone())]).ToJsonString());

        // Deleting the response deletes the message: it is gone from the conversation too.
        using var deleted = await user.Client.DeleteAsync($"/v1/responses/{response["id"]}");
        Assert.True((await deleted.ReadJsonAsync())["deleted"]!.GetValue<bool>());
        using var gone = await user.Client.GetAsync($"/v1/responses/{response["id"]}");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        using var emptied = await user.Client.GetAsync($"/v1/conversations/{conversation}/items");
        Assert.Empty((await emptied.ReadJsonAsync())["data"]!.AsArray());
    }

    [Fact]
    public async Task BadInputForeignIdsAndNarrowKeysGetOpenAIErrorsAndChangeNothing()
    {
        var user = await fixture.CreateUserAsync();
        var stranger = await fixture.CreateUserAsync();
        var echo = await user.CreateAgentAsync(config: new { behavior = "echo" });
        var other = await user.CreateAgentAsync(config: new { behavior = "echo" });
        var theirs = await stranger.CreateAgentAsync(config: new { behavior = "echo" });
        var model = $"agent-{echo["id"]}";
        using var theirAnswer = await stranger.Client.PostAsJsonAsync("/v1/responses",
            new { model = $"agent-{theirs["id"]}", input = "mine" });
        var theirResponse = (await theirAnswer.ReadJsonAsync())["id"]!.GetValue<string>();
        using var theirCreated = await stranger.Client.PostAsJsonAsync("/v1/conversations", new { });
        var theirConversation = (await theirCreated.ReadJsonAsync())["id"]!.GetValue<string>();

        string[] bad =
        [
            "{not json", "[]", "\"input\"",
            $$"""{"model":"{{model}}","model":"{{model}}","input":"x"}""",
            $$"""{"model":"{{model}}","input":[{"role":"user","content":"x","content":"y"}]}""",
            """{"input":"x"}""", """{"model":5,"input":"x"}""", $$"""{"model":"{{model}}"}""", $$"""{"model":"{{model}}","input":5}""",
            $$"""{"model":"{{model}}","input":[]}""", $$"""{"model":"{{model}}","input":[5]}""",
            $$"""{"model":"{{model}}","input":[{"role":"assistant","content":"x"}]}""",
            $$"""{"model":"{{model}}","input":[{"role":"robot","content":"x"}]}""",
            $$"""{"model":"{{model}}","input":[{"role":"user","content":5}]}""",
            $$"""{"model":"{{model}}","input":[{"type":"function_call_output","call_id":"c","output":"x"}]}""",
            $$"""{"model":"{{model}}","input":[{"role":"user","content":[{"type":"input_image","image_url":"http://127.0.0.1/x.png"}]}]}""",
            $$"""{"model":"{{model}}","input":[{"role":"user","content":[{"type":"input_text","text":5}]}]}""",
            $$"""{"model":"{{model}}","input":"x","stream":"yes"}""", $$"""{"model":"{{model}}","input":"x","background":1}""",
            $$"""{"model":"{{model}}","input":"x","tools":[{"type":"function","name":"f"}]}""",
            $$$"""{"model":"{{{model}}}","input":"x","metadata":{"a":1}}""",
                $$$"""{"model":"{{{model}}}","input":"x","metadata":{"a":"\u0000"}}""",
            $$"""{"model":"{{model}}","input":"x","temperature":"hot"}""",
                $$"""{"model":"{{model}}","input":"x","max_output_tokens":1.5}""",
            $$"""{"model":"{{model}}","input":"x","instructions":["a"]}""", $$"""{"model":"{{model}}","input":"x","conversation":5}""",
            $$"""{"model":"{{model}}","input":"x","previous_response_id":"resp_x","conversation":"conv_y"}""",
            $$"""{"model":"{{model}}","input":"\u0000"}""",
            new JsonObject { ["model"] = model, ["input"] = new string('x', 33 * 1024) }.ToJsonString(),
        ];
        foreach (var body in bad)
        {
            using var response = await user.Client.PostAsync("/v1/responses", TestApi.RawJson(body));
            await AssertOpenAIErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", body);
        }

        // Another user's model, response and conversation, and ids that name nothing: OpenAI's 404, whichever way asked.
        var missingResponse = "resp_" + Guid.NewGuid().ToString("N");
        var missingConversation = "conv_" + Guid.NewGuid().ToString("N");
        foreach (var body in new object[]
        {
            new { model = "agent-999999999", input = "x" }, new { model = $"agent-{theirs["id"]}", input = "x" },
                new { model = "gpt-4o", input = "x" },
            new { model, input = "x", previous_response_id = theirResponse },
                new { model, input = "x", previous_response_id = missingResponse },
            new { model, input = "x", previous_response_id = "not-an-id" }, new { model, input = "x", conversation = theirConversation },
            new { model, input = "x", conversation = missingConversation },
        })
        {
            using var response = await user.Client.PostAsJsonAsync("/v1/responses", body);
            await AssertOpenAIErrorAsync(response, HttpStatusCode.NotFound, "invalid_request_error", body.ToString() ?? "");
        }

        foreach (var (method, path) in new[]
        {
            (HttpMethod.Get, $"/v1/responses/{theirResponse}"), (HttpMethod.Post, $"/v1/responses/{theirResponse}/cancel"),
            (HttpMethod.Delete, $"/v1/responses/{theirResponse}"),
            (HttpMethod.Get, $"/v1/responses/{missingResponse}"), (HttpMethod.Get, "/v1/responses/garbage"),
            (HttpMethod.Get, $"/v1/conversations/{theirConversation}"), (HttpMethod.Get, $"/v1/conversations/{theirConversation}/items"),
            (HttpMethod.Delete, $"/v1/conversations/{theirConversation}"), (HttpMethod.Get, $"/v1/conversations/{missingConversation}"),
        })
        {
            using var response = await user.Client.SendAsync(new HttpRequestMessage(method, path));
            await AssertOpenAIErrorAsync(response, HttpStatusCode.NotFound, "invalid_request_error", $"{method} {path}");
        }

        foreach (var (path, body) in new (string, string)[]
        {
            ("/v1/conversations", """{"items":[{"type":"message","role":"user","content":"x"}]}"""),
            ("/v1/conversations", """{"metadata":[1]}"""), ("/v1/conversations", "{not json"),
        })
        {
            using var response = await user.Client.PostAsync(path, TestApi.RawJson(body));
            await AssertOpenAIErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", body);
        }

        using var mine = await user.Client.PostAsJsonAsync("/v1/conversations", new { });
        var myConversation = (await mine.ReadJsonAsync())["id"]!.GetValue<string>();
        foreach (var query in new[] { "limit=0", "limit=101", "limit=x", "order=sideways", "after=msg_nothing" })
        {
            using var response = await user.Client.GetAsync($"/v1/conversations/{myConversation}/items?{query}");
            await AssertOpenAIErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", query);
        }

        // The credential's limits hold as on chat completions: no token, a key without messages:send, a key for another agent.
        using var anonymous = await fixture.CreateApiClient().PostAsJsonAsync("/v1/responses", new { model, input = "x" });
        await AssertOpenAIErrorAsync(anonymous, HttpStatusCode.Unauthorized, "invalid_request_error", "anonymous");
        var readOnly = (await ApiKeyTests.CreateKeyAsync(user, ["agents:read"]))["key"]!.GetValue<string>();
        using var withReadOnly = await fixture.CreateApiClient().SendAsync(ApiKeyTests.WithApiKey(
            new HttpRequestMessage(HttpMethod.Post, "/v1/responses") { Content = JsonContent.Create(new { model, input = "x" }) },
                readOnly));
        await AssertOpenAIErrorAsync(withReadOnly, HttpStatusCode.Forbidden, "permission_error", "read-only key");
        var narrow = (await ApiKeyTests.CreateKeyAsync(user, ["agents:read", "messages:send"],
            [other["id"]!.GetValue<int>()]))["key"]!.GetValue<string>();
        using var withNarrow = await fixture.CreateApiClient().SendAsync(ApiKeyTests.WithApiKey(
            new HttpRequestMessage(HttpMethod.Post, "/v1/responses") { Content = JsonContent.Create(new { model, input = "x" }) }, narrow));
        await AssertOpenAIErrorAsync(withNarrow, HttpStatusCode.NotFound, "invalid_request_error", "key for another agent");

        await using var db = await fixture.OpenDatabaseAsync();
        Assert.Equal(0, await db.ExecuteScalarAsync<long>("SELECT count(*) FROM messages WHERE agent_id = ANY(@ids)",
            new { ids = new[] { echo["id"]!.GetValue<int>(), other["id"]!.GetValue<int>() } }));
        Assert.Equal(1, await db.ExecuteScalarAsync<long>("SELECT count(*) FROM messages WHERE agent_id = @id",
            new { id = theirs["id"]!.GetValue<int>() }));
        Assert.Equal(1, await db.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM response_conversations WHERE user_id = @id AND agent_id IS NULL",
            new { id = stranger.Id }));
    }

    private static async Task<JsonObject> AssertOpenAIErrorAsync(HttpResponseMessage response, HttpStatusCode status, string type,
        string what)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"Expected {(int)status} for {what}, got {(int)response.StatusCode}: {body}");
        var error = JsonNode.Parse(body)!["error"]!.AsObject();
        Assert.Equal(type, error["type"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(error["message"]!.GetValue<string>()));
        Assert.True(error.ContainsKey("param") && error.ContainsKey("code"), body);
        return error;
    }

    private string BaseUrl() => fixture.CreateApiClient().BaseAddress!.ToString().TrimEnd('/');
}
