using Microsoft.AspNetCore.Http.Features;

namespace AgentCloud.Api.Infrastructure;

public static class RequestBodyLimit
{
    public const long DefaultBytes = 64 * 1024;

    /// <summary>
    /// A body up to this size is read to the end before its 413 is sent. Answering while the client is
    /// still sending and then closing makes the server's TCP stack reset the connection, and the client
    /// sees "connection reset" instead of the 413 (dotnet/aspnetcore#31136); reading the rest costs the
    /// server no more than it cost the client to send it.
    /// </summary>
    public const long DrainedBytes = 1024 * 1024;

    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// <c>Api:MaxRequestBodyBytes</c> (default 64 KiB) for every request, enforced by Kestrel for anything
    /// <see cref="UseRequestBodyLimit"/> does not take over.
    /// </summary>
    public static WebApplicationBuilder AddRequestBodyLimit(this WebApplicationBuilder builder)
    {
        var limit = builder.Configuration.GetValue("Api:MaxRequestBodyBytes", DefaultBytes);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = limit);
        return builder;
    }

    /// <summary>
    /// A body over the limit gets a 413 problem: a declared length over it before the endpoint runs, a
    /// chunked body when a read passes it. Up to <see cref="DrainedBytes"/> the rest is read first, so the
    /// client gets its answer and keeps its connection; a larger body is refused unread and the
    /// connection closed.
    /// </summary>
    public static WebApplication UseRequestBodyLimit(this WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            var feature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
            if (feature is not { MaxRequestBodySize: { } limit, IsReadOnly: false }
                || context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody != true)
            {
                await next(context);
                return;
            }

            var length = context.Request.ContentLength;
            if (length > limit)
            {
                if (length > DrainedBytes)
                {
                    throw TooLarge(limit);
                }

                feature.MaxRequestBodySize = length;
                await RefuseAsync(context, limit);
                return;
            }

            if (length is not null)
            {
                await next(context);
                return;
            }

            // Chunked: Kestrel stops at DrainedBytes, the endpoint's reads stop at the limit.
            feature.MaxRequestBodySize = DrainedBytes;
            var body = context.Request.Body;
            context.Request.Body = new LimitedBody(body, limit);
            try
            {
                await next(context);
            }
            catch (BadHttpRequestException exception) when (exception.StatusCode == StatusCodes.Status413PayloadTooLarge
                && !context.Response.HasStarted)
            {
                context.Request.Body = body;
                await RefuseAsync(context, limit);
            }
        });
        return app;
    }

    private static async Task RefuseAsync(HttpContext context, long limit)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(DrainTimeout);
        try
        {
            await context.Request.Body.CopyToAsync(Stream.Null, timeout.Token);
        }
        catch (BadHttpRequestException exception) when (exception.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge(limit); // past DrainedBytes: refused without reading further
        }
        catch (Exception exception) when (exception is OperationCanceledException or IOException or BadHttpRequestException)
        {
            context.Abort(); // too slow, cut off or malformed: nothing more to say to this client
            return;
        }

        await ProblemResponses.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, ProblemResponses.BodyTooLarge);
    }

    private static BadHttpRequestException TooLarge(long limit) =>
        new($"The request body is larger than the limit of {limit} bytes.", StatusCodes.Status413PayloadTooLarge);

    /// <summary>A request body that fails with a 413 once more than <c>limit</c> bytes have been read from it.</summary>
    private sealed class LimitedBody(Stream inner, long limit) : Stream
    {
        private long read;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => read; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private int Count(int bytes)
        {
            read += bytes;
            return read > limit ? throw TooLarge(limit) : bytes;
        }
    }
}
