using System.Globalization;
using System.Security.Claims;
using System.Text.Json;
using AgentCloud.Api.Infrastructure;
using AgentCloud.Shared.Messaging;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using HttpJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace AgentCloud.Api.Features.Messages.Events;

/// <summary>Server-sent events over HTTP, shared by the doors that stream.</summary>
public static class ServerSentEvents
{
    /// <summary>Starts a text/event-stream response that no proxy buffers.</summary>
    public static async Task StartAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await response.StartAsync(cancellationToken);
    }

    public static async Task WriteAsync(HttpResponse response, string? id, string? type, string data, CancellationToken cancellationToken)
    {
        var text = (id is null ? "" : $"id: {id}\n") + (type is null ? "" : $"event: {type}\n") + $"data: {data}\n\n";
        await response.WriteAsync(text, cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }

    public static async Task WriteKeepAliveAsync(HttpResponse response, CancellationToken cancellationToken)
    {
        await response.WriteAsync(": keep-alive\n\n", cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }

    /// <summary>
    /// When the caller's credential expires (a login token's exp, a key's expiry): a stream must not outlive it.
    /// A key without an expiry has none, so its stream runs to the message's end (it ended at once before).
    /// </summary>
    public static DateTimeOffset TokenExpiry(ClaimsPrincipal user) => user.TokenExpiresAt() ?? DateTimeOffset.MaxValue;

    /// <summary>A Last-Event-ID: a whole number, or null when absent or not one.</summary>
    public static long? LastEventId(HttpRequest request) =>
        long.TryParse(request.Headers["Last-Event-ID"].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : null;
}

/// <summary>
/// A message's events as our own SSE: <c>accepted</c> and <c>done</c>/<c>error</c> carry the message as
/// the REST API shows it, the run's events their stored data; ids resume with Last-Event-ID.
/// </summary>
public sealed class MessageEventStream(MessageEventFeed feed, IOptions<HttpJsonOptions> json)
{
    public async Task WriteAsync(HttpContext context, MessageRow message, long? lastEventId, CancellationToken cancellationToken)
    {
        await ServerSentEvents.StartAsync(context, cancellationToken);
        var response = context.Response;
        try
        {
            await foreach (var item in feed.FollowAsync(message, lastEventId, ServerSentEvents.TokenExpiry(context.User),
                cancellationToken))
            {
                if (item.Type == FeedEventTypes.Heartbeat)
                {
                    await ServerSentEvents.WriteKeepAliveAsync(response, cancellationToken);
                    continue;
                }

                var data = item.Message is { } row
                    ? JsonSerializer.Serialize(MessageResponse.From(row), json.Value.SerializerOptions)
                    : item.DataJson ?? "null";
                await ServerSentEvents.WriteAsync(response, item.Id.ToString(CultureInfo.InvariantCulture), item.Type, data,
                    cancellationToken);
            }
        }
        catch (Exception exception) when (cancellationToken.IsCancellationRequested
            && exception is OperationCanceledException or IOException)
        {
            // The client went away: the normal end of a stream.
        }
    }
}
