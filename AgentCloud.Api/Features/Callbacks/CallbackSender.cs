using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using AgentCloud.Api.Features.A2A;
using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.UAgents;
using Microsoft.Extensions.Options;

namespace AgentCloud.Api.Features.Callbacks;

/// <summary>
/// Delivers one claimed callback: a webhook signed as Standard Webhooks, or an A2A push notification with its token. Only a
/// 2xx answer is delivered; anything else (a redirect is not followed) is a failed attempt, retried with backoff until the
/// attempts run out. Never throws: whatever goes wrong ends as a recorded attempt, or as a lease left to expire.
/// </summary>
public sealed class CallbackSender(CallbackStore store, IHttpClientFactory httpClients, IOptions<CallbackOptions> options,
    TimeProvider time,
    ILogger<CallbackSender> logger)
{
    public const string HttpClientName = "callbacks";
    public const string UserAgent = "AgentCloud-Callbacks/1.0";

    private static readonly ActivitySource ActivitySource = new("AgentCloud.Api.Callbacks");

    /// <summary>The process's lease name on the deliveries it claims.</summary>
    public static readonly string LeaseOwner = $"api:{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";

    public async Task DeliverAsync(ClaimedDelivery delivery, CancellationToken cancellationToken)
    {
        using var activity = ActivitySource.StartActivity("deliver callback", ActivityKind.Producer);
        activity?.SetTag("agentcloud.callback.event", delivery.Event);
        activity?.SetTag("agentcloud.callback.delivery", delivery.Id);
        activity?.SetTag("agentcloud.callback.attempt", delivery.Attempts);
        try
        {
            if (delivery.Attempts > options.Value.MaxAttempts)
            {
                // Attempts that never got recorded (a process that died mid-way): no more of them.
                await store.DeadAsync(delivery.Id, LeaseOwner, null, $"gave up after {delivery.Attempts - 1} attempts", cancellationToken);
                return;
            }

            var (statusCode, error) = await AttemptAsync(delivery, cancellationToken);
            if (error is null)
            {
                await store.DeliveredAsync(delivery.Id, LeaseOwner, statusCode!.Value, cancellationToken);
                return;
            }

            activity?.SetStatus(ActivityStatusCode.Error, error);
            var settings = options.Value;
            if (delivery.Attempts >= settings.MaxAttempts)
            {
                await store.DeadAsync(delivery.Id, LeaseOwner, statusCode, $"{error} (after {delivery.Attempts} attempts)",
                    cancellationToken);
                logger.LogWarning("Callback delivery {DeliveryId} ({Event}) is dead after {Attempts} attempts: {Error}",
                    delivery.Id, delivery.Event, delivery.Attempts, error);
                return;
            }

            var delay = RetryBackoff.Delay(delivery.Attempts, settings.RetryBaseDelay, settings.RetryMaxDelay);
            await store.RetryLaterAsync(delivery.Id, LeaseOwner, statusCode, error, delay, cancellationToken);
            logger.LogInformation("Callback delivery {DeliveryId} ({Event}) failed (attempt {Attempt} of {MaxAttempts}), retrying in " +
                "{Delay}: {Error}",
                delivery.Id, delivery.Event, delivery.Attempts, settings.MaxAttempts, delay, error);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping: the lease runs out and the delivery is tried again, here or elsewhere.
        }
        catch (Exception exception)
        {
            activity?.SetStatus(ActivityStatusCode.Error, exception.Message);
            logger.LogError(exception, "Could not record callback delivery {DeliveryId}; its lease will expire and it is tried again",
                delivery.Id);
        }
    }

    /// <summary>The receiver's status code (when it answered) and, unless it was a 2xx, why the attempt failed.</summary>
    private async Task<(int? StatusCode, string? Error)> AttemptAsync(ClaimedDelivery delivery, CancellationToken cancellationToken)
    {
        using var request = delivery.WebhookId is not null ? WebhookRequest(delivery) : PushRequest(delivery);
        request.Headers.UserAgent.ParseAdd(UserAgent);
        var timeout = options.Value.AttemptTimeout;
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attempt.CancelAfter(timeout);
        try
        {
            using var client = httpClients.CreateClient(HttpClientName);
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, attempt.Token);
            var status = (int)response.StatusCode;
            return status is >= 200 and < 300 ? (status, null) : (status, $"answered HTTP {status.ToString(CultureInfo.InvariantCulture)}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, OutboundDestinationPolicy.Refused);
        }
        catch (HttpRequestException exception)
        {
            // One text for refused, closed and unreachable alike (as uAgents delivery): the operator's log says which.
            logger.LogDebug("Callback delivery {DeliveryId} to {Url} failed: {Reason}", delivery.Id, delivery.Url, exception.Message);
            return (null, OutboundDestinationPolicy.Refused);
        }
    }

    private HttpRequestMessage WebhookRequest(ClaimedDelivery delivery)
    {
        var body = new JsonObject
        {
            ["type"] = delivery.Event,
            ["timestamp"] = DateTime.SpecifyKind(delivery.CreatedAt, DateTimeKind.Utc)
                .ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
            ["data"] = JsonNode.Parse(delivery.Data),
        }.ToJsonString();
        // The same id on every attempt, so a receiver can drop a repeat; the timestamp is the attempt's.
        var id = WebhookId(delivery.Id);
        var timestamp = time.GetUtcNow().ToUnixTimeSeconds();
        var request = new HttpRequestMessage(HttpMethod.Post, delivery.Url) { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add(WebhookSignature.IdHeader, id);
        request.Headers.Add(WebhookSignature.TimestampHeader, timestamp.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add(WebhookSignature.SignatureHeader, WebhookSignature.Sign(delivery.Secret!, id, timestamp, body));
        return request;
    }

    private static HttpRequestMessage PushRequest(ClaimedDelivery delivery)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, delivery.Url)
        {
            Content = new StringContent(PushNotifications.Body(delivery.Data), Encoding.UTF8),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(PushNotifications.ContentType);
        if (!string.IsNullOrEmpty(delivery.Token))
        {
            request.Headers.TryAddWithoutValidation(PushNotifications.TokenHeader, delivery.Token);
        }

        if (!string.IsNullOrEmpty(delivery.AuthScheme) && !string.IsNullOrEmpty(delivery.AuthCredentials))
        {
            request.Headers.TryAddWithoutValidation("Authorization", $"{delivery.AuthScheme} {delivery.AuthCredentials}");
        }

        return request;
    }

    /// <summary>The <c>webhook-id</c> of a delivery: the same on every attempt.</summary>
    public static string WebhookId(long deliveryId) => $"msg_{deliveryId.ToString(CultureInfo.InvariantCulture)}";
}
