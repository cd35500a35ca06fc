using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using AgentCloud.AgentWorker.Messaging;
using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.Data;
using AgentCloud.Shared.UAgents;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AgentCloud.AgentWorker.Outbox;

/// <summary>
/// Delivers one claimed outbound message: signs its envelope as the sending agent, POSTs it to the
/// target's endpoint, and records the outcome fenced on our lease. Only HTTP 200 is delivered; anything
/// else is a failed attempt, retried with backoff until the attempts or the delivery window run out.
/// </summary>
public sealed class OutboxDelivery(
    NpgsqlDataSource dataSource,
    IEndpointResolver resolver,
    StaticEndpointMap endpointMap,
    IHttpClientFactory httpClients,
    BackendAgent backend,
    WorkerIdentity worker,
    OutboxMetrics metrics,
    IOptions<OutboxOptions> options,
    TimeProvider time,
    Wakeups wakeups,
    ILogger<OutboxDelivery> logger)
{
    public const string HttpClientName = "uagents-outbox";
    public const string ConnectionHeader = "x-uagents-connection";

    private static readonly ActivitySource ActivitySource = new(AgentWorker.ActivitySourceName);

    /// <param name="Detail">What really happened, for the operator's log only (see <see cref="Undelivered"/>).</param>
    private sealed record Outcome(string? DeliveredTo, string? ReplyJson = null, string? Error = null, bool Permanent = false,
        string? Note = null, string? Detail = null);

    /// <summary>
    /// A refused, closed, silent or failing destination reads the same in the message and the agent's log:
    /// the sender must not learn a closed port from an open one through us. The operator's log says which.
    /// </summary>
    private static Outcome Undelivered(string url, string detail) =>
        new(null, Error: $"{url}: {OutboundDestinationPolicy.Refused}", Detail: detail);

    /// <summary>Never throws: whatever goes wrong ends as a failed attempt, or as a lease left to expire.</summary>
    public async Task DeliverAsync(OutboundMessage message, CancellationToken cancellationToken)
    {
        using var activity = StartActivity(message);
        try
        {
            var outcome = await AttemptAsync(message, activity, cancellationToken);
            if (outcome.Error is not null)
            {
                activity?.SetStatus(ActivityStatusCode.Error, outcome.Error);
            }

            await RecordAsync(message, outcome, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            logger.LogInformation("Stopped delivering message {MessageId}; its lease will expire and another attempt will follow",
                message.Id);
        }
        catch (Exception exception)
        {
            activity?.SetStatus(ActivityStatusCode.Error, exception.Message);
            logger.LogError(exception, "Could not deliver or fail message {MessageId}; its lease will expire and another attempt will " +
                "follow",
                message.Id);
        }
    }

    private async Task<Outcome> AttemptAsync(OutboundMessage message, Activity? activity, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var now = time.GetUtcNow();
        if (message.Attempts > settings.MaxAttempts)
        {
            return new Outcome(null, Error: $"attempt {message.Attempts} exceeds the limit of {settings.MaxAttempts}", Permanent: true);
        }

        var expires = new DateTimeOffset(DateTime.SpecifyKind(message.ExpiresAt, DateTimeKind.Utc));
        if (now >= expires)
        {
            return new Outcome(null, Error: $"its delivery window closed at {expires:u}", Permanent: true);
        }

        if (IdentityOf(message) is not { } identity)
        {
            return new Outcome(null, Error: $"agent {message.AgentId} cannot sign as {message.Sender}", Permanent: true);
        }

        var url = await resolver.ResolveAsync(message.Target, cancellationToken);
        if (url is null)
        {
            // Without an Almanac, only the map could ever name a URL: retrying cannot help (until someone edits
            // the map, and then a new send is the way). An Almanac that does not know the address yet might later.
            return endpointMap.CanResolve(message.Target)
                ? new Outcome(null, Error: $"no endpoint for {message.Target}")
                : new Outcome(null, Error: MessageTable.NoEndpoint(message.Target), Permanent: true);
        }

        activity?.SetTag("url.full", url);
        var envelope = OutboundEnvelope.Build(identity, message.Target, message.Session, message.SchemaDigest, message.ProtocolDigest,
            message.Payload, now, settings.EnvelopeLifetime);
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(envelope.ToJson(), Encoding.UTF8) };
        // Exactly application/json, no charset: what the reference sends and checks.
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (message.PostSync)
        {
            request.Headers.Add(ConnectionHeader, "sync");
        }

        var attemptTimeout = message.PostSync ? settings.SyncAttemptTimeout : settings.AttemptTimeout;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(attemptTimeout);
        try
        {
            using var client = httpClients.CreateClient(HttpClientName);
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token);
            activity?.SetTag("http.response.status_code", (int)response.StatusCode);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return Undelivered(url, $"answered HTTP {(int)response.StatusCode}");
            }

            if (!message.PostSync)
            {
                return new Outcome(url);
            }

            var body = await response.Content.ReadAsStringAsync(timeout.Token);
            return OutboundEnvelope.TryReadReply(body, out var reply, out var problem)
                ? new Outcome(url, ReplyJson: reply)
                : new Outcome(url, Note: $"but {problem}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Undelivered(url,
                $"did not answer within {attemptTimeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s");
        }
        catch (HttpRequestException exception)
        {
            return Undelivered(url, exception.Message);
        }
    }

    private async Task RecordAsync(OutboundMessage message, Outcome outcome, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (!await MessageTable.FenceAsync(connection, transaction, message.Id, worker.LeaseOwner, cancellationToken))
        {
            await transaction.RollbackAsync(cancellationToken);
            logger.LogWarning("Lost the lease on outbound message {MessageId}; another worker delivers it, nothing recorded here",
                message.Id);
            return;
        }

        if (outcome.DeliveredTo is { } url)
        {
            await MessageTable.CompleteDeliveryAsync(connection, transaction, message.Id, url, outcome.ReplyJson, cancellationToken);
            await AgentLogs.WriteAsync(connection, message.AgentId, LogLevels.Info,
                $"Delivered message {message.Id} to {message.Target} at {url}", transaction, cancellationToken);
            if (outcome.Note is not null)
            {
                await AgentLogs.WriteAsync(connection, message.AgentId, LogLevels.Warning,
                    $"Message {message.Id} was delivered to {message.Target} {outcome.Note}", transaction, cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            wakeups.Finished(message.Id);
            wakeups.LogWritten(message.AgentId);
            metrics.Delivered(message.PostSync);
            logger.LogInformation("Delivered message {MessageId} to {Target} at {Url}", message.Id, message.Target, url);
            return;
        }

        var error = outcome.Error ?? "unknown error";
        var delay = RetryBackoff.Delay(message.Attempts, settings.RetryBaseDelay, settings.RetryMaxDelay);
        var expires = DateTime.SpecifyKind(message.ExpiresAt, DateTimeKind.Utc);
        var retryFits = time.GetUtcNow().UtcDateTime + delay < expires;
        if (!outcome.Permanent && message.Attempts < settings.MaxAttempts && retryFits)
        {
            await MessageTable.RetryLaterAsync(connection, transaction, message.Id, delay, error, cancellationToken);
            await AgentLogs.WriteAsync(connection, message.AgentId, LogLevels.Warning,
                $"Delivery of message {message.Id} to {message.Target} failed (attempt {message.Attempts} of {settings.MaxAttempts}), "
                + $"retrying in {Seconds(delay)}: {error}", transaction, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            wakeups.LogWritten(message.AgentId);
            metrics.Failed();
            logger.LogWarning("Delivery of message {MessageId} to {Target} failed (attempt {Attempt} of {MaxAttempts}), retrying in " +
                "{Delay}: {Error}",
                message.Id, message.Target, message.Attempts, settings.MaxAttempts, delay, outcome.Detail ?? error);
            return;
        }

        var why = outcome.Permanent ? error
            : retryFits ? $"{error} (after {message.Attempts} attempts)"
            : $"{error} (its delivery window closes at {expires:u})";
        await MessageTable.MarkDeadAsync(connection, transaction, message.Id, why, cancellationToken);
        await AgentLogs.WriteAsync(connection, message.AgentId, LogLevels.Error,
            $"Message {message.Id} to {message.Target} is dead after {message.Attempts} attempts: {why}", transaction, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        wakeups.Finished(message.Id);
        wakeups.LogWritten(message.AgentId);
        metrics.Dead();
        logger.LogError("Message {MessageId} to {Target} is dead after {Attempts} attempts: {Error}",
            message.Id, message.Target, message.Attempts, outcome.Detail is { } detail ? $"{why} ({detail})" : why);
    }

    /// <summary>The sending agent's key, only when it derives the address the message is sent from.</summary>
    private AgentIdentity? IdentityOf(OutboundMessage message) =>
        backend.SigningKeyFor(message.AgentId, message.AgentUserId, message.AgentAddress) is { } identity
            && identity.Address == message.Sender
            ? identity
            : null;

    private static Activity? StartActivity(OutboundMessage message)
    {
        ActivityContext.TryParse(message.Traceparent, null, out var parent);
        var activity = ActivitySource.StartActivity("send message", ActivityKind.Producer, parent);
        activity?.SetTag("messaging.system", "uagents");
        activity?.SetTag("messaging.operation.type", "send");
        activity?.SetTag("messaging.message.id", message.Id.ToString("D"));
        activity?.SetTag("messaging.destination.name", message.Target);
        activity?.SetTag("agentcloud.agent.id", message.AgentId);
        activity?.SetTag("agentcloud.message.attempt", message.Attempts);
        return activity;
    }

    private static string Seconds(TimeSpan delay) => $"{delay.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s";
}
