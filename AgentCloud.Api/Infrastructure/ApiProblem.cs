using System.Diagnostics;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;

namespace AgentCloud.Api.Infrastructure;

/// <summary>
/// The one shape of every error the API answers (RFC 9457): <c>type</c>, <c>title</c>, <c>status</c>,
/// <c>detail</c>, <c>instance</c> (the request path), <c>errors</c> (field → messages, only for field
/// problems) and <c>trace_id</c>, the request's 32-hex W3C trace id as the dashboard shows it.
/// FastEndpoints' validation answers are built as this class; everything written through
/// <see cref="Microsoft.AspNetCore.Http.IProblemDetailsService"/> is completed to the same fields.
/// </summary>
public sealed class ApiProblem
{
    public required string Type { get; init; }

    public required string Title { get; init; }

    public required int Status { get; init; }

    public required string Detail { get; init; }

    public required string Instance { get; init; }

    /// <summary>Field name → what is wrong with it; present only when fields are at fault.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, string[]>? Errors { get; init; }

    public required string TraceId { get; init; }

    public const string ValidationDetail = "One or more fields are invalid.";

    public static ApiProblem Create(int status, string? detail, HttpContext context,
        IReadOnlyDictionary<string, string[]>? errors = null) => new()
    {
        Type = TypeFor(status),
        Title = TitleFor(status),
        Status = status,
        Detail = string.IsNullOrEmpty(detail) ? TitleFor(status) + "." : detail,
        Instance = InstanceOf(context),
        Errors = errors,
        TraceId = TraceIdOf(context),
    };

    /// <summary>The section of the RFC that defines the status, so every answer's type resolves to a real page.</summary>
    public static string TypeFor(int status) => status switch
    {
        400 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.1",
        401 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.2",
        403 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.4",
        404 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.5",
        405 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.6",
        406 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.7",
        408 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.9",
        409 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.10",
        411 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.12",
        413 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.14",
        415 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.16",
        422 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.21",
        429 => "https://www.rfc-editor.org/rfc/rfc6585#section-4",
        500 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.6.1",
        502 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.6.3",
        503 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.6.4",
        504 => "https://www.rfc-editor.org/rfc/rfc9110#section-15.6.5",
        _ => "about:blank",
    };

    public static string TitleFor(int status) => ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } phrase ? phrase : "Error";

    public static string InstanceOf(HttpContext context) => context.Request.PathBase + context.Request.Path;

    /// <summary>
    /// The W3C trace id alone (not the whole traceparent): what the dashboard's trace search takes. The
    /// request always has an activity here (OpenTelemetry listens); the random id only keeps the shape.
    /// </summary>
    public static string TraceIdOf(HttpContext context) =>
        (Activity.Current ?? context.Features.Get<IHttpActivityFeature>()?.Activity) is { } activity
            ? activity.TraceId.ToHexString()
            : ActivityTraceId.CreateRandom().ToHexString();
}
