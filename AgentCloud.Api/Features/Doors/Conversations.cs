using System.Text.Json;
using System.Text.Json.Nodes;
using AgentCloud.Api.Features.Messages;
using AgentCloud.Shared.Messaging;
using Dapper;
using Npgsql;

namespace AgentCloud.Api.Features.Doors;

/// <summary>A caller's agent as the standard doors list it.</summary>
public sealed class DoorAgent
{
    public int Id { get; init; }
    public string Name { get; init; } = "";
    public int? UserId { get; init; }
    public string Config { get; init; } = "{}";
    public string? Address { get; init; }
    public DateTime CreatedAt { get; init; }

    public JsonObject ConfigObject => JsonNode.Parse(Config) as JsonObject ?? [];

    public string Behavior => ConfigObject["behavior"] is JsonValue value && value.TryGetValue<string>(out var name) ? name : "default";
}

/// <summary>
/// What the standard doors (A2A, MCP, OpenAI-compatible chat) read besides single messages: the caller's
/// agents, a session's messages in order, a page of an agent's inbox. Every query is scoped to the caller.
/// </summary>
public sealed class Conversations(NpgsqlDataSource dataSource)
{
    public const int MaxAgents = 1000;

    public async Task<IReadOnlyList<DoorAgent>> AgentsAsync(int userId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<DoorAgent>(new CommandDefinition(
            """
            SELECT id, name, user_id, COALESCE(config, '{}'::jsonb)::text AS config, address, COALESCE(created_at, now()) AS created_at
            FROM agents WHERE user_id = @userId ORDER BY id LIMIT @MaxAgents
            """,
            new { userId, MaxAgents }, cancellationToken: cancellationToken))).AsList();
    }

    public async Task<DoorAgent?> AgentAsync(int? userId, int agentId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<DoorAgent>(new CommandDefinition(
            """
            SELECT id, name, user_id, COALESCE(config, '{}'::jsonb)::text AS config, address, COALESCE(created_at, now()) AS created_at
            FROM agents WHERE id = @agentId AND (@userId::int IS NULL OR user_id = @userId)
            """,
            new { userId, agentId }, cancellationToken: cancellationToken));
    }

    /// <summary>An inbound message of the agent (a task, a chat turn); outbound rows are not the doors' business.</summary>
    public async Task<MessageRow?> InboundAsync(int agentId, Guid messageId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await MessageTable.GetAsync(connection, null, agentId, messageId, MessageDirection.Inbound, cancellationToken);
    }

    /// <summary>The agent's inbound messages of one session, oldest first (the newest <paramref name="take"/>).</summary>
    public async Task<IReadOnlyList<MessageRow>> SessionAsync(int agentId, Guid session, int take, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await MessageTable.SessionAsync(connection, agentId, session, take, cancellationToken);
    }

    /// <summary>A page of the agent's inbound messages, newest first, before <paramref name="beforeSeq"/>; and how many match in
    /// all.</summary>
    public async Task<(IReadOnlyList<MessageRow> Rows, int Total)> PageAsync(int agentId, Guid? session, IReadOnlyList<string>? statuses,
        long? beforeSeq, int take, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await MessageTable.PageAsync(connection, agentId, session, statuses, beforeSeq, take, cancellationToken);
    }

    /// <summary>Token usage the run reported in its events (step or done data with a usage object), summed.</summary>
    public async Task<(int Input, int Output)> UsageAsync(Guid messageId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var usages = await connection.QueryAsync<string>(new CommandDefinition(
            "SELECT (data -> 'usage')::text FROM run_events WHERE message_id = @messageId AND jsonb_typeof(data -> 'usage') = 'object'",
            new { messageId }, cancellationToken: cancellationToken));
        int input = 0, output = 0;
        foreach (var usage in usages)
        {
            var node = JsonNode.Parse(usage)!;
            input += Number(node, "input_tokens", "prompt_tokens", "inputTokenCount");
            output += Number(node, "output_tokens", "completion_tokens", "outputTokenCount");
        }

        return (input, output);
    }

    private static int Number(JsonNode node, params string[] names)
    {
        foreach (var name in names)
        {
            if (node[name] is JsonValue value && value.TryGetValue<double>(out var number))
            {
                return (int)number;
            }
        }

        return 0;
    }
}

/// <summary>How the doors turn text into a payload and a reply back into text.</summary>
public static class DoorText
{
    /// <summary>The text as the JSON string payload, or null when it cannot be stored or is too large.</summary>
    public static string? Payload(string text) =>
        Shared.Data.StorableText.IsStorable(text) && JsonSerializer.Serialize(text) is var json && !MessageRules.IsTooLarge(json) ? json
            : null;

    /// <summary>A JSON string reply is its text; any other JSON value its JSON text; none is empty.</summary>
    public static string Of(string? json)
    {
        if (json is null)
        {
            return "";
        }

        var node = JsonNode.Parse(json);
        return node is JsonValue value && value.TryGetValue<string>(out var text) ? text : node?.ToJsonString() ?? "null";
    }
}
