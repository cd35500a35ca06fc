using AgentCloud.Shared.Data;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentCloud.Shared.Hosting;
using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.UAgents;
using Npgsql;

namespace AgentCloud.AgentWorker.UAgents;

/// <summary>
/// The uAgents inbound endpoint, with the reference's semantics (UAGENTS-WIRE.md): <c>POST /submit</c>
/// takes one envelope for an agent hosted here, <c>HEAD /submit</c> is the readiness probe.
/// </summary>
public static class SubmitEndpoint
{
    public const string Path = "/submit";
    public const int MaxBodyBytes = 256 * 1024;

    /// <summary>The limits of <see cref="SubmitOptions"/>.</summary>
    public static WebApplicationBuilder AddUAgentsSubmit(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<SubmitOptions>().BindConfiguration(SubmitOptions.SectionName).ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<SubmitLimits>();
        builder.Services.AddSingleton<EnvelopeInbox>();
        return builder;
    }

    public static WebApplication MapUAgentsSubmit(this WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(SubmitEndpoint).FullName!);
        var dataSource = app.Services.GetRequiredService<NpgsqlDataSource>();
        var sync = new SyncReplies(dataSource, app.Services.GetRequiredService<FinishedMessages>(),
            app.Services.GetRequiredService<BackendAgent>(), logger);
        var limits = app.Services.GetRequiredService<SubmitLimits>();
        var inbox = app.Services.GetRequiredService<EnvelopeInbox>();
        var warnings = new WarningThrottle(limits.Settings.WarningBurst, limits.Settings.WarningsPerMinute, TimeProvider.System);

