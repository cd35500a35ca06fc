using System.Diagnostics;
using System.Net.Http.Json;

namespace AgentCloud.IntegrationTests;

[Collection(AgentCloudCollection.Name)]
public sealed class SessionTests(AgentCloudFixture fixture)
{
    private static readonly TimeSpan StreamEndsWithin = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task ATokenFromBeforeAPasswordChangeIs401()
    {
        var user = await fixture.CreateUserAsync();
        using var otherDevice = fixture.CreateApiClient();
        var otherToken = await LoginAsync(otherDevice, user.Username, user.Password);

        using var change = await user.Client.PostAsJsonAsync("/users/me/password",
            new { old_password = user.Password, new_password = "a brand new passphrase" });

        Assert.Equal(HttpStatusCode.OK, change.StatusCode);
        var fresh = (await change.ReadJsonAsync())["access_token"]!.GetValue<string>();
        using var oldToken = await Me(user.Client, user.Token);
        using var otherOld = await Me(otherDevice, otherToken);
        using var newToken = await Me(user.Client, fresh);
        await oldToken.AssertProblemAsync(HttpStatusCode.Unauthorized);
        await otherOld.AssertProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Equal(HttpStatusCode.OK, newToken.StatusCode);

        using var client = fixture.CreateApiClient();
        using var withOld = await client.LoginAsync(user.Username, user.Password);
        Assert.Equal(HttpStatusCode.Unauthorized, withOld.StatusCode);
        using var withNew = await client.LoginAsync(user.Username, "a brand new passphrase");
        Assert.Equal(HttpStatusCode.OK, withNew.StatusCode);
    }

    [Fact]
    public async Task AWrongOldPasswordIs403AndChangesNothing()
    {
        var user = await fixture.CreateUserAsync();

        using var change = await user.Client.PostAsJsonAsync("/users/me/password",
            new { old_password = "not it at all", new_password = "a brand new passphrase" });
        using var tooShort = await user.Client.PostAsJsonAsync("/users/me/password",
            new { old_password = user.Password, new_password = "short" });

        Assert.Contains("old_password", (await change.AssertProblemAsync(HttpStatusCode.Forbidden))["detail"]!.GetValue<string>());
        Assert.Contains("new_password", (await tooShort.AssertProblemAsync(HttpStatusCode.BadRequest)).ToJsonString());
        using var me = await Me(user.Client, user.Token);
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        using var login = await fixture.CreateApiClient().LoginAsync(user.Username, user.Password);
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
    }

