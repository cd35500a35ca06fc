using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// The A2A door over raw HTTP: agent cards, JSON-RPC errors and batches, 0.3 names, other users' agents, the HTTP+JSON binding's
/// errors, A2A-Version.
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed class A2ATests(AgentCloudFixture fixture)
{
    [Fact]
    public async Task APrivateAgentsCardNeedsItsOwnersToken()
    {
        var owner = await fixture.CreateUserAsync();
        var stranger = await fixture.CreateUserAsync();
        var agent = await owner.CreateAgentAsync(config: new { behavior = "echo", description = "Repeats what it hears" });
        var path = $"/a2a/{agent["id"]}/.well-known/agent-card.json";

        using var anonymous = await fixture.CreateApiClient().GetAsync(path);
        await anonymous.AssertProblemAsync(HttpStatusCode.Unauthorized);
        using var theirs = await stranger.Client.GetAsync(path);
        await theirs.AssertProblemAsync(HttpStatusCode.NotFound);
        using var mine = await owner.Client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, mine.StatusCode);
        var card = await mine.ReadJsonAsync();

        Assert.Equal(agent["name"]!.GetValue<string>(), card["name"]!.GetValue<string>());
        Assert.Equal("Repeats what it hears", card["description"]!.GetValue<string>());
        var face = card["supportedInterfaces"]![0]!;
        Assert.Equal("JSONRPC", face["protocolBinding"]!.GetValue<string>());
        Assert.Equal("1.0", face["protocolVersion"]!.GetValue<string>());
        Assert.EndsWith($"/a2a/{agent["id"]}", face["url"]!.GetValue<string>());
        Assert.True(card["capabilities"]!["streaming"]!.GetValue<bool>());
        Assert.Equal("Bearer", card["securitySchemes"]!["bearer"]!["httpAuthSecurityScheme"]!["scheme"]!.GetValue<string>());
        Assert.NotEmpty(card["skills"]!.AsArray());
    }

    [Fact]
    public async Task APublicAgentsCardIsOpenToAnyone()
    {
        var owner = await fixture.CreateUserAsync();
        var agent = await owner.CreateAgentAsync(config: new { behavior = "echo", @public = true });

        using var anonymous = await fixture.CreateApiClient().GetAsync($"/a2a/{agent["id"]}/.well-known/agent-card.json");

        Assert.Equal(HttpStatusCode.OK, anonymous.StatusCode);
        Assert.Equal(agent["name"]!.GetValue<string>(), (await anonymous.ReadJsonAsync())["name"]!.GetValue<string>());
        using var rpc = await fixture.CreateApiClient().PostAsync($"/a2a/{agent["id"]}",
            TestApi.RawJson("""{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"x"}}"""));
        Assert.Equal(HttpStatusCode.Unauthorized, rpc.StatusCode);
    }

    [Fact]
    public async Task BadJsonRpcGetsTheRightJsonRpcErrors()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync(config: new { behavior = "echo" });
        var path = $"/a2a/{agent["id"]}";

        Assert.Equal(-32700, await ErrorCodeAsync(user, path, "{not json"));
        Assert.Equal(-32600, await ErrorCodeAsync(user, path, """{"jsonrpc":"2.0","id":1}"""));
        Assert.Equal(-32600, await ErrorCodeAsync(user, path, """{"jsonrpc":"1.0","id":1,"method":"GetTask"}"""));
        Assert.Equal(-32600, await ErrorCodeAsync(user, path, "42"));
        Assert.Equal(-32600, await ErrorCodeAsync(user, path, "[]"));
        Assert.Equal(-32601, await ErrorCodeAsync(user, path, """{"jsonrpc":"2.0","id":1,"method":"tasks/explode"}"""));
        Assert.Equal(-32602, await ErrorCodeAsync(user, path, """{"jsonrpc":"2.0","id":1,"method":"GetTask","params":[1]}"""));
        Assert.Equal(-32602, await ErrorCodeAsync(user, path,
            """{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":5}}"""));
        Assert.Equal(-32602, await ErrorCodeAsync(user, path,
            """{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"role":"ROLE_USER","parts":[]}}}"""));
        Assert.Equal(-32602, await ErrorCodeAsync(user, path, """{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{}}"""));
        Assert.Equal(-32602, await ErrorCodeAsync(user, path, """{"jsonrpc":"2.0","id":1,"method":"ListTasks","params":{"pageSize":0}}"""));
        Assert.Equal(-32001, await ErrorCodeAsync(user, path, Fill("""{"jsonrpc":"2.0","id":"a","method":"GetTask","params":{"id":"@0"}}""",
            Guid.NewGuid())));
        Assert.Equal(-32001, await ErrorCodeAsync(user, path,
            """{"jsonrpc":"2.0","id":"a","method":"tasks/get","params":{"id":"not-a-uuid"}}"""));

        var done = await SendAsync(user, path, "hello");
        Assert.Equal("TASK_STATE_COMPLETED", done["status"]!["state"]!.GetValue<string>());
        Assert.Equal(-32002, await ErrorCodeAsync(user, path, Fill(
            """{"jsonrpc":"2.0","id":2,"method":"CancelTask","params":{"id":"@0"}}""", done["id"])));
        Assert.Equal(-32004, await ErrorCodeAsync(user, path, Fill(
            """{"jsonrpc":"2.0","id":3,"method":"SubscribeToTask","params":{"id":"@0"}}""", done["id"])));
        Assert.Equal(-32004, await ErrorCodeAsync(user, path,
            """{"jsonrpc":"2.0","id":4,"method":"SendMessage","params":{"message":{"role":"ROLE_USER","taskId":"t","parts":[{"text":"x"}]}}}"""));
    }

    [Fact]
    public async Task ABatchIsAnsweredPerRequestAndNotificationsGetNoAnswer()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync(config: new { behavior = "echo" });
        var done = await SendAsync(user, $"/a2a/{agent["id"]}", "batched");

        using var response = await user.Client.PostAsync($"/a2a/{agent["id"]}", TestApi.RawJson(Fill("""
            [
              {"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"@0"}},
              {"jsonrpc":"2.0","method":"GetTask","params":{"id":"@1"}},
              {"jsonrpc":"2.0","id":2,"method":"nope"},
              5,
              {"jsonrpc":"2.0","id":3,"method":"SendStreamingMessage","params":{"message":{"role":"ROLE_USER","parts":[{"text":"x"}]}}}
            ]
            """, done["id"], done["id"])));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answers = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsArray();

        Assert.Equal(4, answers.Count);
        Assert.Equal(1, answers[0]!["id"]!.GetValue<int>());
        Assert.Equal(done["id"]!.GetValue<string>(), answers[0]!["result"]!["id"]!.GetValue<string>());
        Assert.Equal(-32601, answers[1]!["error"]!["code"]!.GetValue<int>());
        Assert.Equal(-32600, answers[2]!["error"]!["code"]!.GetValue<int>());
        Assert.Null(answers[2]!["id"]);
        Assert.Equal(-32004, answers[3]!["error"]!["code"]!.GetValue<int>());

        using var onlyNotifications = await user.Client.PostAsync($"/a2a/{agent["id"]}",
            TestApi.RawJson(Fill("""[{"jsonrpc":"2.0","method":"GetTask","params":{"id":"@0"}}]""", done["id"])));
        Assert.Equal(HttpStatusCode.NoContent, onlyNotifications.StatusCode);
    }

    [Fact]
    public async Task TheOldMethodNamesAreAliasesThatAnswerIn03Shapes()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync(config: new { behavior = "stream", delay_ms = 10 });
        var path = $"/a2a/{agent["id"]}";

        using var legacy = await user.Client.PostAsync(path, TestApi.RawJson(
            """{"jsonrpc":"2.0","id":7,"method":"message/send","params":{"message":{"kind":"message","messageId":"m1","role":"user","parts":[{"kind":"text","text":"old client"}]},"configuration":{"blocking":true}}}"""));
        var task = (await legacy.ReadJsonAsync())["result"]!;
        Assert.Equal("task", task["kind"]!.GetValue<string>());
        Assert.Equal("completed", task["status"]!["state"]!.GetValue<string>());
        Assert.Equal("agent", task["status"]!["message"]!["role"]!.GetValue<string>());
        Assert.Equal("text", task["artifacts"]![0]!["parts"]![0]!["kind"]!.GetValue<string>());
        Assert.Equal("old client", task["artifacts"]![0]!["parts"]![0]!["text"]!.GetValue<string>());

        using var got = await user.Client.PostAsync(path, TestApi.RawJson(
            Fill("""{"jsonrpc":"2.0","id":8,"method":"tasks/get","params":{"id":"@0"}}""", task["id"])));
        Assert.Equal("completed", (await got.ReadJsonAsync())["result"]!["status"]!["state"]!.GetValue<string>());

        var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new StringContent(
                Fill("""{"jsonrpc":"2.0","id":"s","method":"message/stream","params":{"message":{"kind":"message","messageId":"m2","contextId":"@0","role":"user","parts":[{"kind":"text","text":"two words"}]}}}""", task["contextId"]),
                Encoding.UTF8, "application/json"),
        };
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var stream = await EventStreamReader.OpenAsync(user.Client, request, timeout.Token);
        var events = (await stream.ReadToEndAsync(timeout.Token)).Select(e => e.Json!).ToList();

        Assert.All(events, e => Assert.Equal("s", e["id"]!.GetValue<string>()));
        var results = events.Select(e => e["result"]!).ToList();
        Assert.Equal("task", results[0]["kind"]!.GetValue<string>());
        Assert.Equal("submitted", results[0]["status"]!["state"]!.GetValue<string>());
        Assert.Equal(task["contextId"]!.GetValue<string>(), results[0]["contextId"]!.GetValue<string>());
        Assert.Equal("two words", string.Concat(results.Where(r => r["kind"]!.GetValue<string>() == "artifact-update")
            .Select(r => r["artifact"]!["parts"]![0]!["text"]!.GetValue<string>())));
        Assert.Equal("status-update", results[^1]["kind"]!.GetValue<string>());
        Assert.True(results[^1]["final"]!.GetValue<bool>());
        Assert.Equal("completed", results[^1]["status"]!["state"]!.GetValue<string>());
        Assert.All(results[..^1].Where(r => r["kind"]!.GetValue<string>() == "status-update"),
            r => Assert.False(r["final"]!.GetValue<bool>()));
    }

    [Fact]
    public async Task SendStreamingMessageSpeaksServerSentEventsOfJsonRpcResponses()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync(config: new { behavior = "echo" });
        var request = new HttpRequestMessage(HttpMethod.Post, $"/a2a/{agent["id"]}")
        {
            Content = new StringContent(
                """{"jsonrpc":"2.0","id":9,"method":"SendStreamingMessage","params":{"message":{"messageId":"m3","role":"ROLE_USER","parts":[{"data":{"n":1}}]}}}""",
                Encoding.UTF8, "application/json"),
        };
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var stream = await EventStreamReader.OpenAsync(user.Client, request, timeout.Token);
        var results = (await stream.ReadToEndAsync(timeout.Token)).Select(e => e.Json!["result"]!).ToList();

        Assert.Equal("TASK_STATE_SUBMITTED", results[0]["task"]!["status"]!["state"]!.GetValue<string>());
        Assert.Equal(1, results[^2]["artifactUpdate"]!["artifact"]!["parts"]![0]!["data"]!["n"]!.GetValue<int>());
        Assert.Equal("TASK_STATE_COMPLETED", results[^1]["statusUpdate"]!["status"]!["state"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnotherUsersAgentIsNotFoundAndSoAreItsTasks()
    {
        var owner = await fixture.CreateUserAsync();
        var stranger = await fixture.CreateUserAsync();
        var agent = await owner.CreateAgentAsync(config: new { behavior = "echo" });
        var strangersAgent = await stranger.CreateAgentAsync(config: new { behavior = "echo" });
        var task = await SendAsync(owner, $"/a2a/{agent["id"]}", "private");

        using var rpc = await stranger.Client.PostAsync($"/a2a/{agent["id"]}",
            TestApi.RawJson(Fill("""{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"@0"}}""", task["id"])));
        await rpc.AssertProblemAsync(HttpStatusCode.NotFound);
        // Through their own agent, the owner's task is simply not there.
        Assert.Equal(-32001, await ErrorCodeAsync(stranger, $"/a2a/{strangersAgent["id"]}",
            Fill("""{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"@0"}}""", task["id"])));
        Assert.Equal(-32001, await ErrorCodeAsync(stranger, $"/a2a/{strangersAgent["id"]}",
            Fill("""{"jsonrpc":"2.0","id":1,"method":"CancelTask","params":{"id":"@0"}}""", task["id"])));
    }

    [Fact]
    public async Task TheRestBindingAnswersBadInputWithGoogleRpcStatusErrorsAndChangesNothing()
    {
        var user = await fixture.CreateUserAsync();
        var stranger = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync(config: new { behavior = "echo" });
        var path = $"/a2a/{agent["id"]}";
        var finished = await SendAsync(user, path, "done already");
        var send = Fill("""{"message":{"messageId":"@0","role":"ROLE_USER","parts":[{"text":"x"}]}}""", Guid.NewGuid());

        using var anonymous = await fixture.CreateApiClient().PostAsync($"{path}/message:send", TestApi.RawJson(send));
        Assert.Equal("Bearer", anonymous.Headers.WwwAuthenticate.Single().Scheme);
        await AssertRestErrorAsync(anonymous, HttpStatusCode.Unauthorized, "UNAUTHENTICATED");
        using var theirs = await stranger.Client.PostAsync($"{path}/message:send", TestApi.RawJson(send));
        await AssertRestErrorAsync(theirs, HttpStatusCode.NotFound, "NOT_FOUND");
        foreach (var bad in new[] { "{not json", "[1]", """{"message":{"role":"ROLE_USER","parts":[]}}""", """{"message":{"role":"ROLE_AGENT","parts":[{"text":"x"}]}}""",
            """{"message":{"role":"ROLE_USER","parts":[{"text":"x"}],"contextId":"not-a-uuid"}}""", """{"message":"text"}""" })
        {
            using var response = await user.Client.PostAsync($"{path}/message:send", TestApi.RawJson(bad));
            await AssertRestErrorAsync(response, HttpStatusCode.BadRequest, "INVALID_ARGUMENT");
        }

        using var unknown = await user.Client.GetAsync($"{path}/tasks/{Guid.NewGuid()}");
        Assert.Equal("TASK_NOT_FOUND", Reason(await AssertRestErrorAsync(unknown, HttpStatusCode.NotFound, "NOT_FOUND")));
        using var notOurs = await user.Client.GetAsync($"{path}/tasks/not-a-task");
        await AssertRestErrorAsync(notOurs, HttpStatusCode.NotFound, "NOT_FOUND");
        using var badLength = await user.Client.GetAsync($"{path}/tasks/{finished["id"]}?historyLength=many");
        await AssertRestErrorAsync(badLength, HttpStatusCode.BadRequest, "INVALID_ARGUMENT");
        using var badPage = await user.Client.GetAsync($"{path}/tasks?pageSize=1000");
        await AssertRestErrorAsync(badPage, HttpStatusCode.BadRequest, "INVALID_ARGUMENT");
        using var badStatus = await user.Client.GetAsync($"{path}/tasks?status=sleeping");
        await AssertRestErrorAsync(badStatus, HttpStatusCode.BadRequest, "INVALID_ARGUMENT");
        using var completed = await user.Client.GetAsync($"{path}/tasks?status=completed&historyLength=0");
        Assert.Equal(finished["id"]!.GetValue<string>(), (await completed.ReadJsonAsync())["tasks"]![0]!["id"]!.GetValue<string>());
        using var ended = await user.Client.PostAsync($"{path}/tasks/{finished["id"]}:subscribe", null);
        Assert.Equal("UNSUPPORTED_OPERATION",
            Reason(await AssertRestErrorAsync(ended, HttpStatusCode.BadRequest, "FAILED_PRECONDITION")));
        using var cancelEnded = await user.Client.PostAsync($"{path}/tasks/{finished["id"]}:cancel", null);
        Assert.Equal("TASK_NOT_CANCELABLE",
            Reason(await AssertRestErrorAsync(cancelEnded, HttpStatusCode.BadRequest, "FAILED_PRECONDITION")));
        using var badPush = await user.Client.PostAsync($"{path}/tasks/{finished["id"]}/pushNotificationConfigs", TestApi.RawJson("""{"url":"ftp://x"}"""));
        await AssertRestErrorAsync(badPush, HttpStatusCode.BadRequest, "INVALID_ARGUMENT");

        var future = new HttpRequestMessage(HttpMethod.Post, $"{path}/message:send") { Content = TestApi.RawJson(send) };
        future.Headers.Add("A2A-Version", "9.9");
        using var unsupported = await user.Client.SendAsync(future);
        Assert.Equal("VERSION_NOT_SUPPORTED",
            Reason(await AssertRestErrorAsync(unsupported, HttpStatusCode.BadRequest, "FAILED_PRECONDITION")));
        var futureRpc = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = TestApi.RawJson(Fill("""{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"@0"}}""", finished["id"])),
        };
        futureRpc.Headers.Add("A2A-Version", "2.0");
        using var unsupportedRpc = await user.Client.SendAsync(futureRpc);
        Assert.Equal(-32009, (await unsupportedRpc.ReadJsonAsync())["error"]!["code"]!.GetValue<int>());
        var current = new HttpRequestMessage(HttpMethod.Get, $"{path}/extendedAgentCard");
        current.Headers.Add("A2A-Version", "1.0");
        using var card = await user.Client.SendAsync(current);
        Assert.Equal(HttpStatusCode.OK, card.StatusCode);
        Assert.Equal("HTTP+JSON", (await card.ReadJsonAsync())["supportedInterfaces"]![1]!["protocolBinding"]!.GetValue<string>());

        using var history = await user.Client.GetAsync($"/agents/{agent["id"]}/messages");
        Assert.Single((await history.ReadJsonAsync())["items"]!.AsArray());
    }

    private static string Reason(JsonObject error) => error["details"]![0]!["reason"]!.GetValue<string>();

    /// <summary>A google.rpc.Status error of the HTTP+JSON binding: its status and code, a message; the error object.</summary>
    private static async Task<JsonObject> AssertRestErrorAsync(HttpResponseMessage response, HttpStatusCode status, string name)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"Expected {(int)status}, got {(int)response.StatusCode}: {text}");
        var error = JsonNode.Parse(text)!["error"]!.AsObject();
        Assert.Equal((int)status, error["code"]!.GetValue<int>());
        Assert.Equal(name, error["status"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(error["message"]!.GetValue<string>()));
        Assert.NotNull(error["details"]!.AsArray());
        return error;
    }

    /// <summary>The template with @0, @1, … replaced by the values (JSON braces make interpolation unreadable).</summary>
    private static string Fill(string template, params object?[] values)
    {
        for (var i = values.Length - 1; i >= 0; i--)
        {
            template = template.Replace($"@{i}", values[i]?.ToString(), StringComparison.Ordinal);
        }

        return template;
    }

    private static async Task<JsonNode> SendAsync(TestUser user, string path, string text)
    {
        using var response = await user.Client.PostAsync(path, TestApi.RawJson(
            Fill("""{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"@0","role":"ROLE_USER","parts":[{"text":"@1"}]}}}""", Guid.NewGuid(), text)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.ReadJsonAsync())["result"]!["task"]!;
    }

    private static async Task<int> ErrorCodeAsync(TestUser user, string path, string body)
    {
        using var response = await user.Client.PostAsync(path,
            new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json")));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"HTTP {(int)response.StatusCode} for {body}: {text}");
        var answer = JsonNode.Parse(text)!;
        Assert.Equal("2.0", answer["jsonrpc"]!.GetValue<string>());
        return answer["error"]?["code"]?.GetValue<int>() ?? throw new Xunit.Sdk.XunitException($"No error for {body}: {text}");
    }
}
