using System.Text.Json.Nodes;
using AgentCloud.Shared.Llm;
using Dapper;
using Npgsql;

namespace AgentCloud.AgentWorker.Llm.Tools;

/// <summary><c>remember</c>: stores a value under a key in the agent's durable memory (the write commits with the call's step).</summary>
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

        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO agent_memory (agent_id, key, value) VALUES (@agentId, @key, @value)
            ON CONFLICT (agent_id, key) DO UPDATE SET value = EXCLUDED.value
            """,
            new { agentId = call.Context.AgentId, key, value }, transaction, cancellationToken: cancellationToken));
        return ToolApplied.Nothing;
    }

    public Task<ToolOutcome> ResultAsync(ToolInvocation call, CancellationToken cancellationToken) =>
        Task.FromResult(new ToolOutcome($"Remembered '{call.Arguments["key"]}'."));
}

/// <summary><c>forget</c>: removes a key from the agent's memory (with the call's step); the result says whether it was there.</summary>
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

        call.Data["existed"] = await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM agent_memory WHERE agent_id = @agentId AND key = @key",
            new { agentId = call.Context.AgentId, key }, transaction, cancellationToken: cancellationToken)) > 0;
        return ToolApplied.Nothing;
    }

    public Task<ToolOutcome> ResultAsync(ToolInvocation call, CancellationToken cancellationToken) =>
        Task.FromResult(new ToolOutcome(call.Data["existed"]?.GetValue<bool>() == true
            ? $"Forgot '{call.Arguments["key"]}'."
            : $"Nothing was remembered under '{call.Arguments["key"]}'."));
}

/// <summary><c>recall</c>: reads a key, or every key, of the agent's memory; no effect.</summary>
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
        return Task.FromResult(error is null ? ToolApplied.Nothing : ToolApplied.Refused(error));
    }

    public async Task<ToolOutcome> ResultAsync(ToolInvocation call, CancellationToken cancellationToken)
    {
        var agentId = call.Context.AgentId;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (call.Arguments["key"]?.GetValue<string>() is { } key)
        {
            var value = await connection.QuerySingleOrDefaultAsync<string?>(new CommandDefinition(
                "SELECT value FROM agent_memory WHERE agent_id = @agentId AND key = @key",
                new { agentId, key }, cancellationToken: cancellationToken));
            return new ToolOutcome(value ?? $"Nothing is remembered under '{key}'.");
        }

        var all = (await connection.QueryAsync<(string Key, string Value)>(new CommandDefinition(
            "SELECT key, value FROM agent_memory WHERE agent_id = @agentId ORDER BY key LIMIT @max",
            new { agentId, max = MaxRecallAll }, cancellationToken: cancellationToken))).ToList();
        return new ToolOutcome(all.Count == 0
            ? "Your memory is empty."
            : new JsonObject(all.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))).ToJsonString());
    }
}
