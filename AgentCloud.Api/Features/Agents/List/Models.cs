using AgentCloud.Api.Infrastructure;
using FastEndpoints;
using FluentValidation;

namespace AgentCloud.Api.Features.Agents.List;

public sealed class Request : PagedRequest
{
    public const int MaxLimit = 100;

    protected override int DefaultLimit => 50;

    public sealed class Validator : Validator<Request>
    {
        public Validator()
        {
            this.PagingRules(MaxLimit, cursor => Cursors.TryReadAgent(cursor, out _));
        }
    }
}

public sealed record Response(IReadOnlyList<AgentResponse> Items, string? NextCursor);
