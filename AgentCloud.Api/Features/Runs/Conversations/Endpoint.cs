using AgentCloud.Api.Features.Messages;
using AgentCloud.Api.Infrastructure;
using FastEndpoints;
using FluentValidation;

namespace AgentCloud.Api.Features.Runs.Conversations;

public sealed class Endpoint(RunStore runs) : Endpoint<Request, Response>
{
    public override void Configure()
    {
        Get("/agents/{agent_id}/conversations");
        Policies(ApiScopes.AgentsRead);
        Summary(s =>
        {
            s.Summary = "An agent's conversations (the sessions of messages to it), the latest active first, a page at a time";
            s.Responses[404] = "No such agent, or not the caller's.";
        });
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        var rows = await runs.ConversationsAsync(request.AgentId,
            Cursors.TryReadConversation(request.Cursor, out var seq) ? seq : null, request.ParsedLimit + 1, ct);
        var (page, next) = Paging.Page(rows, request.ParsedLimit, row => Cursors.ForConversation(row.LastSeq));
        await Send.OkAsync(new Response(
            [.. page.Select(c => new ConversationResponse(c.Session, c.Messages, c.StartedAt.AsUtc(), c.LastMessageAt.AsUtc()))], next),
                ct);
    }
}

public sealed class Request : PagedRequest, IAgentRequest
{
    public const int MaxLimit = 100;

    [BindFrom("agent_id")]
    public int AgentId { get; init; }

    protected override int DefaultLimit => 50;

    public sealed class Validator : Validator<Request>
    {
        public Validator()
        {
            this.PagingRules(MaxLimit, cursor => Cursors.TryReadConversation(cursor, out _));
        }
    }
}

public sealed record ConversationResponse(Guid Session, int Messages, DateTime StartedAt, DateTime LastMessageAt);

public sealed record Response(IReadOnlyList<ConversationResponse> Items, string? NextCursor);
