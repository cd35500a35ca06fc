using Microsoft.AspNetCore.Http.Features;

namespace AgentCloud.Api.Infrastructure;

public static class RequestBodyLimit
{
    public const long DefaultBytes = 64 * 1024;

    /// <summary>
    /// A declared body up to this size over the limit is read and discarded before the 413 is sent.
    /// Answering while the client is still sending and then closing makes the server's TCP stack reset
    /// the connection, and the client sees "connection reset" instead of the 413 (dotnet/aspnetcore#31136);
    /// reading the rest costs the server no more than it cost the client to send it.
    /// </summary>
    public const long DrainedBytes = 1024 * 1024;

    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// <c>Api:MaxRequestBodyBytes</c> (default 64 KiB) for every request. Kestrel enforces it while a
    /// body streams in (a chunked body over it fails with a 413 <see cref="BadHttpRequestException"/>).
    /// </summary>
    public static WebApplicationBuilder AddRequestBodyLimit(this WebApplicationBuilder builder)
    {
        var limit = builder.Configuration.GetValue("Api:MaxRequestBodyBytes", DefaultBytes);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = limit);
        return builder;
    }

    /// <summary>
    /// A declared length over the limit is refused before the endpoint runs: read to the end first when
    /// it is at most <see cref="DrainedBytes"/>, so the client gets its 413 and keeps its connection;
    /// refused unread (and the connection closed) when it is larger.
    /// </summary>
    public static WebApplication UseRequestBodyLimit(this WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            var feature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
            var limit = feature?.MaxRequestBodySize;
            var length = context.Request.ContentLength;
            if (feature is null || limit is null || !(length > limit))
            {
                await next(context);
                return;
            }

            if (length > DrainedBytes || feature.IsReadOnly)
            {
                throw new BadHttpRequestException(
                    $"The request body is larger than the limit of {limit} bytes.", StatusCodes.Status413PayloadTooLarge);
            }

            feature.MaxRequestBodySize = length;
            if (!await DrainAsync(context))
            {
                context.Abort();
                return;
            }

            await ProblemResponses.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, ProblemResponses.BodyTooLarge);
        });
        return app;
    }

    private static async Task<bool> DrainAsync(HttpContext context)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(DrainTimeout);
        try
        {
            await context.Request.Body.CopyToAsync(Stream.Null, timeout.Token);
            return true;
        }
        catch (Exception exception) when (exception is OperationCanceledException or IOException or BadHttpRequestException)
        {
            // Too slow, cut off or malformed: nothing more to say to this client.
            return false;
        }
    }
}
