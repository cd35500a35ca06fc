using System.Text.Json.Nodes;
using AgentCloud.Api.Features.Messages;
using AgentCloud.Api.Infrastructure;
using FastEndpoints;
using FluentValidation;

namespace AgentCloud.Api.Features.Runs.Conversation;

public sealed class Endpoint(RunStore runs) : Endpoint<Request, Response>
{
    public override void Configure()
    {
        Get("/agents/{agent_id}/conversations/{session}");
        Policies(ApiScopes.AgentsRead);
        Summary(s =>
        {
            s.Summary = "One conversation's turns in order, as the model sees them: user messages, tool calls and results, answers";
            s.Responses[404] = "No such agent or conversation, or not the caller's.";
        });
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        var turns = await runs.TurnsAsync(request.AgentId, Guid.Parse(request.Session!), ct);
        if (turns.Count == 0)
        {
            await Send.ResultAsync(ProblemResponses.Problem(StatusCodes.Status404NotFound, "No such conversation."));
            return;
        }

        await Send.OkAsync(new Response(Guid.Parse(request.Session!), [.. turns.Select(t => new TurnResponse(t.MessageId, t.Role, t.Text,
            t.ToolCalls.Count == 0 ? null : [.. t.ToolCalls.Select(c => new ToolCallResponse(c.Id, c.Name, c.Arguments))],
            t.ToolCallId, t.ToolName, t.Role == "tool" ? t.IsError : null))]), ct);
    }
}

public sealed class Request : IAgentRequest
{
    [BindFrom("agent_id")]
    public int AgentId { get; init; }

    [BindFrom("session")]
    public string? Session { get; init; }

    public sealed class Validator : Validator<Request>
    {
        public Validator()
        {
            RuleFor(r => r.Session).Must(s => MessageRules.ParseSession(s) is not null).WithMessage("session must be a UUID.");
        }
    }
}

public sealed record ToolCallResponse(string Id, string Name, JsonObject Arguments);

public sealed record TurnResponse(Guid MessageId, string Role, string? Text, IReadOnlyList<ToolCallResponse>? ToolCalls,
    string? ToolCallId, string? ToolName, bool? IsError);

public sealed record Response(Guid Session, IReadOnlyList<TurnResponse> Turns);
