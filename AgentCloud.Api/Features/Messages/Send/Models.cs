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

    public string NormalTarget => Address.Normalize(Target!);

    public sealed class Validator : Validator<Request>
    {
        public Validator()
        {
            RuleFor(r => r.Target)
                .Must(target => target is not null && Address.IsValid(Address.Normalize(target)))
                .WithMessage("target must be an agent address (agent1…, optionally as agent://agent1…).");
            RuleFor(r => r).HasPayloadOrText(r => r.Payload, r => r.Text);
            RuleFor(r => r.Session).ValidSession();
        }
    }
}

/// <summary>
/// What was sent. <c>delivery</c> "local": the target is an agent hosted here and the message is in its
/// inbox (its owner sees it there); "remote": it is an outbound message of the sending agent, queued
/// until remote delivery, and listed with that agent's messages.
/// </summary>
public sealed record Response(
    Guid Id, int AgentId, string Sender, string Target, Guid Session, string Delivery, string Status, string? TraceId,
    DateTime CreatedAt);
