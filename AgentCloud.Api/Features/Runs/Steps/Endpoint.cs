using System.Text.Json;
using AgentCloud.Api.Features.Messages;
using AgentCloud.Api.Infrastructure;
using AgentCloud.Shared.Llm;
using FastEndpoints;

namespace AgentCloud.Api.Features.Runs.Steps;

public sealed class Endpoint(RunStore runs) : Endpoint<Messages.Get.Request, Response>
{
    public override void Configure()
    {
        Get("/agents/{agent_id}/messages/{message_id}/steps");
        Policies(ApiScopes.AgentsRead);
        Summary(s =>
        {
            s.Summary = "The stored steps of an llm agent's run of one message (model calls, tool calls and results, the answer), with " +
                "its usage";
            s.Responses[404] = "No such agent or message, or not the caller's.";
        });
    }

    public override async Task HandleAsync(Messages.Get.Request request, CancellationToken ct)
    {
        var steps = await runs.StepsAsync(request.AgentId, request.ParsedMessageId, ct);
        if (steps is null)
        {
            await Send.ResultAsync(MessageProblems.NotFound());
            return;
        }

        await Send.OkAsync(new Response(
            [.. steps.Select(StepResponse.From)],
            new UsageTotals(steps.Count(s => s.Kind == StepKinds.ModelCall), steps.Sum(s => (long)(s.InputTokens ?? 0)),
                steps.Sum(s => (long)(s.OutputTokens ?? 0)))), ct);
    }
}

public sealed record Response(IReadOnlyList<StepResponse> Items, UsageTotals Usage);

public sealed record StepResponse(int Index, string Kind, JsonElement Data, string? Model, int? InputTokens, int? OutputTokens,
    double? DurationMs, DateTime CreatedAt)
{
    public static StepResponse From(StepRow step)
    {
        using var document = JsonDocument.Parse(step.Data);
        return new(step.StepIndex, step.Kind, document.RootElement.Clone(), step.Model, step.InputTokens, step.OutputTokens,
            step.DurationMs, step.CreatedAt.AsUtc());
    }
}
