using System.Diagnostics;
using System.Text.Json.Nodes;
using AgentCloud.Shared.Data;
using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.Messaging.Behaviors;
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
    ILogger<MessageHandler> logger)
{
    private const string ReplyBehavior = "reply";

    private static readonly ActivitySource ActivitySource = new(AgentWorker.ActivitySourceName);

    /// <summary>Never throws: whatever goes wrong ends as a failed attempt, or as a lease left to expire.</summary>
    public async Task HandleAsync(MessageRow message, CancellationToken cancellationToken)
    {
        using var activity = StartActivity(message);
        var behaviorName = "unknown";
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            try
            {
                var agent = await Inbox.LoadAgentAsync(connection, message.AgentId, cancellationToken)
                    ?? throw new InvalidOperationException($"Agent {message.AgentId} does not exist.");
                if (message.Attempts > options.Value.MaxAttempts)
                {
                    // Only a worker that died mid-message, again and again, gets here.
                    throw new InvalidOperationException($"Attempt {message.Attempts} exceeds the limit; earlier attempts' workers stopped mid-message.");
                }

                var config = JsonNode.Parse(agent.Config) as JsonObject ?? [];
                var behavior = behaviors.For(config);
                // A reply ends its conversation: running the behaviour on it would answer the answer,
                // and two echo (or default) agents would talk forever.
                behaviorName = message.InReplyTo is null ? behavior.Name : ReplyBehavior;
                activity?.SetTag("agentcloud.behavior", behaviorName);

                var result = message.InReplyTo is null
                    ? await behavior.HandleAsync(new BehaviorContext(agent.Id, agent.Address ?? "", config, message), cancellationToken)
                    : null;
                if (await CommitAsync(connection, message, agent, result, activity, cancellationToken) is { } latency)
                {
                    metrics.Handled(behaviorName, latency);
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
    }

    /// <returns>Milliseconds from accepted to done, or null when the lease was lost and nothing was committed.</returns>
    private async Task<double?> CommitAsync(NpgsqlConnection connection, MessageRow message, Inbox.Agent agent,
        BehaviorResult? result, Activity? activity, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (!await Inbox.FenceAsync(connection, transaction, message.Id, worker.LeaseOwner, cancellationToken))
        {
            await transaction.RollbackAsync(cancellationToken);
            LeaseLost(message);
            return null;
        }

        var received = $"Received message {message.Id} from {message.Sender}";
        await AgentLogs.WriteAsync(connection, agent.Id, LogLevels.Info,
            message.InReplyTo is { } original ? $"{received} (a reply to message {original}): {Preview(message.Payload)}" : received,
            transaction, cancellationToken);

        if (result is not null)
        {
            foreach (var line in result.Logs)
            {
                await AgentLogs.WriteAsync(connection, agent.Id, line.Level, line.Message, transaction, cancellationToken);
            }

            var outgoing = new Outgoing(connection, transaction, agent, message, activity?.Id ?? message.Traceparent);
            if (result.Reply is not null && !Senders.IsUser(message.Sender))
            {
                var reply = await outgoing.SendAsync(message.Sender, result.Reply, inReplyTo: message.Id, cancellationToken);
                await AgentLogs.WriteAsync(connection, agent.Id, LogLevels.Info,
                    $"Sent message {reply} to {message.Sender} (the reply to message {message.Id})", transaction, cancellationToken);
            }

            foreach (var send in result.Send)
            {
                if (message.Hops >= options.Value.MaxHops)
                {
                    // Agents that forward to each other would otherwise pass a message around for ever.
                    await AgentLogs.WriteAsync(connection, agent.Id, LogLevels.Warning,
                        $"Did not send message {message.Id} on to {send.Target}: it has already passed {message.Hops} agents "
                        + $"(the limit is {options.Value.MaxHops})", transaction, cancellationToken);
                    continue;
                }

                var sent = await outgoing.SendAsync(send.Target, send.Payload, inReplyTo: null, cancellationToken);
                await AgentLogs.WriteAsync(connection, agent.Id, LogLevels.Info, $"Sent message {sent} to {send.Target}",
                    transaction, cancellationToken);
            }
        }

        var latency = await Inbox.CompleteAsync(connection, transaction, message.Id, result?.Reply?.ToJsonString(), cancellationToken);
        await Inbox.NotifyFinishedAsync(connection, transaction, message.Id, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return latency;
    }

    /// <summary>Records a failed attempt (fenced like a success): retry after a backoff, or dead after the last attempt.</summary>
    private async Task FailAsync(NpgsqlConnection connection, MessageRow message, string behaviorName, Exception exception,
        CancellationToken cancellationToken)
    {
        var settings = options.Value;
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (!await Inbox.FenceAsync(connection, transaction, message.Id, worker.LeaseOwner, cancellationToken))
        {
            await transaction.RollbackAsync(cancellationToken);
            LeaseLost(message);
            return;
        }

        var error = exception.Message;
        if (message.Attempts < settings.MaxAttempts)
        {
            var delay = RetryBackoff.Delay(message.Attempts, settings.RetryBaseDelay, settings.RetryMaxDelay);
            await Inbox.RetryLaterAsync(connection, transaction, message.Id, delay, error, cancellationToken);
            await AgentLogs.WriteAsync(connection, message.AgentId, LogLevels.Warning,
                $"Message {message.Id} failed (attempt {message.Attempts} of {settings.MaxAttempts}): {error}", transaction, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            metrics.Failed(behaviorName);
            logger.LogWarning("Message {MessageId} of agent {AgentId} failed (attempt {Attempt} of {MaxAttempts}), retrying in {Delay}: {Error}",
                message.Id, message.AgentId, message.Attempts, settings.MaxAttempts, delay, error);
        }
        else
        {
            await Inbox.MarkDeadAsync(connection, transaction, message.Id, error, cancellationToken);
            await AgentLogs.WriteAsync(connection, message.AgentId, LogLevels.Error,
                $"Message {message.Id} is dead after {message.Attempts} attempts: {error}", transaction, cancellationToken);
            await Inbox.NotifyFinishedAsync(connection, transaction, message.Id, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            metrics.Dead(behaviorName);
            logger.LogError("Message {MessageId} of agent {AgentId} is dead after {Attempts} attempts: {Error}",
                message.Id, message.AgentId, message.Attempts, error);
        }
    }

    private static Activity? StartActivity(MessageRow message)
    {
        // The sender's trace continues here; without a (valid) traceparent this starts a new trace.
        ActivityContext.TryParse(message.Traceparent, null, out var parent);
        var activity = ActivitySource.StartActivity("handle message", ActivityKind.Consumer, parent);
        activity?.SetTag("messaging.system", "postgresql");
        activity?.SetTag("messaging.operation.type", "process");
        activity?.SetTag("messaging.message.id", message.Id.ToString("D"));
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

    private static string Preview(string payload, int max = 200) => payload.Length <= max ? payload : payload[..max] + "…";

    /// <summary>Sends as the handling agent: to a local agent's inbox, or to this agent's outbox for remote delivery.</summary>
    private readonly record struct Outgoing(NpgsqlConnection Connection, NpgsqlTransaction Transaction, Inbox.Agent Agent,
        MessageRow Message, string? Traceparent)
    {
        public async Task<Guid> SendAsync(string target, JsonNode? payload, Guid? inReplyTo, CancellationToken cancellationToken)
        {
            var sender = Agent.Address is { Length: > 0 } address
                ? address
                : throw new InvalidOperationException($"Agent {Agent.Id} has no address, so it cannot send messages.");
            var local = await Messages.FindLocalAgentAsync(Connection, Transaction, target, cancellationToken);
            var (sent, _) = await Messages.EnqueueAsync(Connection, Transaction, new NewMessage(
                AgentId: local ?? Agent.Id,
                Direction: local is null ? MessageDirection.Outbound : MessageDirection.Inbound,
                Sender: sender,
                Target: target,
                Session: Message.Session,
                PayloadJson: payload?.ToJsonString() ?? "null",
                InReplyTo: inReplyTo,
                Traceparent: Traceparent,
                Hops: Message.Hops + 1), cancellationToken);
            return sent.Id;
        }
    }
}
