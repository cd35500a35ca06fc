using AgentCloud.Shared.Llm;
using AgentCloud.Shared.Messaging;
using Dapper;
using Npgsql;

namespace AgentCloud.Api.Features.OpenAI.Responses;

/// <summary>A <c>/v1/conversations</c> row: whose it is, the agent its first response chose, its metadata (JSON).</summary>
public sealed class ConversationRow
{
    public Guid Id { get; init; }
    public int UserId { get; init; }
    public int? AgentId { get; init; }
    public string Metadata { get; init; } = "{}";
    public DateTime CreatedAt { get; init; }
}

/// <summary>
/// What the Responses door reads and keeps besides the messages themselves: a response is an inbound message of one of the
/// caller's agents (its id the message id), a conversation a row of <c>response_conversations</c> over one session of one
/// agent. Every query is scoped to the caller.
/// </summary>
public sealed class ResponseStore(NpgsqlDataSource dataSource)
{
    /// <summary>How many of a conversation's messages its item list reads (the newest).</summary>
    public const int MaxConversationMessages = 200;

    private const string ConversationColumns = "id, user_id, agent_id, metadata::text AS metadata, created_at";

    public async Task<MessageRow?> ResponseAsync(int userId, Guid messageId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await MessageTable.GetOwnedInboundAsync(connection, userId, messageId, cancellationToken);
    }

    public async Task<IReadOnlyList<StepRow>> StepsAsync(Guid messageId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await RunSteps.LoadAsync(connection, messageId, cancellationToken);
    }

    public async Task<ConversationRow> CreateConversationAsync(int userId, string metadataJson, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleAsync<ConversationRow>(new CommandDefinition(
            "INSERT INTO response_conversations (user_id, metadata) VALUES (@userId, @metadataJson::jsonb) " +
            $"RETURNING {ConversationColumns}",
            new { userId, metadataJson }, cancellationToken: cancellationToken));
    }

    public async Task<ConversationRow?> ConversationAsync(int userId, Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<ConversationRow>(new CommandDefinition(
            $"SELECT {ConversationColumns} FROM response_conversations WHERE id = @id AND user_id = @userId",
            new { id, userId }, cancellationToken: cancellationToken));
    }

    public async Task<bool> DeleteConversationAsync(int userId, Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM response_conversations WHERE id = @id AND user_id = @userId",
            new { id, userId }, cancellationToken: cancellationToken)) == 1;
    }

    /// <summary>
    /// Binds the conversation to <paramref name="agentId"/> (an agent of the caller's) if no response chose one yet; the agent
    /// it is bound to afterwards, null when the conversation is not the caller's (or was deleted meanwhile).
    /// </summary>
    public async Task<int?> BindConversationAsync(int userId, Guid id, int agentId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<int?>(new CommandDefinition(
            """
            UPDATE response_conversations SET agent_id = COALESCE(agent_id, @agentId)
            WHERE id = @id AND user_id = @userId RETURNING agent_id
            """,
            new { id, userId, agentId }, cancellationToken: cancellationToken));
    }

    /// <summary>Whether <paramref name="session"/> is one of the caller's conversations (a response then names it).</summary>
    public async Task<bool> IsConversationAsync(int userId, Guid session, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT EXISTS (SELECT 1 FROM response_conversations WHERE id = @session AND user_id = @userId)",
            new { session, userId }, cancellationToken: cancellationToken));
    }

    /// <summary>The conversation's messages to its agent, oldest first (the newest <see cref="MaxConversationMessages"/>), with their
    /// steps.</summary>
    public async Task<IReadOnlyList<(RunSteps.ConversationMessage Message, IReadOnlyList<StepRow> Steps)>> ConversationMessagesAsync(
        int agentId, Guid session, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await RunSteps.LoadConversationAsync(connection, agentId, session, SenderSpaces.Owner, null, MaxConversationMessages,
            cancellationToken);
    }
}
