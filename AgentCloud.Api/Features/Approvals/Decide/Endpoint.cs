using System.Globalization;
using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentCloud.Api.Infrastructure;
using AgentCloud.Shared.Llm;
using FastEndpoints;
using FluentValidation;

namespace AgentCloud.Api.Features.Approvals.Decide;

public sealed class Request : ApprovalRequest
{
    public const string Approve = "approve";
    public const string Deny = "deny";
    public const int MaxReasonLength = 2000;
    public const int MaxArgumentsLength = 64 * 1024;

    /// <summary>approve or deny.</summary>
    public string? Decision { get; init; }

    /// <summary>With approve: the arguments the tool runs with instead of the model's (a JSON object). Left out: the model's.</summary>
    public JsonElement? Arguments { get; init; }

    /// <summary>Why (at most 2000 characters); on a denial it is the tool's error the model reads.</summary>
    public string? Reason { get; init; }

    public sealed class Validator : Validator<Request>
    {
        public Validator()
        {
            RuleFor(r => r.Decision).Must(d => d is Approve or Deny).WithMessage("decision must be approve or deny.");
            RuleFor(r => r.Arguments)
                .Must(a => a is null || a.Value.ValueKind is JsonValueKind.Object or JsonValueKind.Null)
                .WithMessage("arguments must be a JSON object (the tool's arguments).")
                .Must(a => a is null || a.Value.GetRawText().Length <= MaxArgumentsLength)
                .WithMessage($"arguments must be at most {MaxArgumentsLength} characters of JSON.");
            RuleFor(r => r.Arguments)
                .Must((r, a) => a is null || a.Value.ValueKind == JsonValueKind.Null || r.Decision != Deny)
                .WithMessage("arguments go with approve only.");
            RuleFor(r => r.Reason)
                .Must(reason => reason is null || reason.Length <= MaxReasonLength && !reason.Contains('\0'))
                .WithMessage($"reason must be at most {MaxReasonLength} characters, without U+0000.");
        }
    }
}

public sealed class Endpoint(ApprovalStore approvals) : Endpoint<Request, ApprovalView>
{
    public override void Configure()
    {
        Post("/agents/{agent_id}/approvals/{approval_id}");
        Policies(ApiScopes.ApprovalsWrite);
        Summary(s =>
        {
            s.Summary = "Approve or deny a tool call that waits for a person: the run resumes on any worker";
            s.Description =
                "decision approve runs the tool once (with arguments instead of the model's, when given); deny makes reason (or a " +
                "plain refusal) the tool's error, which the model reads. Who decided and when are stored with the approval and the " +
                "run's tool_call step. A decision is final: a second one, or one after the approval expired, is a 409.";
            s.Responses[200] = "The approval with its decision.";
            s.Responses[400] = "A bad decision, arguments or reason.";
            s.Responses[404] = "No such agent or approval, or not the caller's.";
            s.Responses[409] = "Decided already, expired, or its run is over.";
        });
    }

    public override async Task HandleAsync(Request request, CancellationToken ct)
    {
        var arguments = request.Arguments is { ValueKind: JsonValueKind.Object } edited
            ? JsonNode.Parse(edited.GetRawText()) as JsonObject
            : null;
        var (outcome, row, _) = await approvals.DecideAsync(request.AgentId, request.ApprovalId, request.Decision == Request.Approve,
            arguments,
            string.IsNullOrWhiteSpace(request.Reason) ? null : request.Reason, Decider(User, ApprovalDoors.Rest), ct);
        switch (outcome)
        {
            case DecideOutcome.Decided:
                await Send.OkAsync(ApprovalView.From(row!), ct);
                break;
            case DecideOutcome.AlreadyDecided:
                await Send.ResultAsync(ApprovalProblems.AlreadyDecided(row!));
                break;
            default:
                await Send.ResultAsync(ApprovalProblems.NotFound());
                break;
        }
    }

    /// <summary>The caller as the approval stores it: the user, and the API key when one was presented.</summary>
    public static ApprovalDecider Decider(ClaimsPrincipal user, string via) => new(user.UserId(),
        user.IsApiKey() && int.TryParse(user.FindFirst(AuthClaims.ApiKeyId)?.Value, NumberStyles.None, CultureInfo.InvariantCulture,
            out var key)
            ? key
            : null,
        via);
}

public static class ApprovalDoors
{
    public const string Rest = "rest";
    public const string A2A = "a2a";
    public const string AgUi = "ag-ui";
}
