using Dapper;
using Npgsql;

namespace AgentCloud.Shared.Messaging;

/// <summary>
/// Whose conversation and memory a message to an agent belongs to: its sender's space, one rule in the database
/// (<c>sender_space(sender, owner)</c>, migration 0130, built on the owner/outsider rule <c>sender_is_owner</c> that the token
/// budgets use). <see cref="Owner"/> for the agent's owner (through the API, a schedule, or one of the owner's own agents);
/// <c>user:{id}</c> for another user's agents; the sender's own address for anyone else (a uAgents peer).
/// </summary>
public static class SenderSpaces
{
    public const string Owner = "";

    public static bool IsOwner(string space) => space.Length == 0;

    /// <summary>SQL: the space of <paramref name="sender"/> (a column or parameter) for the agent <paramref name="agentId"/> (a column
    /// or parameter).</summary>
    public static string Of(string sender, string agentId) =>
        $"sender_space({sender}, (SELECT user_id FROM agents WHERE id = {agentId}))";

    /// <summary>The space of <paramref name="sender"/> for agent <paramref name="agentId"/>.</summary>
    public static async Task<string> OfAsync(NpgsqlConnection connection, int agentId, string sender,
        CancellationToken cancellationToken) =>
        await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            $"SELECT {Of("@sender", "@agentId")}", new { sender, agentId }, cancellationToken: cancellationToken)) ?? sender;
}
