using System.Text.Json.Nodes;
using AgentCloud.Shared.Llm;
using Dapper;
using Npgsql;

namespace AgentCloud.AgentWorker.Llm.Tools;

/// <summary>
/// <c>remember</c>: stores a value under a key in the memory of the run's sender space (<see cref="MemoryScope"/>: the owner's,
/// or the outsider's own, never the owner's for an outsider); the write commits with the call's step.
/// </summary>
public sealed class RememberTool : IBuiltInTool
{
    public string Name => BuiltInTools.Remember;

    public string Description => "Stores a value under a key in your durable memory, replacing what the key held.";

    public string Schema => """{"type":"object","properties":{"key":{"type":"string"},"value":{"type":"string"}},"required":["key","value"]}""";

    public async Task<ToolApplied> ApplyAsync(ToolInvocation call, NpgsqlConnection connection, NpgsqlTransaction transaction,
        CancellationToken cancellationToken)
    {
        var key = ToolArguments.Text(call.Arguments, "key", ToolArguments.MaxKeyLength, true, out var keyError);
        var value = ToolArguments.Text(call.Arguments, "value", ToolArguments.MaxValueLength, true, out var valueError);
        if ((keyError ?? valueError) is { } error)
        {
            return ToolApplied.Refused(error);
        }

        if (call.Memory is not { } memory)
        {
            return ToolApplied.Refused(MemoryTools.NotAvailable);
        }

        // An outsider's space holds at most MaxOutsiderKeys keys: a stranger cannot grow the agent's memory without bound.
        var stored = await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO agent_memory (agent_id, space, key, value)
            SELECT @agentId, @space, @key, @value
            WHERE @isOwner
               OR EXISTS (SELECT 1 FROM agent_memory WHERE agent_id = @agentId AND space = @space AND key = @key)
               OR (SELECT count(*) FROM (SELECT 1 FROM agent_memory WHERE agent_id = @agentId AND space = @space LIMIT @max) AS kept) < @max
            ON CONFLICT (agent_id, space, key) DO UPDATE SET value = EXCLUDED.value
            """,
            new { agentId = call.Context.AgentId, space = memory.Writes, key, value, isOwner = memory.IsOwner,
                max = MemoryScope.MaxOutsiderKeys },
            transaction, cancellationToken: cancellationToken));
        return stored > 0 ? ToolApplied.Nothing
            : ToolApplied.Refused($"Your memory is full ({MemoryScope.MaxOutsiderKeys} keys); forget a key first.");
    }

    public Task<ToolOutcome> ResultAsync(ToolInvocation call, CancellationToken cancellationToken) =>
        Task.FromResult(new ToolOutcome($"Remembered '{call.Arguments["key"]}'."));
}

/// <summary><c>forget</c>: removes a key from the memory of the run's sender space (with the call's step); the result says whether it
/// was there.</summary>
public sealed class ForgetTool : IBuiltInTool
{
    public string Name => BuiltInTools.Forget;

    public string Description => "Removes a key from your memory.";

    public string Schema => """{"type":"object","properties":{"key":{"type":"string"}},"required":["key"]}""";

    public async Task<ToolApplied> ApplyAsync(ToolInvocation call, NpgsqlConnection connection, NpgsqlTransaction transaction,
        CancellationToken cancellationToken)
    {
        var key = ToolArguments.Text(call.Arguments, "key", ToolArguments.MaxKeyLength, true, out var keyError);
        if (keyError is not null)
        {
            return ToolApplied.Refused(keyError);
        }

        if (call.Memory is not { } memory)
        {
            return ToolApplied.Refused(MemoryTools.NotAvailable);
        }

        call.Data["existed"] = await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM agent_memory WHERE agent_id = @agentId AND space = @space AND key = @key",
            new { agentId = call.Context.AgentId, space = memory.Writes, key }, transaction, cancellationToken: cancellationToken)) > 0;
        return ToolApplied.Nothing;
    }

    public Task<ToolOutcome> ResultAsync(ToolInvocation call, CancellationToken cancellationToken) =>
        Task.FromResult(new ToolOutcome(call.Data["existed"]?.GetValue<bool>() == true
            ? $"Forgot '{call.Arguments["key"]}'."
            : $"Nothing was remembered under '{call.Arguments["key"]}'."));
}

/// <summary><c>recall</c>: reads a key, or every key, of the memory the run's sender space may read; no effect.</summary>
public sealed class RecallTool(NpgsqlDataSource dataSource) : IBuiltInTool
{
    public const int MaxRecallAll = 50;

    public string Name => BuiltInTools.Recall;

    public string Description => "Returns the value stored under a key in your memory; without a key, every key and value.";

    public string Schema => """{"type":"object","properties":{"key":{"type":"string"}}}""";

    public Task<ToolApplied> ApplyAsync(ToolInvocation call, NpgsqlConnection connection, NpgsqlTransaction transaction,
        CancellationToken cancellationToken)
    {
        ToolArguments.Text(call.Arguments, "key", ToolArguments.MaxKeyLength, false, out var error);
        error ??= call.Memory is null ? MemoryTools.NotAvailable : null;
        return Task.FromResult(error is null ? ToolApplied.Nothing : ToolApplied.Refused(error));
    }

    public async Task<ToolOutcome> ResultAsync(ToolInvocation call, CancellationToken cancellationToken)
    {
        var agentId = call.Context.AgentId;
        // The spaces in the scope's order: where two hold a key, the first one's value is the one read.
        var spaces = call.Memory?.Reads.ToArray() ?? [];
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (call.Arguments["key"]?.GetValue<string>() is { } key)
        {
            var value = await connection.QueryFirstOrDefaultAsync<string?>(new CommandDefinition(
                """
                SELECT value FROM agent_memory WHERE agent_id = @agentId AND key = @key AND space = ANY(@spaces)
                ORDER BY array_position(@spaces, space::text) LIMIT 1
                """,
                new { agentId, key, spaces }, cancellationToken: cancellationToken));
            return new ToolOutcome(value ?? $"Nothing is remembered under '{key}'.");
        }

        var all = (await connection.QueryAsync<(string Key, string Value)>(new CommandDefinition(
            """
            SELECT DISTINCT ON (key) key, value FROM agent_memory WHERE agent_id = @agentId AND space = ANY(@spaces)
            ORDER BY key, array_position(@spaces, space::text) LIMIT @max
            """,
            new { agentId, spaces, max = MaxRecallAll }, cancellationToken: cancellationToken))).ToList();
        return new ToolOutcome(all.Count == 0
            ? "Your memory is empty."
            : new JsonObject(all.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))).ToJsonString());
    }
}

internal static class MemoryTools
{
    public const string NotAvailable = "Memory is not available in this conversation.";
}
