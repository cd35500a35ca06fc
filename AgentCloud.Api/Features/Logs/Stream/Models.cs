using AgentCloud.Api.Infrastructure;
using System.Globalization;
using FastEndpoints;
using FluentValidation;

namespace AgentCloud.Api.Features.Logs.Stream;

public sealed class Request : IAgentRequest
{
    public const int DefaultTail = 50;
    public const int MaxTail = 1000;

    [BindFrom("agent_id")]
    public int AgentId { get; init; }

    /// <summary>0–1000, default 50: how many of the newest lines to send first.</summary>
    [QueryParam]
    public string? Tail { get; init; }

    public int ParsedTail => Tail is null ? DefaultTail : int.Parse(Tail, NumberStyles.None, CultureInfo.InvariantCulture);

    /// <summary>The id of the last line a client saw (the SSE <c>Last-Event-ID</c> header), or null.</summary>
    public static int? ParseLastEventId(string? header) =>
        int.TryParse(header, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id >= 0 ? id : null;

    public sealed class Validator : Validator<Request>
    {
        public Validator()
        {
            RuleFor(r => r.Tail)
                .Must(tail => tail is null
                    || int.TryParse(tail, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value is >= 0 and <= MaxTail)
                .WithMessage($"tail must be a whole number from 0 to {MaxTail}.");
        }
    }
}
