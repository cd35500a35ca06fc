using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// /mcp under both revisions it answers, chosen per request: 2025-11-25 (initialize) and 2026-07-28
/// (stateless: server/discover, per-request _meta, Mcp-Method headers). Every tool, the log resources
/// and their error paths through the MCP C# SDK's client pinned to each revision; the wire rules of
/// 2026-07-28 and the OAuth protected-resource metadata over raw HTTP.
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed class McpRevisionTests(AgentCloudFixture fixture)
{
    private const string July2026 = "2026-07-28";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Theory]
    [InlineData("2025-11-25")]
    [InlineData(July2026)]
    public async Task EveryToolResourceAndErrorAnswersUnderTheRevision(string revision)
    {
        var user = await fixture.CreateUserAsync();
        var stranger = await fixture.CreateUserAsync();
        var echo = await user.CreateAgentAsync("echo", new { behavior = "echo" });
        var other = await user.CreateAgentAsync("other", new { behavior = "echo" });
        var theirs = await stranger.CreateAgentAsync(config: new { behavior = "echo" });
        var echoId = echo["id"]!.GetValue<int>();
        using var timeout = new CancellationTokenSource(Timeout);
        var ct = timeout.Token;
        await using var client = await ConnectAsync(user.Token, revision, ct);
        Assert.Equal(revision, client.NegotiatedProtocolVersion);

        var tools = await client.ListToolsAsync(cancellationToken: ct);
        Assert.Equal(["get_conversation", "get_message", "list_agents", "read_logs", "send_message"], tools.Select(t => t.Name).Order());
        Assert.All(tools, tool => Assert.NotNull(tool.ProtocolTool.OutputSchema));
        var listSchema = tools.Single(t => t.Name == "list_agents").ProtocolTool.OutputSchema!.Value;
        // 2026-07-28 takes any JSON Schema as output schema; older revisions need an object, so the SDK wraps.
        Assert.Equal(revision == July2026 ? "array" : "object", listSchema.GetProperty("type").GetString());

        var listed = await CallAsync(client, "list_agents", new(), ct);
        var agents = revision == July2026 ? listed : listed["result"]!;
        Assert.Equal([echoId, other["id"]!.GetValue<int>()], agents.AsArray().Select(a => a!["id"]!.GetValue<int>()).Order());

        var sent = await CallAsync(client, "send_message", new() { ["agent_id"] = echoId, ["text"] = $"hello over {revision}" }, ct);
        Assert.Equal("done", sent["status"]!.GetValue<string>());
        Assert.Equal($"hello over {revision}", sent["answer"]!.GetValue<string>());
        var second = await CallAsync(client, "send_message",
            new() { ["agent_id"] = echoId, ["text"] = "second turn", ["session"] = sent["session"]!.GetValue<string>() }, ct);
        Assert.Equal(sent["session"]!.GetValue<string>(), second["session"]!.GetValue<string>());
        var message = await CallAsync(client, "get_message",
            new() { ["agent_id"] = echoId, ["message_id"] = sent["message_id"]!.GetValue<string>() }, ct);
        Assert.Equal($"hello over {revision}", message["reply"]!.GetValue<string>());
        var conversation = await CallAsync(client, "get_conversation",
            new() { ["agent_id"] = echoId, ["session"] = sent["session"]!.GetValue<string>() }, ct);
        Assert.Equal([$"hello over {revision}", "second turn"],
            (revision == July2026 ? conversation : conversation["result"]!).AsArray().Select(m => m!["payload"]!.GetValue<string>()));
        var logs = await CallAsync(client, "read_logs", new() { ["agent_id"] = echoId }, ct);
        Assert.Contains((revision == July2026 ? logs : logs["result"]!).AsArray(),
            line => line!["message"]!.GetValue<string>().Contains(sent["message_id"]!.GetValue<string>(), StringComparison.Ordinal));

        var resources = await client.ListResourcesAsync(cancellationToken: ct);
        Assert.Equal(2, resources.Count);
        var read = await client.ReadResourceAsync($"agentcloud://agents/{echoId}/log", cancellationToken: ct);
        Assert.Contains("Received message", Assert.IsType<TextResourceContents>(read.Contents.Single()).Text, StringComparison.Ordinal);

        // Tool errors are results the model can read; protocol errors are JSON-RPC errors.
        Assert.Contains("not found", await ToolErrorAsync(client, "send_message",
            new() { ["agent_id"] = theirs["id"]!.GetValue<int>(), ["text"] = "x" }, ct));
        Assert.Contains("wait_seconds", await ToolErrorAsync(client, "send_message",
            new() { ["agent_id"] = echoId, ["text"] = "x", ["wait_seconds"] = 99 }, ct));
        Assert.Contains("session", await ToolErrorAsync(client, "send_message",
            new() { ["agent_id"] = echoId, ["text"] = "x", ["session"] = "nope" }, ct));
        Assert.Contains("not found", await ToolErrorAsync(client, "get_message",
            new() { ["agent_id"] = echoId, ["message_id"] = Guid.NewGuid().ToString() }, ct));
        Assert.Contains("limit", await ToolErrorAsync(client, "read_logs", new() { ["agent_id"] = echoId, ["limit"] = 0 }, ct));
        Assert.NotEmpty(await ToolErrorAsync(client, "get_conversation",
            new() { ["agent_id"] = "not a number", ["session"] = sent["session"]!.GetValue<string>() }, ct));
        await Assert.ThrowsAnyAsync<McpException>(() => client.CallToolAsync("no_such_tool", new Dictionary<string, object?>(),
            cancellationToken: ct).AsTask());
        var missing = await Assert.ThrowsAsync<McpProtocolException>(() =>
            client.ReadResourceAsync($"agentcloud://agents/{theirs["id"]}/log", cancellationToken: ct).AsTask());
        Assert.Equal(McpErrorCode.ResourceNotFound, missing.ErrorCode);

        // An API key keeps to its scopes and its agents under either revision.
        var reader = (await ApiKeyTests.CreateKeyAsync(user, ["agents:read"], [echoId]))["key"]!.GetValue<string>();
        await using var limited = await ConnectAsync(reader, revision, ct);
        var visible = await CallAsync(limited, "list_agents", new(), ct);
        Assert.Equal([echoId], (revision == July2026 ? visible : visible["result"]!).AsArray().Select(a => a!["id"]!.GetValue<int>()));
        Assert.Contains("messages:send", await ToolErrorAsync(limited, "send_message", new() { ["agent_id"] = echoId, ["text"] = "x" },
            ct));
        Assert.Contains("not found", await ToolErrorAsync(limited, "read_logs", new() { ["agent_id"] = other["id"]!.GetValue<int>() }, ct));
        Assert.Single(await limited.ListResourcesAsync(cancellationToken: ct));
        using var history = await user.Client.GetAsync($"/agents/{echoId}/messages", ct);
        Assert.Equal(2, (await history.ReadJsonAsync())["items"]!.AsArray().Count);
    }

    [Fact]
    public async Task The2026RevisionIsStatelessAndItsWireRulesAreEnforced()
    {
        var user = await fixture.CreateUserAsync();
        var echo = await user.CreateAgentAsync(config: new { behavior = "echo" });
        using var timeout = new CancellationTokenSource(Timeout);
        var ct = timeout.Token;
        var meta = new JsonObject
        {
            ["io.modelcontextprotocol/protocolVersion"] = July2026,
            ["io.modelcontextprotocol/clientCapabilities"] = new JsonObject(),
            ["io.modelcontextprotocol/clientInfo"] = new JsonObject { ["name"] = "raw", ["version"] = "1" },
        };

        var (discover, discoverStatus, discoverHeaders) = await PostAsync(user.Token, July2026, "server/discover",
            new JsonObject { ["_meta"] = meta.DeepClone() }, ct);
        Assert.Equal(HttpStatusCode.OK, discoverStatus);
        Assert.Contains(July2026, discover["result"]!["supportedVersions"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.NotNull(discover["result"]!["capabilities"]!["tools"]);
        Assert.False(discoverHeaders.Contains("Mcp-Session-Id"));

        var call = new JsonObject { ["name"] = "send_message",
            ["arguments"] = new JsonObject { ["agent_id"] = echo["id"]!.GetValue<int>(), ["text"] = "raw" } };
        var (sent, sentStatus, _) = await PostAsync(user.Token, July2026, "tools/call", With(call, meta), ct, name: "send_message");
        Assert.Equal(HttpStatusCode.OK, sentStatus);
        Assert.Equal("raw", sent["result"]!["structuredContent"]!["answer"]!.GetValue<string>());

        var (noMeta, noMetaStatus, _) = await PostAsync(user.Token, July2026, "tools/call", call.DeepClone().AsObject(), ct,
            name: "send_message");
        Assert.Equal(HttpStatusCode.BadRequest, noMetaStatus);
        Assert.Equal(-32602, noMeta["error"]!["code"]!.GetValue<int>());
        var (mismatch, mismatchStatus, _) = await PostAsync(user.Token, July2026, "tools/call", With(call, meta), ct, name: "send_message",
            methodHeader: "tools/list");
        Assert.Equal(HttpStatusCode.BadRequest, mismatchStatus);
        Assert.Equal(-32020, mismatch["error"]!["code"]!.GetValue<int>());
        var (wrongName, wrongNameStatus, _) = await PostAsync(user.Token, July2026, "tools/call", With(call, meta), ct, name: "read_logs");
        Assert.Equal(HttpStatusCode.BadRequest, wrongNameStatus);
        Assert.Equal(-32020, wrongName["error"]!["code"]!.GetValue<int>());
        var (initialize, initializeStatus, _) = await PostAsync(user.Token, July2026, "initialize", With(Initialize(July2026), meta), ct);
        Assert.Equal(HttpStatusCode.NotFound, initializeStatus);
        Assert.Equal(-32601, initialize["error"]!["code"]!.GetValue<int>());
        var (future, futureStatus, _) = await PostAsync(user.Token, "2099-01-01", "server/discover",
            new JsonObject { ["_meta"] = meta.DeepClone() }, ct);
        Assert.Equal(HttpStatusCode.BadRequest, futureStatus);
        Assert.Equal(-32022, future["error"]!["code"]!.GetValue<int>());
        Assert.Contains(July2026, future["error"]!["data"]!["supported"]!.AsArray().Select(v => v!.GetValue<string>()));

        // The older revision on the same endpoint: initialize, answered without a session (the server may choose not to have one).
        var (older, olderStatus, olderHeaders) = await PostAsync(user.Token, null, "initialize", Initialize("2025-11-25"), ct);
        Assert.Equal(HttpStatusCode.OK, olderStatus);
        Assert.Equal("2025-11-25", older["result"]!["protocolVersion"]!.GetValue<string>());
        Assert.False(olderHeaders.Contains("Mcp-Session-Id"));
        using var history = await user.Client.GetAsync($"/agents/{echo["id"]}/messages", ct);
        Assert.Single((await history.ReadJsonAsync())["items"]!.AsArray());
    }

    [Fact]
    public async Task A401FromMcpPointsToTheProtectedResourceMetadataNamingOurIssuer()
    {
        using var client = fixture.CreateApiClient();
        var origin = client.BaseAddress!.ToString().TrimEnd('/');

        using var anonymous = await client.PostAsync("/mcp", TestApi.RawJson(Initialize("2025-11-25").ToJsonString()));
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        var challenge = anonymous.Headers.WwwAuthenticate.Single();
        Assert.Equal("Bearer", challenge.Scheme);
        Assert.Equal($"resource_metadata=\"{origin}/.well-known/oauth-protected-resource/mcp\"", challenge.Parameter);
        var forged = new HttpRequestMessage(HttpMethod.Post, "/mcp") { Content = TestApi.RawJson("{}") }
            .WithBearer(TestApi.ForgeToken("not-the-secret-0123456789abcdefghijklmnop"));
        using var refused = await client.SendAsync(forged);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("error=\"invalid_token\"", refused.Headers.WwwAuthenticate.Single().Parameter, StringComparison.Ordinal);
        Assert.Contains("resource_metadata=", refused.Headers.WwwAuthenticate.Single().Parameter, StringComparison.Ordinal);
        using var elsewhere = await client.GetAsync("/users/me");
        Assert.DoesNotContain("resource_metadata", elsewhere.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);

        using var forMcp = await client.GetAsync("/.well-known/oauth-protected-resource/mcp");
        var metadata = await forMcp.ReadJsonAsync();
        Assert.Equal($"{origin}/mcp", metadata["resource"]!.GetValue<string>());
        Assert.Equal([origin], metadata["authorization_servers"]!.AsArray().Select(s => s!.GetValue<string>()));
        Assert.Equal(["header"], metadata["bearer_methods_supported"]!.AsArray().Select(s => s!.GetValue<string>()));
        Assert.Contains("messages:send", metadata["scopes_supported"]!.AsArray().Select(s => s!.GetValue<string>()));
        using var forOrigin = await client.GetAsync("/.well-known/oauth-protected-resource");
        Assert.Equal(origin, (await forOrigin.ReadJsonAsync())["resource"]!.GetValue<string>());
    }

    private async Task<McpClient> ConnectAsync(string bearer, string revision, CancellationToken ct)
    {
        var transport = new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(fixture.CreateApiClient().BaseAddress!, "/mcp"),
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = $"Bearer {bearer}" },
        });
        return await McpClient.CreateAsync(transport, new McpClientOptions { ProtocolVersion = revision }, cancellationToken: ct);
    }

    /// <summary>A tool's structured content (as the revision shapes it), after checking that its text says the same.</summary>
    private static async Task<JsonNode> CallAsync(McpClient client, string tool, Dictionary<string, object?> arguments,
        CancellationToken ct)
    {
        var result = await client.CallToolAsync(tool, arguments, cancellationToken: ct);
        var text = string.Concat(result.Content.OfType<TextContentBlock>().Select(c => c.Text));
        Assert.True(result.IsError != true, $"{tool} failed: {text}");
        var structured = JsonNode.Parse(result.StructuredContent!.Value.GetRawText())!;
        var plain = JsonNode.Parse(text)!;
        Assert.True(JsonNode.DeepEquals(plain, structured) || JsonNode.DeepEquals(plain, structured["result"]),
            $"{tool}: {text} vs {structured}");
        return structured;
    }

    private static async Task<string> ToolErrorAsync(McpClient client, string tool, Dictionary<string, object?> arguments,
        CancellationToken ct)
    {
        var result = await client.CallToolAsync(tool, arguments, cancellationToken: ct);
        var text = string.Concat(result.Content.OfType<TextContentBlock>().Select(c => c.Text));
        Assert.True(result.IsError == true, $"{tool} should have failed: {text}");
        return text;
    }

    private static JsonObject Initialize(string revision) => new()
    {
        ["protocolVersion"] = revision,
        ["capabilities"] = new JsonObject(),
        ["clientInfo"] = new JsonObject { ["name"] = "raw", ["version"] = "1" },
    };

    private static JsonObject With(JsonObject parameters, JsonObject meta)
    {
        var copy = parameters.DeepClone().AsObject();
        copy["_meta"] = meta.DeepClone();
        return copy;
    }

    /// <summary>One JSON-RPC request to /mcp over plain HTTP with the revision's headers; the answer (from JSON or the SSE
    /// stream).</summary>
    private async Task<(JsonNode Answer, HttpStatusCode Status, HttpResponseHeaders Headers)>
        PostAsync(string bearer, string? revision, string method,
        JsonObject parameters, CancellationToken ct, string? name = null, string? methodHeader = null)
    {
        var body = new JsonObject { ["jsonrpc"] = "2.0", ["id"] = 1, ["method"] = method, ["params"] = parameters };
        var request = new HttpRequestMessage(HttpMethod.Post, "/mcp") { Content = TestApi.RawJson(body.ToJsonString()) }.WithBearer(bearer);
        request.Headers.Accept.ParseAdd("application/json");
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (revision is not null)
        {
            request.Headers.Add("MCP-Protocol-Version", revision);
            request.Headers.Add("Mcp-Method", methodHeader ?? method);
        }

        if (name is not null)
        {
            request.Headers.Add("Mcp-Name", name);
        }

        using var client = fixture.CreateApiClient();
        using var response = await client.SendAsync(request, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        var json = response.Content.Headers.ContentType?.MediaType == "text/event-stream"
            ? text.Split('\n').Where(line => line.StartsWith("data:", StringComparison.Ordinal)).Select(line => line[5..].Trim()).Last()
            : text;
        return (JsonNode.Parse(json)!, response.StatusCode, response.Headers);
    }
}
