using System.Text.Json.Nodes;
using Dapper;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// Every agent-scoped route, asked by a second user about someone else's agent, answers exactly what it
/// answers for an agent that does not exist (same status, content type and body modulo ids and trace
/// ids), and changes nothing.
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed class AgentAccessTests(AgentCloudFixture fixture)
{
    private const int Missing = int.MaxValue;

    public static TheoryData<string, string, string?> Routes => new()
    {
        // method, path ({agent}, {message}), body
        { "GET", "/agents/{agent}", null },
        { "PUT", "/agents/{agent}", "{\"name\": \"stolen\", \"config\": {\"behavior\": \"echo\"}}" },
        { "DELETE", "/agents/{agent}", null },
        { "GET", "/agents/{agent}/logs", null },
        { "GET", "/agents/{agent}/logs?limit=5&level=INFO", null },
        { "GET", "/agents/{agent}/logs/stream", null },
        { "GET", "/agents/{agent}/logs/stream?tail=10", null },
        { "GET", "/agents/{agent}/messages", null },
        { "GET", "/agents/{agent}/messages?direction=inbound&status=done&limit=5", null },
        { "POST", "/agents/{agent}/messages", "{\"payload\": {\"steal\": true}}" },
        { "POST", "/agents/{agent}/messages?wait=1", "{\"text\": \"hello\"}" },
        { "GET", "/agents/{agent}/messages/{message}", null },
        { "POST", "/agents/{agent}/send", "{\"target\": \"{address}\", \"payload\": 1}" },
        { "POST", "/agents/{agent}/send?wait=1", "{\"target\": \"{address}\", \"text\": \"hi\"}" },
        { "DELETE", "/agents/{agent}/messages/{message}", null },
        { "DELETE", "/agents/{agent}/messages?status=queued", null },
        { "DELETE", "/agents/{agent}/messages?status=done", null },
    };

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task AnotherUsersAgentAnswersExactlyLikeAMissingOne(string method, string path, string? body)
    {
        var owner = await fixture.CreateUserAsync();
        var stranger = await fixture.CreateUserAsync();
        var agent = await owner.CreateAgentAsync("private", new { behavior = "echo", secret = "mine" });
        var id = agent["id"]!.GetValue<int>();
        var message = await MessagingTests.SendAndWaitAsync(owner, agent, JsonValue.Create("secret"));
        var messageId = message["id"]!.GetValue<string>();
        var before = await StateAsync(id);

        var theirs = await SendAsync(stranger, method, Fill(path, id, messageId),
            body?.Replace("{address}", agent["address"]!.GetValue<string>()));
        var none = await SendAsync(stranger, method, Fill(path, Missing, messageId),
            body?.Replace("{address}", agent["address"]!.GetValue<string>()));

        Assert.True(theirs.Status == HttpStatusCode.NotFound, $"{method} {path}: {(int)theirs.Status} {theirs.Body}");
        Assert.Equal(none.Status, theirs.Status);
        Assert.Equal(none.ContentType, theirs.ContentType);
        Assert.Equal("application/problem+json", theirs.ContentType);
        Assert.Equal(Normalise(none.Body, Missing, messageId), Normalise(theirs.Body, id, messageId));
        Assert.Equal(before, await StateAsync(id));
        using var stillThere = await owner.Client.GetAsync($"/agents/{id}");
        Assert.True(JsonNode.DeepEquals(agent, await stillThere.ReadJsonAsync()));
    }

    private static string Fill(string path, int agentId, string messageId) =>
        path.Replace("{agent}", agentId.ToString()).Replace("{message}", messageId);

    private static async Task<(HttpStatusCode Status, string? ContentType, string Body)>
        SendAsync(TestUser user, string method, string path, string? body)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = body is null ? null : TestApi.RawJson(body) };
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var response = await user.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        return (response.StatusCode, response.Content.Headers.ContentType?.MediaType,
            await response.Content.ReadAsStringAsync(timeout.Token));
    }

    // Problem details may echo the path or a trace id; neither may tell "yours" from "absent".
    private static string Normalise(string body, int id, string messageId)
    {
        var node = JsonNode.Parse(body)!.AsObject();
        node.Remove("traceId");
        node.Remove("trace_id");
        // Only the id in a path: agent 40's id is not the "40" in "status":404, nor agent 5's the 5s in "section-15.5.5".
        return System.Text.RegularExpressions.Regex.Replace(node.ToJsonString().Replace(messageId, "{message}"),
            $"(?<=/agents/){id}(?![0-9])", "{id}");
    }

    private async Task<string> StateAsync(int agentId)
    {
        await using var db = await fixture.OpenDatabaseAsync();
        return string.Join(',', await db.QuerySingleAsync<(long, long, DateTime, string)>(
            """
            SELECT (SELECT count(*) FROM messages WHERE agent_id = @agentId),
                   (SELECT count(*) FROM agent_logs WHERE agent_id = @agentId),
                   (SELECT updated_at FROM agents WHERE id = @agentId),
                   (SELECT name || COALESCE(config::text, '') FROM agents WHERE id = @agentId)
            """,
            new { agentId }));
    }
}
