using System.ClientModel;
using System.Net.Http.Json;
using OpenAI;
using OpenAI.Chat;

namespace AgentCloud.IntegrationTests;

/// <summary>Every door, each driven by a reference client nobody here wrote (npm packages run by Node, and the OpenAI .NET SDK).</summary>
[Collection(AgentCloudCollection.Name)]
public sealed class DoorClientTests(AgentCloudFixture fixture)
{
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromMinutes(2);

    [Theory]
    [InlineData("JSONRPC")]
    [InlineData("HTTP+JSON")]
    public async Task TheOfficialA2AJavaScriptClientDiscoversSendsStreamsGetsListsSubscribesAndCancels(string transport)
    {
        var user = await fixture.CreateUserAsync();
        var echo = await user.CreateAgentAsync(config: new { behavior = "stream", delay_ms = 10, description = "Says it back" });
        var slow = await user.CreateAgentAsync(config: new { behavior = "echo" });
        await fixture.HoldHeadOfLineAsync(slow);

        var environment = Environment(user, ("AGENT_ID", echo), ("SLOW_AGENT_ID", slow));
        environment["TRANSPORT"] = transport;
        var summary = await NodeClients.RunAsync("a2a.mjs", environment, ScriptTimeout);

        Assert.True(summary["ok"]!.GetValue<bool>());
        Assert.Equal(transport, summary["transport"]!.GetValue<string>());
        Assert.Equal(echo["name"]!.GetValue<string>(), summary["card"]!.GetValue<string>());
        Assert.True(summary["streamedEvents"]!.GetValue<int>() >= 4, "task, working, the deltas, the final status");
    }

    [Fact]
    public async Task TheOfficialMcpClientListsToolsAndTalksToAnAgent()
    {
        var user = await fixture.CreateUserAsync();
        var stranger = await fixture.CreateUserAsync();
        var echo = await user.CreateAgentAsync(config: new { behavior = "echo" });
        var theirs = await stranger.CreateAgentAsync(config: new { behavior = "echo" });

        var summary = await NodeClients.RunAsync("mcp.mjs", Environment(user, ("AGENT_ID", echo), ("OTHER_AGENT_ID", theirs)),
            ScriptTimeout);

        Assert.True(summary["ok"]!.GetValue<bool>());
        Assert.Equal(1, summary["resources"]!.GetValue<int>());
    }

    [Fact]
    public async Task TheMcpEndpointNeedsAValidToken()
    {
        var initialize = """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""";
        using var anonymous = await fixture.CreateApiClient().PostAsync("/mcp", TestApi.RawJson(initialize));
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);

