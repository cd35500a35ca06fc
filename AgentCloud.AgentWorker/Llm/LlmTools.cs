using System.Text.Json;
using AgentCloud.Shared.Llm;
using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.UAgents;
using Dapper;
using Npgsql;

namespace AgentCloud.AgentWorker.Llm;

/// <summary>The SQL the runs of llm agents share with their tools: replies to what a run sent, and the message it sends.</summary>
public static class LlmTools
{
    /// <summary>
    /// The reply to a message the run sent (see <see cref="MessageTable.FindReplyAsync"/>); <paramref name="remoteSender"/>: the remote
    /// uAgent whose next message in the session is the reply (null for an agent here, whose reply says what it answers).
    /// </summary>
    public static Task<(Guid Id, string Payload, string? SchemaDigest)?>
        FindReplyAsync(NpgsqlConnection connection, int agentId, Guid sentId,
        long sentSeq, string? remoteSender, Guid session, CancellationToken cancellationToken) =>
        MessageTable.FindReplyAsync(connection, agentId, sentId, sentSeq, remoteSender, session, MessageModels.ChatAcknowledgement.Digest,
            cancellationToken);

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
}
