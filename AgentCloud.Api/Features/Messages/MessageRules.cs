using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using AgentCloud.Api.Infrastructure;
using AgentCloud.Shared.Data;
using FluentValidation;

namespace AgentCloud.Api.Features.Messages;

/// <summary>What a message body may hold, shared by the owner's messages and an agent's sends.</summary>
public static class MessageRules
{
    public const int MaxPayloadBytes = 32 * 1024;

    /// <summary>The payload as JSON: <c>payload</c> as given, or <c>text</c> as a JSON string.</summary>
    public static string PayloadJson(JsonElement payload, string? text) =>
        text is null ? payload.GetRawText() : JsonSerializer.Serialize(text);

    /// <summary>Over the limit is a 413, like a body over the API's limit, not a validation error.</summary>
    public static bool IsTooLarge(string payloadJson) => Encoding.UTF8.GetByteCount(payloadJson) > MaxPayloadBytes;

    public static IResult PayloadTooLarge() => ProblemResponses.Problem(StatusCodes.Status413PayloadTooLarge,
        $"The payload must be at most {MaxPayloadBytes} bytes of JSON.");

    /// <summary>A session as a client gives it (a hyphenated UUID), or null when it is not one.</summary>
    public static Guid? ParseSession(string? session) =>
        Guid.TryParseExact(session, "D", out var value) ? value : null;

    /// <summary>The W3C traceparent of the current request, stored so the worker's handling joins its trace.</summary>
    public static string? CurrentTraceparent() =>
        Activity.Current is { IdFormat: ActivityIdFormat.W3C, Id: { Length: 55 } id } ? id : null;

    public static IRuleBuilderOptions<T, T> HasPayloadOrText<T>(this IRuleBuilder<T, T> rule, Func<T, JsonElement> payload,
        Func<T, string?> text) =>
        rule
            .Must(r => (payload(r).ValueKind != JsonValueKind.Undefined) ^ (text(r) is not null))
            .WithName("payload")
            .WithMessage("Give either payload (any JSON value) or text (a string), not both.");

    /// <summary>No U+0000 nor lone surrogate in the payload's strings or keys, or in the text, and not too deep (see
    /// <see cref="StorableText"/>).</summary>
    public static IRuleBuilderOptions<T, T> StorablePayload<T>(this IRuleBuilder<T, T> rule, Func<T, JsonElement> payload,
        Func<T, string?> text) =>
        rule
            .Must(r => Unstorable(payload(r), text(r)) is null)
            .WithName("payload")
            .WithMessage(r => $"payload and text {Unstorable(payload(r), text(r))}.");

    private static string? Unstorable(JsonElement payload, string? text) =>
        StorableText.ProblemWith(payload) ?? StorableText.ProblemWith(text);

    public static IRuleBuilderOptions<T, string?> ValidSession<T>(this IRuleBuilder<T, string?> rule) =>
        rule
            .Must(session => session is null || ParseSession(session) is not null)
            .WithMessage("session must be a UUID, e.g. 0b7e4c6a-2f1d-4e8b-9a53-6c1f0e2d3b4a.");

    public const int MaxIdempotencyKeyLength = 255;

    /// <summary>The client's idempotency key, from the <c>Idempotency-Key</c> header or the body's <c>idempotency_key</c>.</summary>
    public static string? IdempotencyKey(string? header, string? body) => header ?? body;

    /// <summary>1–255 visible ASCII characters, the same in the header and the body when both are given.</summary>
    public static IRuleBuilderOptions<T, T> ValidIdempotencyKey<T>(this IRuleBuilder<T, T> rule, Func<T, string?> header,
        Func<T, string?> body) =>
        rule
            .Must(r => IsIdempotencyKey(header(r)) && IsIdempotencyKey(body(r))
                && (header(r) is null || body(r) is null || header(r) == body(r)))
            .WithName("idempotency_key")
            .WithMessage($"The idempotency key (header Idempotency-Key or field idempotency_key) must be 1 to {MaxIdempotencyKeyLength} "
                + "visible ASCII characters, the same in both when both are given.");

    /// <summary>Null (none given), or 1–255 visible ASCII characters.</summary>
    public static bool IsIdempotencyKey(string? key) =>
        key is null || key.Length is > 0 and <= MaxIdempotencyKeyLength && key.All(c => c is >= '!' and <= '~');

    internal static bool IsWholeNumber(string? text, int min, int max) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max;
}
