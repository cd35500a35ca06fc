using System.Globalization;
using System.Text.Json;
using AgentCloud.Shared.UAgents;
using FastEndpoints;
using FluentValidation;

namespace AgentCloud.Api.Features.Messages.Send;

public sealed class Request
{
    [BindFrom("agent_id")]
    public int AgentId { get; init; }

    /// <summary>An agent address, <c>agent1…</c>, optionally written <c>agent://agent1…</c>.</summary>
    public string? Target { get; init; }

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

    /// <summary>0–30: seconds to wait for the answer (a sync send).</summary>
    [QueryParam]
    public string? Wait { get; init; }

    public TimeSpan? WaitTime => Wait is null ? null : TimeSpan.FromSeconds(
        int.Parse(Wait, NumberStyles.None, CultureInfo.InvariantCulture));

    public string NormalTarget => Address.Normalize(Target!);

    public sealed class Validator : Validator<Request>
    {
        public Validator()
        {
            RuleFor(r => r.Target)
                .Must(target => target is not null && Address.IsValid(Address.Normalize(target)))
                .WithMessage("target must be an agent address (agent1…, optionally as agent://agent1…).");
            RuleFor(r => r).HasPayloadOrText(r => r.Payload, r => r.Text);
            RuleFor(r => r).StorablePayload(r => r.Payload, r => r.Text);
            RuleFor(r => r.Session).ValidSession();
            RuleFor(r => r).ValidIdempotencyKey(r => r.IdempotencyKeyHeader, r => r.IdempotencyKey);
            RuleFor(r => r.Wait)
                .Must(wait => wait is null || MessageRules.IsWholeNumber(wait, 0, Post.Request.MaxWaitSeconds))
                .WithMessage($"wait must be a whole number of seconds from 0 to {Post.Request.MaxWaitSeconds}.");
        }
    }
}

/// <summary>
/// What was sent. <c>delivery</c> "local": the target is an agent hosted here and the message is in its
/// inbox (its owner sees it there); "remote": it is an outbound message of the sending agent, queued
/// until remote delivery, and listed with that agent's messages. With <c>?wait</c>: <c>reply</c> is the answer
/// (for a remote target, the payload of the peer's reply envelope), <c>error</c> why it is dead, <c>delivered_to</c>
/// the endpoint that accepted it.
/// </summary>
public sealed record Response(
    Guid Id, int AgentId, string Sender, string Target, Guid Session, string Delivery, string Status, string? TraceId,
    DateTime CreatedAt,
    JsonElement? Reply = null,
    string? Error = null,
    string? DeliveredTo = null);