        // The reference treats every method but HEAD and OPTIONS as a submission.
        app.MapMethods(Path, [HttpMethods.Post, HttpMethods.Get, HttpMethods.Put],
            (Delegate)((HttpContext context) => SubmitAsync(context, inbox, sync, limits, warnings, logger)));
        app.MapMethods(Path, [HttpMethods.Head], (Delegate)((HttpContext context) => ReadinessAsync(context, inbox, logger)));
        app.MapMethods(Path, [HttpMethods.Options], () => Results.NoContent());
        return app;
    }

    private static async Task<IResult> SubmitAsync(HttpContext context, EnvelopeInbox inbox, SyncReplies sync,
        SubmitLimits limits, WarningThrottle warnings, ILogger logger)
    {
        var request = context.Request;
        var cancellationToken = context.RequestAborted;
        if (InboundEnvelope.CheckContentType(request.ContentType) is { } contentTypeError)
        {
            // The reference greets a browser; anything else without a content type is refused.
            return contentTypeError == SubmitErrors.MissingContentType && request.Headers.UserAgent.Count > 0
                ? Json(StatusCodes.Status200OK, new JsonObject { ["status"] = "OK - Agent is running" })
                : Error(contentTypeError);
        }

        if (await ReadBodyAsync(request, cancellationToken) is not { } body)
        {
            return Error(SubmitErrors.TooLarge, StatusCodes.Status413PayloadTooLarge);
        }

        if (!InboundEnvelope.TryParse(body, out var envelope, out var parseError))
        {
            return Error(parseError);
        }

        if (InboundEnvelope.CheckSignature(envelope) is { } signatureError)
        {
            // Anyone can send these, as fast as they like, with whatever they like in sender and target.
            if (warnings.TryTake(signatureError, out var suppressed))
            {
                logger.LogWarning("Refused an envelope from {Sender} to {Target}: {Error}{Suppressed}",
                    UntrustedText.ForLog(envelope.Sender),
                    UntrustedText.ForLog(envelope.Target), signatureError, suppressed > 0 ? $" ({suppressed} more like it not logged)"
                        : "");
            }

            return Error(signatureError);
        }

        // Before the database: a flood from one sender costs a signature check, not a query.
        if (limits.CheckSender(envelope.Sender.Length <= 256 ? envelope.Sender : envelope.Sender[..256]) is { } senderWait)
        {
            return TooMany(context, SubmitErrors.SenderRateLimited, senderWait);
        }

        try
        {
            return await SubmitToAgentAsync(context, envelope, inbox, sync, limits, logger);
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested && DatabaseErrors.IsUnavailable(exception))
        {
            return DatabaseUnavailable(context, logger, exception);
        }
    }

    private static async Task<IResult> SubmitToAgentAsync(HttpContext context, Envelope envelope, EnvelopeInbox inbox, SyncReplies sync,
        SubmitLimits limits, ILogger logger)
    {
        var request = context.Request;
        var cancellationToken = context.RequestAborted;
        if (await inbox.FindAgentAsync(envelope.Target) is not ({ } agent, var queueFull))
        {
            return Error(SubmitErrors.UnableToRoute);
        }

        if (limits.CheckAgent(agent.Id) is { } agentWait)
        {
            return TooMany(context, SubmitErrors.AgentRateLimited, agentWait);
        }

        if (!InboundEnvelope.AcceptsUserSender(JsonNode.Parse(agent.Config) as JsonObject ?? [], envelope.Sender))
        {
            return Error(SubmitErrors.SignatureMissing);
        }

        if (InboundEnvelope.DecodePayload(envelope) is not { } payload)
        {
            return Error(SubmitErrors.InvalidPayload);
        }

        if (!InboundEnvelope.IsStorable(envelope))
        {
            return Error(SubmitErrors.SchemaMismatch);
        }

        // Submits racing into one agent can pass the cap together, by as many as arrive at once (as the API's queue cap):
        // a bound, not a hole. A lock to make it exact made one agent's submits commit one at a time.
        if (queueFull)
        {
            return TooMany(context, SubmitErrors.QueueFull, TimeSpan.FromSeconds(5));
        }

        var isSync = request.Headers["x-uagents-connection"] == "sync";
        // Its own commit, shared with the envelopes that arrive with it.
        var (message, duplicate) = await inbox.StoreAsync(new NewMessage(
            AgentId: agent.Id,
            Direction: MessageDirection.Inbound,
            Sender: envelope.Sender,
            Target: envelope.Target,
            Session: envelope.Session,
            PayloadJson: payload.ToJsonString(),
            SchemaDigest: envelope.SchemaDigest,
            ProtocolDigest: envelope.ProtocolDigest,
            Traceparent: Activity.Current?.Id,
            // The same envelope again (a sender's retry) lands on the first copy; a new envelope is a new message.
            DedupKey: envelope.Identity(),
            ExpiresAt: InboundEnvelope.ExpiresAt(envelope),
            SenderWaits: isSync));

        logger.LogDebug("Accepted {Kind} envelope from {Sender} for agent {AgentId}: message {MessageId}{Duplicate}",
            isSync ? "a sync" : "an", UntrustedText.ForLog(envelope.Sender), agent.Id, message.Id, duplicate ? " (a replay)" : "");
        if (!isSync)
        {
            return Json(StatusCodes.Status200OK, new JsonObject());
        }

        var reply = await sync.WaitForReplyAsync(envelope, agent, message.Id, cancellationToken);
        return Results.Text(reply.ToJson(), "application/json", statusCode: StatusCodes.Status200OK);
    }

    private static async Task<IResult> ReadinessAsync(HttpContext context, EnvelopeInbox inbox, ILogger logger)
    {
        string status;
        if (context.Request.Headers["x-uagents-address"] is not [{ } address])
        {
            status = "indeterminate";
        }
        else
        {
            try
            {
                status = await inbox.FindAgentAsync(address.Trim()) is null ? "not-ready" : "ready";
            }
            catch (Exception exception) when (!context.RequestAborted.IsCancellationRequested && DatabaseErrors.IsUnavailable(exception))
            {
                return DatabaseUnavailable(context, logger, exception);
            }
        }

        context.Response.Headers["x-uagents-status"] = status;
        return Results.Ok();
    }

    /// <summary>The body, or null when it is over <see cref="MaxBodyBytes"/>.</summary>
    private static async Task<ReadOnlyMemory<byte>?> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
    }

    private static IResult TooMany(HttpContext context, string error, TimeSpan retryAfter)
    {
        context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds))
            .ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Error(error, StatusCodes.Status429TooManyRequests);
    }

    private static IResult DatabaseUnavailable(HttpContext context, ILogger logger, Exception exception)
    {
        logger.LogWarning("The database is unavailable for {Method} {Path}: {Reason}", context.Request.Method, Path, exception.Message);
        context.Response.Headers.RetryAfter = "5";
        return Error(SubmitErrors.Unavailable, StatusCodes.Status503ServiceUnavailable);
    }

    private static IResult Error(string error, int statusCode = StatusCodes.Status400BadRequest) =>
        Json(statusCode, new JsonObject { ["error"] = error });

    private static IResult Json(int statusCode, JsonObject body) =>
        Results.Text(body.ToJsonString(), "application/json", statusCode: statusCode);
}
