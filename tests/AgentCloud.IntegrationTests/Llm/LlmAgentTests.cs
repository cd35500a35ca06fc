using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace AgentCloud.IntegrationTests;

/// <summary>Language-model agents against the scripted OpenAI-compatible server, through the real OpenAI SDK.</summary>
[Collection(AgentCloudCollection.Name)]
public sealed class LlmAgentTests(AgentCloudFixture fixture)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private ScriptedModelServer Models => fixture.Models;

    [Fact]
    public async Task AnLlmAgentAnswersWithTheModelsTextAndStoresItsSteps()
    {
        var script = Models.NewScript(new TextReply("Hello from the model"));
        var user = await fixture.CreateUserAsync();
        var agent = await CreateLlmAgentAsync(user, script, "You are terse.");

        var message = await SendAsync(user, agent, "Hi there");

        Assert.Equal("done", message["status"]!.GetValue<string>());
        Assert.Equal("Hello from the model", message["reply"]!.GetValue<string>());
        Assert.Equal(1, script.Count);
        var request = script.Request(0);
        Assert.Equal(ScriptedModelServer.Model, request["model"]!.GetValue<string>());
        Assert.True(request["stream"]!.GetValue<bool>());
        var sent = request["messages"]!.AsArray();
        Assert.Equal("system", sent[0]!["role"]!.GetValue<string>());
        Assert.Contains("You are terse.", Content(sent[0]));
        Assert.Equal("user", sent[^1]!["role"]!.GetValue<string>());
        Assert.Equal("Hi there", Content(sent[^1]));
        Assert.Equal("Bearer " + ScriptedModelServer.Key, script.Authorizations.Single());

        var steps = await GetJsonAsync(user, $"/agents/{agent["id"]}/messages/{message["id"]}/steps");
        var items = steps["items"]!.AsArray();
        Assert.Equal(["model_call", "answer"], items.Select(s => s!["kind"]!.GetValue<string>()));
        Assert.Equal(11, items[0]!["input_tokens"]!.GetValue<int>());
        Assert.Equal(7, items[0]!["output_tokens"]!.GetValue<int>());
        Assert.Equal("Hello from the model", items[1]!["data"]!["text"]!.GetValue<string>());
        Assert.Equal(7, steps["usage"]!["output_tokens"]!.GetValue<int>());

        var usage = await GetJsonAsync(user, $"/agents/{agent["id"]}/usage");
        Assert.Equal(1, usage["model_calls"]!.GetValue<int>());
        Assert.Equal(11, usage["input_tokens"]!.GetValue<int>());
        Assert.Equal(7, usage["output_tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task TheModelReceivesTheEarlierTurnsOfAConversation()
    {
        var script = Models.NewScript(new TextReply("first answer"), new TextReply("second answer"), new TextReply("third answer"));
        var user = await fixture.CreateUserAsync();
        var agent = await CreateLlmAgentAsync(user, script);

        var first = await SendAsync(user, agent, "one");
        var session = first["session"]!.GetValue<string>();
        var second = await SendAsync(user, agent, "two", session);
        var third = await SendAsync(user, agent, "three", session);
        var elsewhere = await SendAsync(user, agent, "a new conversation", script: null);

        Assert.Equal("third answer", third["reply"]!.GetValue<string>());
        Assert.Equal(session, second["session"]!.GetValue<string>());
        Assert.NotEqual(session, elsewhere["session"]!.GetValue<string>());
        var seen = script.Request(2)["messages"]!.AsArray().Select(m => (m!["role"]!.GetValue<string>(), Content(m))).ToList();
        Assert.Equal(
        [
            ("system", $"{script.Marker}"), ("user", "one"), ("assistant", "first answer"), ("user", "two"), ("assistant", "second answer"),
            ("user", "three"),
        ], seen);
        // A message without a session starts a conversation of its own: only the system prompt and itself.
        Assert.Equal(2, script.Request(3)["messages"]!.AsArray().Count);

        var conversations = await GetJsonAsync(user, $"/agents/{agent["id"]}/conversations?limit=1");
        Assert.Equal(elsewhere["session"]!.GetValue<string>(), conversations["items"]![0]!["session"]!.GetValue<string>());
        var next = await GetJsonAsync(user, $"/agents/{agent["id"]}/conversations?limit=1&cursor={conversations["next_cursor"]}");
        Assert.Equal(session, next["items"]![0]!["session"]!.GetValue<string>());
        Assert.Equal(3, next["items"]![0]!["messages"]!.GetValue<int>());
        var turns = (await GetJsonAsync(user, $"/agents/{agent["id"]}/conversations/{session}"))["turns"]!.AsArray();
        Assert.Equal(["one", "first answer", "two", "second answer", "three", "third answer"],
            turns.Select(t => t!["text"]!.GetValue<string>()));
    }

    [Fact]
    public async Task AToolCallsResultGoesBackToTheModelAndRememberedValuesAreRecalledInALaterConversation()
    {
        var script = Models.NewScript((n, body) => n switch
        {
            0 => new ToolCallsReply(("call_1", "remember", """{"key":"colour","value":"teal"}""")),
            1 => new TextReply("Noted."),
            2 => new ToolCallsReply(("call_1", "recall", """{"key":"colour"}""")),
            _ => new TextReply("Your colour is " + LastToolResult(body)),
        });
        var user = await fixture.CreateUserAsync();
        var agent = await CreateLlmAgentAsync(user, script, tools: ["remember", "recall"]);

        var remembered = await SendAsync(user, agent, "My colour is teal.");
        var recalled = await SendAsync(user, agent, "What is my colour?");

        Assert.Equal("Noted.", remembered["reply"]!.GetValue<string>());
        Assert.Equal("Your colour is teal", recalled["reply"]!.GetValue<string>());
        Assert.NotEqual(remembered["session"]!.GetValue<string>(), recalled["session"]!.GetValue<string>());
        var tools = script.Request(0)["tools"]!.AsArray().Select(t => t!["function"]!["name"]!.GetValue<string>()).Order();
        Assert.Equal(["recall", "remember"], tools);
        var fedBack = script.Request(1)["messages"]!.AsArray();
        Assert.Equal("call_1", fedBack[^2]!["tool_calls"]![0]!["id"]!.GetValue<string>());
        Assert.Equal("tool", fedBack[^1]!["role"]!.GetValue<string>());
        Assert.Equal("call_1", fedBack[^1]!["tool_call_id"]!.GetValue<string>());

        var steps = await GetJsonAsync(user, $"/agents/{agent["id"]}/messages/{remembered["id"]}/steps");
        Assert.Equal(["model_call", "tool_call", "tool_result", "model_call", "answer"],
            steps["items"]!.AsArray().Select(s => s!["kind"]!.GetValue<string>()));
        var memory = await GetJsonAsync(user, $"/agents/{agent["id"]}/memory");
        var entry = Assert.Single(memory["items"]!.AsArray());
        Assert.Equal("colour", entry!["key"]!.GetValue<string>());
        Assert.Equal("teal", entry["value"]!.GetValue<string>());
    }

    [Fact]
    public async Task AMalformedToolCallGoesBackToTheModelAsAToolError()
    {
        var script = Models.NewScript((n, body) => n switch
        {
            0 => new ToolCallsReply(("call_a", "remember", "{not json"), ("call_b", "no_such_tool", "{}"),
                ("call_c", "remember", """{"key": 5}""")),
            _ => new TextReply("Recovered"),
        });
        var user = await fixture.CreateUserAsync();
        var agent = await CreateLlmAgentAsync(user, script, tools: ["remember"]);

        var message = await SendAsync(user, agent, "go");

        Assert.Equal("done", message["status"]!.GetValue<string>());
        Assert.Equal("Recovered", message["reply"]!.GetValue<string>());
        var results = script.Request(1)["messages"]!.AsArray().Where(m => m!["role"]!.GetValue<string>() == "tool")
            .ToDictionary(m => m!["tool_call_id"]!.GetValue<string>(), m => Content(m));
        Assert.Contains("not a valid JSON", results["call_a"]);
        Assert.Contains("no tool 'no_such_tool'", results["call_b"]);
        Assert.Contains("'key' must be a string", results["call_c"]);
        var memory = await GetJsonAsync(user, $"/agents/{agent["id"]}/memory");
        Assert.Empty(memory["items"]!.AsArray());
    }

    [Fact]
    public async Task ATooManyRequestsWithRetryAfterIsRetriedAndThenSucceeds()
    {
        var script = Models.NewScript(
            new ErrorReply(429, "Slow down", new Dictionary<string, string> { ["Retry-After"] = "1" }),
            new TextReply("after the wait"));
        var user = await fixture.CreateUserAsync();
        var agent = await CreateLlmAgentAsync(user, script);

        var message = await SendAsync(user, agent, "hello");

        Assert.Equal("done", message["status"]!.GetValue<string>());
        Assert.Equal("after the wait", message["reply"]!.GetValue<string>());
        Assert.Equal(2, script.Count);
    }

    [Fact]
    public async Task ARefusedKeyMakesTheMessageDeadAtOnceWithoutRetries()
    {
        var script = Models.NewScript((_, _) => new ErrorReply(401, "Incorrect API key provided"));
        var user = await fixture.CreateUserAsync();
        var agent = await CreateLlmAgentAsync(user, script);

        var message = await SendAsync(user, agent, "hello");

        Assert.Equal("dead", message["status"]!.GetValue<string>());
        Assert.Equal(1, message["attempts"]!.GetValue<int>());
        Assert.Equal(1, script.Count);
        var error = message["error"]!.GetValue<string>();
        Assert.Contains("HTTP 401", error);
        Assert.Contains("Incorrect API key provided", error);
        Assert.DoesNotContain(ScriptedModelServer.Key, error);
        using var logs = await user.Client.GetAsync($"/agents/{agent["id"]}/logs");
        var text = await logs.Content.ReadAsStringAsync();
        Assert.Contains("HTTP 401", text);
        Assert.DoesNotContain(ScriptedModelServer.Key, text);
    }

    [Fact]
    public async Task AProviderThatKeepsFailingWithServerErrorsIsRetriedThenTheMessageIsDeadWithItsReason()
    {
        var script = Models.NewScript((_, _) => new ErrorReply(503, "The engine is overloaded"));
        var user = await fixture.CreateUserAsync();
        var agent = await CreateLlmAgentAsync(user, script);

        var message = await SendAsync(user, agent, "hello");

        Assert.Equal("dead", message["status"]!.GetValue<string>());
        Assert.Equal(AgentCloudFixture.MaxAttempts, message["attempts"]!.GetValue<int>());
        Assert.Contains("HTTP 503", message["error"]!.GetValue<string>());
        Assert.Contains("The engine is overloaded", message["error"]!.GetValue<string>());
        // Each attempt: the call and the SDK's one retry.
        Assert.Equal(AgentCloudFixture.MaxAttempts * 2, script.Count);
    }

    [Fact]
    public async Task ARunThatReachesItsModelCallLimitEndsWithAClearError()
    {
        var script = Models.NewScript((n, _) => new ToolCallsReply(($"call_{n}", "recall", "{}")));
        var user = await fixture.CreateUserAsync();
        var agent = await CreateLlmAgentAsync(user, script, tools: ["recall"]);

        var message = await SendAsync(user, agent, "loop for ever");

        Assert.Equal("dead", message["status"]!.GetValue<string>());
        Assert.Contains($"limit of {AgentCloudFixture.LlmMaxModelCalls} model calls", message["error"]!.GetValue<string>());
        Assert.Equal(AgentCloudFixture.LlmMaxModelCalls, script.Count);
    }

    [Fact]
    public async Task ARunThatReachesItsOutputTokenLimitEndsWithAClearError()
    {
        var script = Models.NewScript(new TextReply("long") { OutputTokens = 6000 });
        var user = await fixture.CreateUserAsync();
        var agent = await CreateLlmAgentAsync(user, script);

        var message = await SendAsync(user, agent, "write a novel");

        Assert.Equal("dead", message["status"]!.GetValue<string>());
        Assert.Contains("limit of 5000 output tokens", message["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task LlmConfigsAreValidatedOnCreateAndUpdate()
    {
        var user = await fixture.CreateUserAsync();
        async Task<string> ProblemAsync(object config)
        {
            using var response = await user.Client.PostAsJsonAsync("/agents", new { name = "bad", config });
            return Unescaped(await response.AssertProblemAsync(HttpStatusCode.BadRequest));
        }

        Assert.Contains("config.tools: 'teleport' is not a tool",
            await ProblemAsync(new { behavior = "llm", tools = new[] { "teleport" } }));
        Assert.Contains("config.model 'gpt-9' is not offered", await ProblemAsync(new { behavior = "llm", model = "gpt-9" }));
        Assert.Contains("config.temperature", await ProblemAsync(new { behavior = "llm", temperature = 3 }));
        Assert.Contains("config.max_output_tokens", await ProblemAsync(new { behavior = "llm", max_output_tokens = 0 }));
        Assert.Contains("config.instructions", await ProblemAsync(new { behavior = "llm", instructions = 5 }));
        Assert.Contains("'web.search' is not a tool", await ProblemAsync(new { behavior = "llm", tools = new[] { "web.search" } }));

        var agent = await user.CreateAgentAsync("ok", new { behavior = "llm", model = ScriptedModelServer.OtherModel,
            tools = new[] { "remember" } });
        using var update = await user.Client.PutAsJsonAsync($"/agents/{agent["id"]}",
            new { config = new { behavior = "llm", tools = new[] { "remember", "remember" } } });
        Assert.Contains("must not list a tool twice", Unescaped(await update.AssertProblemAsync(HttpStatusCode.BadRequest)));
    }

    [Fact]
    public async Task AnotherUsersConversationsStepsMemoryAndUsageAreNotFound()
    {
        var script = Models.NewScript(new TextReply("mine"));
        var owner = await fixture.CreateUserAsync();
        var agent = await CreateLlmAgentAsync(owner, script);
        var message = await SendAsync(owner, agent, "secret");
        var stranger = await fixture.CreateUserAsync();

        foreach (var path in new[]
        {
            $"/agents/{agent["id"]}/conversations", $"/agents/{agent["id"]}/conversations/{message["session"]}",
            $"/agents/{agent["id"]}/messages/{message["id"]}/steps", $"/agents/{agent["id"]}/memory", $"/agents/{agent["id"]}/usage",
        })
        {
            using var response = await stranger.Client.GetAsync(path);
            await response.AssertProblemAsync(HttpStatusCode.NotFound);
            using var own = await owner.Client.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        }
    }

    internal static async Task<JsonObject> CreateLlmAgentAsync(TestUser user, ScriptedModelServer.Script script,
        string? instructions = null,
        string[]? tools = null) =>
        await user.CreateAgentAsync("thinker", new
        {
            behavior = "llm",
            instructions = instructions is null ? script.Marker : $"{script.Marker} {instructions}",
            tools = tools ?? [],
        });

    internal static async Task<JsonObject> SendAsync(TestUser user, JsonObject agent, string text, string? session = null,
        object? script = null)
    {
        using var timeout = new CancellationTokenSource(Wait);
        using var response = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages?wait=30",
            session is null ? new { text } : (object)new { text, session }, timeout.Token);
        var message = await response.ReadJsonAsync();
        var deadline = DateTime.UtcNow + Wait;
        while (message["status"]!.GetValue<string>() is not ("done" or "dead") && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200, timeout.Token);
            message = await GetJsonAsync(user, $"/agents/{agent["id"]}/messages/{message["id"]}");
        }

        return message;
    }

    internal static async Task<JsonObject> GetJsonAsync(TestUser user, string path)
    {
        using var response = await user.Client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.ReadJsonAsync();
    }

    internal static string Content(JsonNode? message) =>
        message?["content"] switch
        {
            JsonValue value => value.GetValue<string>(),
            JsonArray parts => string.Concat(parts.Select(p => p?["text"]?.GetValue<string>())),
            _ => "",
        };

    private static string Unescaped(JsonObject problem) =>
        problem.ToJsonString(new System.Text.Json.JsonSerializerOptions
            { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    internal static string LastToolResult(JsonObject body) =>
        Content(body["messages"]!.AsArray().Last(m => m!["role"]!.GetValue<string>() == "tool"));
}
