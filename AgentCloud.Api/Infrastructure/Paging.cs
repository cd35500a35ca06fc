using System.Globalization;
using FastEndpoints;
using FluentValidation;

namespace AgentCloud.Api.Infrastructure;

/// <summary>The <c>?limit=</c> and <c>?cursor=</c> of a list route (keyset pagination, newest first).</summary>
public abstract class PagedRequest
{
    /// <summary>A whole number from 1 to the list's maximum.</summary>
    [QueryParam]
    public string? Limit { get; init; }

    /// <summary>The <c>next_cursor</c> of the previous page.</summary>
    [QueryParam]
    public string? Cursor { get; init; }

    protected abstract int DefaultLimit { get; }

    public int ParsedLimit => Limit is null ? DefaultLimit : int.Parse(Limit, NumberStyles.None, CultureInfo.InvariantCulture);
}

public static class Paging
{
    /// <summary>The rules of <see cref="PagedRequest"/>: a limit from 1 to <paramref name="maxLimit"/>, a cursor of this list.</summary>
    public static void PagingRules<TRequest>(this AbstractValidator<TRequest> validator, int maxLimit, Func<string, bool> isCursor)
        where TRequest : PagedRequest
    {
        validator.RuleFor(r => r.Limit)
            .Must(limit => limit is null
                || int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= 1 && value <= maxLimit)
            .WithMessage($"limit must be a whole number from 1 to {maxLimit}.");
        validator.RuleFor(r => r.Cursor)
            .Must(cursor => cursor is null || isCursor(cursor))
            .WithMessage("cursor is not a cursor of this list.");
    }

    /// <summary>
    /// The page of <paramref name="rows"/>, read with one row more than <paramref name="limit"/>: that row, when
    /// it came, says another page follows, which starts after the cursor of the page's last item.
    /// </summary>
    public static (List<T> Items, string? NextCursor) Page<T>(IReadOnlyList<T> rows, int limit, Func<T, string> cursorAfter)
    {
        var items = rows.Take(limit).ToList();
        return (items, rows.Count > limit ? cursorAfter(items[^1]) : null);
    }
}
