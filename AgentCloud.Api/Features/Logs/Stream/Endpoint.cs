using AgentCloud.Api.Features.Messages.Events;
using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.Logs.Stream;

public sealed class Endpoint(LogFollower follower, HeldStreams streams) : Endpoint<Request>
{
    /// <summary>How soon a revoked credential's stream ends.</summary>
    private static readonly TimeSpan RecheckInterval = TimeSpan.FromSeconds(3);

    public override void Configure()
    {
        Get("/agents/{agent_id}/logs/stream");
        Policies(ApiScopes.AgentsRead);
        Description(route => route.Produces<string>(StatusCodes.Status200OK, "text/event-stream"));
        Summary(s =>
        {
            s.Summary = "Follow an agent's log live (server-sent events)";
            s.Description =
                "text/event-stream: first the newest ?tail= lines (default 50, 0–1000) oldest first, then every new line as it " +
                "is written. Each line is an event \"log\" whose id is the line's id and whose data is the line as " +
                "GET /agents/{agent_id}/logs shows it. Lines come in id order, except that a line whose transaction committed " +
                "after a higher one was sent comes as soon as it is seen (within seconds). " +
                "A Last-Event-ID header resumes after that line instead of the tail. " +
                "A \": keep-alive\" comment comes every 15 seconds. The stream ends when its credential does: at the " +
                "token's (or key's) expiry, and within seconds of a logout, a password change or the key's deletion.";
            s.Responses[200] = "The event stream.";
            s.Responses[404] = "No such agent, or not the caller's.";
            s.Responses[429] = "The caller (or the API) holds as many event streams as it may (quota event_streams_per_user): " +
                "see Retry-After.";
        });
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        using var slot = streams.Hold(User.UserId());
        var response = HttpContext.Response;
        await ServerSentEvents.StartAsync(HttpContext, ct);

        var lastEventId = Request.ParseLastEventId(HttpContext.Request.Headers["Last-Event-ID"]);
        using var credentialEnded = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var watch = WatchCredentialAsync(credentialEnded, ct);
        try
        {
            await follower.FollowAsync(response, request.AgentId, request.ParsedTail, lastEventId, credentialEnded.Token);
        }
        catch (OperationCanceledException) when (credentialEnded.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            // The credential ended: close the stream; a reconnect meets the 401.
        }
        finally
        {
            await credentialEnded.CancelAsync();
            await watch;
        }
    }

    /// <summary>Cancels the stream at the credential's expiry, or once a re-check finds it revoked.</summary>
    private async Task WatchCredentialAsync(CancellationTokenSource credentialEnded, CancellationToken ct)
    {
        var expires = User.TokenExpiresAt();
        try
        {
            while (!credentialEnded.IsCancellationRequested)
            {
                var untilExpiry = expires is { } at ? at - DateTimeOffset.UtcNow : TimeSpan.MaxValue;
                await Task.Delay(untilExpiry < RecheckInterval ? TimeSpan.FromTicks(Math.Max(0, untilExpiry.Ticks)) : RecheckInterval,
                    credentialEnded.Token);
                if (!await User.StillValidAsync(HttpContext.RequestServices, credentialEnded.Token))
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return;
        }
        catch (Exception exception) when (ProblemExceptionHandler.IsDatabaseUnavailable(exception))
        {
            // Cannot tell now; a stream does not outlive its check, so it ends and the client reconnects.
            Logger.LogInformation("Ending a log stream: its credential could not be re-checked ({Reason})", exception.GetType().Name);
        }

        if (!ct.IsCancellationRequested)
        {
            await credentialEnded.CancelAsync();
        }
    }
}
