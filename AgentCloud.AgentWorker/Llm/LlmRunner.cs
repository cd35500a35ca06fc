using AgentCloud.Shared.Data;
using System.ClientModel;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentCloud.AgentWorker.Llm.Tools;
using AgentCloud.AgentWorker.Messaging;
using AgentCloud.Shared.Llm;
using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.Messaging.Behaviors;
using AgentCloud.Shared.UAgents;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace AgentCloud.AgentWorker.Llm;

/// <summary>
/// The run of one message of an llm agent: model call, tool calls and results, until the model answers.
/// Every step is stored as it completes, so an attempt that follows a dead worker continues from the
/// last stored step instead of starting over (see docs/llm-agents.md).
/// </summary>
public sealed class LlmRunner(
    ModelCatalog models,
    McpServerCatalog mcpServers,
    ChatClients clients,
    McpTools mcpTools,
    BuiltInToolRegistry builtIns,
    ApprovalGate approvals,
    RunStore store,
    TokenBudget budget,
    IRunEvents events,
    IOptions<LlmOptions> llmOptions,
    IOptions<MessagingOptions> messagingOptions,
    Wakeups wakeups,
    ILogger<LlmRunner> logger) : ILlmRunner
{
    private const int MaxEarlierMessages = 200;
    // The GenAI spans' source (ChatClients'), so a tool's span sits beside the model calls' in the trace.
    private static readonly ActivitySource ActivitySource = new(ChatClients.ActivitySourceName);

    public async ValueTask<BehaviorResult> RunAsync(BehaviorContext context, CancellationToken cancellationToken)
    {
        var problems = LlmAgentConfig.Validate(context.Config, models, mcpServers);
        if (problems.Count > 0)
        {
            // The operator removed a model or server since the agent was configured: no attempt can succeed.
            throw new PermanentBehaviorException(string.Join(" ", problems));
        }

        var config = LlmAgentConfig.Read(context.Config);
        var (connection, model) = models.Resolve(config.Model)!.Value;
        await using var lease = new LeaseKeeper(store, context.Message.Id, messagingOptions.Value.LeaseDuration, logger, cancellationToken);
        try
        {
            return await RunCoreAsync(context, config, clients.For(connection, model), model, lease.Token);
        }
        catch (OperationCanceledException) when (lease.IsLost)
        {
            throw new LeaseLostException(context.Message.Id);
        }
    }

    private async Task<BehaviorResult> RunCoreAsync(BehaviorContext context, LlmAgentConfig config, IChatClient client, string model,
        CancellationToken cancellationToken)
    {
        var settings = llmOptions.Value;
        var message = context.Message;
        // No connection is held across the run: each read and each step's transaction takes one from the pool and gives it
        // back, so a run that awaits its model holds none.
        var (steps, space) = await store.ReadAsync(async db => (await RunSteps.LoadAsync(db, message.Id, cancellationToken),
            await SenderSpaces.OfAsync(db, context.AgentId, message.Sender, cancellationToken)), cancellationToken);
        // A run sees the conversation and the memory of its sender's space: a stranger's run never the owner's (issue 31).
        var run = new RunState(message.Id, context.AgentId, message.Session, [.. steps])
        {
            Space = space,
            Memory = MemoryScope.For(space, config.OutsiderMemory),
        };
        if (run.Steps.Count > 0)
        {
            logger.LogInformation("Continuing the run of message {MessageId} from its step {Steps} (attempt {Attempt})",
                message.Id, run.Steps.Count, message.Attempts);
        }

        if (run.Steps.Count == 0 && !Senders.IsUser(message.Sender)
            && await store.ReadAsync(db => LlmTools.WasTakenAsReplyAsync(db, context.AgentId, message.Id, cancellationToken),
                cancellationToken))
        {
            return new BehaviorResult
            {
                Logs = [new(Shared.Data.LogLevels.Info,
                    $"Message {message.Id} was the reply a run of this agent waited for; not answering it")],
            };
        }

        var firstStep = run.Steps.Count > 0 ? DateTime.SpecifyKind(run.Steps[0].CreatedAt, DateTimeKind.Utc) : DateTime.UtcNow;
        var earlier = await store.ReadAsync(db => RunSteps.LoadConversationAsync(db, context.AgentId, message.Session, run.Space,
            message.Seq, MaxEarlierMessages, cancellationToken), cancellationToken);
        var history = Trim([.. earlier.Select(e => RunSteps.Turns(e.Message, e.Steps, finishedOnly: true)).Where(t => t.Count > 0)],
            settings.HistoryBudgetChars);
        var tools = await ToolsAsync(config, run.Memory is not null, cancellationToken);

        while (true)
        {
            // The wall-time limit counts the run's own time, not the time people took to approve its calls.
            var started = firstStep + ApprovalGate.Waited(run.Steps);
            if (run.Steps.LastOrDefault(s => s.Kind == StepKinds.Answer) is { } answer)
            {
                return Answer(context, answer.Json["text"]?.GetValue<string>() ?? "", run);
            }

            var lastModelCall = run.Steps.FindLastIndex(s => s.Kind == StepKinds.ModelCall);
            if (lastModelCall >= 0)
            {
                // Every call of the model's turn is made (its effect committed) before any result is awaited, so two
                // send_message calls in one turn run side by side, and the run parks once for both. The calls config.approve names
                // are asked at once, and none of the turn's calls is made before all of them are decided (the run parks meanwhile).
                var calls = (run.Steps[lastModelCall].Json["tool_calls"] as JsonArray ?? []).OfType<JsonObject>().ToList();
                var open = calls.Where(call => StepOf(run, lastModelCall, StepKinds.ToolCall, call) is null).ToList();
                var decisions = await approvals.PassAsync(context, config, run,
                    [.. open.Where(call => call["error"] is null && tools.ContainsKey(call["name"]?.GetValue<string>() ?? ""))],
                    call => StepOf(run, lastModelCall, StepKinds.Approval, call), cancellationToken);
                foreach (var call in open)
                {
                    await CallToolAsync(context, run, call, tools, started,
                        decisions.GetValueOrDefault(call["id"]?.GetValue<string>() ?? ""), cancellationToken);
                }

                foreach (var call in calls.Where(call => StepOf(run, lastModelCall, StepKinds.ToolResult, call) is null))
                {
                    await AnswerToolCallAsync(context, run, StepOf(run, lastModelCall, StepKinds.ToolCall, call)!, cancellationToken);
                }
            }

            if (run.ModelCalls >= settings.MaxModelCalls)
            {
                throw LimitReached(message, $"the run reached its limit of {settings.MaxModelCalls} model calls");
            }

            CheckWallTime(message, started);
            var chat = new List<ChatMessage>();
            if (!string.IsNullOrEmpty(config.Instructions))
            {
                chat.Add(new ChatMessage(ChatRole.System, config.Instructions));
            }

            chat.AddRange(history.SelectMany(turns => turns).Select(ToChat));
            chat.Add(new ChatMessage(ChatRole.User, PayloadText.Of(message.Payload, message.SchemaDigest)));
            chat.AddRange(RunSteps.StepTurns(message.Id, run.Steps).Select(ToChat));
            await CallModelAsync(run, client, model, chat, config, tools, started, message, cancellationToken);
        }
    }

    private async Task CallModelAsync(RunState run, IChatClient client, string model, List<ChatMessage> chat, LlmAgentConfig config,
        IReadOnlyDictionary<string, AITool> tools, DateTime started, MessageRow message, CancellationToken cancellationToken)
    {
        await budget.CheckAsync(message, cancellationToken);
        var settings = llmOptions.Value;
        var options = new ChatOptions
        {
            Temperature = config.Temperature,
            MaxOutputTokens = config.MaxOutputTokens,
            Tools = tools.Count > 0 ? [.. tools.Values] : null,
        };
        var remaining = settings.MaxWallTime - (DateTime.UtcNow - started);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(remaining < settings.ModelCallTimeout ? remaining : settings.ModelCallTimeout);
        var stopwatch = Stopwatch.StartNew();
        var updates = new List<ChatResponseUpdate>();
        try
        {
            await foreach (var update in client.GetStreamingResponseAsync(chat, options, timeout.Token))
            {
                updates.Add(update);
                if (update.Text is { Length: > 0 } delta)
                {
                    await PublishAsync(message.Id, RunEventTypes.Delta, new JsonObject { ["text"] = delta }, cancellationToken);
                }
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            CheckWallTime(message, started);
            throw new TimeoutException($"The model did not answer within {settings.ModelCallTimeout}.");
        }
        catch (ClientResultException exception)
        {
            throw ProviderFailure(exception);
        }
        catch (HttpRequestException exception)
        {
            throw new InvalidOperationException($"Could not reach the model provider: {exception.Message}");
        }

        var response = updates.ToChatResponse();
        var calls = response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().ToList();
        var data = new JsonObject
        {
            ["text"] = response.Text,
            ["tool_calls"] = new JsonArray([.. calls.Select(call => (JsonNode)ToolCallData(call))]),
            ["finish_reason"] = response.FinishReason?.Value,
        };
        var step = new NewStep(StepKinds.ModelCall, data, model, response.Usage?.InputTokenCount, response.Usage?.OutputTokenCount,
            stopwatch.Elapsed.TotalMilliseconds);
        List<NewStep> steps = calls.Count == 0 ? [step, new NewStep(StepKinds.Answer, new JsonObject { ["text"] = response.Text })]
            : [step];
        await store.CommitStepsAsync<bool>(run, steps, null, cancellationToken);
        await PublishStepsAsync(run, steps.Count, cancellationToken);
        if (run.OutputTokens > settings.MaxOutputTokens)
        {
            throw LimitReached(message, $"the run reached its limit of {settings.MaxOutputTokens} output tokens ({run.OutputTokens} used)");
        }
    }

    private static JsonObject ToolCallData(FunctionCallContent call)
    {
        var data = new JsonObject
        {
            ["id"] = call.CallId,
            ["name"] = call.Name,
            ["arguments"] = call.Arguments is null ? new JsonObject()
                : JsonSerializer.SerializeToNode(call.Arguments, AIJsonUtilities.DefaultOptions),
        };
        if (call.Exception is not null)
        {
            data["error"] = "The arguments are not a valid JSON object.";
        }

        return data;
    }

    /// <summary>The model call's step of <paramref name="kind"/> (tool_call or tool_result) for the call's id, if stored.</summary>
    private static StepRow? StepOf(RunState run, int modelCallIndex, string kind, JsonObject call)
    {
        var id = call["id"]?.GetValue<string>() ?? "";
        return run.Steps.Skip(modelCallIndex).FirstOrDefault(s => s.Kind == kind && s.Json["id"]?.GetValue<string>() == id);
    }

    /// <summary>
    /// Stores the call's tool_call step, with the built-in tool's effect in the same transaction (a later attempt finds the
    /// step and does not apply it again), or with the error the model gets instead (a malformed call, an unknown tool, refused
    /// arguments).
    /// </summary>
    private async Task CallToolAsync(BehaviorContext context, RunState run, JsonObject call, IReadOnlyDictionary<string, AITool> tools,
        DateTime started, ApprovalOutcome? approval, CancellationToken cancellationToken)
    {
        var settings = llmOptions.Value;
        var message = context.Message;
        if (run.ToolCalls >= settings.MaxToolCalls)
        {
            throw LimitReached(message, $"the run reached its limit of {settings.MaxToolCalls} tool calls");
        }

        CheckWallTime(message, started);
        var name = call["name"]?.GetValue<string>() ?? "";
        // An approved call runs with the arguments the person approved (maybe edited); a denied one ends as the denial's error.
        var arguments = approval?.Arguments ?? call["arguments"] as JsonObject ?? [];
        var data = new JsonObject { ["id"] = call["id"]?.GetValue<string>() ?? "", ["name"] = name, ["arguments"] = arguments.DeepClone() };
        if (approval is not null)
        {
            data["approval"] = approval.Shown();
        }

        await PublishAsync(message.Id, RunEventTypes.ToolCall, data.DeepClone(), cancellationToken);
        var error = call["error"]?.GetValue<string>() ?? approval?.Error
            ?? (tools.ContainsKey(name) ? null : $"There is no tool '{name}'; the tools are: {string.Join(", ", tools.Keys)}.");
        var tool = error is null ? builtIns.Find(name) : null;
        if (error is not null)
        {
            data["error"] = error;
        }

        var applied = await store.CommitStepsAsync<ToolApplied>(run, [new NewStep(StepKinds.ToolCall, data)], tool is null ? null
            : async (connection, transaction) =>
        {
            var applied = await tool.ApplyAsync(new ToolInvocation(context, arguments, data, DateTime.UtcNow, run.Memory), connection,
                transaction, cancellationToken);
            if (applied.Error is { } refused)
            {
                data["error"] = refused;
            }

            return applied;
        }, cancellationToken);
        applied?.AfterCommit?.Invoke();
        await PublishStepsAsync(run, 1, cancellationToken);
    }

    /// <summary>
    /// Stores the call's tool_result step: the built-in tool's result (a reply it takes is done in the same transaction), the
    /// MCP server's, or the stored error. A built-in tool may park the run instead (<see cref="RunParksException"/>).
    /// </summary>
    private async Task AnswerToolCallAsync(BehaviorContext context, RunState run, StepRow callStep, CancellationToken cancellationToken)
    {
        var message = context.Message;
        var data = callStep.Json;
        var id = data["id"]?.GetValue<string>() ?? "";
        var name = data["name"]?.GetValue<string>() ?? "";
        var arguments = data["arguments"] as JsonObject ?? [];
        // OpenTelemetry GenAI: "execute_tool {gen_ai.tool.name}", no arguments or results (they may be private).
        using var activity = ActivitySource.StartActivity($"execute_tool {name}", ActivityKind.Internal);
        activity?.SetTag("gen_ai.operation.name", "execute_tool");
        activity?.SetTag("gen_ai.tool.name", name);
        activity?.SetTag("gen_ai.tool.call.id", id);
        ToolOutcome outcome;
        if (data["error"]?.GetValue<string>() is { } error)
        {
            outcome = new ToolOutcome(error, IsError: true);
        }
        else if (builtIns.Find(name) is { } tool)
        {
            outcome = await tool.ResultAsync(new ToolInvocation(context, arguments, data, callStep.CreatedAt, run.Memory),
                cancellationToken);
        }
        else
        {
            var (text, failed) = await mcpTools.CallAsync(name, arguments, cancellationToken);
            outcome = new ToolOutcome(text, failed);
        }

        var resultData = new JsonObject { ["id"] = id, ["name"] = name, ["result"] = outcome.Text, ["is_error"] = outcome.IsError };
        Func<Npgsql.NpgsqlConnection, Npgsql.NpgsqlTransaction, Task<bool>>? takeReply = null;
        if (outcome.TakenReply is { } reply)
        {
            resultData["reply_message_id"] = reply.ToString("D");
            // Taken into the run: the reply is done with this step, never handled behind the run that waited for it.
            takeReply = async (connection, transaction) =>
            {
                var took = await ParkedRuns.TakeReplyAsync(connection, transaction, reply, cancellationToken);
                if (took)
                {
                    await Shared.Data.AgentLogs.WriteAsync(connection, context.AgentId, Shared.Data.LogLevels.Info,
                        $"Received message {reply} from {UntrustedText.ForLog(outcome.TakenFrom ?? "", 200)} "
                        + $"(the reply the run of message {message.Id} waited for)", transaction, cancellationToken);
                }

                return took;
            };
        }

        if (await store.CommitStepsAsync(run, [new NewStep(StepKinds.ToolResult, resultData)], takeReply, cancellationToken))
        {
            wakeups.Finished(outcome.TakenReply!.Value);
            wakeups.LogWritten(context.AgentId);
        }

        await PublishAsync(message.Id, RunEventTypes.ToolResult, resultData.DeepClone(), cancellationToken);
        await PublishStepsAsync(run, 1, cancellationToken);
    }

    private async Task<IReadOnlyDictionary<string, AITool>> ToolsAsync(LlmAgentConfig config, bool hasMemory,
        CancellationToken cancellationToken)
    {
        var tools = new Dictionary<string, AITool>(StringComparer.Ordinal);
        // A run with no memory (an outsider's, config.outsider_memory "none") is not offered the memory tools at all.
        foreach (var name in config.Tools.Where(name => hasMemory || !BuiltInTools.Memory.Contains(name)))
        {
            if (BuiltInTools.All.Contains(name))
            {
                tools[name] = builtIns.Declaration(name);
            }
            else
            {
                foreach (var tool in await mcpTools.DeclarationsAsync(name, cancellationToken))
                {
                    tools[tool.Name] = tool;
                }
            }
        }

        return tools;
    }

    private BehaviorResult Answer(BehaviorContext context, string text, RunState run)
    {
        var message = context.Message;
        var input = run.Steps.Sum(s => (long)(s.InputTokens ?? 0));
        var log = new BehaviorLogLine(Shared.Data.LogLevels.Info,
            $"Answered message {message.Id} after {run.ModelCalls} model calls and {run.ToolCalls} tool calls ({input} input and " +
            $"{run.OutputTokens} output tokens)");
        if (ChatProtocol.IsChatMessage(message))
        {
            var now = DateTimeOffset.UtcNow;
            var chat = ChatProtocol.Echo(new JsonObject { ["content"] =
                new JsonArray(new JsonObject { ["type"] = "text", ["text"] = text }) }, now);
            return new BehaviorResult
            {
                Reply = chat.Payload,
                Replies = ChatProtocol.Acknowledge(context.Payload, now) is { } ack ? [ack, chat] : [chat],
                Logs = [log],
            };
        }

        if (message.SchemaDigest == MessageModels.Message.Digest)
        {
            var reply = new JsonObject { ["message"] = text };
            return new BehaviorResult { Reply = reply, Replies =
                [new ReplyMessage(reply.DeepClone(), message.SchemaDigest, message.ProtocolDigest)], Logs = [log] };
        }

        return new BehaviorResult { Reply = JsonValue.Create(text), Logs = [log] };
    }

    private void CheckWallTime(MessageRow message, DateTime started)
    {
        var limit = llmOptions.Value.MaxWallTime;
        if (DateTime.UtcNow - started >= limit)
        {
            throw LimitReached(message, $"the run reached its limit of {limit} wall time");
        }
    }

    private PermanentBehaviorException LimitReached(MessageRow message, string what)
    {
        logger.LogWarning("The run of message {MessageId} of agent {AgentId} stopped: {Limit}", message.Id, message.AgentId, what);
        return new PermanentBehaviorException($"Stopped: {what}.");
    }

    /// <summary>401, 403, 404 and other refusals no retry can fix: dead now. 429 and 5xx (after the SDK's retries): a failed
    /// attempt.</summary>
    private static Exception ProviderFailure(ClientResultException exception)
    {
        var reason = ProviderReason(exception);
        return exception.Status is 400 or 401 or 403 or 404 or 422
            ? new PermanentBehaviorException($"The model provider refused the call (HTTP {exception.Status}): {reason}")
            : new InvalidOperationException($"The model provider failed (HTTP {exception.Status}): {reason}");
    }

    // The provider's own message, shortened; the SDK's text would add our request's details.
    private static string ProviderReason(ClientResultException exception)
    {
        try
        {
            var body = exception.GetRawResponse()?.Content?.ToString();
            if (!string.IsNullOrEmpty(body) && JsonNode.Parse(body)?["error"]?["message"] is JsonValue m
                && m.TryGetValue<string>(out var text))
            {
                return text.Length > 300 ? text[..300] + "…" : text;
            }
        }
        catch (JsonException)
        {
        }

        return exception.GetRawResponse()?.ReasonPhrase ?? "no reason given";
    }

    private static List<IReadOnlyList<ConversationTurn>> Trim(List<IReadOnlyList<ConversationTurn>> turns, int budget)
    {
        static int Size(IReadOnlyList<ConversationTurn> turn) =>
            turn.Sum(t => (t.Text?.Length ?? 0) + t.ToolCalls.Sum(c => c.Name.Length + c.Arguments.ToJsonString().Length));

        var total = turns.Sum(Size);
        while (turns.Count > 0 && total > budget)
        {
            total -= Size(turns[0]);
            turns.RemoveAt(0);
        }

        return turns;
    }

    private static ChatMessage ToChat(ConversationTurn turn) => turn.Role switch
    {
        "user" => new ChatMessage(ChatRole.User, turn.Text ?? ""),
        "tool" => new ChatMessage(ChatRole.Tool, [new FunctionResultContent(turn.ToolCallId ?? "", turn.Text)]),
        _ => new ChatMessage(ChatRole.Assistant,
        [
            .. string.IsNullOrEmpty(turn.Text) ? [] : new AIContent[] { new TextContent(turn.Text) },
            .. turn.ToolCalls.Select(call => (AIContent)new FunctionCallContent(call.Id, call.Name,
                call.Arguments.ToDictionary(kv => kv.Key, kv =>
                    (object?)JsonSerializer.Deserialize<JsonElement>(kv.Value?.ToJsonString() ?? "null")))),
        ]),
    };

    private async Task PublishStepsAsync(RunState run, int count, CancellationToken cancellationToken)
    {
        foreach (var step in run.Steps.TakeLast(count))
        {
            await PublishAsync(run.MessageId, RunEventTypes.Step, new JsonObject
            {
                ["step_index"] = step.StepIndex,
                ["kind"] = step.Kind,
                ["data"] = step.Json,
                ["input_tokens"] = step.InputTokens,
                ["output_tokens"] = step.OutputTokens,
            }, cancellationToken);
        }
    }

    // A stream that fails must not fail the run: the steps are stored either way.
    private async Task PublishAsync(Guid messageId, string type, JsonNode data, CancellationToken cancellationToken)
    {
        try
        {
            await events.PublishAsync(messageId, type, data, cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            logger.LogWarning(exception, "Could not publish a {Type} event of message {MessageId}", type, messageId);
        }
    }
}
