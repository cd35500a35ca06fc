using AgentCloud.Api.Features.Agents;
using AgentCloud.Api.Features.Messages;
using AgentCloud.Api.Infrastructure;
using FastEndpoints;
using FluentValidation;

namespace AgentCloud.Api.Features.Runs.Conversations;

public sealed class Endpoint(AgentStore agents, RunStore runs) : Endpoint<Request, Response>
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
        if (!await agents.ExistsAsync(User.UserId(), request.AgentId, ct))
        {
            await Send.ResultAsync(AgentProblems.NotFound());
            return;
        }

        var limit = request.Limit is null ? Request.DefaultLimit : int.Parse(request.Limit, System.Globalization.CultureInfo.InvariantCulture);
        var rows = await runs.ConversationsAsync(request.AgentId,
            Cursors.TryReadConversation(request.Cursor, out var seq) ? seq : null, limit + 1, ct);
        var page = rows.Take(limit).ToList();
        var next = rows.Count > limit ? Cursors.ForConversation(page[^1].LastSeq) : null;
        await Send.OkAsync(new Response(
            [.. page.Select(c => new ConversationResponse(c.Session, c.Messages, c.StartedAt.AsUtc(), c.LastMessageAt.AsUtc()))], next), ct);
    }
}

public sealed class Request
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 100;

    [BindFrom("agent_id")]
    public int AgentId { get; init; }

    [QueryParam]
    public string? Limit { get; init; }

    [QueryParam]
    public string? Cursor { get; init; }

    public sealed class Validator : Validator<Request>
    {
        public Validator()
        {
            RuleFor(r => r.Limit)
                .Must(limit => limit is null || MessageRules.IsWholeNumber(limit, 1, MaxLimit))
                .WithMessage($"limit must be a whole number from 1 to {MaxLimit}.");
            RuleFor(r => r.Cursor)
                .Must(cursor => cursor is null || Cursors.TryReadConversation(cursor, out _))
                .WithMessage("cursor is not a cursor of this list.");
        }
    }
}

public sealed record ConversationResponse(Guid Session, int Messages, DateTime StartedAt, DateTime LastMessageAt);

public sealed record Response(IReadOnlyList<ConversationResponse> Items, string? NextCursor);
