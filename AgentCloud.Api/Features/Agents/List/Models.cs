using System.Globalization;
using AgentCloud.Api.Infrastructure;
using FastEndpoints;
using FluentValidation;

namespace AgentCloud.Api.Features.Agents.List;

public sealed class Request
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 100;

    /// <summary>1–100, default 50.</summary>
    [QueryParam]
    public string? Limit { get; init; }

    /// <summary>The <c>next_cursor</c> of the previous page.</summary>
    [QueryParam]
    public string? Cursor { get; init; }

    public int ParsedLimit => Limit is null ? DefaultLimit : int.Parse(Limit, NumberStyles.None, CultureInfo.InvariantCulture);

    public sealed class Validator : Validator<Request>
    {
        public Validator()
        {
            RuleFor(r => r.Limit)
                .Must(limit => limit is null
                    || int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value is >= 1 and <= MaxLimit)
                .WithMessage($"limit must be a whole number from 1 to {MaxLimit}.");
            RuleFor(r => r.Cursor)
                .Must(cursor => cursor is null || Cursors.TryReadAgent(cursor, out _))
                .WithMessage("cursor is not a cursor of this list.");
        }
    }
}

public sealed record Response(IReadOnlyList<AgentResponse> Items, string? NextCursor);
