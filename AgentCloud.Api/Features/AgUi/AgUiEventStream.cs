using System.Text.Json.Nodes;
using AgentCloud.Api.Features.Approvals;
using AgentCloud.Api.Features.Doors;
using AgentCloud.Api.Features.Messages.Events;
using AgentCloud.Shared.Llm;
using AgentCloud.Shared.Messaging;

namespace AgentCloud.Api.Features.AgUi;

/// <summary>The AG-UI 1.0 event types this door sends (the <c>type</c> of each event).</summary>
public static class AgUiEventTypes
{
    public const string RunStarted = "RUN_STARTED";
    public const string RunFinished = "RUN_FINISHED";
    public const string RunError = "RUN_ERROR";
    public const string StepStarted = "STEP_STARTED";
    public const string StepFinished = "STEP_FINISHED";
    public const string TextMessageStart = "TEXT_MESSAGE_START";
    public const string TextMessageContent = "TEXT_MESSAGE_CONTENT";
    public const string TextMessageEnd = "TEXT_MESSAGE_END";
    public const string ToolCallStart = "TOOL_CALL_START";
    public const string ToolCallArgs = "TOOL_CALL_ARGS";
    public const string ToolCallEnd = "TOOL_CALL_END";
    public const string ToolCallResult = "TOOL_CALL_RESULT";

    public const string ProtocolVersion = "1.0";
    /// <summary>The interrupt reason of a call that waits for a person's approval.</summary>
    public const string ToolApprovalReason = "tool_approval";
}

/// <summary>
/// One AG-UI run over one message: the thread and run ids the client chose, the message, the run event after which the stream
/// starts (a resumed run's last decision, else from the start) and the approvals decided before it (the client was shown their
/// calls with the interrupt, so they are not started again).
/// </summary>
public sealed record AgUiRun(string ThreadId, string RunId, MessageRow Message, long? AfterEvent = null,
    IReadOnlyCollection<string>? DecidedApprovals = null);

/// <summary>
/// A message's feed as AG-UI events: RUN_STARTED, then what the run produces (text as TEXT_MESSAGE_START / _CONTENT / _END, each
/// tool the agent called as TOOL_CALL_START / _ARGS / _END and its TOOL_CALL_RESULT, each stored step as a STEP_STARTED and
/// STEP_FINISHED pair), then RUN_FINISHED (success, or cancelled for a canceled message) or RUN_ERROR (dead). Calls that wait
/// for a person's approval end the run with RUN_FINISHED's interrupt outcome, each approval an interrupt (its id the approval
/// id; a model turn asks for all of its calls at once); the run that answers them (<c>resume</c>) streams on from the decisions,
/// or interrupts again with those it left unanswered.
/// </summary>
public sealed class AgUiEventStream(MessageEventFeed feed, ApprovalStore approvals)
{
    public async Task WriteAsync(HttpContext context, AgUiRun run, CancellationToken cancellationToken)
    {
        await ServerSentEvents.StartAsync(context, cancellationToken);
        var writer = new Writer(context.Response, run, cancellationToken);
        try
        {
            await writer.EventAsync(AgUiEventTypes.RunStarted, new JsonObject
            {
                ["threadId"] = run.ThreadId, ["runId"] = run.RunId, ["protocolVersion"] = AgUiEventTypes.ProtocolVersion,
            });
            if (run.AfterEvent is not null && await PendingAsync(run.Message, cancellationToken) is { Count: > 0 } unanswered)
            {
                // A resume that answered some of the run's interrupts: it still waits for the others (their calls were shown).
                await writer.InterruptAsync(unanswered, showCalls: false);
                return;
            }

            await foreach (var item in feed.FollowAsync(run.Message, run.AfterEvent, ServerSentEvents.TokenExpiry(context.User),
                cancellationToken))
            {
                var data = item.DataJson is { } json ? JsonNode.Parse(json) as JsonObject ?? [] : [];
                switch (item.Type)
                {
                    case FeedEventTypes.Heartbeat:
                        await ServerSentEvents.WriteKeepAliveAsync(context.Response, cancellationToken);
                        break;
                    case RunEventTypes.Delta when item.DeltaText is { Length: > 0 } delta:
                        await writer.TextAsync(item.Id, delta);
                        break;
                    case RunEventTypes.ToolCall:
                        await writer.ToolCallAsync(data);
                        break;
                    case RunEventTypes.ToolResult:
                        await writer.ToolResultAsync(item.Id, data);
                        break;
                    case RunEventTypes.Step:
                        await writer.StepAsync(data);
                        break;
                    case RunEventTypes.ApprovalRequested when await PendingAsync(run.Message, cancellationToken) is { Count: > 0 } asked:
                        // The turn's calls that need approval are asked in one transaction: all of them are pending by now.
                        await writer.InterruptAsync(asked, showCalls: true);
                        return;
                    case FeedEventTypes.Done:
                        await writer.DoneAsync(item.Id, item.Message!);
                        return;
                    case FeedEventTypes.Error:
                        await writer.FailedAsync(item.Message!);
                        return;
                }
            }

            // The credential expired before the run ended: the run goes on, this stream cannot.
            await writer.EventAsync(AgUiEventTypes.RunError, new JsonObject
            {
                ["message"] = "The stream ended before the run did: the credential expired. The run goes on; read it through the API.",
                ["code"] = "credential_expired",
            });
        }
        catch (Exception exception) when (cancellationToken.IsCancellationRequested
            && exception is OperationCanceledException or IOException)
        {
            // The client went away.
        }
    }

