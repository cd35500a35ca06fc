using FastEndpoints;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AgentCloud.Api.Features.Health;

public sealed class Endpoint(HealthCheckService health) : EndpointWithoutRequest<Response>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    public override void Configure()
    {
        Get("/health");
        AllowAnonymous();
        Description(route => route.Produces<Response>(StatusCodes.Status503ServiceUnavailable, "application/json"));
        Summary(s =>
        {
            s.Summary = "Is the API up and can it reach its database";
            s.Responses[200] = "healthy";
            s.Responses[503] = "unhealthy";
        });
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        var healthy = await CheckAsync(ct);
        HttpContext.Response.Headers.CacheControl = "no-store";
        await Send.ResponseAsync(new Response(healthy ? "healthy" : "unhealthy"),
            healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable, ct);
    }

    /// <summary>Every registered check (the process and the Npgsql data source), bounded in time.</summary>
    private async Task<bool> CheckAsync(CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Timeout);
        try
        {
            var report = await health.CheckHealthAsync(timeout.Token);
            return report.Status == HealthStatus.Healthy;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return false;
        }
    }
}
