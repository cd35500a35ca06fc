using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;

namespace AgentCloud.Api.Infrastructure;

public static class RateLimits
{
    public const string Login = "login";
    public const string Signup = "signup";

    /// <summary>
    /// Per client (<see cref="ClientAddresses.PartitionKey"/>), fixed windows: <c>RateLimiting:Login:PermitLimit</c>/<c>WindowSeconds</c>
    /// (default 10 per 60 s) and <c>RateLimiting:Signup:…</c> (5 per 60 s).
    /// </summary>
    public static WebApplicationBuilder AddAuthRateLimits(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        builder.Services.AddRateLimiter(options =>
        {
            AddPerClientPolicy(options, Login, configuration.GetSection("RateLimiting:Login"), 10, 60);
            AddPerClientPolicy(options, Signup, configuration.GetSection("RateLimiting:Signup"), 5, 60);
            options.OnRejected = async (context, cancellationToken) =>
            {
                if (context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter))
                {
                    context.HttpContext.Response.Headers.RetryAfter =
                        Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                }

                await ProblemResponses.WriteAsync(context.HttpContext, StatusCodes.Status429TooManyRequests,
                    "Too many requests. Try again later.");
            };
        });
        return builder;
    }

    private static void AddPerClientPolicy(RateLimiterOptions options, string name, IConfiguration section,
        int defaultPermits, int defaultWindowSeconds)
    {
        var permits = section.GetValue("PermitLimit", defaultPermits);
        var window = TimeSpan.FromSeconds(section.GetValue("WindowSeconds", defaultWindowSeconds));
        options.AddPolicy(name, context => RateLimitPartition.GetFixedWindowLimiter(
            ClientAddresses.PartitionKey(context.Connection.RemoteIpAddress),
            _ => new FixedWindowRateLimiterOptions { PermitLimit = permits, Window = window, QueueLimit = 0 }));
    }
}
