using System.Diagnostics;
using System.Text.Json.Nodes;
using AgentCloud.Shared.Data;
using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.Messaging.Behaviors;
using AgentCloud.Shared.UAgents;
using Dapper;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AgentCloud.AgentWorker.Messaging;

/// <summary>
/// Handles one claimed inbound message: runs the agent's behaviour, then commits its effects in one
/// transaction fenced on our lease, or records the failure (retry later, or dead).
/// </summary>
public sealed class MessageHandler(
    NpgsqlDataSource dataSource,
    AgentBehaviors behaviors,
    WorkerIdentity worker,
    MessagingMetrics metrics,
    IOptions<MessagingOptions> options,
    ILogger<MessageHandler> logger,
    StaticEndpointMap endpointMap,
    IHostApplicationLifetime lifetime,
    Wakeups wakeups)
{
    private const string ReplyBehavior = "reply";

    private static readonly ActivitySource ActivitySource = new(AgentWorker.ActivitySourceName);

    /// <summary>
    /// Handles a claimed message and then, while its agent has more due and the run is not over, the next
    /// ones, each claimed in the commit of the one before (see <see cref="Messages.CompleteInboundAsync"/>).
    /// Never throws: whatever goes wrong ends as a failed attempt, or as a lease left to expire.
    /// </summary>
    public async Task HandleAsync(MessageRow first, CancellationToken cancellationToken)
    {
        var message = first;
        for (var handled = 1; message is not null; handled++)
        {
            // At shutdown the run ends with the message in hand: nothing more is claimed to wait out a lease.
            var claimNext = handled < options.Value.RunLength && !lifetime.ApplicationStopping.IsCancellationRequested;
            message = await HandleOneAsync(message, claimNext, cancellationToken);
        }
    }

    /// <returns>The agent's next message, claimed in this one's commit; null when the run ends here.</returns>
    private async Task<MessageRow?> HandleOneAsync(MessageRow message, bool claimNext, CancellationToken cancellationToken)
    {
        using var activity = StartActivity(message);
        var behaviorName = "unknown";
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            try
            {
                var agent = await LoadAgentAsync(connection, message.AgentId, cancellationToken)
                    ?? throw new InvalidOperationException($"Agent {message.AgentId} does not exist.");
                if (message.Attempts > options.Value.MaxAttempts)
                {
                    // Only a worker that died mid-message, again and again, gets here.
                    throw new InvalidOperationException($"Attempt {message.Attempts} exceeds the limit; earlier attempts' workers stopped mid-message.");
                }

                var config = JsonNode.Parse(agent.Config) as JsonObject ?? [];
                var behavior = behaviors.For(config);
                // A reply ends its conversation: running the behaviour on it would answer the answer,
                // and two echo (or default) agents would talk forever. A chat acknowledgement is a reply
                // too, even from a remote uAgent whose envelopes cannot say what they answer.
                var endsConversation = message.InReplyTo is not null || ChatProtocol.IsAcknowledgement(message);
                behaviorName = endsConversation ? ReplyBehavior : behavior.Name;
                activity?.SetTag("agentcloud.behavior", behaviorName);

                var result = endsConversation
                    ? null
                    : await behavior.HandleAsync(new BehaviorContext(agent.Id, agent.Address ?? "", config, message), cancellationToken);
                if (await CommitAsync(connection, message, agent, result, activity, claimNext, cancellationToken) is { } committed)
                {
                    metrics.Handled(behaviorName, committed.Latency);
                    return committed.Next;
                }
            }
            catch (Exception exception) when (!cancellationToken.IsCancellationRequested && !IsConnectionBroken(exception, connection))
            {
                activity?.AddException(exception);
                activity?.SetStatus(ActivityStatusCode.Error, exception.Message);
                await FailAsync(connection, message, behaviorName, exception, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            logger.LogInformation("Stopped handling message {MessageId}; its lease will expire and another attempt will follow", message.Id);
        }
        catch (Exception exception)
        {
            activity?.SetStatus(ActivityStatusCode.Error, exception.Message);
            logger.LogError(exception, "Could not handle or fail message {MessageId}; its lease will expire and another attempt will follow", message.Id);
        }

        return null;
    }

    /// <returns>
    /// Milliseconds from accepted to done and the agent's next message if <paramref name="claimNext"/>; null when the
    /// lease was lost and nothing was committed.
    /// </returns>
    private async Task<(double Latency, MessageRow? Next)?> CommitAsync(NpgsqlConnection connection, MessageRow message, Agent agent,
        BehaviorResult? result, Activity? activity, bool claimNext, CancellationToken cancellationToken)
    {
        // Fenced at the end: the completion commits only while the message is still ours (see CompleteInboundAsync), and
        // everything before it in this transaction goes with it.
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var received = $"Received message {message.Id} from {UAgents.UntrustedText.ForLog(message.Sender, 200)}";
        // The message's log lines go with its completion, in its round trip.
        List<(string Level, string Message)> lines =
            [(LogLevels.Info, message.InReplyTo is { } original ? $"{received} (a reply to message {original}): {Preview(message.Payload)}" : received)];

        SyncAnswer? answer = null;
        List<MessageRow> sent = [];
        if (result is not null)
        {
            lines.AddRange(result.Logs.Select(line => (line.Level, line.Message)));

            var outgoing = new Outgoing(connection, transaction, agent, message, activity?.Id ?? message.Traceparent, endpointMap, sent);
            var replies = Senders.IsUser(message.Sender) ? [] : result.RepliesToSend;
            if (replies.Count > 0 && await RepeatsWhatItSentAsync(connection, transaction, agent, message, cancellationToken))
            {
                // Remote envelopes carry no hop count nor in_reply_to: an echo agent elsewhere answering our
                // echo would otherwise ping-pong for ever. Acknowledge (that is never answered), say no more.
                replies = [.. replies.Where(reply => reply.SchemaDigest == MessageModels.ChatAcknowledgement.Digest)];
                lines.Add((LogLevels.Info, $"Message {message.Id} repeats what this agent sent {message.Sender} in session {message.Session}; not answering it"));
            }

            // A sync sender waits on its open request for one answer (the first, if it has a model); any others go the usual way.
            if (message.SenderWaits && replies.Count > 0)
            {
                answer = replies[0].SchemaDigest is { } schema ? new SyncAnswer(replies[0].Payload?.ToJsonString() ?? "null", schema, replies[0].ProtocolDigest) : null;
                replies = [.. replies.Skip(1)];
            }

            foreach (var toSend in replies)
            {
                var reply = await outgoing.SendAsync(message.Sender, toSend.Payload, inReplyTo: message.Id, cancellationToken,
                    toSend.SchemaDigest, toSend.ProtocolDigest);
                lines.Add((LogLevels.Info, $"Sent message {reply} to {UAgents.UntrustedText.ForLog(message.Sender, 200)} (the reply to message {message.Id})"));
            }

            foreach (var send in result.Send)
            {
                if (message.Hops >= options.Value.MaxHops)
                {
                    // Agents that forward to each other would otherwise pass a message around for ever.
                    lines.Add((LogLevels.Warning, $"Did not send message {message.Id} on to {send.Target}: it has already passed {message.Hops} agents "
                        + $"(the limit is {options.Value.MaxHops})"));
                    continue;
                }

                var forwarded = await outgoing.SendAsync(send.Target, send.Payload, inReplyTo: null, cancellationToken);
                lines.Add((LogLevels.Info, $"Sent message {forwarded} to {send.Target}"));
            }
        }

        if (await Messages.CompleteInboundAsync(connection, transaction, message.Id, worker.LeaseOwner, result?.Reply?.ToJsonString(), answer,
                (agent.Id, lines), claimNext ? options.Value.LeaseDuration : null, cancellationToken) is not { } completed)
        {
            await transaction.RollbackAsync(cancellationToken);
            LeaseLost(message);
            return null;
        }

        await transaction.CommitAsync(cancellationToken);
        wakeups.Finished(message.Id);
        wakeups.LogWritten(agent.Id);
        sent.ForEach(wakeups.Queued);
        return completed;
    }

    /// <summary>Records a failed attempt (fenced like a success): retry after a backoff, or dead after the last attempt.</summary>
    private async Task FailAsync(NpgsqlConnection connection, MessageRow message, string behaviorName, Exception exception,
        CancellationToken cancellationToken)
    {
        var settings = options.Value;
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (!await Messages.FenceAsync(connection, transaction, message.Id, worker.LeaseOwner, cancellationToken))
        {
            await transaction.RollbackAsync(cancellationToken);
            LeaseLost(message);
            return;
        }

        var error = exception.Message;
        // A refused key or a reached run limit fails every attempt the same way: dead now.
        if (message.Attempts < settings.MaxAttempts && exception is not PermanentBehaviorException)
        {
            var delay = RetryBackoff.Delay(message.Attempts, settings.RetryBaseDelay, settings.RetryMaxDelay);
            await Messages.RetryLaterAsync(connection, transaction, message.Id, delay, error, cancellationToken);
            await AgentLogs.WriteAsync(connection, message.AgentId, LogLevels.Warning,
                $"Message {message.Id} failed (attempt {message.Attempts} of {settings.MaxAttempts}): {error}", transaction, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            wakeups.LogWritten(message.AgentId);
            metrics.Failed(behaviorName);
            logger.LogWarning("Message {MessageId} of agent {AgentId} failed (attempt {Attempt} of {MaxAttempts}), retrying in {Delay}: {Error}",
                message.Id, message.AgentId, message.Attempts, settings.MaxAttempts, delay, error);
        }
        else
        {
            await Messages.MarkDeadAsync(connection, transaction, message.Id, error, cancellationToken);
            await AgentLogs.WriteAsync(connection, message.AgentId, LogLevels.Error,
                $"Message {message.Id} is dead after {message.Attempts} attempts: {error}", transaction, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            wakeups.Finished(message.Id);
            wakeups.LogWritten(message.AgentId);
            metrics.Dead(behaviorName);
            logger.LogError("Message {MessageId} of agent {AgentId} is dead after {Attempts} attempts: {Error}",
                message.Id, message.AgentId, message.Attempts, error);
        }
    }

    /// <summary>
    /// The span of one handling, named as the messaging conventions name a consumer's processing
    /// (<c>process {destination}</c>); the statements of the handling are its children.
    /// </summary>
    private static Activity? StartActivity(MessageRow message)
    {
        // The sender's trace continues here; without a (valid) traceparent this starts a new trace.
        ActivityContext.TryParse(message.Traceparent, null, out var parent);
        var activity = ActivitySource.StartActivity($"process {NotifyChannels.Inbox}", ActivityKind.Consumer, parent);
        activity?.SetTag("messaging.system", "postgresql");
        activity?.SetTag("messaging.operation.type", "process");
        activity?.SetTag("messaging.operation.name", "process");
        activity?.SetTag("messaging.destination.name", NotifyChannels.Inbox);
        activity?.SetTag("messaging.message.id", message.Id.ToString("D"));
        activity?.SetTag("messaging.message.conversation_id", message.Session.ToString("D"));
        activity?.SetTag("agentcloud.agent.id", message.AgentId);
        activity?.SetTag("agentcloud.message.attempt", message.Attempts);
        return activity;
    }

    private void LeaseLost(MessageRow message) =>
        logger.LogWarning("Lost the lease on message {MessageId} of agent {AgentId}; another worker handles it, nothing committed here",
            message.Id, message.AgentId);

    // A broken connection says nothing about the message: leave it to the lease rather than count a failure.
    private static bool IsConnectionBroken(Exception exception, NpgsqlConnection connection) =>
        exception is NpgsqlException && connection.FullState.HasFlag(System.Data.ConnectionState.Broken)
        || connection.State != System.Data.ConnectionState.Open;

    // An echo of ours coming back: the same content this agent already sent its sender in the session.
    private static async Task<bool> RepeatsWhatItSentAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        Agent agent, MessageRow message, CancellationToken cancellationToken) =>
        agent.Address is not null && await Messages.RepeatsWhatWasSentAsync(connection, transaction, agent.Id, agent.Address, message,
            MessageModels.ChatMessage.Digest, cancellationToken);

    public sealed record Agent(int Id, string? Address, string Config);

    /// <summary>The agent that owns a message; a NULL config reads as <c>{}</c>.</summary>
    private static Task<Agent?> LoadAgentAsync(NpgsqlConnection connection, int agentId, CancellationToken cancellationToken) =>
        connection.QueryPreparedSingleOrDefaultAsync<Agent>(
            "SELECT id, address, COALESCE(config, '{}'::jsonb)::text AS config FROM agents WHERE id = @agentId",
            new { agentId }, null, cancellationToken);

    private static string Preview(string payload, int max = 200) => payload.Length <= max ? payload : payload[..max] + "…";

    /// <summary>
    /// Sends as the handling agent: to a local agent's inbox, or to this agent's outbox for remote delivery; each
    /// queued message goes in <paramref name="Sent"/>, to be woken once the transaction commits.
    /// </summary>
    private readonly record struct Outgoing(NpgsqlConnection Connection, NpgsqlTransaction Transaction, Agent Agent,
        MessageRow Message, string? Traceparent, StaticEndpointMap EndpointMap, List<MessageRow> Sent)
    {
        public async Task<Guid> SendAsync(string target, JsonNode? payload, Guid? inReplyTo, CancellationToken cancellationToken,
            string? schemaDigest = null, string? protocolDigest = null)
        {
            var sender = Agent.Address is { Length: > 0 } address
                ? address
                : throw new InvalidOperationException($"Agent {Agent.Id} has no address, so it cannot send messages.");
            // An unsigned user sender (user…) is an identity of its own, not NAME/ADDR: "user/agent1…" must not
            // be read as the local agent after the slash. Its reply goes back over the wire, never into an inbox here.
            var userSender = Address.IsUserSender(target);
            target = userSender ? target : Address.Normalize(target);
            var route = await Messages.RouteAsync(Connection, Transaction, EndpointMap, Agent.Id, target,
                overHttp: userSender, cancellationToken);
            var (sent, _) = await Messages.EnqueueAsync(Connection, Transaction, new NewMessage(
                AgentId: route.AgentId,
                Direction: route.Direction,
                Sender: sender,
                Target: target,
                Session: Message.Session,
                PayloadJson: payload?.ToJsonString() ?? "null",
                InReplyTo: inReplyTo,
                Traceparent: Traceparent,
                Hops: Message.Hops + 1,
                SchemaDigest: schemaDigest,
                ProtocolDigest: protocolDigest), cancellationToken);
            Sent.Add(sent);
            return sent.Id;
        }
    }
}
