using System.Text;
using System.Text.Json;
using AgentCloud.Shared.Hosting;
using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.UAgents;
using Dapper;
using Npgsql;

namespace AgentCloud.AgentWorker.UAgents;

/// <summary>An agent hosted here, as <c>/submit</c> needs it.</summary>
public sealed record HostedAgent(int Id, int? UserId, string Address, string Config);

/// <summary>
/// <c>x-uagents-connection: sync</c>: waits for the inbound message to finish, then hands back the reply the
/// handler put aside for this request (an outbound row with <c>sync_reply</c>, never POSTed by the outbox),
/// signed by the answering agent; or an <c>ErrorMessage</c> envelope, as the reference does.
/// </summary>
public sealed class SyncReplies(NpgsqlDataSource dataSource, FinishedMessages finished, BackendAgent backend, ILogger logger)
{
    public const string Expired = "Query envelope expired";
    public const string Failed = "The agent failed to handle the message";
    public const string NoReply = "The agent did not reply";
    public const string DeliveredTo = "sync-response";

    /// <summary>The reference's wait without <c>expires</c>.</summary>
    public static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(30);

    /// <summary>However far away <c>expires</c> is: an HTTP request is not held open for longer.</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromMinutes(5);

    public async Task<Envelope> WaitForReplyAsync(Envelope request, HostedAgent agent, Guid inboundId, CancellationToken cancellationToken)
    {
        var wait = request.Expires is { } expires
            ? TimeSpan.FromSeconds(Math.Clamp(expires - DateTimeOffset.UtcNow.ToUnixTimeSeconds(), 0, MaxWait.TotalSeconds))
            : DefaultWait;
        var (status, reply) = await finished.WaitAsync(inboundId, new SyncRead(MessageStatus.Queued, null),
            ct => ReadAsync(inboundId, ct), read => read.Status is null || MessageStatus.IsFinal(read.Status), wait, cancellationToken);
        if (reply is not null)
        {
            return Sign(agent, new Envelope
            {
                Sender = agent.Address,
                Target = request.Sender,
                Session = request.Session,
                SchemaDigest = reply.SchemaDigest!,
                ProtocolDigest = reply.ProtocolDigest,
                Payload = Convert.ToBase64String(Encoding.UTF8.GetBytes(reply.Payload)),
            });
        }

        return ErrorEnvelope(request, agent,
            status == MessageStatus.Dead ? Failed : status is null || MessageStatus.IsFinal(status) ? NoReply : Expired);
    }

    /// <summary>The inbound message's status (null once it is gone) and, once it is finished, its reply.</summary>
    private sealed record SyncRead(string? Status, MessageRow? Reply);

    private async Task<SyncRead> ReadAsync(Guid inboundId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenQueuedConnectionAsync(cancellationToken);
        var status = await connection.QuerySingleOrDefaultAsync<string?>(new CommandDefinition(
            "SELECT status FROM messages WHERE id = @inboundId", new { inboundId }, cancellationToken: cancellationToken));
        return new SyncRead(status,
            status is null || MessageStatus.IsFinal(status) ? await TakeReplyAsync(connection, inboundId, cancellationToken) : null);
    }

    /// <summary>What the reference answers a sync request with no reply: an <c>ErrorMessage</c>.</summary>
    public Envelope ErrorEnvelope(Envelope request, HostedAgent agent, string error) =>
        Sign(agent, Envelope.Create(agent.Address, request.Sender, MessageModels.ErrorMessage,
            JsonSerializer.Serialize(new { error }), request.Session));

    /// <summary>
    /// The first reply with a uAgents model the handler set aside for the sync sender, marked as handed
    /// over. A replayed request gets the same reply again.
    /// </summary>
    private static async Task<MessageRow?> TakeReplyAsync(NpgsqlConnection connection, Guid inboundId, CancellationToken cancellationToken)
    {
        var reply = await connection.QueryFirstOrDefaultAsync<MessageRow>(new CommandDefinition(
            $"""
            SELECT {Messages.Columns} FROM messages
            WHERE in_reply_to = @inboundId AND direction = 'outbound' AND sync_reply AND schema_digest IS NOT NULL
            ORDER BY seq LIMIT 1
            """,
            new { inboundId }, cancellationToken: cancellationToken));
        if (reply is not null)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                """
                UPDATE messages
                SET status = 'done', delivered_to = @DeliveredTo, completed_at = (now() AT TIME ZONE 'utc')
                WHERE in_reply_to = @inboundId AND direction = 'outbound' AND sync_reply AND status <> 'done'
                """,
                new { inboundId, DeliveredTo }, cancellationToken: cancellationToken));
        }

        return reply;
    }

    /// <summary>Signed by the agent when its key derives to its address; unsigned otherwise (the reference allows that).</summary>
    private Envelope Sign(HostedAgent agent, Envelope envelope)
    {
        if (backend.SigningKeyFor(agent.Id, agent.UserId, agent.Address) is not { } identity)
        {
            logger.LogWarning("Agent {AgentId}'s address is not the one its key derives to; its sync reply goes unsigned", agent.Id);
            return envelope;
        }

        return envelope.SignedBy(identity);
    }
}
