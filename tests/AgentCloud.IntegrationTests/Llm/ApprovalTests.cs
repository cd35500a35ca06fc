using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using static AgentCloud.IntegrationTests.LlmAgentTests;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// Tool approvals (docs/approvals.md): a call of a tool the config's approve names parks the run until a person decides (REST or
/// A2A) or the approval expires; the tool's effect (here send_message's message to an echo agent) happens only after approval,
/// once, whatever happened to the workers meanwhile.
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed class ApprovalTests(AgentCloudFixture fixture)
{
    /// <summary>"ask ADDRESS: TEXT": the model sends TEXT to ADDRESS, then answers "ADDRESS said: RESULT" (the last tool's result or
    /// error).</summary>
    private ScriptedModelServer.Script Script() => fixture.Models.NewScript((_, body) =>
    {
        var messages = body["messages"]!.AsArray();
        var text = Content(messages.Last(m => m!["role"]!.GetValue<string>() == "user"));
        var target = text.StartsWith("ask ", StringComparison.Ordinal) ? text[4..text.IndexOf(':')] : "";
        if (messages[^1]!["role"]!.GetValue<string>() == "tool")
        {
            return new TextReply($"{target} said: {LastToolResult(body)}");
        }

        // "ask ADDRESS: A & B" calls send_message twice in one turn.
        return target.Length > 0
            ? new ToolCallsReply([.. text[(text.IndexOf(':') + 2)..].Split(" & ").Select((part, i) => ($"call_{i + 1}", "send_message",
                new JsonObject { ["target"] = target, ["text"] = part }.ToJsonString()))])
            : new TextReply($"answer to: {text}");
    });

    private async Task<(TestUser User, JsonObject Asker, JsonObject Echo)> SetUpAsync(int? timeoutSeconds = null)
    {
        var script = Script();
        var user = await fixture.CreateUserAsync();
        var echo = await user.CreateAgentAsync("echo", new { behavior = "echo" });
        var config = new JsonObject
        {
            ["behavior"] = "llm", ["instructions"] = script.Marker, ["tools"] = new JsonArray("send_message"),
                ["approve"] = new JsonArray("send_message"),
        };
        if (timeoutSeconds is { } seconds)
        {
            config["approval_timeout_seconds"] = seconds;
        }

        return (user, await user.CreateAgentAsync("careful", config), echo);
    }

    private static string Ask(JsonObject agent, string text) => $"ask {agent["address"]!.GetValue<string>()}: {text}";

    [Fact]
    public async Task AnApprovedCallRunsOnceAfterTheDecisionThoughEveryWorkerWasKilledWhileItWaited()
    {
        var (user, asker, echo) = await SetUpAsync();
        var id = await PostAsync(user, asker, Ask(echo, "hello there"));

        var waiting = await WaitForStatusAsync(user, asker, id, "waiting");
        var waitingFor = waiting["waiting_for"]!;
        Assert.Equal("approval", waitingFor["kind"]!.GetValue<string>());
        Assert.Equal("send_message", waitingFor["tool"]!.GetValue<string>());
        Assert.Equal("hello there", waitingFor["arguments"]!["text"]!.GetValue<string>());
        var approvalId = waitingFor["approval_id"]!.GetValue<string>();
        var pending = Assert.Single((await GetJsonAsync(user, $"/agents/{asker["id"]}/approvals"))["items"]!.AsArray());
        Assert.Equal(approvalId, pending!["id"]!.GetValue<string>());
        Assert.Equal("pending", pending["status"]!.GetValue<string>());
        Assert.Equal(id, pending["message_id"]!.GetValue<string>());
        Assert.Contains((await GetJsonAsync(user, "/approvals"))["items"]!.AsArray(), a => a!["id"]!.GetValue<string>() == approvalId);

        // The parked run is in no worker: kill them all and start them again; nothing is sent meanwhile.
        await RestartAsync(await KillWorkersAsync());

        Assert.Empty(await InboundAsync(user, echo));
        Assert.Equal("waiting", (await GetJsonAsync(user, $"/agents/{asker["id"]}/messages/{id}"))["status"]!.GetValue<string>());

        // A key that may send messages may not decide; one with approvals:write may.
        var sender = (await ApiKeyTests.CreateKeyAsync(user, ["messages:send"]))["key"]!.GetValue<string>();
        using (var refused = await DecideAsync(sender, asker, approvalId, new { decision = "approve" }))
        {
            await refused.AssertProblemAsync(HttpStatusCode.Forbidden);
        }

        using (var approved = await DecideAsync(user.Token, asker, approvalId, new { decision = "approve", reason = "fine" }))
        {
            Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
            var decided = await approved.ReadJsonAsync();
            Assert.Equal("approved", decided["status"]!.GetValue<string>());
            Assert.Equal(user.Id, decided["decided_by"]!["user_id"]!.GetValue<int>());
        }

        using (var again = await DecideAsync(user.Token, asker, approvalId, new { decision = "deny" }))
        {
            await again.AssertProblemAsync(HttpStatusCode.Conflict);
        }

        var done = await WaitForStatusAsync(user, asker, id, "done");
        Assert.Equal($"{echo["address"]} said: hello there", done["reply"]!.GetValue<string>());
        Assert.Single(await InboundAsync(user, echo));
        // The steps: the call as it waited, then the call with who decided, its result, the answer.
        var steps = (await GetJsonAsync(user, $"/agents/{asker["id"]}/messages/{id}/steps"))["items"]!.AsArray();
        var kinds = steps.Select(s => s!["kind"]!.GetValue<string>()).ToList();
        Assert.Equal(["model_call", "approval", "tool_call", "tool_result", "model_call", "answer"], kinds);
        var approval = steps[2]!["data"]!["approval"]!;
        Assert.Equal("approved", approval["decision"]!.GetValue<string>());
        Assert.Equal(user.Id, approval["decided_by"]!["user_id"]!.GetValue<int>());
        Assert.Equal("rest", approval["decided_by"]!["via"]!.GetValue<string>());
        var events = await EventsAsync(user, asker, id);
        var requested = events.IndexOf("approval_requested");
        Assert.True(requested >= 0 && events.IndexOf("waiting") > requested
            && events.IndexOf("approval_decided") > events.IndexOf("waiting"),
            string.Join(", ", events));
        Assert.Empty((await GetJsonAsync(user, $"/agents/{asker["id"]}/approvals"))["items"]!.AsArray());
        Assert.Single((await GetJsonAsync(user, $"/agents/{asker["id"]}/approvals?status=all"))["items"]!.AsArray());
    }

    [Fact]
    public async Task EditDenyAndExpiryOfCallsAskedTogetherHoldThoughEveryWorkerWasKilledBeforeTheDecisions()
    {
        // One model turn calls send_message three times: all three are asked at once, each its own approval, and the run goes on
        // once every one is decided: the first approved with edited arguments, the second denied, the third left to expire.
        const int timeout = 15;
        var script = fixture.Models.NewScript((_, body) =>
        {
            var messages = body["messages"]!.AsArray();
            if (messages[^1]!["role"]!.GetValue<string>() == "tool")
            {
                return new TextReply(string.Join(" | ", messages.Where(m => m!["role"]!.GetValue<string>() == "tool").Select(Content)));
            }

            var target = Content(messages.Last(m => m!["role"]!.GetValue<string>() == "user"));
            return new ToolCallsReply([.. new[] { "first", "second", "third" }.Select(text => ($"call_{text}", "send_message",
                new JsonObject { ["target"] = target, ["text"] = text }.ToJsonString()))]);
        });
        await using var receiver = await CallbackReceiver.StartAsync();
        var user = await fixture.CreateUserAsync();
        var echo = await user.CreateAgentAsync("echo", new { behavior = "echo" });
        var asker = await user.CreateAgentAsync("careful", new JsonObject
        {
            ["behavior"] = "llm", ["instructions"] = script.Marker, ["tools"] = new JsonArray("send_message"),
            ["approve"] = new JsonArray("send_message"), ["approval_timeout_seconds"] = timeout,
        });
        var webhook = await CallbackTests.CreateWebhookAsync(user, new
        {
            url = receiver.Url, events = new[] { "approval.requested", "message.waiting" }, agent_ids = new[] { asker["id"] },
        });
        var id = await PostAsync(user, asker, echo["address"]!.GetValue<string>());

        var waiting = await WaitForStatusAsync(user, asker, id, "waiting");
        Assert.Equal("approval", waiting["waiting_for"]!["kind"]!.GetValue<string>());
        Assert.Equal("first", waiting["waiting_for"]!["arguments"]!["text"]!.GetValue<string>());
        // All three are pending together, a page at a time.
        var firstPage = await GetJsonAsync(user, $"/agents/{asker["id"]}/approvals?limit=2");
        Assert.Equal(2, firstPage["items"]!.AsArray().Count);
        var secondPage = await GetJsonAsync(user, $"/agents/{asker["id"]}/approvals?limit=2&cursor={firstPage["next_cursor"]}");
        Assert.Null(secondPage["next_cursor"]);
        var pending = firstPage["items"]!.AsArray().Concat(secondPage["items"]!.AsArray())
            .ToDictionary(a => a!["arguments"]!["text"]!.GetValue<string>(), a => a!["id"]!.GetValue<string>());
        Assert.Equal(["first", "second", "third"], pending.Keys.Order());
        Assert.NotNull((await GetJsonAsync(user, "/approvals?limit=1"))["next_cursor"]);
        using (var badCursor = await user.Client.GetAsync($"/agents/{asker["id"]}/approvals?cursor=bm9wZQ"))
        {
            await badCursor.AssertProblemAsync(HttpStatusCode.BadRequest);
        }

        // No worker lives between the requests and the decisions.
        var replicas = await KillWorkersAsync();
        using (var edited = await DecideAsync(user.Token, asker, pending["first"], new
        {
            decision = "approve", arguments = new { target = echo["address"]!.GetValue<string>(), text = "edited first" },
        }))
        {
            Assert.Equal(HttpStatusCode.OK, edited.StatusCode);
        }

        using (var denied = await DecideAsync(user.Token, asker, pending["second"], new { decision = "deny", reason = "not this one" }))
        {
            Assert.Equal(HttpStatusCode.OK, denied.StatusCode);
        }

        Assert.Equal("waiting", (await GetJsonAsync(user, $"/agents/{asker["id"]}/messages/{id}"))["status"]!.GetValue<string>());
        await RestartAsync(replicas);

        // The run waits on for the third, then the model reads the edited call's result, the denial and the expiry as results.
        var done = await WaitForStatusAsync(user, asker, id, "done");
        Assert.Equal("edited first | A person denied this call: not this one | "
            + $"The approval expired: nobody approved this call within {timeout} seconds.", done["reply"]!.GetValue<string>());
        var sent = Assert.Single(await InboundAsync(user, echo));
        Assert.Equal("edited first", sent!["payload"]!.GetValue<string>());
        var steps = (await GetJsonAsync(user, $"/agents/{asker["id"]}/messages/{id}/steps"))["items"]!.AsArray();
        Assert.Equal(["model_call", "approval", "approval", "approval", "tool_call", "tool_call", "tool_call"],
            steps.Take(7).Select(s => s!["kind"]!.GetValue<string>()));
        var calls = steps.Where(s => s!["kind"]!.GetValue<string>() == "tool_call").Select(s => s!["data"]!).ToList();
        Assert.Equal(["approved", "denied", "expired"], calls.Select(c => c["approval"]!["decision"]!.GetValue<string>()));
        Assert.Equal("edited first", calls[0]["arguments"]!["text"]!.GetValue<string>());
        Assert.Equal("first", calls[0]["approval"]!["model_arguments"]!["text"]!.GetValue<string>());
        Assert.Null(calls[0]["error"]);
        Assert.Equal("A person denied this call: not this one", calls[1]["error"]!.GetValue<string>());
        Assert.StartsWith("The approval expired", calls[2]["error"]!.GetValue<string>());

        // The webhook heard each request, in order before the run's waiting, signed with its secret.
        var requests = await receiver.WaitForAsync(4);
        var bodies = requests.Select(r => JsonNode.Parse(r.Body)!).ToList();
        Assert.Equal(["approval.requested", "approval.requested", "approval.requested", "message.waiting"],
            bodies.Take(4).Select(b => b["type"]!.GetValue<string>()));
        Assert.Equal(pending.Values.Order(), bodies.Take(3).Select(b => b["data"]!["id"]!.GetValue<string>()).Order());
        Assert.All(bodies.Take(3), b => Assert.Equal("pending", b["data"]!["status"]!.GetValue<string>()));
        Assert.Equal(id, bodies[3]["data"]!["id"]!.GetValue<string>());
        Assert.All(requests, r => Assert.True(CallbackTests.SignatureHolds(webhook["secret"]!.GetValue<string>(), r)));
    }

    [Fact]
    public async Task EditedArgumentsRunInsteadOfTheModelsAndADenialsReasonIsTheToolsError()
    {
        var (user, asker, echo) = await SetUpAsync();
        var edited = await PostAsync(user, asker, Ask(echo, "send the launch codes"));
        var approval = (await WaitForStatusAsync(user, asker, edited, "waiting"))["waiting_for"]!["approval_id"]!.GetValue<string>();
        using (var bad = await DecideAsync(user.Token, asker, approval, new { decision = "maybe" }))
        {
            await bad.AssertProblemAsync(HttpStatusCode.BadRequest);
        }

        using (var bad = await DecideAsync(user.Token, asker, approval, new { decision = "approve", arguments = new[] { 1 } }))
        {
            await bad.AssertProblemAsync(HttpStatusCode.BadRequest);
        }

        using (var unknown = await DecideAsync(user.Token, asker, Guid.NewGuid().ToString(), new { decision = "approve" }))
        {
            await unknown.AssertProblemAsync(HttpStatusCode.NotFound);
        }

        var key = (await ApiKeyTests.CreateKeyAsync(user, ["approvals:write"]))["key"]!.GetValue<string>();
        using (var approved = await DecideAsync(key, asker, approval, new
        {
            decision = "approve", arguments = new { target = echo["address"]!.GetValue<string>(), text = "send a postcard" },
        }))
        {
            Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
            Assert.NotNull((await approved.ReadJsonAsync())["decided_by"]!["api_key_id"]);
        }

        Assert.Equal($"{echo["address"]} said: send a postcard", (await WaitForStatusAsync(user, asker, edited,
            "done"))["reply"]!.GetValue<string>());
        var sent = Assert.Single(await InboundAsync(user, echo));
        Assert.Equal("send a postcard", sent!["payload"]!.GetValue<string>());

        var denied = await PostAsync(user, asker, Ask(echo, "delete everything"));
        var second = (await WaitForStatusAsync(user, asker, denied, "waiting"))["waiting_for"]!["approval_id"]!.GetValue<string>();
        using (var deny = await DecideAsync(user.Token, asker, second, new { decision = "deny", reason = "not on a Monday" }))
        {
            Assert.Equal(HttpStatusCode.OK, deny.StatusCode);
        }

        Assert.Equal($"{echo["address"]} said: A person denied this call: not on a Monday",
            (await WaitForStatusAsync(user, asker, denied, "done"))["reply"]!.GetValue<string>());
        Assert.Single(await InboundAsync(user, echo));
    }

    [Fact]
    public async Task AnApprovalNobodyDecidesExpiresAsADenial()
    {
        var (user, asker, echo) = await SetUpAsync(timeoutSeconds: 2);
        var id = await PostAsync(user, asker, Ask(echo, "anyone there"));

        var done = await WaitForStatusAsync(user, asker, id, "done");

        Assert.Equal($"{echo["address"]} said: The approval expired: nobody approved this call within 2 seconds.",
            done["reply"]!.GetValue<string>());
        Assert.Empty(await InboundAsync(user, echo));
        var expired = Assert.Single((await GetJsonAsync(user, $"/agents/{asker["id"]}/approvals?status=all"))["items"]!.AsArray());
        Assert.Equal("expired", expired!["status"]!.GetValue<string>());
        using var late = await DecideAsync(user.Token, asker, expired["id"]!.GetValue<string>(), new { decision = "approve" });
        await late.AssertProblemAsync(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task AnApprovalIsAnsweredInItsTaskThroughA2A()
    {
        var (user, asker, echo) = await SetUpAsync();

        // The reference client: input-required with the call in the status message, approved in the same task.
        var summary = await NodeClients.RunAsync("a2a-approval.mjs", new Dictionary<string, string>
        {
            ["BASE_URL"] = Program().BaseAddress!.ToString().TrimEnd('/'), ["TOKEN"] = user.Token, ["AGENT_ID"] = asker["id"]!.ToString(),
            ["ASK"] = Ask(echo, "over the wire"),
        }, TimeSpan.FromMinutes(1));
        Assert.Equal("send_message", summary["tool"]!.GetValue<string>());
        Assert.Equal($"{echo["address"]} said: over the wire", summary["answer"]!.GetValue<string>());
        var decided = await GetJsonAsync(user, $"/agents/{asker["id"]}/approvals/{summary["approval"]}");
        Assert.Equal("a2a", decided["decided_by"]!["via"]!.GetValue<string>());

        // Plain JSON-RPC: a text answer denies with a reason; a task that waits for nothing takes no taskId.
        var task = await A2AAsync(user, asker, $$"""{"messageId":"{{Guid.NewGuid()}}","role":"ROLE_USER","parts":[{"text":"{{Ask(echo, "twice")}}"}]}""");
        Assert.Equal("TASK_STATE_INPUT_REQUIRED", task["result"]!["task"]!["status"]!["state"]!.GetValue<string>());
        var id = task["result"]!["task"]!["id"]!.GetValue<string>();
        var nonsense = await A2AAsync(user, asker, $$"""{"messageId":"{{Guid.NewGuid()}}","role":"ROLE_USER","taskId":"{{id}}","parts":[{"text":"perhaps"}]}""");
        Assert.Equal(-32602, nonsense["error"]!["code"]!.GetValue<int>());
        var denied = await A2AAsync(user, asker, $$"""{"messageId":"{{Guid.NewGuid()}}","role":"ROLE_USER","taskId":"{{id}}","parts":[{"text":"deny: not twice"}]}""");
        Assert.Equal("TASK_STATE_COMPLETED", denied["result"]!["task"]!["status"]!["state"]!.GetValue<string>());
        Assert.Equal($"{echo["address"]} said: A person denied this call: not twice",
            (await GetJsonAsync(user, $"/agents/{asker["id"]}/messages/{id}"))["reply"]!.GetValue<string>());
        var over = await A2AAsync(user, asker, $$"""{"messageId":"{{Guid.NewGuid()}}","role":"ROLE_USER","taskId":"{{id}}","parts":[{"text":"approve"}]}""");
        Assert.NotNull(over["error"]);
        Assert.Single(await InboundAsync(user, echo));

        // Two calls of one turn: the task requires input for each in turn, and completes once both are answered.
        var both = (await A2AAsync(user, asker, $$"""{"messageId":"{{Guid.NewGuid()}}","role":"ROLE_USER","parts":[{"text":"{{Ask(echo, "one & two")}}"}]}"""))["result"]!["task"]!;
        Assert.Equal("TASK_STATE_INPUT_REQUIRED", both["status"]!["state"]!.GetValue<string>());
        var pair = both["id"]!.GetValue<string>();
        Assert.Equal(2, (await GetJsonAsync(user, $"/agents/{asker["id"]}/approvals"))["items"]!.AsArray().Count);
        var next = await A2AAsync(user, asker, $$"""{"messageId":"{{Guid.NewGuid()}}","role":"ROLE_USER","taskId":"{{pair}}","parts":[{"text":"approve"}]}""");
        Assert.Equal("TASK_STATE_INPUT_REQUIRED", next["result"]!["task"]!["status"]!["state"]!.GetValue<string>());
        Assert.Single((await GetJsonAsync(user, $"/agents/{asker["id"]}/approvals"))["items"]!.AsArray());
        var last = await A2AAsync(user, asker, $$"""{"messageId":"{{Guid.NewGuid()}}","role":"ROLE_USER","taskId":"{{pair}}","parts":[{"text":"deny: one is enough"}]}""");
        Assert.Equal("TASK_STATE_COMPLETED", last["result"]!["task"]!["status"]!["state"]!.GetValue<string>());
        Assert.Equal($"{echo["address"]} said: A person denied this call: one is enough",
            (await GetJsonAsync(user, $"/agents/{asker["id"]}/messages/{pair}"))["reply"]!.GetValue<string>());
        Assert.Equal(["one", "over the wire"], (await InboundAsync(user, echo)).Select(m => m!["payload"]!.GetValue<string>()).Order());
    }

    [Fact]
    public async Task AConfigNamingAnUnknownToolOrABadTimeoutIsRefused()
    {
        var user = await fixture.CreateUserAsync();
        foreach (var config in new object[]
        {
            new { behavior = "llm", approve = new[] { "no_such_tool" } },
            new { behavior = "llm", approve = "send_message" },
            new { behavior = "llm", approve = new[] { "send_message" }, approval_timeout_seconds = 0 },
        })
        {
            using var response = await user.Client.PostAsJsonAsync("/agents", new { name = "bad", config });
            await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        }
    }

    private HttpClient Program() => fixture.CreateApiClient();

    private async Task<List<ResourceProcesses.Replica>> KillWorkersAsync()
    {
        var replicas = await fixture.RunningAsync("agent-worker");
        foreach (var replica in replicas)
        {
            using var process = Process.GetProcessById(replica.Pid);
            process.Kill(entireProcessTree: true);
        }

        return replicas;
    }

    private async Task RestartAsync(List<ResourceProcesses.Replica> replicas)
    {
        foreach (var replica in replicas)
        {
            await fixture.RestartAsync("agent-worker", replica.ResourceId);
        }
    }

    private async Task<HttpResponseMessage> DecideAsync(string credential, JsonObject agent, string approvalId, object body)
    {
        using var client = Program();
        return await client.SendAsync(new HttpRequestMessage(HttpMethod.Post, $"/agents/{agent["id"]}/approvals/{approvalId}")
        {
            Content = JsonContent.Create(body),
        }.WithBearer(credential));
    }

    private static async Task<JsonObject> A2AAsync(TestUser user, JsonObject agent, string message)
    {
        using var response = await user.Client.PostAsync($"/a2a/{agent["id"]}",
            TestApi.RawJson("""{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":""" + message + "}}"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.ReadJsonAsync();
    }

    private static async Task<List<JsonNode?>> InboundAsync(TestUser user, JsonObject agent) =>
        [.. (await GetJsonAsync(user, $"/agents/{agent["id"]}/messages?direction=inbound"))["items"]!.AsArray()];

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

    /// <summary>The types of a finished message's events, up to its done.</summary>
    private async Task<List<string>> EventsAsync(TestUser user, JsonObject agent, string id)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var client = Program();
        client.DefaultRequestHeaders.Authorization = user.Client.DefaultRequestHeaders.Authorization;
        using var stream = await EventStreamReader.OpenAsync(client, new HttpRequestMessage(HttpMethod.Get,
            $"/agents/{agent["id"]}/messages/{id}/events"),
            timeout.Token);
        var types = new List<string>();
        while (types.LastOrDefault() is not ("done" or "error") && await stream.NextAsync(timeout.Token) is { } next)
        {
            types.Add(next.Type);
        }

        return types;
    }
}
