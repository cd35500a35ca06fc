using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentCloud.Shared.UAgents;

/// <summary>Finds the endpoint URL an envelope for an address is POSTed to; null when there is none.</summary>
public interface IEndpointResolver
{
    Task<string?> ResolveAsync(string address, CancellationToken cancellationToken);
}

public sealed record AlmanacEndpoint(string Url, double Weight);

/// <summary>
/// The static map first (configuration and the watched file), then the Almanac API when configured
/// (<c>GET {base}/v1/almanac/agents/{address}</c>), its answers cached briefly, one endpoint picked by weight.
/// </summary>
public sealed class EndpointResolver(
    StaticEndpointMap staticMap,
    IOptionsMonitor<OutboundEndpointOptions> options,
    IHttpClientFactory httpClients,
    TimeProvider time,
    ILogger<EndpointResolver> logger) : IEndpointResolver
{
    public const string AlmanacClientName = "uagents-almanac";

    private readonly ConcurrentDictionary<string, (DateTimeOffset Until, IReadOnlyList<AlmanacEndpoint> Endpoints)> cache =
        new(StringComparer.Ordinal);

    public async Task<string?> ResolveAsync(string address, CancellationToken cancellationToken)
    {
        if (staticMap.Find(address) is { } url)
        {
            return url;
        }

        var settings = options.CurrentValue;
        if (string.IsNullOrWhiteSpace(settings.AlmanacApiUrl))
        {
            return null;
        }

        var now = time.GetUtcNow();
        if (!cache.TryGetValue(address, out var cached) || cached.Until <= now)
        {
            cached = (now + settings.AlmanacCacheDuration, await QueryAlmanacAsync(settings, address, cancellationToken));
            cache[address] = cached;
        }

        return PickWeighted(cached.Endpoints, Random.Shared.NextDouble())?.Url;
    }

    private async Task<IReadOnlyList<AlmanacEndpoint>> QueryAlmanacAsync(OutboundEndpointOptions settings, string address,
        CancellationToken cancellationToken)
    {
        var requestUri = $"{settings.AlmanacApiUrl!.TrimEnd('/')}/v1/almanac/agents/{Uri.EscapeDataString(address)}";
        try
        {
            using var client = httpClients.CreateClient(AlmanacClientName);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(settings.AlmanacTimeout);
            using var response = await client.GetAsync(requestUri, timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                logger.LogWarning("The Almanac answered {Status} for {Address}", (int)response.StatusCode, address);
                return [];
            }

            return ParseAlmanacEndpoints(await response.Content.ReadAsStringAsync(timeout.Token));
        }
        catch (Exception exception) when (exception is HttpRequestException or JsonException
            || (exception is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            logger.LogWarning("Looking up {Address} in the Almanac failed: {Reason}", address, exception.Message);
            return [];
        }
    }

    /// <summary>The endpoints of an Almanac agent record, <c>{"endpoints": [{"url": …, "weight": …}]}</c>; others ignored.</summary>
    public static IReadOnlyList<AlmanacEndpoint> ParseAlmanacEndpoints(string json)
    {
        using var document = JsonDocument.Parse(json);
        if (document.RootElement.ValueKind != JsonValueKind.Object
            || !document.RootElement.TryGetProperty("endpoints", out var endpoints) || endpoints.ValueKind != JsonValueKind.Array)
        {
            return [];
        }

        var result = new List<AlmanacEndpoint>();
        foreach (var endpoint in endpoints.EnumerateArray())
        {
            if (endpoint.ValueKind == JsonValueKind.Object
                && endpoint.TryGetProperty("url", out var url) && url.ValueKind == JsonValueKind.String
                && Uri.TryCreate(url.GetString(), UriKind.Absolute, out var parsed) && parsed.Scheme is "http" or "https")
            {
                var weight = endpoint.TryGetProperty("weight", out var w) && w.ValueKind == JsonValueKind.Number ? w.GetDouble() : 1;
                result.Add(new AlmanacEndpoint(url.GetString()!, weight));
            }
        }

        return result;
    }

    /// <summary>One endpoint, each with a chance proportional to its weight (all equal when no weight is positive).</summary>
    /// <param name="sample">A number in [0, 1).</param>
    public static AlmanacEndpoint? PickWeighted(IReadOnlyList<AlmanacEndpoint> endpoints, double sample)
    {
        if (endpoints.Count == 0)
        {
            return null;
        }

        var total = endpoints.Sum(e => Math.Max(e.Weight, 0));
        if (total <= 0)
        {
            return endpoints[Math.Min((int)(sample * endpoints.Count), endpoints.Count - 1)];
        }

        var point = Math.Clamp(sample, 0, 1) * total;
        foreach (var endpoint in endpoints)
        {
            point -= Math.Max(endpoint.Weight, 0);
            if (point < 0)
            {
                return endpoint;
            }
        }

        return endpoints.Last(e => e.Weight > 0);
    }
}
