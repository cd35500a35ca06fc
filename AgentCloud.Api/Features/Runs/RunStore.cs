using AgentCloud.Api.Infrastructure;
using AgentCloud.Shared.Llm;
using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.Quotas;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AgentCloud.Api.Features.Runs;

public sealed record ConversationSummary(Guid Session, int Messages, DateTime StartedAt, DateTime LastMessageAt, long LastSeq);

public sealed record UsageTotals(long ModelCalls, long InputTokens, long OutputTokens);

/// <summary>An agent's usage: all time, and today's against each spending limit (<see cref="TokenLimits.UsageAsync"/>).</summary>
public sealed record AgentUsageResponse(long ModelCalls, long InputTokens, long OutputTokens, IReadOnlyDictionary<string, TokenUse> Today);

public sealed record MemoryEntry(string Key, string Value, DateTime UpdatedAt);

/// <summary>What the owner reads of llm agents' runs: steps, conversations, usage, memory. Callers check ownership first.</summary>
public sealed class RunStore(NpgsqlDataSource dataSource, IOptions<QuotaOptions> quotas)
{
    public async Task<IReadOnlyList<StepRow>?> StepsAsync(int agentId, Guid messageId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var message = await MessageTable.GetAsync(connection, null, agentId, messageId, direction: null, cancellationToken);
        return message is not null ? await RunSteps.LoadAsync(connection, messageId, cancellationToken) : null;
    }

    /// <summary>Conversations newest first (by their latest message), those whose latest seq is below
    /// <paramref name="beforeSeq"/>.</summary>
    public async Task<IReadOnlyList<ConversationSummary>> ConversationsAsync(int agentId, long? beforeSeq, int take,
        CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await MessageTable.ConversationsAsync<ConversationSummary>(connection, agentId, beforeSeq, take, cancellationToken);
    }

    /// <summary>The owner's conversation in <paramref name="session"/> (what outsiders said there is theirs, not in it).</summary>
    public async Task<IReadOnlyList<ConversationTurn>> TurnsAsync(int agentId, Guid session, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var messages = await RunSteps.LoadConversationAsync(connection, agentId, session, SenderSpaces.Owner, null, 1000,
            cancellationToken);
        return [.. messages.SelectMany(m => RunSteps.Turns(m.Message, m.Steps, finishedOnly: false))];
    }

    public async Task<UsageTotals> UsageAsync(int agentId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleAsync<UsageTotals>(new CommandDefinition(
            """
            SELECT count(*) FILTER (WHERE kind = 'model_call') AS modelcalls,
                   COALESCE(sum(input_tokens), 0)::bigint AS inputtokens, COALESCE(sum(output_tokens), 0)::bigint AS outputtokens
            FROM run_steps WHERE agent_id = @agentId
            """,
            new { agentId }, cancellationToken: cancellationToken));
    }

    public async Task<AgentUsageResponse> AgentUsageAsync(int agentId, CancellationToken cancellationToken)
    {
        var total = await UsageAsync(agentId, cancellationToken);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var today = await TokenLimits.UsageAsync(connection, quotas.Value, agentId, cancellationToken) ?? new Dictionary<string,
            TokenUse>();
        return new AgentUsageResponse(total.ModelCalls, total.InputTokens, total.OutputTokens, today);
    }

    /// <summary>The owner's memory of the agent (outsiders' spaces are theirs, <see cref="MemoryScope"/>).</summary>
    public async Task<IReadOnlyList<MemoryEntry>> MemoryAsync(int agentId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return (await connection.QueryAsync<MemoryEntry>(new CommandDefinition(
            "SELECT key, value, updated_at AS updatedat FROM agent_memory WHERE agent_id = @agentId AND space = @space ORDER BY key",
            new { agentId, space = SenderSpaces.Owner }, cancellationToken: cancellationToken))).AsList();
    }
}

/// <summary>A request about one of the caller's agents.</summary>
public sealed class AgentRequest : IAgentRequest
{
    [FastEndpoints.BindFrom("agent_id")]
    public int AgentId { get; init; }
}
