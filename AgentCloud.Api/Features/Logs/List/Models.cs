using System.Globalization;
using System.Text.RegularExpressions;
using AgentCloud.Api.Infrastructure;
using AgentCloud.Shared.Data;
using FastEndpoints;
using FluentValidation;

namespace AgentCloud.Api.Features.Logs.List;

public sealed partial class Request : PagedRequest, IAgentRequest
{
    public const int MaxLimit = 1000;

    [BindFrom("agent_id")]
    public int AgentId { get; init; }

    /// <summary>DEBUG, INFO, WARNING, ERROR or CRITICAL, in any case.</summary>
    [QueryParam]
    public string? Level { get; init; }

    /// <summary>ISO 8601; inclusive. Without an offset it is UTC.</summary>
    [QueryParam]
    public string? Since { get; init; }

    /// <summary>ISO 8601; exclusive. Without an offset it is UTC.</summary>
    [QueryParam]
    public string? Until { get; init; }

    protected override int DefaultLimit => 100;

    /// <summary>The query these (validated) parameters describe, asking one row more than the page.</summary>
    public LogQuery ToQuery()
    {
        (DateTime, int)? after = Cursors.TryReadLog(Cursor, out var timestamp, out var id) ? (timestamp, id) : null;
        return new LogQuery(AgentId, NormalLevel(Level), ParseInstant(Since), ParseInstant(Until), after, ParsedLimit + 1);
    }

    internal static string? NormalLevel(string? level) =>
        level is null ? null : LogLevels.All.FirstOrDefault(known => known.Equals(level, StringComparison.OrdinalIgnoreCase));

    /// <summary>An ISO 8601 date and time as UTC wall time, or null when it is not one.</summary>
    internal static DateTime? ParseInstant(string? text)
    {
        if (text is null)
        {
            return null;
        }

        // A '+' left unescaped in a query string arrives as a space.
        text = SpaceBeforeOffset().Replace(text.Trim(), "+$1");
        if (!IsoDateTime().IsMatch(text)
            || !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var instant))
        {
            return null;
        }

        return instant.ForDatabase();
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?)?(Z|[+-]\d{2}:?\d{2})?$", RegexOptions.IgnoreCase)]
    private static partial Regex IsoDateTime();

    [GeneratedRegex(@" (\d{2}:?\d{2})$")]
    private static partial Regex SpaceBeforeOffset();

    public sealed class Validator : Validator<Request>
    {
        public Validator()
        {
            RuleFor(r => r.Level)
                .Must(level => level is null || NormalLevel(level) is not null)
                .WithMessage($"level must be one of {string.Join(", ", LogLevels.All)}.");
            RuleFor(r => r.Since)
                .Must(since => since is null || ParseInstant(since) is not null)
                .WithMessage("since must be an ISO 8601 date and time, e.g. 2026-01-31T12:00:00Z.");
            RuleFor(r => r.Until)
                .Must(until => until is null || ParseInstant(until) is not null)
                .WithMessage("until must be an ISO 8601 date and time, e.g. 2026-01-31T12:00:00Z.");
            this.PagingRules(MaxLimit, cursor => Cursors.TryReadLog(cursor, out _, out _));
        }
    }
}

public sealed record LogResponse(int Id, int AgentId, string? LogLevel, string? Message, DateTime Timestamp)
{
    public static LogResponse From(LogRow row) => new(row.Id, row.AgentId, row.LogLevel, row.Message, row.Timestamp.AsUtc());
}

public sealed record Response(IReadOnlyList<LogResponse> Items, string? NextCursor);
