using System.Text;
using System.Text.Json;
using AgentCloud.Shared.Hosting;
using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.UAgents;
using Npgsql;

namespace AgentCloud.AgentWorker.UAgents;

/// <summary>An agent hosted here, as <c>/submit</c> needs it.</summary>
public sealed record HostedAgent(int Id, int? UserId, string Address, string Config);

/// <summary>
/// <c>x-uagents-connection: sync</c>: waits for the inbound message to finish, then hands back the reply the
/// handler stored on the inbound row for this request (<c>sync_answer</c>), signed by the answering agent; or an <c>ErrorMessage</c>
/// envelope, as the reference does.
/// </summary>
public sealed class SyncReplies(NpgsqlDataSource dataSource, FinishedMessages finished, BackendAgent backend, ILogger logger)
{
    public const string Expired = "Query envelope expired";
    public const string Failed = "The agent failed to handle the message";
    public const string NoReply = "The agent did not reply";

    /// <summary>The reference's wait without <c>expires</c>.</summary>
    public static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(30);

    /// <summary>However far away <c>expires</c> is: an HTTP request is not held open for longer.</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromMinutes(5);

    public async Task<Envelope> WaitForReplyAsync(Envelope request, HostedAgent agent, Guid inboundId, CancellationToken cancellationToken)
    {
        var wait = request.Expires is { } expires
            ? TimeSpan.FromSeconds(Math.Clamp(expires - DateTimeOffset.UtcNow.ToUnixTimeSeconds(), 0, MaxWait.TotalSeconds))
            : DefaultWait;
        var read = await finished.WaitAsync(inboundId, new SyncRead(MessageStatus.Queued, null),
            ct => ReadAsync(inboundId, ct), seen => seen.Status is null || MessageStatus.IsFinal(seen.Status), wait, cancellationToken);
        if (read.State is { Payload: { } payload, SchemaDigest: { } schema } state)
        {
            return Sign(agent, new Envelope
            {
                Sender = agent.Address,
                Target = request.Sender,
                Session = request.Session,
                SchemaDigest = schema,
                ProtocolDigest = state.ProtocolDigest,
                Payload = Convert.ToBase64String(Encoding.UTF8.GetBytes(payload)),
            });
        }

        return ErrorEnvelope(request, agent,
            read.Status == MessageStatus.Dead ? Failed : read.Status is null || MessageStatus.IsFinal(read.Status) ? NoReply : Expired);
    }

    /// <summary>The inbound message's status (null once it is gone) and its row's sync answer state.</summary>
    private sealed record SyncRead(string? Status, MessageTable.SyncState? State);

    // A connection only for the read (and, once the answer is there, for recording that it went back): a
    // waiting request holds none, so hundreds of them can wait at once.
    private async Task<SyncRead> ReadAsync(Guid inboundId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenQueuedConnectionAsync(cancellationToken);
        var state = await MessageTable.SyncStateAsync(connection, inboundId, cancellationToken);
        if (state is { Payload: not null, SchemaDigest: not null })
        {
            await MessageTable.MarkAnswerSentAsync(connection, inboundId, cancellationToken);
        }

        return new SyncRead(state?.Status, state);
    }

    /// <summary>What the reference answers a sync request with no reply: an <c>ErrorMessage</c>.</summary>
    public Envelope ErrorEnvelope(Envelope request, HostedAgent agent, string error) =>
        Sign(agent, Envelope.Create(agent.Address, request.Sender, MessageModels.ErrorMessage,
            JsonSerializer.Serialize(new { error }), request.Session));

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
