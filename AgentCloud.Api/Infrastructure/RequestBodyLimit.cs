using Microsoft.AspNetCore.Http.Features;

namespace AgentCloud.Api.Infrastructure;

public static class RequestBodyLimit
{
    public const long DefaultBytes = 64 * 1024;

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

    /// <summary>A declared length over the limit is refused before a byte of the body is read.</summary>
    public static WebApplication UseRequestBodyLimit(this WebApplication app)
    {
        app.Use((context, next) =>
        {
            var limit = context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
            if (limit is not null && context.Request.ContentLength > limit)
            {
                throw new BadHttpRequestException(
                    $"The request body is larger than the limit of {limit} bytes.", StatusCodes.Status413PayloadTooLarge);
            }

            return next(context);
        });
        return app;
    }
}
