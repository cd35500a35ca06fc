using System.Text;
using System.Text.Json.Nodes;
using Dapper;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// The hostile-input corpus for the messaging routes (<c>/messages</c>, <c>/messages/{id}</c>, <c>/send</c>,
/// <c>/logs/stream</c>) and the <c>?wait=</c> values: each is a 4xx problem-details answer that changes nothing.
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed class MessagingHostileInputTests(AgentCloudFixture fixture)
{
    private const string Address = "agent1qf5gfqm48k9acegez3sg82ney2aa6l5fvpwh3n3z0ajh0nam3ssgwnn5me7";
    private static readonly string Deep = new string('[', 5000) + new string(']', 5000);
    private static readonly string Huge = new('x', 70_000);

    public static TheoryData<string, string, string> Bodies => new()
    {
        // endpoint, description, body
        { "POST /agents/{agent}/send", "empty", "" },
        { "POST /agents/{agent}/send", "json null", "null" },
        { "POST /agents/{agent}/send", "array", "[]" },
        { "POST /agents/{agent}/send", "truncated", "{\"target\": \"" + Address + "\", \"payload\": " },
        { "POST /agents/{agent}/send", "trailing garbage", "{\"target\": \"" + Address + "\", \"payload\": 1} }" },
        { "POST /agents/{agent}/send", "neither payload nor text", "{\"target\": \"" + Address + "\"}" },
        { "POST /agents/{agent}/send", "both payload and text", "{\"target\": \"" + Address + "\", \"payload\": 1, \"text\": \"x\"}" },
        { "POST /agents/{agent}/send", "text a number", "{\"target\": \"" + Address + "\", \"text\": 5}" },
        { "POST /agents/{agent}/send", "target an object", "{\"target\": {\"address\": \"" + Address + "\"}, \"payload\": 1}" },
        { "POST /agents/{agent}/send", "target null", "{\"target\": null, \"payload\": 1}" },
        { "POST /agents/{agent}/send", "target huge", "{\"target\": \"agent1" + Huge[..60_000] + "\", \"payload\": 1}" },
        { "POST /agents/{agent}/send", "target with control characters", "{\"target\": \"" + Address[..20] + "\\u0000\\u001b"
            + Address[20..] + "\", \"payload\": 1}" },
        { "POST /agents/{agent}/send", "target script", "{\"target\": \"<script>alert(1)</script>\", \"payload\": 1}" },
        { "POST /agents/{agent}/send", "target a bare scheme", "{\"target\": \"agent://\", \"payload\": 1}" },
        { "POST /agents/{agent}/send", "target with a space inside", "{\"target\": \"" + Address[..30] + " " + Address[30..]
            + "\", \"payload\": 1}" },
        { "POST /agents/{agent}/send", "session sql", "{\"target\": \"" + Address + "\", \"payload\": 1, \"session\": \"' OR 1=1 --\"}" },
        { "POST /agents/{agent}/send", "session a number", "{\"target\": \"" + Address + "\", \"payload\": 1, \"session\": 12}" },
        { "POST /agents/{agent}/send", "extra field", "{\"target\": \"" + Address
            + "\", \"payload\": 1, \"sender\": \"agent1qsomeoneelse\"}" },
        { "POST /agents/{agent}/send", "deep payload", "{\"target\": \"" + Address + "\", \"payload\": " + Deep + "}" },
        { "POST /agents/{agent}/send", "huge text", "{\"target\": \"" + Address + "\", \"text\": \"" + Huge + "\"}" },
        { "POST /agents/{agent}/messages", "json null", "null" },
        { "POST /agents/{agent}/messages", "string", "\"hello\"" },
        { "POST /agents/{agent}/messages", "text an object", "{\"text\": {}}" },
        { "POST /agents/{agent}/messages", "session an array", "{\"payload\": 1, \"session\": []}" },
        { "POST /agents/{agent}/messages", "extra field", "{\"payload\": 1, \"sender\": \"user:1\"}" },
        { "POST /agents/{agent}/messages", "huge text", "{\"text\": \"" + Huge + "\"}" },
        { "POST /agents/{agent}/messages", "text with U+0000", "{\"text\": \"a\\u0000b\"}" },
        { "POST /agents/{agent}/messages", "U+0000 deep in the payload", "{\"payload\": {\"a\": [1, {\"b\": \"\\u0000\"}]}}" },
        { "POST /agents/{agent}/messages", "U+0000 in a payload key", "{\"payload\": {\"a\\u0000\": 1}}" },
        { "POST /agents/{agent}/send", "text with U+0000", "{\"target\": \"" + Address + "\", \"text\": \"\\u0000\"}" },
        { "POST /agents/{agent}/send", "U+0000 in the payload", "{\"target\": \"" + Address + "\", \"payload\": [\"\\u0000\"]}" },
        { "PUT /agents/{agent}", "U+0000 in the config", "{\"config\": {\"note\": \"\\u0000\"}}" },
        { "PUT /agents/{agent}", "U+0000 in a config key", "{\"config\": {\"\\u0000\": 1}}" },
        { "POST /login", "U+0000 in the username", "{\"username\": \"some\\u0000one\", \"password\": \"12345678\"}" },
        { "POST /login", "U+0000 in the password", "{\"username\": \"someone\", \"password\": \"1234\\u00005678\"}" },
        { "POST /agents/{agent}/messages", "duplicate keys", "{\"payload\": 1, \"payload\": 2, \"text\": \"x\"}" },
        { "PUT /agents/{agent}", "json null", "null" },
        { "PUT /agents/{agent}", "truncated", "{\"name\": " },
        { "PUT /agents/{agent}", "extra field", "{\"name\": \"x\", \"user_id\": 1}" },
        { "PUT /agents/{agent}", "name with control characters", "{\"name\": \"a\\u0000b\"}" },
        { "PUT /agents/{agent}", "name huge", "{\"name\": \"" + Huge + "\"}" },
        { "PUT /agents/{agent}", "deep config", "{\"config\": {\"a\": " + Deep + "}}" },
        { "POST /login", "sql in username", "{\"username\": \"' OR '1'='1' --\", \"password\": \"' OR '1'='1' --\"}" },
        { "POST /login", "huge password", "{\"username\": \"someone\", \"password\": \"" + Huge + "\"}" },
        { "POST /login", "deep nesting", "{\"username\": " + Deep + "}" },
    };

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task AMalformedMessagingBodyIsAClientErrorThatChangesNothing(string endpoint, string description, string body)
    {
        var (user, agent) = await fixture.UserWithAgentAsync();
        var before = await fixture.StateAsync(user, agent);
        var (method, path) = HostileInput.Route(endpoint, agent);

        using var request = new HttpRequestMessage(method, path) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body)) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await (endpoint.Contains("login") ? fixture.CreateApiClient() : user.Client).SendAsync(request);

        Assert.True((int)response.StatusCode is >= 400 and < 500, $"{endpoint} {description}: {(int)response.StatusCode}");
        await response.AssertProblemAsync(response.StatusCode);
        Assert.Equal(before, await fixture.StateAsync(user, agent));
    }

    [Theory]
    [InlineData("POST /agents/{agent}/send")]
    [InlineData("PUT /agents/{agent}")]
    public async Task InvalidUtf8IsAClientError(string endpoint)
    {
        var (user, agent) = await fixture.UserWithAgentAsync();
        var before = await fixture.StateAsync(user, agent);
        var (method, path) = HostileInput.Route(endpoint, agent);
        byte[] body = [.. "{\"target\": \""u8, .. Encoding.UTF8.GetBytes(Address), .. "\", \"name\": \""u8, 0xC3, 0x28, 0xFF,
            .. "\", \"text\": \"\xff\"}"u8];

        using var request = new HttpRequestMessage(method, path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await user.Client.SendAsync(request);

        Assert.True((int)response.StatusCode is >= 400 and < 500, $"{endpoint}: {(int)response.StatusCode}");
        Assert.Equal(before, await fixture.StateAsync(user, agent));
    }

    [Theory]
    [InlineData("/messages", "-1")]
    [InlineData("/messages", "31")]
    [InlineData("/messages", "1e1")]
    [InlineData("/messages", "0x10")]
    [InlineData("/messages", "99999999999999999999")]
    [InlineData("/messages", "")]
    [InlineData("/messages", "%00")]
    [InlineData("/messages", "1%3B%20DROP%20TABLE%20messages")]
    [InlineData("/messages", "+5")]
    [InlineData("/messages", "5.5")]
    [InlineData("/send", "-1")]
    [InlineData("/send", "31")]
    [InlineData("/send", "soon")]
    [InlineData("/send", "1e1")]
    [InlineData("/send", "99999999999999999999")]
    [InlineData("/send", "")]
    [InlineData("/send", "%FF%FE")]
    [InlineData("/send", "%3Cscript%3E")]
    public async Task ABadWaitIsA400AndSendsNothing(string route, string wait)
    {
        var (user, agent) = await fixture.UserWithAgentAsync();
        var before = await fixture.StateAsync(user, agent);

        using var response = await user.Client.PostAsync($"/agents/{agent["id"]}{route}?wait={wait}",
            TestApi.RawJson(route == "/send" ? $"{{\"target\": \"{agent["address"]}\", \"payload\": 1}}" : "{\"payload\": 1}"));

        await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(before, await fixture.StateAsync(user, agent));
    }

    [Theory]
    [InlineData("/agents/{agent}/messages/00000000-0000-0000-0000-000000000000", 404)]
    [InlineData("/agents/{agent}/messages/%27%20OR%201%3D1%20--", 400)]
    [InlineData("/agents/{agent}/messages/-1", 400)]
    [InlineData("/agents/{agent}/messages/99999999999999999999", 400)]
    [InlineData("/agents/{agent}/messages/%3Cscript%3E", 400)]
    [InlineData("/agents/{agent}/messages/{huge}", 400)]
    [InlineData("/agents/-1/messages/00000000-0000-0000-0000-000000000000", 404)]
    [InlineData("/agents/2147483648/messages", 400)]
    [InlineData("/agents/1e3/send", 400)]
    [InlineData("/agents/{agent}/messages?limit=-1", 400)]
    [InlineData("/agents/{agent}/messages?limit=abc", 400)]
    [InlineData("/agents/{agent}/messages?limit=99999999999999999999", 400)]
    [InlineData("/agents/{agent}/messages?cursor=%00%01", 400)]
    [InlineData("/agents/{agent}/messages?cursor=" + "eyJpZCI6IjsgRFJPUCBUQUJMRSBtZXNzYWdlczsgLS0ifQ", 400)]
    [InlineData("/agents/{agent}/messages?cursor={huge}", 400)]
    [InlineData("/agents/{agent}/messages?status=%27%20OR%201%3D1", 400)]
    [InlineData("/agents/{agent}/messages?direction=%3Cscript%3E", 400)]
    [InlineData("/agents/{agent}/logs?cursor={huge}", 400)]
    [InlineData("/agents/{agent}/logs?limit=%2B5", 400)]
    [InlineData("/agents/{agent}/logs/stream?tail=-1", 400)]
    [InlineData("/agents/{agent}/logs/stream?tail=1001", 400)]
    [InlineData("/agents/{agent}/logs/stream?tail=abc", 400)]
    [InlineData("/agents/{agent}/logs/stream?tail=99999999999999999999", 400)]
    [InlineData("/agents/-1/logs/stream", 404)]
    public async Task NonsenseIdsLimitsAndCursorsOnMessagingRoutesAreClientErrors(string url, int status)
    {
        var (user, agent) = await fixture.UserWithAgentAsync();
        var path = url.Replace("{agent}", agent["id"]!.ToString()).Replace("{huge}", new string('A', 6000));

        var method = path.EndsWith("/send", StringComparison.Ordinal) ? HttpMethod.Post : HttpMethod.Get;
        using var request = new HttpRequestMessage(method, path)
            { Content = method == HttpMethod.Post ? TestApi.RawJson("{\"payload\": 1}") : null };
        using var response = await user.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);

        Assert.True((int)response.StatusCode is 400 or 404, $"{url}: {(int)response.StatusCode}");
        Assert.True((int)response.StatusCode == status, $"{url}: {(int)response.StatusCode}, expected {status}");
        await response.AssertProblemAsync(response.StatusCode);
    }

    [Fact]
    public async Task AHugeSendBodyIsRefusedWithoutBeingRead()
    {
        var (user, agent) = await fixture.UserWithAgentAsync();
        var before = await fixture.StateAsync(user, agent);

        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/agents/{agent["id"]}/send")
            {
                Content = new ByteArrayContent(new byte[8 * 1024 * 1024]) { Headers = { { "Content-Type", "application/json" } } },
            };
            using var response = await user.Client.SendAsync(request);
            await response.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        }
        catch (HttpRequestException exception) when (exception.InnerException is IOException)
        {
            // Answered 413 and closed while the client was still sending.
        }

        Assert.Equal(before, await fixture.StateAsync(user, agent));
    }

    /// <summary>Only U+0000 is refused (PostgreSQL cannot store it): other control characters and a literal <c>\u0000</c> are
    /// kept.</summary>
    [Fact]
    public async Task ControlCharactersOtherThanNulAreStoredVerbatim()
    {
        var (user, agent) = await fixture.UserWithAgentAsync();
        var payload = new JsonObject { ["a\u0001"] = "\u0001\u001f\u007f \\u0000 \ud83e\udd16" };

        var answered = await MessagingTests.SendAndWaitAsync(user, agent, payload);

        Assert.True(JsonNode.DeepEquals(payload, answered["payload"]), answered.ToJsonString());
        Assert.True(JsonNode.DeepEquals(payload, answered["reply"]), answered.ToJsonString());
    }

    [Fact]
    public async Task SqlAndScriptInMessageTextAreStoredVerbatimAndHarmless()
    {
        var (user, agent) = await fixture.UserWithAgentAsync();
        const string text = "Robert'); DELETE FROM messages;-- <script>alert('x')</script> \u202e";

        var answered = await MessagingTests.SendAndWaitAsync(user, agent, JsonValue.Create(text));

        Assert.Equal(text, answered["payload"]!.GetValue<string>());
        Assert.Equal(text, answered["reply"]!.GetValue<string>());
        await using var db = await fixture.OpenDatabaseAsync();
        Assert.True(await db.ExecuteScalarAsync<long>("SELECT count(*) FROM messages") > 0);
    }
}
