using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;

namespace AgentCloud.IntegrationTests;

[Collection(AgentCloudCollection.Name)]
public sealed class AgentTests(AgentCloudFixture fixture)
{
    [Fact]
    public async Task CreatingAnAgentReturnsItWithItsAddressAndLogsIt()
    {
        var user = await fixture.CreateUserAsync();

        using var response = await user.Client.PostAsJsonAsync("/agents",
            new { name = "weather bot", config = new { behavior = "echo", depth = new[] { 1, 2 } } });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var agent = await response.ReadJsonAsync();
        var id = agent["id"]!.GetValue<int>();
        Assert.Equal($"/agents/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal("weather bot", agent["name"]!.GetValue<string>());
        Assert.Equal(user.Id, agent["user_id"]!.GetValue<int>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("{\"behavior\":\"echo\",\"depth\":[1,2]}"), agent["config"]));
        Assert.Matches("^agent1[02-9ac-hj-np-z]{59}$", agent["address"]!.GetValue<string>());
        Assert.NotNull(agent["created_at"]);
        Assert.NotNull(agent["updated_at"]);

        await using var db = await fixture.OpenDatabaseAsync();
        var lines = (await db.QueryAsync<string>("SELECT log_level FROM agent_logs WHERE agent_id = @id", new { id })).ToList();
        Assert.Equal(["INFO"], lines);
    }

    [Fact]
    public async Task AnAgentWithoutConfigGetsAnEmptyObject()
    {
        var user = await fixture.CreateUserAsync();

        var agent = await user.CreateAgentAsync("plain");

        Assert.True(JsonNode.DeepEquals(new JsonObject(), agent["config"]));
    }

