using AgentCloud.Shared.Quotas;
using AgentCloud.Shared.Data;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Npgsql;
using HttpJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace AgentCloud.Api.Infrastructure;

public static class ProblemResponses
{
    public const string BodyTooLarge = "The request body is too large.";

    /// <summary>
    /// RFC 9457 problem details for everything that is not an endpoint's own answer: unknown routes,
    /// wrong methods, bad bodies, failures.
    /// </summary>
    public static WebApplicationBuilder AddProblemResponses(this WebApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails(options => options.CustomizeProblemDetails = context => Complete(context));
        // After the default writer, which takes only an Accept naming JSON: EventSource reconnects and
        // browsers (text/event-stream, text/html) get the same problem instead of a 500.
        builder.Services.AddSingleton<IProblemDetailsWriter, AnyAcceptProblemWriter>();
        builder.Services.AddExceptionHandler<ProblemExceptionHandler>();
        return builder;
    }

    /// <summary>
    /// Gives every problem written through <see cref="IProblemDetailsService"/> (endpoints' results, auth
    /// challenges, rate limits, body limits, status pages, exceptions) the fields of <see cref="ApiProblem"/>.
    /// </summary>
    internal static void Complete(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        var status = problem.Status ?? context.HttpContext.Response.StatusCode;
        problem.Status = status;
        problem.Type = ApiProblem.TypeFor(status);
        problem.Title ??= ApiProblem.TitleFor(status);
        if (string.IsNullOrEmpty(problem.Detail))
        {
            problem.Detail = problem.Title + ".";
        }

        problem.Instance ??= ApiProblem.InstanceOf(context.HttpContext);
        problem.Extensions.Remove("traceId");
        problem.Extensions["trace_id"] = ApiProblem.TraceIdOf(context.HttpContext);
    }

    /// <summary>FastEndpoints' answer to validation and binding failures, in the same shape.</summary>
    public static object ValidationProblem(List<FluentValidation.Results.ValidationFailure> failures, HttpContext context, int status) =>
        ApiProblem.Create(status, ApiProblem.ValidationDetail, context, failures
            .GroupBy(f => f.PropertyName)
            .ToDictionary(g => g.Key, g => g.Select(f => f.ErrorMessage).Distinct().ToArray()));

    public static Task WriteAsync(HttpContext context, int status, string? detail = null)
    {
        context.Response.StatusCode = status;
        var problems = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        return problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails { Status = status, Detail = detail },
        }).AsTask();
    }

    /// <summary>An endpoint's problem answer (title and type filled in from the status).</summary>
    public static IResult Problem(int status, string detail) => TypedResults.Problem(statusCode: status, detail: detail);
}

/// <summary>The door's error format whatever the request's Accept says: a problem is the only error body the API has.</summary>
internal sealed class AnyAcceptProblemWriter(IOptions<HttpJsonOptions> json) : IProblemDetailsWriter
{
    public bool CanWrite(ProblemDetailsContext context) => true;

    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        ProblemResponses.Complete(context);
        var problem = context.ProblemDetails;
        return new ValueTask(context.HttpContext.Response.WriteAsJsonAsync(problem, problem.GetType(), json.Value.SerializerOptions,
            "application/problem+json"));
    }
}

/// <summary>
/// Malformed requests keep their own status (413, 400…); anything else is a 500 that says nothing
/// about its cause, so no exception text, SQL or secret ever reaches a client.
/// </summary>
internal sealed class ProblemExceptionHandler(ILogger<ProblemExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is BadHttpRequestException badRequest)
        {
            var detail = badRequest.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? ProblemResponses.BodyTooLarge
                : "The request could not be read.";
            // The rest of the body was never read, so the connection cannot carry another request:
            // say so, or a client may reuse it and see its next request fail. (A body up to
            // RequestBodyLimit.DrainedBytes never gets here: it is read to the end and answered first.)
            context.Response.Headers.Connection = "close";
            await ProblemResponses.WriteAsync(context, badRequest.StatusCode, detail);
            return true;
        }

        if (exception is QuotaExceededException quota)
        {
            if (quota.RetryAfter is { } retryAfter)
            {
                context.Response.Headers.RetryAfter = QuotaChecks.Seconds(retryAfter);
            }

            context.Response.StatusCode = quota.Status;
            var problems = context.RequestServices.GetRequiredService<IProblemDetailsService>();
            await problems.WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails = new ProblemDetails
                {
                    Status = quota.Status,
                    Detail = quota.Message,
                    Extensions = { ["quota"] = quota.Quota, ["limit"] = quota.Limit },
                },
            });
            return true;
        }

        if (exception is OperationCanceledException && context.RequestAborted.IsCancellationRequested)
        {
            return true;
        }

        if (IsDatabaseUnavailable(exception))
        {
            // A connection-level failure: the client may try again once PostgreSQL is back.
            logger.LogWarning("The database is unavailable for {Method} {Path}: {Reason}", context.Request.Method,
                context.Request.Path, exception.Message);
            context.Response.Headers.RetryAfter = "5";
            await ProblemResponses.WriteAsync(context, StatusCodes.Status503ServiceUnavailable,
                "The service cannot reach its database right now. Try again shortly.");
            return true;
        }

        if (exception is PostgresException { SqlState: PostgresErrorCodes.CharacterNotInRepertoire or
            PostgresErrorCodes.UntranslatableCharacter })
        {
            // U+0000 that a route's own rules did not catch: the statement failed, so nothing was written.
            logger.LogWarning("Refused a character PostgreSQL cannot store for {Method} {Path}", context.Request.Method,
                context.Request.Path);
            await ProblemResponses.WriteAsync(context, StatusCodes.Status400BadRequest,
                $"The request {StorableText.Problem}.");
            return true;
        }

        logger.LogError(exception, "Unhandled exception for {Method} {Path}", context.Request.Method, context.Request.Path);
        await ProblemResponses.WriteAsync(context, StatusCodes.Status500InternalServerError, "An unexpected error occurred.");
        return true;
    }

    // Connection-level failures (refused, reset, timed out, pool exhausted, server shutting down or
    // starting), as opposed to errors in what the request asked the database to do.
    public static bool IsDatabaseUnavailable(Exception exception) => Shared.Hosting.DatabaseErrors.IsUnavailable(exception);
}
