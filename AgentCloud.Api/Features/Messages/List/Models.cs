using AgentCloud.Api.Infrastructure;
using AgentCloud.Shared.Messaging;
using FastEndpoints;
using FluentValidation;

namespace AgentCloud.Api.Features.Messages.List;

public sealed class Request : PagedRequest, IAgentRequest
{
    public const int MaxLimit = 100;

    [BindFrom("agent_id")]
    public int AgentId { get; init; }

    /// <summary>queued, processing, done, failed or dead.</summary>
    [QueryParam]
    public string? Status { get; init; }

    /// <summary>inbound or outbound.</summary>
    [QueryParam]
    public string? Direction { get; init; }

    protected override int DefaultLimit => 50;

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
            this.PagingRules(MaxLimit, cursor => Cursors.TryReadMessage(cursor, out _));
        }
    }
}

public sealed record Response(IReadOnlyList<MessageResponse> Items, string? NextCursor);
