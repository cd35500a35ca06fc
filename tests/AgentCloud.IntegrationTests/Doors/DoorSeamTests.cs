using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// Where the doors (A2A, OpenAI-compatible chat, MCP) meet API keys, quotas and language-model agents:
/// each door keeps a key to its scopes and agents, answers a spent quota in its own error format, and
/// streams a model's answer as it comes.
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed class DoorSeamTests(AgentCloudFixture fixture)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private const int MessagesPerDay = 10_000;

    [Fact]
    public async Task AKeyLimitedToOneAgentGetsEachDoorsNotFoundForAnother()
    {
        var user = await fixture.CreateUserAsync();
        var mine = await user.CreateAgentAsync("allowed", new { behavior = "echo" });
        var other = await user.CreateAgentAsync("not allowed", new { behavior = "echo" });
        var key = await KeyAsync(user, ["agents:read", "messages:send"], mine);
        using var client = Client();
        using var timeout = new CancellationTokenSource(Timeout);

        using var a2a = await client.SendAsync(Post($"/a2a/{other["id"]}", SendMessage("hello"), key), timeout.Token);
        using var a2aAllowed = await client.SendAsync(Post($"/a2a/{mine["id"]}", SendMessage("hello"), key), timeout.Token);
        using var a2aRest = await client.SendAsync(Post($"/a2a/{other["id"]}/message:send", RestSendMessage("hello"), key), timeout.Token);
        using var chat = await client.SendAsync(Post("/v1/chat/completions", Chat(other, "hello"), key), timeout.Token);
        using var models = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/v1/models").WithBearer(key), timeout.Token);
        var listed = await McpToolAsync(client, key, "list_agents", new JsonObject(), timeout.Token);
        var mcpSend = await McpToolAsync(client, key, "send_message",
            new JsonObject { ["agent_id"] = other["id"]!.GetValue<int>(), ["text"] = "hello", ["wait_seconds"] = 0 }, timeout.Token);
        var mcpRead = await McpToolAsync(client, key, "read_logs", new JsonObject { ["agent_id"] = other["id"]!.GetValue<int>() },
            timeout.Token);

        await a2a.AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal(HttpStatusCode.NotFound, a2aRest.StatusCode);
        Assert.Equal("TASK_STATE_COMPLETED",
            (await a2aAllowed.ReadJsonAsync())["result"]!["task"]!["status"]!["state"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, chat.StatusCode);
        Assert.Equal("model_not_found", (await chat.ReadJsonAsync())["error"]!["code"]!.GetValue<string>());
        var modelIds = (await models.ReadJsonAsync())["data"]!.AsArray().Select(m => m!["id"]!.GetValue<string>());
        Assert.Equal([$"agent-{mine["id"]}"], modelIds);
        Assert.NotEqual(true, listed["isError"]?.GetValue<bool>());
        Assert.Equal([mine["id"]!.GetValue<int>()], JsonNode.Parse(ToolText(listed))!.AsArray().Select(a => a!["id"]!.GetValue<int>()));
        Assert.True(mcpSend["isError"]!.GetValue<bool>());
        Assert.Contains("not found", ToolText(mcpSend));
        Assert.True(mcpRead["isError"]!.GetValue<bool>());
        Assert.Contains("not found", ToolText(mcpRead));
        await using var db = await fixture.OpenDatabaseAsync();
        Assert.Equal(0, await db.ExecuteScalarAsync<long>("SELECT count(*) FROM messages WHERE agent_id = @id",
            new { id = other["id"]!.GetValue<int>() }));
    }

    [Fact]
    public async Task AKeyWithoutMessagesSendCannotSendThroughA2AOpenAIOrMcpButStillReads()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("reader's", new { behavior = "echo" });
        var key = await KeyAsync(user, ["agents:read"]);
        using var client = Client();
        using var timeout = new CancellationTokenSource(Timeout);

        using var a2a = await client.SendAsync(Post($"/a2a/{agent["id"]}", SendMessage("hello"), key), timeout.Token);
        using var a2aStream = await client.SendAsync(Post($"/a2a/{agent["id"]}",
            SendMessage("hello").Replace("\"SendMessage\"", "\"message/stream\"", StringComparison.Ordinal), key), timeout.Token);
        using var a2aList = await client.SendAsync(Post($"/a2a/{agent["id"]}",
            """{"jsonrpc":"2.0","id":2,"method":"ListTasks","params":{}}""", key),
            timeout.Token);
        using var a2aRest = await client.SendAsync(Post($"/a2a/{agent["id"]}/message:stream", RestSendMessage("hello"), key),
            timeout.Token);
        using var a2aRestList = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/a2a/{agent["id"]}/tasks").WithBearer(key),
            timeout.Token);
        using var chat = await client.SendAsync(Post("/v1/chat/completions", Chat(agent, "hello"), key), timeout.Token);
        var mcpSend = await McpToolAsync(client, key, "send_message",
            new JsonObject { ["agent_id"] = agent["id"]!.GetValue<int>(), ["text"] = "hello", ["wait_seconds"] = 0 }, timeout.Token);
        var mcpList = await McpToolAsync(client, key, "list_agents", new JsonObject(), timeout.Token);

        Assert.Equal(HttpStatusCode.OK, a2a.StatusCode);
        var error = (await a2a.ReadJsonAsync())["error"]!;
        Assert.Equal(-32040, error["code"]!.GetValue<int>());
        Assert.Contains("messages:send", error["message"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, a2aStream.StatusCode);
        Assert.Equal(-32040, (await a2aStream.ReadJsonAsync())["error"]!["code"]!.GetValue<int>());
        Assert.Equal(0, (await a2aList.ReadJsonAsync())["result"]!["totalSize"]!.GetValue<int>());
        Assert.Equal(HttpStatusCode.Forbidden, a2aRest.StatusCode);
        Assert.Equal("PERMISSION_DENIED", (await a2aRest.ReadJsonAsync())["error"]!["status"]!.GetValue<string>());
        Assert.Equal(0, (await a2aRestList.ReadJsonAsync())["totalSize"]!.GetValue<int>());
        Assert.Equal(HttpStatusCode.Forbidden, chat.StatusCode);
        var chatError = (await chat.ReadJsonAsync())["error"]!;
        Assert.Equal("insufficient_permissions", chatError["code"]!.GetValue<string>());
        Assert.Contains("messages:send", chatError["message"]!.GetValue<string>());
        Assert.True(mcpSend["isError"]!.GetValue<bool>());
        Assert.Contains("messages:send", ToolText(mcpSend));
        Assert.NotEqual(true, mcpList["isError"]?.GetValue<bool>());
        await using var db = await fixture.OpenDatabaseAsync();
        Assert.Equal(0, await db.ExecuteScalarAsync<long>("SELECT count(*) FROM messages WHERE agent_id = @id",
            new { id = agent["id"]!.GetValue<int>() }));
    }

    [Fact]
    public async Task ASpentDailyQuotaIsAJsonRpcErrorInA2AA429InTheOpenAIDoorAndAToolErrorInMcp()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("spent", new { behavior = "echo" });
        await using (var db = await fixture.OpenDatabaseAsync())
        {
            await db.ExecuteAsync("INSERT INTO usage_daily (user_id, day, messages) VALUES (@id, (now() AT TIME ZONE 'utc')::date, @used)",
                new { id = user.Id, used = MessagesPerDay });
        }

        var token = user.Token;
        using var client = Client();
        using var timeout = new CancellationTokenSource(Timeout);
        using var a2a = await client.SendAsync(Post($"/a2a/{agent["id"]}", SendMessage("one too many"), token), timeout.Token);
        using var a2aStream = await client.SendAsync(Post($"/a2a/{agent["id"]}",
            SendMessage("one too many").Replace("\"SendMessage\"", "\"SendStreamingMessage\"", StringComparison.Ordinal), token),
                timeout.Token);
        using var chat = await client.SendAsync(Post("/v1/chat/completions", Chat(agent, "one too many"), token), timeout.Token);
        using var a2aRest = await client.SendAsync(Post($"/a2a/{agent["id"]}/message:send", RestSendMessage("one too many"), token),
            timeout.Token);
        var mcp = await McpToolAsync(client, token, "send_message",
            new JsonObject { ["agent_id"] = agent["id"]!.GetValue<int>(), ["text"] = "one too many", ["wait_seconds"] = 0 }, timeout.Token);

        foreach (var answer in new[] { a2a, a2aStream })
        {
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            var error = (await answer.ReadJsonAsync())["error"]!;
            Assert.Equal(-32029, error["code"]!.GetValue<int>());
            Assert.Equal("messages_per_day", error["data"]![0]!["metadata"]!["quota"]!.GetValue<string>());
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, chat.StatusCode);
        Assert.NotNull(chat.Headers.RetryAfter);
        Assert.Equal(HttpStatusCode.TooManyRequests, a2aRest.StatusCode);
        Assert.NotNull(a2aRest.Headers.RetryAfter);
        Assert.Equal("RESOURCE_EXHAUSTED", (await a2aRest.ReadJsonAsync())["error"]!["status"]!.GetValue<string>());
        var chatError = (await chat.ReadJsonAsync())["error"]!;
        Assert.Equal("insufficient_quota", chatError["type"]!.GetValue<string>());
        Assert.Equal("messages_per_day", chatError["code"]!.GetValue<string>());
        Assert.True(mcp["isError"]!.GetValue<bool>());
        Assert.Contains("messages_per_day", ToolText(mcp));
        await using var check = await fixture.OpenDatabaseAsync();
        Assert.Equal(0, await check.ExecuteScalarAsync<long>("SELECT count(*) FROM messages WHERE agent_id = @id",
            new { id = agent["id"]!.GetValue<int>() }));
    }

    [Fact]
    public async Task AnLlmAgentsStreamedAnswerArrivesAsDeltasThroughTheRestApi()
    {
        const string answer = "The model streams this answer in pieces";
        var user = await fixture.CreateUserAsync();
        var agent = await LlmAgentTests.CreateLlmAgentAsync(user, fixture.Models.NewScript(new TextReply(answer)));
        using var timeout = new CancellationTokenSource(Timeout);

        using var stream = await EventStreamReader.OpenAsync(Client(user),
            new HttpRequestMessage(HttpMethod.Post, $"/agents/{agent["id"]}/messages?stream=true")
                { Content = JsonContent.Create(new { text = "Hi" }) },
            timeout.Token);
        var events = await stream.ReadToEndAsync(timeout.Token);

        var deltas = events.Where(e => e.Type == "delta").Select(e => e.Json!["text"]!.GetValue<string>()).ToList();
        Assert.True(deltas.Count >= 2, $"{deltas.Count} delta events: {string.Join(", ", events.Select(e => e.Type))}");
        Assert.Equal(answer, string.Concat(deltas));
        Assert.Equal("done", events[^1].Type);
        Assert.True(events.FindLastIndex(e => e.Type == "delta") < events.Count - 1);
    }

    [Fact]
    public async Task AnLlmAgentsStreamedAnswerArrivesInSeveralChunksThroughTheOpenAIDoor()
    {
        const string answer = "Chunked through the OpenAI door";
        var user = await fixture.CreateUserAsync();
        var agent = await LlmAgentTests.CreateLlmAgentAsync(user, fixture.Models.NewScript(new TextReply(answer)));
        using var timeout = new CancellationTokenSource(Timeout);

        using var stream = await EventStreamReader.OpenAsync(Client(user),
            new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
            {
                Content = TestApi.RawJson(Chat(agent, "Hi").Replace("\"stream\":false", "\"stream\":true", StringComparison.Ordinal)),
            },
            timeout.Token);
        var events = await stream.ReadToEndAsync(timeout.Token);

        Assert.Equal("[DONE]", events[^1].Data);
        var pieces = events.Where(e => e.Json is { } json && json["object"]?.GetValue<string>() == "chat.completion.chunk")
            .Select(e => e.Json!["choices"]!.AsArray().FirstOrDefault()?["delta"]?["content"]?.GetValue<string>())
            .Where(text => !string.IsNullOrEmpty(text)).ToList();
        Assert.True(pieces.Count >= 2, $"{pieces.Count} chunks with content");
        Assert.Equal(answer, string.Concat(pieces));
    }

    [Fact]
    public async Task AnLlmAgentsStreamedAnswerArrivesAsSeveralArtifactUpdatesThroughA2A()
    {
        const string answer = "Streamed to an A2A client";
        var user = await fixture.CreateUserAsync();
        var agent = await LlmAgentTests.CreateLlmAgentAsync(user, fixture.Models.NewScript(new TextReply(answer)));
        using var timeout = new CancellationTokenSource(Timeout);

        using var stream = await EventStreamReader.OpenAsync(Client(user),
            new HttpRequestMessage(HttpMethod.Post, $"/a2a/{agent["id"]}")
            {
                Content = TestApi.RawJson(SendMessage("Hi").Replace("\"SendMessage\"", "\"SendStreamingMessage\"",
                    StringComparison.Ordinal)),
            },
            timeout.Token);
        var results = (await stream.ReadToEndAsync(timeout.Token)).Select(e => e.Json!["result"]!).ToList();

        var pieces = results.Where(r => r["artifactUpdate"] is not null)
            .Select(r => r["artifactUpdate"]!["artifact"]!["parts"]![0]!["text"]!.GetValue<string>()).ToList();
        Assert.True(pieces.Count >= 2, $"{pieces.Count} artifact updates");
        Assert.Equal(answer, string.Concat(pieces));
        Assert.Equal("TASK_STATE_COMPLETED", results[^1]["statusUpdate"]!["status"]!["state"]!.GetValue<string>());
    }

    private HttpClient Client(TestUser? user = null)
    {
        var client = fixture.CreateApiClient();
        client.Timeout = Timeout;
        if (user is not null)
        {
            client.DefaultRequestHeaders.Authorization = user.Client.DefaultRequestHeaders.Authorization;
        }

        return client;
    }

    private static async Task<string> KeyAsync(TestUser user, string[] scopes, JsonObject? onlyAgent = null) =>
        (await ApiKeyTests.CreateKeyAsync(user, scopes, onlyAgent is null ? null
            : [onlyAgent["id"]!.GetValue<int>()]))["key"]!.GetValue<string>();

    private static HttpRequestMessage Post(string path, string json, string bearer) =>
        new HttpRequestMessage(HttpMethod.Post, path) { Content = TestApi.RawJson(json) }.WithBearer(bearer);

    private static string SendMessage(string text) =>
        new JsonObject
        {
            ["jsonrpc"] = "2.0", ["id"] = 1, ["method"] = "SendMessage",
            ["params"] = new JsonObject
            {
                ["message"] = new JsonObject
                {
                    ["messageId"] = Guid.NewGuid().ToString(), ["role"] = "ROLE_USER",
                        ["parts"] = new JsonArray(new JsonObject { ["text"] = text }),
                },
            },
        }.ToJsonString();

    /// <summary>A SendMessageRequest as A2A's HTTP+JSON binding posts it (the JSON-RPC params on their own).</summary>
    private static string RestSendMessage(string text) => JsonNode.Parse(SendMessage(text))!["params"]!.ToJsonString();

    private static string Chat(JsonObject agent, string text) =>
        new JsonObject
        {
            ["model"] = $"agent-{agent["id"]}", ["stream"] = false,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = text }),
        }.ToJsonString();

    /// <summary>One tools/call on the stateless /mcp endpoint, over plain HTTP; the JSON-RPC result (a CallToolResult).</summary>
    private static async Task<JsonObject> McpToolAsync(HttpClient client, string bearer, string tool, JsonObject arguments,
        CancellationToken cancellationToken)
    {
        var call = new JsonObject
        {
            ["jsonrpc"] = "2.0", ["id"] = 7, ["method"] = "tools/call",
            ["params"] = new JsonObject { ["name"] = tool, ["arguments"] = arguments },
        };
        var request = new HttpRequestMessage(HttpMethod.Post, "/mcp") { Content = TestApi.RawJson(call.ToJsonString()) }.WithBearer(bearer);
        request.Headers.Accept.ParseAdd("application/json");
        request.Headers.Accept.ParseAdd("text/event-stream");
        request.Headers.Add("MCP-Protocol-Version", "2025-06-18");
        using var response = await client.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"HTTP {(int)response.StatusCode}: {body}");
        var json = response.Content.Headers.ContentType?.MediaType == "text/event-stream"
            ? body.Split('\n').Where(line => line.StartsWith("data:", StringComparison.Ordinal)).Select(line => line[5..].Trim()).Last()
            : body;
        var answer = JsonNode.Parse(json)!;
        return answer["result"]?.AsObject() ?? throw new Xunit.Sdk.XunitException($"No result for {tool}: {json}");
    }

    private static string ToolText(JsonObject result) =>
        string.Concat(result["content"]!.AsArray().Select(c => c!["text"]?.GetValue<string>()));
}
