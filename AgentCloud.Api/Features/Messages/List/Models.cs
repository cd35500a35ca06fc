using System.Globalization;
using AgentCloud.Api.Infrastructure;
using AgentCloud.Shared.Messaging;
using FastEndpoints;
using FluentValidation;

namespace AgentCloud.Api.Features.Messages.List;

public sealed class Request
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 100;

    [BindFrom("agent_id")]
    public int AgentId { get; init; }

    /// <summary>queued, processing, done, failed or dead.</summary>
    [QueryParam]
    public string? Status { get; init; }

    /// <summary>inbound or outbound.</summary>
    [QueryParam]
    public string? Direction { get; init; }

    /// <summary>1–100, default 50.</summary>
    [QueryParam]
    public string? Limit { get; init; }

    /// <summary>The <c>next_cursor</c> of the previous page.</summary>
    [QueryParam]
    public string? Cursor { get; init; }

    public int ParsedLimit => Limit is null ? DefaultLimit : int.Parse(Limit, NumberStyles.None, CultureInfo.InvariantCulture);

    /// <summary>The query these (validated) parameters describe, asking one row more than the page.</summary>
    public MessageQuery ToQuery() => new(
        AgentId, Status, Direction, Cursors.TryReadMessage(Cursor, out var seq) ? seq : null, ParsedLimit + 1);

    public sealed class Validator : Validator<Request>
    {
        public Validator()
        {
            RuleFor(r => r.Status)
                .Must(status => status is null || MessageStatus.All.Contains(status))
                .WithMessage($"status must be one of {string.Join(", ", MessageStatus.All)}.");
            RuleFor(r => r.Direction)
                .Must(direction => direction is null || MessageDirection.All.Contains(direction))
                .WithMessage($"direction must be one of {string.Join(", ", MessageDirection.All)}.");
            RuleFor(r => r.Limit)
                .Must(limit => limit is null || MessageRules.IsWholeNumber(limit, 1, MaxLimit))
                .WithMessage($"limit must be a whole number from 1 to {MaxLimit}.");
            RuleFor(r => r.Cursor)
                .Must(cursor => cursor is null || Cursors.TryReadMessage(cursor, out _))
                .WithMessage("cursor is not a cursor of this list.");
        }
    }
}

public sealed record Response(IReadOnlyList<MessageResponse> Items, string? NextCursor);
