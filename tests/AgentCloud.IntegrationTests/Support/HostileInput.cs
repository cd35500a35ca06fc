using System.Text.Json.Nodes;
using Dapper;

namespace AgentCloud.IntegrationTests;

/// <summary>What the hostile-input tests share: a target agent, routes written as "METHOD /path", and the state a rejected request must
/// leave alone.</summary>
public static class HostileInput
{
    public static async Task<(TestUser User, JsonObject Agent)> UserWithAgentAsync(this AgentCloudFixture fixture)
    {
        var user = await fixture.CreateUserAsync();
        return (user, await user.CreateAgentAsync("target", new { behavior = "echo" }));
    }

    /// <summary>"POST /agents/{agent}/send" → the method and the path with the agent's id.</summary>
    public static (HttpMethod Method, string Path) Route(string endpoint, JsonObject agent)
    {
        var parts = endpoint.Split(' ');
        return (new HttpMethod(parts[0]), parts[1].Replace("{agent}", agent["id"]!.ToString()));
    }

    /// <summary>Everything a rejected request could have changed.</summary>
    public static async Task<string> StateAsync(this AgentCloudFixture fixture, TestUser user, JsonObject agent)
    {
        await using var db = await fixture.OpenDatabaseAsync();
        return string.Join(',', await db.QuerySingleAsync<(long, long, long, long, DateTime, string)>(
            """
            SELECT (SELECT count(*) FROM users),
                   (SELECT count(*) FROM agents WHERE user_id = @userId),
                   (SELECT count(*) FROM messages WHERE agent_id = @agentId),
                   (SELECT count(*) FROM agent_logs WHERE agent_id = @agentId),
                   (SELECT updated_at FROM agents WHERE id = @agentId),
                   (SELECT name || COALESCE(config::text, '') FROM agents WHERE id = @agentId)
            """,
            new { userId = user.Id, agentId = agent["id"]!.GetValue<int>() }));
    }
}