        var forged = new HttpRequestMessage(HttpMethod.Post, "/mcp") { Content = TestApi.RawJson(initialize) }
            .WithBearer(TestApi.ForgeToken("not-the-secret-0123456789abcdefghijklmnop"));
        using var wrongKey = await fixture.CreateApiClient().SendAsync(forged);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongKey.StatusCode);
    }

    [Fact]
    public async Task TheOfficialOpenAIJavaScriptClientChatsStreamsAndGetsOpenAIErrors()
    {
        var user = await fixture.CreateUserAsync();
        var stranger = await fixture.CreateUserAsync();
        var echo = await user.CreateAgentAsync(config: new { behavior = "stream", delay_ms = 10 });
        var theirs = await stranger.CreateAgentAsync(config: new { behavior = "echo" });

        var summary = await NodeClients.RunAsync("openai.mjs", Environment(user, ("AGENT_ID", echo), ("OTHER_AGENT_ID", theirs)),
            ScriptTimeout);

        Assert.True(summary["ok"]!.GetValue<bool>());
        Assert.True(summary["chunks"]!.GetValue<int>() >= 4, "role, two words, finish, usage");
    }

    [Fact]
    public async Task TheOpenAIJavaScriptClientRetryingATimeoutStoresOneMessageAndPaysOneModelCall()
    {
        // The client gives up after 1.5 s and retries, as it does by default; the model takes 4 s. Every retry must find the
        // message the first attempt stored and wait on it; the same request sent again afterwards is a call of its own.
        var script = fixture.Models.NewScript(new TextReply("paid once") { Delay = TimeSpan.FromSeconds(4) },
            new TextReply("asked again"));
        var user = await fixture.CreateUserAsync();
        var agent = await LlmAgentTests.CreateLlmAgentAsync(user, script);

        var summary = await NodeClients.RunAsync("openai-retry.mjs", Environment(user, ("AGENT_ID", agent)), ScriptTimeout);

        Assert.Equal("paid once", summary["first"]!.GetValue<string>());
        Assert.Equal("asked again", summary["second"]!.GetValue<string>());
        Assert.NotEqual(summary["firstId"]!.GetValue<string>(), summary["secondId"]!.GetValue<string>());
        Assert.Equal(2, script.Count);
        using var listed = await user.Client.GetAsync($"/agents/{agent["id"]}/messages?direction=inbound");
        Assert.Equal(2, (await listed.ReadJsonAsync())["items"]!.AsArray().Count);
        using var usage = await user.Client.GetAsync($"/agents/{agent["id"]}/usage");
        Assert.Equal(2, (await usage.ReadJsonAsync())["model_calls"]!.GetValue<int>());
    }

    [Fact]
    public async Task TheOpenAIDotNetSdkChatsWithAnAgentStreamingAndNot()
    {
        var user = await fixture.CreateUserAsync();
        var echo = await user.CreateAgentAsync(config: new { behavior = "stream", delay_ms = 10 });
        var chat = new ChatClient($"agent-{echo["id"]}", new ApiKeyCredential(user.Token),
            new OpenAIClientOptions { Endpoint = new Uri(BaseUrl() + "/v1") });

        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("hello from .NET")]);
        Assert.Equal("hello from .NET", completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);

        var text = "";
        var updates = 0;
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("streamed from .NET")]))
        {
            updates++;
            text += string.Concat(update.ContentUpdate.Select(part => part.Text));
        }

        Assert.Equal("streamed from .NET", text);
        Assert.True(updates >= 3);

        var stranger = new ChatClient("agent-999999999", new ApiKeyCredential(user.Token),
            new OpenAIClientOptions { Endpoint = new Uri(BaseUrl() + "/v1") });
        var error = await Assert.ThrowsAsync<ClientResultException>(() => stranger.CompleteChatAsync([new UserChatMessage("x")]));
        Assert.Equal(404, error.Status);
    }

    [Fact]
    public async Task OpenAIErrorsHaveOpenAIsShapeAndChangeNothing()
    {
        var user = await fixture.CreateUserAsync();
        var stranger = await fixture.CreateUserAsync();
        var echo = await user.CreateAgentAsync(config: new { behavior = "echo" });
        var theirs = await stranger.CreateAgentAsync(config: new { behavior = "echo" });

        using var anonymous = await fixture.CreateApiClient().GetAsync("/v1/models");
        await AssertOpenAIErrorAsync(anonymous, HttpStatusCode.Unauthorized, "invalid_request_error");
        using var notJson = await user.Client.PostAsync("/v1/chat/completions", TestApi.RawJson("{not json"));
        await AssertOpenAIErrorAsync(notJson, HttpStatusCode.BadRequest, "invalid_request_error");
        using var twoChoices = await user.Client.PostAsJsonAsync("/v1/chat/completions",
            new { model = $"agent-{echo["id"]}", n = 2, messages = new[] { new { role = "user", content = "x" } } });
        Assert.Equal("n", (await AssertOpenAIErrorAsync(twoChoices, HttpStatusCode.BadRequest,
            "invalid_request_error"))["param"]!.GetValue<string>());
        using var lastIsNotUser = await user.Client.PostAsJsonAsync("/v1/chat/completions",
            new { model = $"agent-{echo["id"]}", messages = new[] { new { role = "assistant", content = "x" } } });
        await AssertOpenAIErrorAsync(lastIsNotUser, HttpStatusCode.BadRequest, "invalid_request_error");
        using var theirModel = await user.Client.PostAsJsonAsync("/v1/chat/completions",
            new { model = $"agent-{theirs["id"]}", messages = new[] { new { role = "user", content = "x" } } });
        Assert.Equal("model_not_found", (await AssertOpenAIErrorAsync(theirModel, HttpStatusCode.NotFound,
            "invalid_request_error"))["code"]!.GetValue<string>());

        using var models = await user.Client.GetAsync("/v1/models");
        var ids = (await models.ReadJsonAsync())["data"]!.AsArray().Select(m => m!["id"]!.GetValue<string>()).ToList();
        Assert.Equal([$"agent-{echo["id"]}"], ids);
        using var history = await user.Client.GetAsync($"/agents/{echo["id"]}/messages");
        Assert.Empty((await history.ReadJsonAsync())["items"]!.AsArray());
    }

    [Fact]
    public async Task TheSessionHeaderKeepsAnOpenAIConversationTogether()
    {
        var user = await fixture.CreateUserAsync();
        var echo = await user.CreateAgentAsync(config: new { behavior = "echo" });
        var session = Guid.NewGuid();
        foreach (var text in new[] { "first", "second" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
            {
                Content = JsonContent.Create(new { model = $"agent-{echo["id"]}",
                    messages = new[] { new { role = "user", content = text } } }),
            };
            request.Headers.Add("X-Session-Id", session.ToString());
            using var response = await user.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(session.ToString(), response.Headers.GetValues("X-Session-Id").Single());
        }

        using var history = await user.Client.GetAsync($"/agents/{echo["id"]}/messages");
        var items = (await history.ReadJsonAsync())["items"]!.AsArray();
        Assert.Equal(2, items.Count);
        Assert.All(items, item => Assert.Equal(session.ToString(), item!["session"]!.GetValue<string>()));
    }

    private static async Task<System.Text.Json.Nodes.JsonObject>
        AssertOpenAIErrorAsync(HttpResponseMessage response, HttpStatusCode status, string type)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"Expected {(int)status}, got {(int)response.StatusCode}: {body}");
        var error = System.Text.Json.Nodes.JsonNode.Parse(body)!["error"]!.AsObject();
        Assert.Equal(type, error["type"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(error["message"]!.GetValue<string>()));
        Assert.True(error.ContainsKey("param") && error.ContainsKey("code"));
        return error;
    }

    private Dictionary<string, string> Environment(TestUser user, params (string Name, System.Text.Json.Nodes.JsonObject Agent)[] agents)
    {
        var environment = new Dictionary<string, string> { ["BASE_URL"] = BaseUrl(), ["TOKEN"] = user.Token };
        foreach (var (name, agent) in agents)
        {
            environment[name] = agent["id"]!.ToString();
        }

        return environment;
    }

    private string BaseUrl() => fixture.CreateApiClient().BaseAddress!.ToString().TrimEnd('/');
}