    [Fact]
    public async Task EveryAgentGetsItsOwnAddress()
    {
        var user = await fixture.CreateUserAsync();

        var first = await user.CreateAgentAsync();
        var second = await user.CreateAgentAsync();

        Assert.NotEqual(first["address"]!.GetValue<string>(), second["address"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("{\"name\": \"\"}")]
    [InlineData("{\"name\": \"   \"}")]
    [InlineData("{\"config\": {}}")]
    [InlineData("{\"name\": \"ok\", \"config\": [1, 2]}")]
    [InlineData("{\"name\": \"ok\", \"config\": \"text\"}")]
    [InlineData("{\"name\": 12}")]
    [InlineData("{\"name\": \"ok\", \"owner\": 1}")]
    [InlineData("{\"name\": \"bell\u0007\"}")]
    [InlineData("not json")]
    public async Task CreatingAnAgentRejectsBadInputAndStoresNothing(string body)
    {
        var user = await fixture.CreateUserAsync();

        using var response = await user.Client.PostAsync("/agents", TestApi.RawJson(body));

        await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(0, await CountAgentsAsync(user.Id));
    }

    [Fact]
    public async Task CreatingAnAgentRejectsANameOver100Characters()
    {
        var user = await fixture.CreateUserAsync();

        using var response = await user.Client.PostAsJsonAsync("/agents", new { name = new string('n', 101) });

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("name", problem.ToJsonString());
    }

    [Fact]
    public async Task AgentRoutesNeedAToken()
    {
        using var anonymous = fixture.CreateApiClient();

        using var list = await anonymous.GetAsync("/agents");
        using var create = await anonymous.PostAsJsonAsync("/agents", new { name = "x" });

        await list.AssertProblemAsync(HttpStatusCode.Unauthorized);
        await create.AssertProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task ListingAgentsPagesThroughOnlyTheCallersAgentsNewestFirst()
    {
        var user = await fixture.CreateUserAsync();
        var other = await fixture.CreateUserAsync();
        await other.CreateAgentAsync();
        var created = new List<int>();
        for (var i = 0; i < 5; i++)
        {
            created.Add((await user.CreateAgentAsync($"agent {i}"))["id"]!.GetValue<int>());
        }

        var seen = new List<int>();
        string? cursor = null;
        var pages = 0;
        do
        {
            using var response = await user.Client.GetAsync(cursor is null ? "/agents?limit=2"
                : $"/agents?limit=2&cursor={Uri.EscapeDataString(cursor)}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var page = await response.ReadJsonAsync();
            var items = page["items"]!.AsArray();
            Assert.True(items.Count <= 2);
            seen.AddRange(items.Select(item => item!["id"]!.GetValue<int>()));
            Assert.All(items, item => Assert.Equal(user.Id, item!["user_id"]!.GetValue<int>()));
            cursor = page["next_cursor"]?.GetValue<string>();
            pages++;
        }
        while (cursor is not null && pages < 10);

        Assert.Equal(created.AsEnumerable().Reverse(), seen);
        Assert.Equal(3, pages);
    }

    [Theory]
    [InlineData("/agents?limit=0")]
    [InlineData("/agents?limit=101")]
    [InlineData("/agents?limit=abc")]
    [InlineData("/agents?cursor=%%%not-a-cursor")]
    [InlineData("/agents?cursor=bm9wZQ")]
    public async Task ListingAgentsRejectsBadPaging(string url)
    {
        var user = await fixture.CreateUserAsync();

        using var response = await user.Client.GetAsync(url);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task GettingAnAgentReturnsIt()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("finder", new { k = "v" });

        using var response = await user.Client.GetAsync($"/agents/{agent["id"]}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(JsonNode.DeepEquals(agent, await response.ReadJsonAsync()));
    }

    [Fact]
    public async Task UpdatingAnAgentChangesItBumpsUpdatedAtAndLogsTheConfigChange()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("before", new { v = 1 });
        var id = agent["id"]!.GetValue<int>();
        await Task.Delay(20);

        using var response = await user.Client.PutAsJsonAsync($"/agents/{id}", new { name = "after", config = new { v = 2 } });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var updated = await response.ReadJsonAsync();
        Assert.Equal("after", updated["name"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("{\"v\":2}"), updated["config"]));
        Assert.Equal(agent["created_at"]!.GetValue<DateTime>(), updated["created_at"]!.GetValue<DateTime>());
        Assert.True(updated["updated_at"]!.GetValue<DateTime>() > agent["updated_at"]!.GetValue<DateTime>());

        using var reread = await user.Client.GetAsync($"/agents/{id}");
        Assert.True(JsonNode.DeepEquals(updated, await reread.ReadJsonAsync()));

        await using var db = await fixture.OpenDatabaseAsync();
        var levels = (await db.QueryAsync<string>("SELECT log_level FROM agent_logs WHERE agent_id = @id ORDER BY id", new { id }))
            .ToList();
        Assert.Equal(["INFO", "INFO"], levels);
    }

    [Fact]
    public async Task RenamingAnAgentWithoutTouchingItsConfigWritesNoConfigLine()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("before", new { v = 1 });
        var id = agent["id"]!.GetValue<int>();

        using var response = await user.Client.PutAsJsonAsync($"/agents/{id}", new { name = "after" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var updated = await response.ReadJsonAsync();
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("{\"v\":1}"), updated["config"]));
        await using var db = await fixture.OpenDatabaseAsync();
        Assert.Equal(1, await db.ExecuteScalarAsync<long>("SELECT count(*) FROM agent_logs WHERE agent_id = @id", new { id }));
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("{\"name\": \"\"}")]
    [InlineData("{\"config\": 5}")]
    public async Task UpdatingAnAgentRejectsBadInputAndChangesNothing(string body)
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("unchanged", new { v = 1 });

        using var response = await user.Client.PutAsync($"/agents/{agent["id"]}", TestApi.RawJson(body));

        await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        using var reread = await user.Client.GetAsync($"/agents/{agent["id"]}");
        Assert.True(JsonNode.DeepEquals(agent, await reread.ReadJsonAsync()));
    }

    [Fact]
    public async Task DeletingAnAgentRemovesItAndItsLogs()
    {
        var user = await fixture.CreateUserAsync();
        var id = (await user.CreateAgentAsync())["id"]!.GetValue<int>();

        using var delete = await user.Client.DeleteAsync($"/agents/{id}");

        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        using var get = await user.Client.GetAsync($"/agents/{id}");
        await get.AssertProblemAsync(HttpStatusCode.NotFound);
        using var again = await user.Client.DeleteAsync($"/agents/{id}");
        await again.AssertProblemAsync(HttpStatusCode.NotFound);
        await using var db = await fixture.OpenDatabaseAsync();
        Assert.Equal(0, await db.ExecuteScalarAsync<long>("SELECT count(*) FROM agent_logs WHERE agent_id = @id", new { id }));
    }

    [Fact]
    public async Task AnotherUsersAgentIsIndistinguishableFromAMissingOneOnEveryRoute()
    {
        var owner = await fixture.CreateUserAsync();
        var stranger = await fixture.CreateUserAsync();
        var agent = await owner.CreateAgentAsync("private", new { secret = "mine" });
        var id = agent["id"]!.GetValue<int>();
        const int missing = int.MaxValue;

        foreach (var (method, path, body) in new (HttpMethod, string, string?)[]
        {
            (HttpMethod.Get, "/agents/{0}", null),
            (HttpMethod.Put, "/agents/{0}", "{\"name\": \"stolen\"}"),
            (HttpMethod.Delete, "/agents/{0}", null),
            (HttpMethod.Get, "/agents/{0}/logs", null),
        })
        {
            var theirs = await SendAsync(stranger, method, string.Format(path, id), body);
            var none = await SendAsync(stranger, method, string.Format(path, missing), body);

            Assert.True(theirs.Status == HttpStatusCode.NotFound, $"{method} {path}: {theirs.Status} {theirs.Body}");
            Assert.Equal(none.Status, theirs.Status);
            Assert.Equal(Normalise(none.Body, missing), Normalise(theirs.Body, id));
        }

        using var stillThere = await owner.Client.GetAsync($"/agents/{id}");
        Assert.True(JsonNode.DeepEquals(agent, await stillThere.ReadJsonAsync()));
    }

    [Theory]
    [InlineData("/agents/abc")]
    [InlineData("/agents/-1")]
    [InlineData("/agents/0")]
    [InlineData("/agents/99999999999999999999")]
    [InlineData("/agents/abc/logs")]
    public async Task NonsenseAgentIdsAreClientErrors(string path)
    {
        var user = await fixture.CreateUserAsync();

        using var response = await user.Client.GetAsync(path);

        Assert.True(response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.BadRequest, $"{path}: {response.StatusCode}");
    }

    private static async Task<(HttpStatusCode Status, string Body)> SendAsync(TestUser user, HttpMethod method, string path, string? body)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : TestApi.RawJson(body) };
        using var response = await user.Client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    // Problem details may echo the path or a trace id; neither may tell "yours" from "absent".
    private static string Normalise(string body, int id)
    {
        var node = JsonNode.Parse(body)!.AsObject();
        node.Remove("traceId");
        node.Remove("trace_id");
        return node.ToJsonString().Replace(id.ToString(), "{id}");
    }

    private async Task<long> CountAgentsAsync(int userId)
    {
        await using var db = await fixture.OpenDatabaseAsync();
        return await db.ExecuteScalarAsync<long>("SELECT count(*) FROM agents WHERE user_id = @userId", new { userId });
    }
}
