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
/// The gate before the calls of a model turn that <c>config.approve</c> names (docs/approvals.md). All of the turn's such calls are
/// asked at once: each is stored as an <c>approval</c> step with its pending row (<see cref="ToolApprovals.RequestAsync"/>), in one
/// transaction, and the run parks until every one is decided or expired; then the calls go on with the approved (maybe edited)
/// arguments, or end as the denial's error. Nothing of a tool happens here: its effect commits with the call's tool_call step,
/// after this, once.
/// </summary>
public sealed class ApprovalGate(RunStore store, IRunEvents events, Wakeups wakeups, ILogger<ApprovalGate> logger)
{
    /// <summary>
    /// The decisions of the turn's <paramref name="calls"/> that need one, by call id (a call that needs none is not in it). Asks
    /// for those not asked yet; throws <see cref="RunParksException"/> while any is undecided.
    /// </summary>
    /// <param name="approvalStepOf">The call's approval step, if stored.</param>
    public async Task<IReadOnlyDictionary<string, ApprovalOutcome>> PassAsync(BehaviorContext context, LlmAgentConfig config,
        RunState run, IReadOnlyList<JsonObject> calls, Func<JsonObject, StepRow?> approvalStepOf, CancellationToken cancellationToken)
    {
        var gated = calls.Where(call => config.NeedsApproval(call["name"]?.GetValue<string>() ?? "")).ToList();
        if (gated.Count == 0)
        {
            return new Dictionary<string, ApprovalOutcome>();
        }

        await RequestAsync(context, config, run, [.. gated.Where(call => approvalStepOf(call) is null)], cancellationToken);
        var rows = new List<ApprovalRow>();
        foreach (var call in gated)
        {
            rows.Add(await DecisionAsync(context, Guid.Parse(approvalStepOf(call)!.Json["approval_id"]!.GetValue<string>()),
                cancellationToken));
        }

        // The one that expires first (the first asked, of calls asked together) is what the run shows it waits for; a decision of
        // another wakes it to wait on.
        if (rows.Where(row => row.Decision is null).OrderBy(row => row.ExpiresAt).FirstOrDefault() is { } pending)
        {
            throw Park(pending);
        }

        var outcomes = new Dictionary<string, ApprovalOutcome>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            outcomes[row.CallId] = Outcome(config, row);
        }

        return outcomes;
    }

    /// <summary>Stores the calls' approval steps and pending rows in one transaction, then tells the run's streams.</summary>
    private async Task RequestAsync(BehaviorContext context, LlmAgentConfig config, RunState run, IReadOnlyList<JsonObject> calls,
        CancellationToken cancellationToken)
    {
        if (calls.Count == 0)
        {
            return;
        }

        var message = context.Message;
        var asked = calls.Select(call => (Id: Guid.NewGuid(), CallId: call["id"]?.GetValue<string>() ?? "",
            Name: call["name"]?.GetValue<string>() ?? "", Arguments: call["arguments"] as JsonObject ?? [])).ToList();
        var steps = asked.Select(a => new NewStep(StepKinds.Approval, new JsonObject
        {
            ["id"] = a.CallId, ["name"] = a.Name, ["arguments"] = a.Arguments.DeepClone(), ["approval_id"] = a.Id.ToString("D"),
        })).ToList();
        await store.CommitStepsAsync(run, steps, async (connection, transaction) =>
        {
            for (var i = 0; i < asked.Count; i++)
            {
                var stored = await ToolApprovals.RequestAsync(connection, transaction, asked[i].Id, message, asked[i].CallId,
                    asked[i].Name, asked[i].Arguments, TimeSpan.FromSeconds(config.ApprovalTimeoutSeconds), cancellationToken);
                steps[i].Data["expires_at"] = ApprovalView.From(stored).ExpiresAt.ToString("O", CultureInfo.InvariantCulture);
            }

            return true;
        }, cancellationToken);
        wakeups.Post(RunEvents.Channel, message.Id.ToString("D"));
        foreach (var a in asked)
        {
            logger.LogInformation("The call {CallId} of {Tool} in the run of message {MessageId} waits for approval {ApprovalId}",
                a.CallId, a.Name, message.Id, a.Id);
        }

        foreach (var step in run.Steps.TakeLast(steps.Count))
        {
            await events.PublishAsync(message.Id, RunEventTypes.Step, new JsonObject
            {
                ["step_index"] = step.StepIndex, ["kind"] = step.Kind, ["data"] = step.Json,
            }, cancellationToken);
        }
    }

    /// <summary>The approval as it stands: decided, expired (marked so now if its time ran out), or still pending.</summary>
    private async Task<ApprovalRow> DecisionAsync(BehaviorContext context, Guid approvalId, CancellationToken cancellationToken)
    {
        var row = await store.ReadAsync(db => ToolApprovals.GetAsync(db, null, context.AgentId, approvalId, cancellationToken),
            cancellationToken)
            ?? throw new PermanentBehaviorException($"The approval {approvalId} of this run is gone.");
        if (row.Decision is not null || DateTime.UtcNow < DateTime.SpecifyKind(row.ExpiresAt, DateTimeKind.Utc))
        {
            return row;
        }

        // Still pending when the database's clock has not reached the expiry yet: it is moments away.
        row = await store.ReadAsync(db => ToolApprovals.ExpireAsync(db, context.AgentId, approvalId, cancellationToken),
            cancellationToken);
        if (row.Decision is not null)
        {
            wakeups.Post(RunEvents.Channel, context.Message.Id.ToString("D"));
        }

        return row;
    }

    private static ApprovalOutcome Outcome(LlmAgentConfig config, ApprovalRow row) => row.Decision switch
    {
        ApprovalDecisions.Approved => new ApprovalOutcome(row, row.EffectiveArguments, null),
        ApprovalDecisions.Denied => new ApprovalOutcome(row, JsonNode.Parse(row.Arguments) as JsonObject ?? [],
            string.IsNullOrWhiteSpace(row.Reason) ? "A person denied this call." : $"A person denied this call: {row.Reason}"),
        _ => new ApprovalOutcome(row, JsonNode.Parse(row.Arguments) as JsonObject ?? [],
            $"The approval expired: nobody approved this call within {config.ApprovalTimeoutSeconds} seconds."),
    };

    /// <summary>
    /// The time the run spent waiting for people, which its wall-time limit does not count: from each approval step to its
    /// decision (to now for one still undecided), the approvals of one turn counted once for the time they overlap.
    /// </summary>
    public static TimeSpan Waited(IReadOnlyList<StepRow> steps)
    {
        var spans = new List<(DateTime Start, DateTime End)>();
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
                spans.Add((start, end));
            }
        }

        var waited = TimeSpan.Zero;
        var counted = DateTime.MinValue;
        foreach (var (start, end) in spans.OrderBy(s => s.Start))
        {
            var from = start > counted ? start : counted;
            if (end > from)
            {
                waited += end - from;
                counted = end;
            }
        }

        return waited;
    }

    private static RunParksException Park(ApprovalRow row) =>
        new(new RunWait(RunWait.ApprovalKind, DateTime.SpecifyKind(row.ExpiresAt, DateTimeKind.Utc), null, null, null,
            ToolApprovals.ShownWait(row), row.Id));
}