    [Fact]
    public async Task LogoutEndsThePresentedTokenOnly()
    {
        var user = await fixture.CreateUserAsync();
        using var otherDevice = fixture.CreateApiClient();
        var otherToken = await LoginAsync(otherDevice, user.Username, user.Password);

        using var logout = await user.Client.PostAsync("/logout", null);

        Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);
        using var ended = await Me(user.Client, user.Token);
        await ended.AssertProblemAsync(HttpStatusCode.Unauthorized);
        using var other = await Me(otherDevice, otherToken);
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
    }

    [Fact]
    public async Task LogoutOfAllEndsEveryTokenButNotTheApiKeys()
    {
        var user = await fixture.CreateUserAsync();
        using var otherDevice = fixture.CreateApiClient();
        var otherToken = await LoginAsync(otherDevice, user.Username, user.Password);
        // Decided (RELIABILITY.md, "Risks decided"): API keys are machine credentials, ended one by one with DELETE /api-keys/{id}.
        using var mint = await user.Client.PostAsJsonAsync("/api-keys", new { name = "deploy", scopes = new[] { "agents:read" } });
        var key = (await mint.ReadJsonAsync())["key"]!.GetValue<string>();

        using var logout = await user.Client.PostAsync("/logout?all=true", null);

        Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);
        using var ended = await Me(user.Client, user.Token);
        using var other = await Me(otherDevice, otherToken);
        await ended.AssertProblemAsync(HttpStatusCode.Unauthorized);
        await other.AssertProblemAsync(HttpStatusCode.Unauthorized);
        using var byKey = await Me(otherDevice, key);
        Assert.Equal(HttpStatusCode.OK, byKey.StatusCode);
        var again = await LoginAsync(otherDevice, user.Username, user.Password);
        using var fresh = await Me(otherDevice, again);
        Assert.Equal(HttpStatusCode.OK, fresh.StatusCode);
    }

    [Fact]
    public async Task ALogStreamEndsWhenItsTokenIsRevoked()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("watched");
        using var stream = await OpenStreamAsync(user.Client, $"/agents/{agent["id"]}/logs/stream", user.Token);

        using var logout = await user.Client.PostAsync("/logout", null);
        Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);

        await AssertEndsAsync(stream);
    }

    [Fact]
    public async Task ALogStreamEndsWhenItsTokenExpires()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("watched");
        var shortLived = TestApi.ForgeToken(AgentCloudFixture.JwtSecret, sub: user.Id.ToString(),
            expires: DateTimeOffset.UtcNow.AddSeconds(4));
        using var stream = await OpenStreamAsync(user.Client, $"/agents/{agent["id"]}/logs/stream", shortLived);

        await AssertEndsAsync(stream);
    }

    [Fact]
    public async Task ALogStreamEndsWhenItsApiKeyIsDeleted()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("watched");
        var created = await ApiKeyTests.CreateKeyAsync(user, ["agents:read"]);
        using var program = fixture.CreateApiClient();
        using var stream = await OpenStreamAsync(program, $"/agents/{agent["id"]}/logs/stream", created["key"]!.GetValue<string>());

        using var delete = await user.Client.DeleteAsync($"/api-keys/{created["id"]}");
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);

        await AssertEndsAsync(stream);
    }

    [Fact]
    public async Task ALogStreamEndsWhenItsApiKeyExpires()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("watched");
        var created = await ApiKeyTests.CreateKeyAsync(user, ["agents:read"], expiresAt: DateTimeOffset.UtcNow.AddSeconds(4));
        using var program = fixture.CreateApiClient();
        using var stream = await OpenStreamAsync(program, $"/agents/{agent["id"]}/logs/stream", created["key"]!.GetValue<string>());

        await AssertEndsAsync(stream);
    }

    [Fact]
    public async Task AMessageStreamOpenedWithAKeyThatNeverExpiresRunsToTheMessagesEnd()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync(config: new { behavior = "stream", delay_ms = 100 });
        var key = (await ApiKeyTests.CreateKeyAsync(user, ["agents:read", "messages:send"]))["key"]!.GetValue<string>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        var request = new HttpRequestMessage(HttpMethod.Post, $"/agents/{agent["id"]}/messages")
        {
            Content = System.Net.Http.Json.JsonContent.Create(new { text = "one two three" }),
        }.WithBearer(key);
        request.Headers.Accept.ParseAdd("text/event-stream");
        using var stream = await EventStreamReader.OpenAsync(fixture.CreateApiClient(), request, timeout.Token);
        var events = await stream.ReadToEndAsync(timeout.Token);

        // It ended after "accepted": a key without an expiry counted as expired now.
        Assert.Equal("done", events[^1].Type);
    }

    private static async Task<StreamReader> OpenStreamAsync(HttpClient client, string path, string credential)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path).WithBearer(credential);
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        // The tail ("Agent created") shows the stream is live before the credential ends.
        Assert.NotNull(await reader.ReadLineAsync(timeout.Token));
        return reader;
    }

    private static async Task AssertEndsAsync(StreamReader stream)
    {
        using var timeout = new CancellationTokenSource(StreamEndsWithin);
        var started = Stopwatch.GetTimestamp();
        try
        {
            while (await stream.ReadLineAsync(timeout.Token) is not null)
            {
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"The stream was still open {StreamEndsWithin.TotalSeconds} s after its credential ended.");
        }

        Assert.True(Stopwatch.GetElapsedTime(started) < StreamEndsWithin);
    }

    private static Task<HttpResponseMessage> Me(HttpClient client, string token) =>
        client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/users/me").WithBearer(token));

    private static async Task<string> LoginAsync(HttpClient client, string username, string password)
    {
        using var login = await client.LoginAsync(username, password);
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        return (await login.ReadJsonAsync())["access_token"]!.GetValue<string>();
    }
}
