using System.Globalization;
using System.Text.Json.Nodes;
using AgentCloud.Shared.Llm;
using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.Messaging.Behaviors;

namespace AgentCloud.AgentWorker.Llm;

/// <summary>What a call that needed approval came to: the arguments it runs with, or the error the model reads instead.</summary>
public sealed record ApprovalOutcome(ApprovalRow Row, JsonObject Arguments, string? Error)
{
    /// <summary>The decision as the call's tool_call step stores it: who decided, when, how, why.</summary>
    public JsonObject Shown()
    {
        var view = ApprovalView.From(Row).ToJson();
        var shown = new JsonObject
        {
            ["approval_id"] = Row.Id.ToString("D"),
            ["decision"] = Row.Decision,
            ["reason"] = Row.Reason,
            ["decided_by"] = view["decided_by"]?.DeepClone(),
            ["decided_at"] = view["decided_at"]?.DeepClone(),
            ["requested_at"] = view["requested_at"]?.DeepClone(),
        };
        if (Row.DecidedArguments is not null)
        {
            shown["model_arguments"] = JsonNode.Parse(Row.Arguments);
        }

        return shown;
    }
}

/// <summary>
/// The gate before a call of a tool that <c>config.approve</c> names (docs/approvals.md). The first time, the call is stored as an
/// <c>approval</c> step with its pending row (<see cref="ToolApprovals.RequestAsync"/>) and the run parks until a decision or the
/// expiry; once decided, the call goes on with the approved (maybe edited) arguments, or ends as the denial's error. Nothing of
/// the tool happens here: its effect commits with the call's tool_call step, after this, once.
/// </summary>
public sealed class ApprovalGate(RunStore store, IRunEvents events, Wakeups wakeups, ILogger<ApprovalGate> logger)
{
    /// <summary>Null when the call needs no approval; else its decision. Throws <see cref="RunParksException"/> while there is
    /// none.</summary>
    public async Task<ApprovalOutcome?> PassAsync(BehaviorContext context, LlmAgentConfig config, RunState run, StepRow? requested,
        JsonObject call, CancellationToken cancellationToken)
    {
        var name = call["name"]?.GetValue<string>() ?? "";
        if (!config.NeedsApproval(name))
        {
            return null;
        }

        var message = context.Message;
        ApprovalRow row;
        if (requested is null)
        {
            var id = Guid.NewGuid();
            var callId = call["id"]?.GetValue<string>() ?? "";
            var arguments = call["arguments"] as JsonObject ?? [];
            var data = new JsonObject { ["id"] = callId, ["name"] = name, ["arguments"] = arguments.DeepClone(),
                ["approval_id"] = id.ToString("D") };
            row = (await store.CommitStepsAsync(run, [new NewStep(StepKinds.Approval, data)], async (connection, transaction) =>
            {
                var stored = await ToolApprovals.RequestAsync(connection, transaction, id, message, callId, name, arguments,
                    TimeSpan.FromSeconds(config.ApprovalTimeoutSeconds), cancellationToken);
                data["expires_at"] = ApprovalView.From(stored).ExpiresAt.ToString("O", CultureInfo.InvariantCulture);
                return stored;
            }, cancellationToken))!;
            wakeups.Post(RunEvents.Channel, message.Id.ToString("D"));
            logger.LogInformation("The call {CallId} of {Tool} in the run of message {MessageId} waits for approval {ApprovalId}",
                callId, name, message.Id, id);
            var step = run.Steps[^1];
            await events.PublishAsync(message.Id, RunEventTypes.Step, new JsonObject
            {
                ["step_index"] = step.StepIndex, ["kind"] = step.Kind, ["data"] = step.Json,
            }, cancellationToken);
            throw Park(row);
        }

        var approvalId = Guid.Parse(requested.Json["approval_id"]!.GetValue<string>());
        row = await store.ReadAsync(db => ToolApprovals.GetAsync(db, null, context.AgentId, approvalId, cancellationToken),
            cancellationToken)
            ?? throw new PermanentBehaviorException($"The approval {approvalId} of this run is gone.");
        if (row.Decision is null)
        {
            if (DateTime.UtcNow < DateTime.SpecifyKind(row.ExpiresAt, DateTimeKind.Utc))
            {
                // Woken before its time (a claim that found its deadline moved by another change): wait on.
                throw Park(row);
            }

            row = await store.ReadAsync(db => ToolApprovals.ExpireAsync(db, context.AgentId, approvalId, cancellationToken),
                cancellationToken);
            if (row.Decision is null)
            {
                // The database's clock has not reached the expiry yet: it is moments away.
                throw Park(row);
            }

            wakeups.Post(RunEvents.Channel, message.Id.ToString("D"));
        }

        return row.Decision switch
        {
            ApprovalDecisions.Approved => new ApprovalOutcome(row, row.EffectiveArguments, null),
            ApprovalDecisions.Denied => new ApprovalOutcome(row, JsonNode.Parse(row.Arguments) as JsonObject ?? [],
                string.IsNullOrWhiteSpace(row.Reason) ? "A person denied this call." : $"A person denied this call: {row.Reason}"),
            _ => new ApprovalOutcome(row, JsonNode.Parse(row.Arguments) as JsonObject ?? [],
                $"The approval expired: nobody approved this call within {config.ApprovalTimeoutSeconds} seconds."),
        };
    }

    /// <summary>
    /// The time the run spent waiting for people, which its wall-time limit does not count: from each approval step to its
    /// decision (to now for one still undecided).
    /// </summary>
    public static TimeSpan Waited(IReadOnlyList<StepRow> steps)
    {
        var waited = TimeSpan.Zero;
        for (var i = 0; i < steps.Count; i++)
        {
            if (steps[i].Kind != StepKinds.Approval)
            {
                continue;
            }

            var id = steps[i].Json["id"]?.GetValue<string>();
            var decided = steps.Skip(i + 1).FirstOrDefault(s => s.Kind == StepKinds.ToolCall && s.Json["id"]?.GetValue<string>() == id);
            var end = decided?.Json["approval"]?["decided_at"] is JsonValue at && at.TryGetValue<DateTime>(out var time)
                ? time.ToUniversalTime()
                : decided is null ? DateTime.UtcNow : DateTime.SpecifyKind(decided.CreatedAt, DateTimeKind.Utc);
            var start = DateTime.SpecifyKind(steps[i].CreatedAt, DateTimeKind.Utc);
            if (end > start)
            {
                waited += end - start;
            }
        }

        return waited;
    }

    private static RunParksException Park(ApprovalRow row) =>
        new(new RunWait(RunWait.ApprovalKind, DateTime.SpecifyKind(row.ExpiresAt, DateTimeKind.Utc), null, null, null,
            ToolApprovals.ShownWait(row), row.Id));
}