    /// <summary>The run's undecided approvals, while it is not over.</summary>
    private async Task<IReadOnlyList<ApprovalRow>> PendingAsync(MessageRow message, CancellationToken cancellationToken) =>
        [.. (await approvals.OfMessageAsync(message.AgentId, message.Id, cancellationToken))
            .Where(row => row.Decision is null && !MessageStatus.IsFinal(row.MessageStatus))];

    /// <summary>The stream's state: the text message open, and whether text came after the last tool call.</summary>
    private sealed class Writer(HttpResponse response, AgUiRun run, CancellationToken cancellationToken)
    {
        private string? openText;
        private bool textSinceTools;
        private readonly HashSet<string> shownApprovals = [.. run.DecidedApprovals ?? []];

        public async Task EventAsync(string type, JsonObject fields)
        {
            var body = new JsonObject { ["type"] = type };
            foreach (var (name, value) in fields.ToList())
            {
                fields.Remove(name);
                body[name] = value;
            }

            await ServerSentEvents.WriteAsync(response, null, null, body.ToJsonString(), cancellationToken);
        }

        /// <summary>A delta of the model's text; the message it opens is named by its first event, so a replay names it alike.</summary>
        public async Task TextAsync(long eventId, string delta)
        {
            if (openText is null)
            {
                openText = AgUiIds.Text(run.Message.Id, eventId);
                await EventAsync(AgUiEventTypes.TextMessageStart, new JsonObject { ["messageId"] = openText, ["role"] = "assistant" });
            }

            textSinceTools = true;
            await EventAsync(AgUiEventTypes.TextMessageContent, new JsonObject { ["messageId"] = openText, ["delta"] = delta });
        }

        public async Task ToolCallAsync(JsonObject call)
        {
            await CloseTextAsync();
            textSinceTools = false;
            var id = Str(call["id"]);
            if (call["approval"]?["approval_id"] is JsonValue approval && shownApprovals.Contains(approval.ToString()))
            {
                // The interrupted run showed this call before it asked; its result follows.
                return;
            }

            await CallAsync(id, Str(call["name"]), call["arguments"]?.ToJsonString() ?? "{}");
        }

        public async Task ToolResultAsync(long eventId, JsonObject result)
        {
            await CloseTextAsync();
            textSinceTools = false;
            await EventAsync(AgUiEventTypes.ToolCallResult, new JsonObject
            {
                ["messageId"] = AgUiIds.ToolResult(run.Message.Id, eventId), ["toolCallId"] = Str(result["id"]),
                ["content"] = Str(result["result"]), ["role"] = "tool",
            });
        }

        /// <summary>A run step as it is stored (the events it produced came before it), as a STEP_STARTED and STEP_FINISHED pair.</summary>
        public async Task StepAsync(JsonObject step)
        {
            var name = $"{Str(step["kind"])} {Str(step["step_index"])}";
            await EventAsync(AgUiEventTypes.StepStarted, new JsonObject { ["stepName"] = name });
            await EventAsync(AgUiEventTypes.StepFinished, new JsonObject { ["stepName"] = name });
        }

