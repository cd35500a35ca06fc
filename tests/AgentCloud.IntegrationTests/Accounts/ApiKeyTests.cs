using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Dapper;

namespace AgentCloud.IntegrationTests;

[Collection(AgentCloudCollection.Name)]
public sealed class ApiKeyTests(AgentCloudFixture fixture)
{
    [Fact]
    public async Task AKeyIsShownOnceStoredAsItsHashAndListedWithoutIt()
    {
        var user = await fixture.CreateUserAsync();

        var created = await CreateKeyAsync(user, ["agents:read"]);
        var key = created["key"]!.GetValue<string>();
        Assert.StartsWith("ak_", key);
        Assert.Equal(46, key.Length);

        using var list = await user.Client.GetAsync("/api-keys");
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        var text = await list.Content.ReadAsStringAsync();
        Assert.DoesNotContain(key, text);
        var listed = Assert.Single(JsonNode.Parse(text)!.AsArray());
        Assert.Null(listed!["key"]);
        Assert.Equal(key[..11], listed["key_prefix"]!.GetValue<string>());
        Assert.Equal(["agents:read"], listed["scopes"]!.AsArray().Select(s => s!.GetValue<string>()));

        await using var db = await fixture.OpenDatabaseAsync();
        var row = await db.QuerySingleAsync<(string Hash, string Everything)>(
            "SELECT key_hash, row_to_json(k)::text FROM api_keys k WHERE id = @id", new { id = created["id"]!.GetValue<int>() });
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key))), row.Hash);
        Assert.DoesNotContain(key, row.Everything);
    }

    [Fact]
    public async Task AKeyOpensTheRoutesOfItsScopesAsBearerOrAsXApiKey()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("listed");
        var key = (await CreateKeyAsync(user, ["agents:read"]))["key"]!.GetValue<string>();
        using var program = fixture.CreateApiClient();

        using var byBearer = await program.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/agents").WithBearer(key));
        using var byHeader = await program.SendAsync(WithApiKey(new HttpRequestMessage(HttpMethod.Get, $"/agents/{agent["id"]}"), key));
        using var me = await program.SendAsync(WithApiKey(new HttpRequestMessage(HttpMethod.Get, "/users/me"), key));

        Assert.Equal(HttpStatusCode.OK, byBearer.StatusCode);
        Assert.Equal(agent["id"]!.GetValue<int>(), (await byBearer.ReadJsonAsync())["items"]![0]!["id"]!.GetValue<int>());
        Assert.Equal(HttpStatusCode.OK, byHeader.StatusCode);
        Assert.Equal(user.Id, (await me.ReadJsonAsync())["id"]!.GetValue<int>());
    }

    [Fact]
    public async Task AKeyWithoutMessagesSendGets403NamingTheScope()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("quiet", new { behavior = "echo" });
        var key = (await CreateKeyAsync(user, ["agents:read"]))["key"]!.GetValue<string>();
        using var program = fixture.CreateApiClient();

        using var send = await program.SendAsync(new HttpRequestMessage(HttpMethod.Post, $"/agents/{agent["id"]}/messages")
        {
            Content = JsonContent.Create(new { text = "hi" }),
        }.WithBearer(key));
        using var create = await program.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/agents")
        {
            Content = JsonContent.Create(new { name = "nope" }),
        }.WithBearer(key));

        Assert.Contains("messages:send", (await send.AssertProblemAsync(HttpStatusCode.Forbidden))["detail"]!.GetValue<string>());
        Assert.Contains("agents:write", (await create.AssertProblemAsync(HttpStatusCode.Forbidden))["detail"]!.GetValue<string>());
        await using var db = await fixture.OpenDatabaseAsync();
        Assert.Equal(0, await db.ExecuteScalarAsync<long>("SELECT count(*) FROM messages WHERE agent_id = @id",
            new { id = agent["id"]!.GetValue<int>() }));
    }

    [Fact]
    public async Task AKeyWithMessagesSendSends()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("echo", new { behavior = "echo" });
        var key = (await CreateKeyAsync(user, ["messages:send"]))["key"]!.GetValue<string>();
        using var program = fixture.CreateApiClient();

        using var send = await program.SendAsync(WithApiKey(new
            HttpRequestMessage(HttpMethod.Post, $"/agents/{agent["id"]}/messages?wait=20")
        {
            Content = JsonContent.Create(new { text = "hi" }),
        }, key));

        Assert.Equal(HttpStatusCode.OK, send.StatusCode);
        Assert.Equal("hi", (await send.ReadJsonAsync())["reply"]!.GetValue<string>());
    }

    [Fact]
    public async Task ADeletedKeyIsRefusedAtOnce()
    {
        var user = await fixture.CreateUserAsync();
        var created = await CreateKeyAsync(user, ["agents:read"]);
        var key = created["key"]!.GetValue<string>();
        using var program = fixture.CreateApiClient();
        using (var before = await program.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/agents").WithBearer(key)))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        using var delete = await user.Client.DeleteAsync($"/api-keys/{created["id"]}");
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        using var after = await program.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/agents").WithBearer(key));
        using var byHeader = await program.SendAsync(WithApiKey(new HttpRequestMessage(HttpMethod.Get, "/agents"), key));

        await after.AssertProblemAsync(HttpStatusCode.Unauthorized);
        await byHeader.AssertProblemAsync(HttpStatusCode.Unauthorized);
        using var again = await user.Client.DeleteAsync($"/api-keys/{created["id"]}");
        await again.AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task AnotherUsersKeyCannotBeDeleted()
    {
        var owner = await fixture.CreateUserAsync();
        var stranger = await fixture.CreateUserAsync();
        var created = await CreateKeyAsync(owner, ["agents:read"]);

        using var delete = await stranger.Client.DeleteAsync($"/api-keys/{created["id"]}");

        await delete.AssertProblemAsync(HttpStatusCode.NotFound);
        using var program = fixture.CreateApiClient();
        using var still = await program.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/agents")
            .WithBearer(created["key"]!.GetValue<string>()));
        Assert.Equal(HttpStatusCode.OK, still.StatusCode);
    }

    [Fact]
    public async Task AKeyLimitedToOneAgentReachesNoOther()
    {
        var user = await fixture.CreateUserAsync();
        var mine = await user.CreateAgentAsync("allowed");
        var other = await user.CreateAgentAsync("not allowed");
        var key = (await CreateKeyAsync(user, ["agents:read", "agents:write", "messages:send"], [mine["id"]!.GetValue<int>()]))["key"]!
            .GetValue<string>();
        using var program = fixture.CreateApiClient();

        using var allowed = await program.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/agents/{mine["id"]}/messages")
            .WithBearer(key));
        using var denied = await program.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/agents/{other["id"]}").WithBearer(key));
        using var deniedLogs = await program.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/agents/{other["id"]}/logs")
            .WithBearer(key));
        using var deniedDelete = await program.SendAsync(new HttpRequestMessage(HttpMethod.Delete, $"/agents/{other["id"]}")
            .WithBearer(key));
        using var list = await program.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/agents").WithBearer(key));
        using var create = await program.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/agents")
        {
            Content = JsonContent.Create(new { name = "new" }),
        }.WithBearer(key));

        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        await denied.AssertProblemAsync(HttpStatusCode.NotFound);
        await deniedLogs.AssertProblemAsync(HttpStatusCode.NotFound);
        await deniedDelete.AssertProblemAsync(HttpStatusCode.NotFound);
        var items = (await list.ReadJsonAsync())["items"]!.AsArray();
        Assert.Equal([mine["id"]!.GetValue<int>()], items.Select(i => i!["id"]!.GetValue<int>()));
        await create.AssertProblemAsync(HttpStatusCode.Forbidden);
        using var stillThere = await user.Client.GetAsync($"/agents/{other["id"]}");
        Assert.Equal(HttpStatusCode.OK, stillThere.StatusCode);
    }

    [Fact]
    public async Task AKeyCannotManageKeysChangeThePasswordOrLogOut()
    {
        var user = await fixture.CreateUserAsync();
        var key = (await CreateKeyAsync(user, ["agents:read", "agents:write", "messages:send"]))["key"]!.GetValue<string>();
        using var program = fixture.CreateApiClient();

        using var mint = await program.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api-keys")
        {
            Content = JsonContent.Create(new { name = "child", scopes = new[] { "agents:read" } }),
        }.WithBearer(key));
        using var list = await program.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api-keys").WithBearer(key));
        using var password = await program.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/users/me/password")
        {
            Content = JsonContent.Create(new { old_password = user.Password, new_password = "taken over by a key" }),
        }.WithBearer(key));

        await mint.AssertProblemAsync(HttpStatusCode.Forbidden);
        await list.AssertProblemAsync(HttpStatusCode.Forbidden);
        await password.AssertProblemAsync(HttpStatusCode.Forbidden);
        using var login = await fixture.CreateApiClient().LoginAsync(user.Username, user.Password);
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
    }

    [Fact]
    public async Task AnExpiredKeyIsRefused()
    {
        var user = await fixture.CreateUserAsync();
        var key = (await CreateKeyAsync(user, ["agents:read"], expiresAt: DateTimeOffset.UtcNow.AddSeconds(2)))["key"]!.GetValue<string>();
        using var program = fixture.CreateApiClient();

        await Task.Delay(TimeSpan.FromSeconds(3));
        using var response = await program.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/agents").WithBearer(key));

        await response.AssertProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Theory]
    [InlineData("ak_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("ak_short")]
    [InlineData("ak_!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!")]
    public async Task AnUnknownOrMalformedKeyIs401(string key)
    {
        using var program = fixture.CreateApiClient();
        var request = new HttpRequestMessage(HttpMethod.Get, "/agents");
        request.Headers.TryAddWithoutValidation("X-API-Key", key);

        using var response = await program.SendAsync(request);

        await response.AssertProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task BadKeyRequestsAre400NamingTheField()
    {
        var user = await fixture.CreateUserAsync();
        var stranger = await fixture.CreateUserAsync();
        var theirs = await stranger.CreateAgentAsync("theirs");

        using var badScope = await user.Client.PostAsJsonAsync("/api-keys", new { name = "k", scopes = new[] { "admin" } });
        using var noScope = await user.Client.PostAsJsonAsync("/api-keys", new { name = "k", scopes = Array.Empty<string>() });
        using var notMine = await user.Client.PostAsJsonAsync("/api-keys",
            new { name = "k", scopes = new[] { "agents:read" }, agent_ids = new[] { theirs["id"]!.GetValue<int>() } });
        using var past = await user.Client.PostAsJsonAsync("/api-keys",
            new { name = "k", scopes = new[] { "agents:read" }, expires_at = DateTimeOffset.UtcNow.AddMinutes(-1) });

        Assert.Contains("scopes", (await badScope.AssertProblemAsync(HttpStatusCode.BadRequest)).ToJsonString());
        Assert.Contains("scopes", (await noScope.AssertProblemAsync(HttpStatusCode.BadRequest)).ToJsonString());
        Assert.Contains("agent_ids", (await notMine.AssertProblemAsync(HttpStatusCode.BadRequest)).ToJsonString());
        Assert.Contains("expires_at", (await past.AssertProblemAsync(HttpStatusCode.BadRequest)).ToJsonString());
        using var list = await user.Client.GetAsync("/api-keys");
        Assert.Empty(JsonNode.Parse(await list.Content.ReadAsStringAsync())!.AsArray());
    }

    internal static async Task<JsonObject> CreateKeyAsync(TestUser user, string[] scopes, int[]? agentIds = null,
        DateTimeOffset? expiresAt = null)
    {
        using var response = await user.Client.PostAsJsonAsync("/api-keys",
            new { name = "test key", scopes, agent_ids = agentIds, expires_at = expiresAt });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, body);
        return JsonNode.Parse(body)!.AsObject();
    }

    internal static HttpRequestMessage WithApiKey(HttpRequestMessage request, string key)
    {
        request.Headers.Add("X-API-Key", key);
        return request;
    }
}
