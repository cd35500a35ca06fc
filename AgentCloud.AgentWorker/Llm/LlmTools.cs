using System.Text.Json;
using System.Text.Json.Nodes;
using AgentCloud.Shared.Llm;
using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.UAgents;
using Dapper;
using Microsoft.Extensions.AI;
using Npgsql;

namespace AgentCloud.AgentWorker.Llm;

/// <summary>The built-in tools' declarations (name, description, JSON schema) as the model sees them, and their SQL.</summary>
public static class LlmTools
{
    public const int MaxKeyLength = 200;
    public const int MaxValueLength = 16 * 1024;
    public const int MaxRecallAll = 50;

    public static AIFunctionDeclaration Declaration(string name) => name switch
    {
        BuiltInTools.SendMessage => Declare(name,
            "Sends a text message to another agent by its address (agent1…) and returns its reply.",
            """{"type":"object","properties":{"target":{"type":"string","description":"The agent's address, agent1…"},"text":{"type":"string"}},"required":["target","text"]}"""),
        BuiltInTools.Remember => Declare(name,
            "Stores a value under a key in your durable memory, replacing what the key held.",
            """{"type":"object","properties":{"key":{"type":"string"},"value":{"type":"string"}},"required":["key","value"]}"""),
        BuiltInTools.Recall => Declare(name,
            "Returns the value stored under a key in your memory; without a key, every key and value.",
            """{"type":"object","properties":{"key":{"type":"string"}}}"""),
        BuiltInTools.Forget => Declare(name,
            "Removes a key from your memory.",
            """{"type":"object","properties":{"key":{"type":"string"}},"required":["key"]}"""),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "Not a built-in tool."),
    };

    private static AIFunctionDeclaration Declare(string name, string description, string schema) =>
        AIFunctionFactory.CreateDeclaration(name, description, JsonDocument.Parse(schema).RootElement.Clone());

    /// <summary>A string argument, or an error for the model.</summary>
    public static string? Text(JsonObject arguments, string name, int maxLength, bool required, out string? error)
    {
        error = null;
        var node = arguments[name];
        if (node is null)
        {
            error = required ? $"Missing argument '{name}'." : null;
            return null;
        }

        if (node is not JsonValue value || !value.TryGetValue<string>(out var text))
        {
            error = $"Argument '{name}' must be a string.";
            return null;
        }

        if (text.Length == 0 || text.Length > maxLength || text.Contains('\0'))
        {
            error = $"Argument '{name}' must be 1 to {maxLength} characters, without U+0000.";
            return null;
        }

        return text;
    }

    public static Task RememberAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, int agentId, string key, string value,
        CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO agent_memory (agent_id, key, value) VALUES (@agentId, @key, @value)
            ON CONFLICT (agent_id, key) DO UPDATE SET value = EXCLUDED.value
            """,
            new { agentId, key, value }, transaction, cancellationToken: cancellationToken));

    public static async Task<bool> ForgetAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, int agentId, string key,
        CancellationToken cancellationToken) =>
        await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM agent_memory WHERE agent_id = @agentId AND key = @key",
            new { agentId, key }, transaction, cancellationToken: cancellationToken)) > 0;

    public static async Task<string> RecallAsync(NpgsqlConnection connection, int agentId, string? key, CancellationToken cancellationToken)
    {
        if (key is not null)
        {
            var value = await connection.QuerySingleOrDefaultAsync<string?>(new CommandDefinition(
                "SELECT value FROM agent_memory WHERE agent_id = @agentId AND key = @key",
                new { agentId, key }, cancellationToken: cancellationToken));
            return value ?? $"Nothing is remembered under '{key}'.";
        }

        var all = (await connection.QueryAsync<(string Key, string Value)>(new CommandDefinition(
            "SELECT key, value FROM agent_memory WHERE agent_id = @agentId ORDER BY key LIMIT @max",
            new { agentId, max = MaxRecallAll }, cancellationToken: cancellationToken))).ToList();
        return all.Count == 0
            ? "Your memory is empty."
            : new JsonObject(all.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))).ToJsonString();
    }

    /// <summary>The reply to a message the run sent (see <see cref="MessageTable.FindReplyAsync"/>).</summary>
    public static Task<(Guid Id, string Payload, string? SchemaDigest)?> FindReplyAsync(NpgsqlConnection connection, int agentId, Guid sentId,
        long sentSeq, string target, Guid session, CancellationToken cancellationToken) =>
        MessageTable.FindReplyAsync(connection, agentId, sentId, sentSeq, target, session, MessageModels.ChatAcknowledgement.Digest, cancellationToken);

    /// <summary>
    /// Whether a run already took this message as the reply to its send_message: a remote uAgent's reply
    /// cannot say what it answers, so it arrives as a new message, which must not be answered again.
    /// </summary>
    public static Task<bool> WasTakenAsReplyAsync(NpgsqlConnection connection, int agentId, Guid messageId,
        CancellationToken cancellationToken) =>
        connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            """
            SELECT EXISTS (SELECT 1 FROM run_steps
                           WHERE agent_id = @agentId AND kind = 'tool_result' AND data ->> 'reply_message_id' = @id)
            """,
            new { agentId, id = messageId.ToString("D") }, cancellationToken: cancellationToken));

    public static NewMessage Outgoing(int senderAgentId, string senderAddress, int? localAgent, string target, MessageRow cause,
        string text, string? traceparent) => new(
        AgentId: localAgent ?? senderAgentId,
        Direction: localAgent is null ? MessageDirection.Outbound : MessageDirection.Inbound,
        Sender: senderAddress,
        Target: target,
        Session: cause.Session,
        PayloadJson: JsonSerializer.Serialize(text),
        Traceparent: traceparent,
        Hops: cause.Hops + 1);
}