        /// <summary>The calls that wait, shown as tool calls (unless they were), then the run's end with their approvals as its
        /// interrupts.</summary>
        public async Task InterruptAsync(IReadOnlyList<ApprovalRow> approvals, bool showCalls)
        {
            await CloseTextAsync();
            var interrupts = new JsonArray();
            foreach (var approval in approvals)
            {
                if (showCalls)
                {
                    await CallAsync(approval.CallId, approval.Tool, approval.Arguments);
                }

                var view = ApprovalView.From(approval);
                interrupts.Add(new JsonObject
                {
                    ["id"] = approval.Id.ToString("D"), ["reason"] = AgUiEventTypes.ToolApprovalReason,
                    ["message"] = $"The agent wants to call {approval.Tool}: approve or deny it.",
                    ["toolCallId"] = approval.CallId, ["responseSchema"] = AgUiIds.DecisionSchema(),
                    ["expiresAt"] = view.ExpiresAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                    ["metadata"] = new JsonObject { ["approval"] = view.ToJson() },
                });
            }

            await EventAsync(AgUiEventTypes.RunFinished, new JsonObject
            {
                ["threadId"] = run.ThreadId, ["runId"] = run.RunId,
                ["outcome"] = new JsonObject { ["type"] = "interrupt", ["interrupts"] = interrupts },
            });
        }

        public async Task DoneAsync(long eventId, MessageRow message)
        {
            if (!textSinceTools && DoorText.Of(message.Reply) is { Length: > 0 } reply)
            {
                // A behaviour that streams nothing (echo, forward): its reply is the one text message.
                await TextAsync(eventId, reply);
            }

            await CloseTextAsync();
            await EventAsync(AgUiEventTypes.RunFinished, new JsonObject
            {
                ["threadId"] = run.ThreadId, ["runId"] = run.RunId, ["outcome"] = new JsonObject { ["type"] = "success" },
            });
        }

        public async Task FailedAsync(MessageRow message)
        {
            await CloseTextAsync();
            if (message.Status == MessageStatus.Canceled)
            {
                await EventAsync(AgUiEventTypes.RunFinished, new JsonObject
                {
                    ["threadId"] = run.ThreadId, ["runId"] = run.RunId, ["outcome"] = new JsonObject { ["type"] = "cancelled" },
                });
                return;
            }

            await EventAsync(AgUiEventTypes.RunError, new JsonObject
            {
                ["message"] = $"The agent did not answer: message {message.Id:D} is {message.Status}"
                    + (message.Error is { } reason ? $" ({reason})." : "."),
                ["code"] = message.Status,
            });
        }

        private async Task CallAsync(string id, string name, string arguments)
        {
            await EventAsync(AgUiEventTypes.ToolCallStart, new JsonObject { ["toolCallId"] = id, ["toolCallName"] = name });
            await EventAsync(AgUiEventTypes.ToolCallArgs, new JsonObject { ["toolCallId"] = id, ["delta"] = arguments });
            await EventAsync(AgUiEventTypes.ToolCallEnd, new JsonObject { ["toolCallId"] = id });
        }

        private async Task CloseTextAsync()
        {
            if (openText is not null)
            {
                await EventAsync(AgUiEventTypes.TextMessageEnd, new JsonObject { ["messageId"] = openText });
                openText = null;
            }
        }

        private static string Str(JsonNode? node) => node is JsonValue value && value.TryGetValue<string>(out var s) ? s
            : node?.ToJsonString() ?? "";
    }
}

/// <summary>The ids this door gives what a message produces, and the answer an approval interrupt expects.</summary>
public static class AgUiIds
{
    public static string Text(Guid messageId, long eventId) => $"msg_{messageId:N}_{eventId}";

    public static string ToolResult(Guid messageId, long eventId) => $"tool_{messageId:N}_{eventId}";

    /// <summary>The resume payload of an approval interrupt, as JSON Schema: the REST decision's body.</summary>
    public static JsonObject DecisionSchema() => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["decision"] = new JsonObject { ["type"] = "string", ["enum"] = new JsonArray("approve", "deny") },
            ["arguments"] = new JsonObject { ["type"] = "object", ["description"] = "With approve: the arguments the tool runs with." },
            ["reason"] = new JsonObject { ["type"] = "string", ["maxLength"] = Approvals.Decide.Request.MaxReasonLength },
        },
        ["required"] = new JsonArray("decision"),
    };
}
