using System.Text.Json.Nodes;
using Dapper;

namespace AgentCloud.IntegrationTests;

[Collection(AgentCloudCollection.Name)]
public sealed class LogTests(AgentCloudFixture fixture)
{
    private static readonly DateTime Start = new(2026, 1, 1, 12, 0, 0, DateTimeKind.Unspecified);

    [Fact]
    public async Task LogsComeNewestFirstWithTheirFields()
    {
        var (user, agentId) = await CreateAgentWithLogsAsync(3);

        using var response = await user.Client.GetAsync($"/agents/{agentId}/logs");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var page = await response.ReadJsonAsync();
        var items = page["items"]!.AsArray();
        Assert.Equal(4, items.Count); // three seeded lines and the "created" line
        var first = items[0]!.AsObject();
        Assert.Equal(["agent_id", "id", "log_level", "message", "timestamp"], first.Select(p => p.Key).Order());
        Assert.Equal(agentId, first["agent_id"]!.GetValue<int>());
        var timestamps = items.Select(i => i!["timestamp"]!.GetValue<DateTime>()).ToList();
        Assert.Equal(timestamps.OrderDescending(), timestamps);
        Assert.Null(page["next_cursor"]);
    }

    [Fact]
    public async Task TheCursorWalksEveryLineOnceInOrder()
    {
        var (user, agentId) = await CreateAgentWithLogsAsync(25, sameTimestampEvery: 5);
        await using var db = await fixture.OpenDatabaseAsync();
        var expected = (await db.QueryAsync<int>(
            "SELECT id FROM agent_logs WHERE agent_id = @agentId ORDER BY timestamp DESC, id DESC", new { agentId })).ToList();

        var seen = new List<int>();
        string? cursor = null;
        do
        {
            using var response = await user.Client.GetAsync($"/agents/{agentId}/logs?limit=7"
                + (cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var page = await response.ReadJsonAsync();
            seen.AddRange(page["items"]!.AsArray().Select(i => i!["id"]!.GetValue<int>()));
            cursor = page["next_cursor"]?.GetValue<string>();
        }
        while (cursor is not null && seen.Count < 100);

        Assert.Equal(expected, seen);
    }

    [Fact]
    public async Task LogsFilterByLevelAndTime()
    {
        var (user, agentId) = await CreateAgentWithLogsAsync(10);

        var errors = await GetItemsAsync(user, $"/agents/{agentId}/logs?level=error");
        Assert.NotEmpty(errors);
        Assert.All(errors, i => Assert.Equal("ERROR", i["log_level"]!.GetValue<string>()));

        var since = Start.AddMinutes(3);
        var until = Start.AddMinutes(6);
        var window = await GetItemsAsync(user,
            $"/agents/{agentId}/logs?since={since:yyyy-MM-ddTHH:mm:ss}Z" +
            $"&until={Uri.EscapeDataString(until.ToString("yyyy-MM-ddTHH:mm:ss") + "+00:00")}");
        Assert.Equal([5, 4, 3], window.Select(i => (int)(i["timestamp"]!.GetValue<DateTime>().ToUniversalTime()
            - DateTime.SpecifyKind(Start, DateTimeKind.Utc)).TotalMinutes));

        // The same instant written with another offset means the same window.
        var shifted = await GetItemsAsync(user, $"/agents/{agentId}/logs?since={Uri.EscapeDataString("2026-01-01T14:03:00+02:00")}" +
            $"&until={Uri.EscapeDataString("2026-01-01T14:06:00+02:00")}");
        Assert.Equal(window.Select(i => i["id"]!.GetValue<int>()), shifted.Select(i => i["id"]!.GetValue<int>()));
    }

    [Theory]
    [InlineData("level=LOUD")]
    [InlineData("limit=0")]
    [InlineData("limit=1001")]
    [InlineData("limit=-5")]
    [InlineData("limit=ten")]
    [InlineData("since=yesterday")]
    [InlineData("until=2026-13-45")]
    [InlineData("cursor=not-a-cursor")]
    [InlineData("cursor=bm9wZQ")]
    public async Task LogsRejectBadParameters(string query)
    {
        var (user, agentId) = await CreateAgentWithLogsAsync(1);

        using var response = await user.Client.GetAsync($"/agents/{agentId}/logs?{query}");

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(query.Split('=')[0], problem.ToJsonString());
    }

    [Fact]
    public async Task TheLimitDefaultsTo100AndGoesUpTo1000()
    {
        var (user, agentId) = await CreateAgentWithLogsAsync(1100);

        var defaultPage = await GetPageAsync(user, $"/agents/{agentId}/logs");
        var biggest = await GetPageAsync(user, $"/agents/{agentId}/logs?limit=1000");

        Assert.Equal(100, defaultPage["items"]!.AsArray().Count);
        Assert.NotNull(defaultPage["next_cursor"]);
        Assert.Equal(1000, biggest["items"]!.AsArray().Count);
    }

    private async Task<(TestUser User, int AgentId)> CreateAgentWithLogsAsync(int lines, int sameTimestampEvery = 1)
    {
        var user = await fixture.CreateUserAsync();
        var agentId = (await user.CreateAgentAsync())["id"]!.GetValue<int>();
        string[] levels = ["DEBUG", "INFO", "WARNING", "ERROR"];
        await using var db = await fixture.OpenDatabaseAsync();
        await db.ExecuteAsync(
            """
            INSERT INTO agent_logs (agent_id, log_level, message, timestamp)
            SELECT @agentId, (@levels)[1 + i % 4], 'line ' || i, @start + make_interval(mins => i / @every)
            FROM generate_series(0, @lines - 1) AS i
            """,
            new { agentId, levels, start = Start, every = sameTimestampEvery, lines });
        return (user, agentId);
    }

    private static async Task<JsonObject> GetPageAsync(TestUser user, string url)
    {
        using var response = await user.Client.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.ReadJsonAsync();
    }

    private static async Task<List<JsonNode>> GetItemsAsync(TestUser user, string url) =>
        (await GetPageAsync(user, url))["items"]!.AsArray().Select(i => i!).ToList();
}
