using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// Completion callbacks against a receiver on loopback: webhooks signed as Standard Webhooks, retried after the receiver
/// fails, filtered by event and agent, listed with their deliveries; A2A push notification configs and their pushes.
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed class CallbackTests(AgentCloudFixture fixture)
{
    [Fact]
    public async Task AWebhookGetsTheAnswerSignedAndIsRetriedAfterTheReceiverFails()
    {
        await using var receiver = await CallbackReceiver.StartAsync(500);
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync(config: new { behavior = "echo" });
        var webhook = await CreateWebhookAsync(user, new { url = receiver.Url, events = new[] { "message.done" } });
        var secret = webhook["secret"]!.GetValue<string>();
        Assert.StartsWith("whsec_", secret);

        var message = await SendAndWaitAsync(user, agent, "ring me back");

        var requests = await receiver.WaitForAsync(2);
        Assert.Equal([500, 200], requests.Select(r => r.AnsweredStatus));
        // The same delivery both times: one webhook-id, each attempt signed afresh.
        Assert.Single(requests.Select(r => r.Headers["webhook-id"]).Distinct());
        foreach (var request in requests)
        {
            Assert.True(SignatureHolds(secret, request), "the receiver could not verify the signature with the secret");
        }

        var body = JsonNode.Parse(requests[^1].Body)!;
        Assert.Equal("message.done", body["type"]!.GetValue<string>());
        Assert.EndsWith("Z", body["timestamp"]!.GetValue<string>());
        Assert.Equal(message["id"]!.GetValue<string>(), body["data"]!["id"]!.GetValue<string>());
        Assert.Equal(agent["id"]!.GetValue<int>(), body["data"]!["agent_id"]!.GetValue<int>());
        Assert.Equal("done", body["data"]!["status"]!.GetValue<string>());
        Assert.Equal("ring me back", body["data"]!["reply"]!.GetValue<string>());

        var delivery = await Wait.ForAsync(async () =>
        {
            var deliveries = await DeliveriesAsync(user, webhook);
            return deliveries is [{ } only] && only["status"]!.GetValue<string>() == "delivered" ? only : null;
        });
        Assert.Equal(2, delivery["attempts"]!.GetValue<int>());
        Assert.Equal(200, delivery["last_status_code"]!.GetValue<int>());
        Assert.Equal("message.done", delivery["event"]!.GetValue<string>());
        Assert.Equal($"msg_{delivery["id"]}", requests[0].Headers["webhook-id"]);
        Assert.Null(delivery["next_attempt_at"]);
    }

    [Fact]
    public async Task AWebhookHearsOnlyItsEventsOfItsAgentsAndADeadMessageCarriesItsError()
    {
        await using var receiver = await CallbackReceiver.StartAsync();
        var user = await fixture.CreateUserAsync();
        var failing = await user.CreateAgentAsync(config: new { behavior = "fail" });
        var other = await user.CreateAgentAsync(config: new { behavior = "fail" });
        var webhook = await CreateWebhookAsync(user, new { url = receiver.Url, events = new[] { "message.dead" },
            agent_ids = new[] { failing["id"] } });

        var ignored = await PostAsync(user, other, "not for this webhook");
        var doomed = await PostAsync(user, failing, "doomed");
        await MessagingTests.PollUntilFinishedAsync(user, other, ignored);
        await MessagingTests.PollUntilFinishedAsync(user, failing, doomed);

        var request = Assert.Single(await receiver.WaitForAsync(1));
        var body = JsonNode.Parse(request.Body)!;
        Assert.Equal("message.dead", body["type"]!.GetValue<string>());
        Assert.Equal(doomed, body["data"]!["id"]!.GetValue<string>());
        Assert.Equal("dead", body["data"]!["status"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(body["data"]!["error"]?.GetValue<string>()));
        // Both messages are dead, and a delivery commits with the status that causes it: one delivery in all.
        Assert.Single(await DeliveriesAsync(user, webhook));
        Assert.Single(receiver.Requests);
    }

    [Fact]
    public async Task WebhooksAreManagedByTheirOwnerAndBadOnesChangeNothing()
    {
        var user = await fixture.CreateUserAsync();
        var stranger = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync(config: new { behavior = "echo" });
        var theirs = await stranger.CreateAgentAsync(config: new { behavior = "echo" });
        const string good = "http://127.0.0.1:9/hook";

        foreach (var bad in new object[]
        {
            new { url = "http://10.1.2.3/hook", events = new[] { "message.done" } },
            new { url = "http://169.254.169.254/latest", events = new[] { "message.done" } },
            new { url = "http://[fd00::1]/hook", events = new[] { "message.done" } },
            new { url = "ftp://127.0.0.1/hook", events = new[] { "message.done" } },
            new { url = "http://user:secret@127.0.0.1/hook", events = new[] { "message.done" } },
            new { url = good, events = new[] { "message.exploded" } },
            new { url = good, events = Array.Empty<string>() },
            new { url = good, events = new[] { "message.done" }, agent_ids = new[] { theirs["id"] } },
        })
        {
            using var refused = await user.Client.PostAsJsonAsync("/webhooks", bad);
            await refused.AssertProblemAsync(HttpStatusCode.BadRequest);
        }

        var key = (await ApiKeyTests.CreateKeyAsync(user, ["agents:read", "agents:write"]))["key"]!.GetValue<string>();
        using (var withKey = new HttpRequestMessage(HttpMethod.Get, "/webhooks"))
        {
            withKey.Headers.Add("X-API-Key", key);
            using var keyed = await fixture.CreateApiClient().SendAsync(withKey);
            await keyed.AssertProblemAsync(HttpStatusCode.Forbidden);
        }

        Assert.Empty(await ListWebhooksAsync(user));
        var webhook = await CreateWebhookAsync(user, new { url = good, events = new[] { "message.done", "message.dead" },
            agent_ids = new[] { agent["id"] } });
        var id = webhook["id"]!.GetValue<string>();

        var listed = Assert.Single(await ListWebhooksAsync(user));
        Assert.Null(listed["secret"]);
        Assert.Equal(id, listed["id"]!.GetValue<string>());
        using (var one = await user.Client.GetAsync($"/webhooks/{id}"))
        {
            Assert.Equal(HttpStatusCode.OK, one.StatusCode);
            Assert.Null((await one.ReadJsonAsync())["secret"]);
        }

        using (var theirView = await stranger.Client.GetAsync($"/webhooks/{id}"))
        {
            await theirView.AssertProblemAsync(HttpStatusCode.NotFound);
        }

        using (var notAnId = await user.Client.GetAsync("/webhooks/nope/deliveries"))
        {
            await notAnId.AssertProblemAsync(HttpStatusCode.NotFound);
        }

        using (var badPatch = await user.Client.PatchAsJsonAsync($"/webhooks/{id}", new { url = "http://192.168.1.1/hook" }))
        {
            await badPatch.AssertProblemAsync(HttpStatusCode.BadRequest);
        }

        using (var patched = await user.Client.PatchAsJsonAsync($"/webhooks/{id}",
            new { events = new[] { "message.waiting" }, agent_ids = Array.Empty<int>() }))
        {
            Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
            var changed = await patched.ReadJsonAsync();
            Assert.Equal(["message.waiting"], changed["events"]!.AsArray().Select(e => e!.GetValue<string>()));
            Assert.Null(changed["agent_ids"]);
            Assert.Equal(good, changed["url"]!.GetValue<string>());
        }

        using (var badCursor = await user.Client.GetAsync($"/webhooks/{id}/deliveries?cursor=bm9wZQ"))
        {
            await badCursor.AssertProblemAsync(HttpStatusCode.BadRequest);
        }

        using (var deleted = await user.Client.DeleteAsync($"/webhooks/{id}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        using (var again = await user.Client.DeleteAsync($"/webhooks/{id}"))
        {
            await again.AssertProblemAsync(HttpStatusCode.NotFound);
        }
    }

    [Fact]
    public async Task AnA2ATaskPushesItsStatusWithItsTokenAndItsConfigsCanBeReadAndDeleted()
    {
        await using var receiver = await CallbackReceiver.StartAsync();
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync(config: new { behavior = "echo" });
        var path = $"/a2a/{agent["id"]}";

        // Inline with SendMessage: saved on the new task before it can finish.
        var task = await RpcAsync(user, path, "SendMessage", new JsonObject
        {
            ["message"] = new JsonObject
            {
                ["messageId"] = Guid.NewGuid().ToString(), ["role"] = "ROLE_USER",
                ["parts"] = new JsonArray(new JsonObject { ["text"] = "push me" }),
            },
            ["configuration"] = new JsonObject
            {
                ["returnImmediately"] = true,
                ["taskPushNotificationConfig"] = new JsonObject
                {
                    ["id"] = "first", ["url"] = receiver.Url, ["token"] = "task-token",
                    ["authentication"] = new JsonObject { ["scheme"] = "Bearer", ["credentials"] = "receiver-secret" },
                },
            },
        });
        var taskId = task["task"]!["id"]!.GetValue<string>();

        var push = Assert.Single(await receiver.WaitForAsync(1));
        Assert.Equal("task-token", push.Headers["x-a2a-notification-token"]);
        Assert.Equal("Bearer receiver-secret", push.Headers["authorization"]);
        Assert.StartsWith("application/a2a+json", push.Headers["content-type"]);
        var pushed = JsonNode.Parse(push.Body)!["task"]!;
        Assert.Equal(taskId, pushed["id"]!.GetValue<string>());
        Assert.Equal("TASK_STATE_COMPLETED", pushed["status"]!["state"]!.GetValue<string>());
        Assert.Equal("push me", pushed["artifacts"]![0]!["parts"]![0]!["text"]!.GetValue<string>());

        // A config set on a task that already finished gets its state pushed once.
        var second = await RpcAsync(user, path, "CreateTaskPushNotificationConfig",
            new JsonObject { ["taskId"] = taskId, ["id"] = "second", ["url"] = receiver.Url });
        Assert.Equal("second", second["id"]!.GetValue<string>());
        Assert.Equal(taskId, second["taskId"]!.GetValue<string>());
        var both = await receiver.WaitForAsync(2);
        Assert.False(both[1].Headers.ContainsKey("x-a2a-notification-token"));

        var read = await RpcAsync(user, path, "GetTaskPushNotificationConfig", new JsonObject { ["taskId"] = taskId, ["id"] = "first" });
        Assert.Equal(receiver.Url, read["url"]!.GetValue<string>());
        Assert.Equal("Bearer", read["authentication"]!["scheme"]!.GetValue<string>());
        Assert.Null(read["token"]);
        Assert.Null(read["authentication"]!["credentials"]);
        var listed = await RpcAsync(user, path, "ListTaskPushNotificationConfigs",
            new JsonObject { ["taskId"] = taskId, ["pageSize"] = 1 });
        Assert.Equal("first", Assert.Single(listed["configs"]!.AsArray())!["id"]!.GetValue<string>());
        Assert.Equal("first", listed["nextPageToken"]!.GetValue<string>());
        Assert.Empty((await RpcAsync(user, path, "DeleteTaskPushNotificationConfig",
            new JsonObject { ["taskId"] = taskId, ["id"] = "first" })).AsObject());
        var rest = await RpcAsync(user, path, "ListTaskPushNotificationConfigs", new JsonObject { ["taskId"] = taskId });
        Assert.Equal("second", Assert.Single(rest["configs"]!.AsArray())!["id"]!.GetValue<string>());

        Assert.Equal(-32602, await RpcErrorAsync(user, path, "CreateTaskPushNotificationConfig",
            new JsonObject { ["taskId"] = taskId, ["url"] = "http://10.0.0.7/push" }));
        Assert.Equal(-32602, await RpcErrorAsync(user, path, "CreateTaskPushNotificationConfig",
            new JsonObject { ["taskId"] = taskId, ["url"] = receiver.Url, ["token"] = "line\r\nX-Injected: 1" }));
        Assert.Equal(-32001, await RpcErrorAsync(user, path, "CreateTaskPushNotificationConfig",
            new JsonObject { ["taskId"] = Guid.NewGuid().ToString(), ["url"] = receiver.Url }));
        Assert.Equal(-32602, await RpcErrorAsync(user, path, "GetTaskPushNotificationConfig",
            new JsonObject { ["taskId"] = taskId, ["id"] = "first" }));
        Assert.Equal(2, receiver.Requests.Count);

        using var card = await user.Client.GetAsync($"{path}/.well-known/agent-card.json");
        Assert.True((await card.ReadJsonAsync())["capabilities"]!["pushNotifications"]!.GetValue<bool>());
    }

    [Fact]
    public async Task TheOfficialA2AClientSetsAPushConfigAndThePushArrives()
    {
        await using var receiver = await CallbackReceiver.StartAsync();
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync(config: new { behavior = "echo" });

        var summary = await NodeClients.RunAsync("a2a-push.mjs", new Dictionary<string, string>
        {
            ["BASE_URL"] = fixture.CreateApiClient().BaseAddress!.ToString().TrimEnd('/'), ["TOKEN"] = user.Token,
            ["AGENT_ID"] = agent["id"]!.ToString(), ["PUSH_URL"] = receiver.Url,
        }, TimeSpan.FromMinutes(1));

        Assert.True(summary["ok"]!.GetValue<bool>());
        var pushes = await Wait.ForAsync(() => Task.FromResult(
            receiver.Requests.Where(r => r.Headers.GetValueOrDefault("x-a2a-notification-token") == "sdk-token")
                .ToList() is { Count: > 0 } found
                ? found : null));
        var task = JsonNode.Parse(Assert.Single(pushes).Body)!["task"]!;
        Assert.Equal(summary["task"]!.GetValue<string>(), task["id"]!.GetValue<string>());
        Assert.Equal("TASK_STATE_COMPLETED", task["status"]!["state"]!.GetValue<string>());
    }

    /// <summary>Standard Webhooks, as a receiver checks it: HMAC-SHA256 keyed by the secret's bytes over id.timestamp.body.</summary>
    internal static bool SignatureHolds(string secret, CallbackReceiver.Received request)
    {
        var key = Convert.FromBase64String(secret["whsec_".Length..]);
        var signed = $"{request.Headers["webhook-id"]}.{request.Headers["webhook-timestamp"]}.{request.Body}";
        var expected = "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(signed)));
        var age = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - long.Parse(request.Headers["webhook-timestamp"],
            CultureInfo.InvariantCulture);
        return Math.Abs(age) < 300 && request.Headers["webhook-signature"].Split(' ').Contains(expected);
    }

    internal static async Task<JsonObject> CreateWebhookAsync(TestUser user, object body)
    {
        using var response = await user.Client.PostAsJsonAsync("/webhooks", body);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await response.ReadJsonAsync();
    }

    private static async Task<List<JsonObject>> ListWebhooksAsync(TestUser user)
    {
        using var response = await user.Client.GetAsync("/webhooks");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return [.. JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsArray().Select(w => w!.AsObject())];
    }

    private static async Task<List<JsonObject>> DeliveriesAsync(TestUser user, JsonObject webhook)
    {
        using var response = await user.Client.GetAsync($"/webhooks/{webhook["id"]}/deliveries");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return [.. (await response.ReadJsonAsync())["deliveries"]!.AsArray().Select(d => d!.AsObject())];
    }

    private static async Task<JsonObject> SendAndWaitAsync(TestUser user, JsonObject agent, string text)
    {
        using var response = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages?wait=20", new { payload = text });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var message = await response.ReadJsonAsync();
        Assert.Equal("done", message["status"]!.GetValue<string>());
        return message;
    }

    private static async Task<string> PostAsync(TestUser user, JsonObject agent, string text)
    {
        using var response = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages", new { payload = text });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.ReadJsonAsync())["id"]!.GetValue<string>();
    }

    private static async Task<JsonNode> RpcAsync(TestUser user, string path, string method, JsonObject parameters)
    {
        var answer = await CallAsync(user, path, method, parameters);
        Assert.True(answer["result"] is not null, answer.ToJsonString());
        return answer["result"]!;
    }

    private static async Task<int> RpcErrorAsync(TestUser user, string path, string method, JsonObject parameters) =>
        (await CallAsync(user, path, method, parameters))["error"]!["code"]!.GetValue<int>();

    private static async Task<JsonObject> CallAsync(TestUser user, string path, string method, JsonObject parameters)
    {
        using var response = await user.Client.PostAsJsonAsync(path, new JsonObject
        {
            ["jsonrpc"] = "2.0", ["id"] = 1, ["method"] = method, ["params"] = parameters,
        });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.ReadJsonAsync();
    }
}
