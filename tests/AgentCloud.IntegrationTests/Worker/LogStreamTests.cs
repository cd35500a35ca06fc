using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Dapper;

namespace AgentCloud.IntegrationTests;

[Collection(AgentCloudCollection.Name)]
public sealed class LogStreamTests(AgentCloudFixture fixture)
{
    [Fact]
    public async Task TheStreamStartsWithTheNewestLinesThenFollowsNewOnes()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("streamed", new { v = 1 });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/agents/{agent["id"]}/logs/stream");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var response = await user.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));

        var first = await ReadEventAsync(reader, timeout.Token);
        Assert.Equal("Agent created", first["message"]!.GetValue<string>());

        // A new line, written by another request, arrives on the open stream.
        using var update = await user.Client.PutAsJsonAsync($"/agents/{agent["id"]}", new { config = new { v = 2 } }, timeout.Token);
        Assert.Equal(HttpStatusCode.OK, update.StatusCode);
        var next = await ReadEventAsync(reader, timeout.Token);
        Assert.Equal("Agent config updated", next["message"]!.GetValue<string>());
        Assert.True(next["id"]!.GetValue<int>() > first["id"]!.GetValue<int>());
        Assert.Equal(agent["id"]!.GetValue<int>(), next["agent_id"]!.GetValue<int>());
    }

    /// <summary>
    /// Ids are taken when a line is inserted, lines appear when they commit: a line whose transaction
    /// commits after a later line was streamed still reaches the open stream.
    /// </summary>
    [Fact]
    public async Task ALineCommittedAfterAHigherOneIsStillStreamed()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("late lines");
        var agentId = agent["id"]!.GetValue<int>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var response = await user.Client.GetAsync($"/agents/{agentId}/logs/stream", HttpCompletionOption.ResponseHeadersRead,
            timeout.Token);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));
        Assert.Equal("Agent created", (await ReadEventAsync(reader, timeout.Token))["message"]!.GetValue<string>());

        await using var slow = await fixture.OpenDatabaseAsync();
        await using var transaction = await slow.BeginTransactionAsync(timeout.Token);
        var lateId = await slow.ExecuteScalarAsync<int>(
            "INSERT INTO agent_logs (agent_id, log_level, message) VALUES (@agentId, 'INFO', 'committed late') RETURNING id",
            new { agentId }, transaction);
        await using (var fast = await fixture.OpenDatabaseAsync())
        {
            await fast.ExecuteAsync("INSERT INTO agent_logs (agent_id, log_level, message) VALUES (@agentId, 'INFO', 'committed first')",
                new { agentId });
        }

        var first = await ReadEventAsync(reader, timeout.Token);
        Assert.Equal("committed first", first["message"]!.GetValue<string>());
        Assert.True(first["id"]!.GetValue<int>() > lateId);

        await transaction.CommitAsync(timeout.Token);
        var late = await ReadEventAsync(reader, timeout.Token);
        Assert.Equal("committed late", late["message"]!.GetValue<string>());
        Assert.Equal(lateId, late["id"]!.GetValue<int>());
    }

    [Fact]
    public async Task TheStreamNeedsAToken()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync();
        using var anonymous = fixture.CreateApiClient();

        using var response = await anonymous.GetAsync($"/agents/{agent["id"]}/logs/stream", HttpCompletionOption.ResponseHeadersRead);

        await response.AssertProblemAsync(HttpStatusCode.Unauthorized);
    }

    /// <summary>The data of the next event, skipping comments (keep-alives) and other fields.</summary>
    private static async Task<JsonObject> ReadEventAsync(StreamReader reader, CancellationToken cancellationToken)
    {
        string? data = null;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                data = (data is null ? "" : data + "\n") + line["data:".Length..].TrimStart();
            }
            else if (line.Length == 0 && data is not null)
            {
                return JsonNode.Parse(data)!.AsObject();
            }
        }

        throw new EndOfStreamException("The stream ended.");
    }
}
