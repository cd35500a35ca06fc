using System.Globalization;
using System.Text.Json;
using FastEndpoints;
using FluentValidation;

namespace AgentCloud.Api.Features.Messages.Post;

public sealed class Request
{
    public const int MaxWaitSeconds = 30;

    [BindFrom("agent_id")]
    public int AgentId { get; init; }

    /// <summary>Any JSON value (null included), at most 32 KiB of JSON. Give this or <c>text</c>.</summary>
    public JsonElement Payload { get; init; }

    /// <summary>Shorthand for a payload that is this JSON string.</summary>
    public string? Text { get; init; }

    /// <summary>A UUID grouping a conversation; a new one when left out.</summary>
    public string? Session { get; init; }

    /// <summary>Optional: a repeat with the same key returns the first message (same id) and stores nothing.</summary>
    [FromHeader("Idempotency-Key", IsRequired = false)]
    public string? IdempotencyKeyHeader { get; init; }

    /// <summary>The same as the <c>Idempotency-Key</c> header, for clients that cannot set headers.</summary>
    public string? IdempotencyKey { get; init; }

    public string? ClientKey => MessageRules.IdempotencyKey(IdempotencyKeyHeader, IdempotencyKey);

    /// <summary>0–30: seconds to wait for the agent to finish the message.</summary>
    [QueryParam]
    public string? Wait { get; init; }

    /// <summary>true: answer with the message's event stream (as Accept: text/event-stream does).</summary>
    [QueryParam]
    public string? Stream { get; init; }

    public bool WantsStream(HttpRequest request) =>
        Stream == "true" || request.Headers.Accept.Any(accept =>
            accept?.Contains("text/event-stream", StringComparison.OrdinalIgnoreCase) == true);

    public TimeSpan? WaitTime => Wait is null ? null : TimeSpan.FromSeconds(
        int.Parse(Wait, NumberStyles.None, CultureInfo.InvariantCulture));

    public sealed class Validator : Validator<Request>
    {
        public Validator()
        {
            RuleFor(r => r).HasPayloadOrText(r => r.Payload, r => r.Text);
            RuleFor(r => r).StorablePayload(r => r.Payload, r => r.Text);
            RuleFor(r => r.Session).ValidSession();
            RuleFor(r => r).ValidIdempotencyKey(r => r.IdempotencyKeyHeader, r => r.IdempotencyKey);
            RuleFor(r => r.Stream)
                .Must(stream => stream is null or "true" or "false")
                .WithMessage("stream must be true or false.");
            RuleFor(r => r.Wait)
                .Must(wait => wait is null || MessageRules.IsWholeNumber(wait, 0, MaxWaitSeconds))
                .WithMessage($"wait must be a whole number of seconds from 0 to {MaxWaitSeconds}.");
        }
    }
}
