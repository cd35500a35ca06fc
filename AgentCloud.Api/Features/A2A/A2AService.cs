using System.Globalization;
using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentCloud.Api.Features.A2A.Protocol;
using AgentCloud.Api.Features.Approvals;
using AgentCloud.Api.Infrastructure;
using AgentCloud.Api.Features.Doors;
using AgentCloud.Api.Features.Messages;
using AgentCloud.Api.Features.Messages.Events;
using AgentCloud.Shared.Llm;
using AgentCloud.Shared.Messaging;

namespace AgentCloud.Api.Features.A2A;

/// <summary>
/// The A2A methods over the message core for one agent of the caller, for both bindings (JSON-RPC and HTTP+JSON call the
/// same methods, so each rule is here once). A method either returns a result or throws <see cref="JsonRpcException"/>, which
/// each binding writes in its own error shape; the streaming ones yield the events and the binding frames them.
/// </summary>
public sealed class A2AService(MessageStore messages, MessageWaiter waiter, MessageCancellation cancellation, Conversations conversations,
    MessageEventFeed feed, A2APushConfigs pushConfigs, ApprovalStore approvals)
{
    /// <summary>SendMessage waits at most this long for the answer, then returns the task as it stands.</summary>
    public static readonly TimeSpan SendWait = TimeSpan.FromSeconds(30);
    private const int DefaultPageSize = 50;
    private const int MaxPageSize = 100;

    /// <param name="baseUrl">Scheme, host and path base the caller used: the extended card names its interfaces with it.</param>
    public async Task<JsonNode?> CallAsync(ClaimsPrincipal caller, DoorAgent agent, string baseUrl, string method, JsonObject parameters,
        CancellationToken cancellationToken)
    {
        var agentId = agent.Id;
        switch (method)
        {
            case A2AMethods.GetExtendedAgentCard:
                // The caller is the owner (both bindings admit no one else): the card as the owner sees it.
                return Serialize(Card.Endpoint.CardFor(agent, baseUrl));

            case A2AMethods.SendMessage:
            {
                var request = Parse<SendMessageRequest>(parameters);
                var sent = await SendAsync(caller, agentId, request, cancellationToken);
                var message = sent.Message;
                if (request.Configuration?.ReturnImmediately != true)
                {
                    // Until it ends, or until it requires input again (another approval than the one just answered).
                    message = await waiter.WaitUntilFinishedOrAsync(message,
                        row => Tasks.WaitsForApproval(row)?["approval_id"]?.GetValue<string>() is { } pending && pending != sent.Answered,
                        SendWait, cancellationToken);
                }

                return Serialize(new SendMessageResponse { Task = Tasks.From(message, request.Configuration?.HistoryLength) });
            }

            case A2AMethods.GetTask:
            {
                var request = Parse<GetTaskRequest>(parameters);
                var message = await FindTaskAsync(agentId, request.Id, cancellationToken);
                return Serialize(Tasks.From(message, request.HistoryLength));
            }

            case A2AMethods.ListTasks:
                return Serialize(await ListAsync(agentId, Parse<ListTasksRequest>(parameters), cancellationToken));

            case A2AMethods.CancelTask:
            {
                var request = Parse<CancelTaskRequest>(parameters);
                var id = TaskId(request.Id);
                var (message, canceled) = await cancellation.CancelAsync(agentId, id, cancellationToken);
                if (message is null)
                {
                    throw TaskNotFound(request.Id!);
                }

                if (!canceled)
                {
                    throw JsonRpcException.Info(JsonRpcErrorCodes.TaskNotCancelable, "Task cannot be canceled", "TASK_NOT_CANCELABLE",
                        new JsonObject { ["taskId"] = request.Id, ["state"] = Tasks.State(message) });
                }

                return Serialize(Tasks.From(message));
            }

            case A2AMethods.CreateTaskPushNotificationConfig:
                return Serialize(await pushConfigs.CreateAsync(agentId, Parse<TaskPushNotificationConfig>(parameters), cancellationToken));

            case A2AMethods.GetTaskPushNotificationConfig:
                return Serialize(await pushConfigs.GetAsync(agentId, Parse<GetTaskPushNotificationConfigRequest>(parameters),
                    cancellationToken));

            case A2AMethods.ListTaskPushNotificationConfigs:
                return Serialize(await pushConfigs.ListAsync(agentId, Parse<ListTaskPushNotificationConfigsRequest>(parameters),
                    cancellationToken));

            case A2AMethods.DeleteTaskPushNotificationConfig:
                await pushConfigs.DeleteAsync(agentId, Parse<DeleteTaskPushNotificationConfigRequest>(parameters), cancellationToken);
                return new JsonObject();

            default:
                throw new JsonRpcException(JsonRpcErrorCodes.MethodNotFound, "Method not found");
        }
    }

    /// <summary>SendStreamingMessage and SubscribeToTask: checks first (errors still come as a plain JSON-RPC answer), then the
    /// stream.</summary>
    public async Task<Sent> StartStreamAsync(ClaimsPrincipal caller, int agentId, string method, JsonObject parameters,
        CancellationToken cancellationToken)
    {
        if (method == A2AMethods.SendStreamingMessage)
        {
            return await SendAsync(caller, agentId, Parse<SendMessageRequest>(parameters), cancellationToken);
        }

        var request = Parse<SubscribeToTaskRequest>(parameters);
        var message = await FindTaskAsync(agentId, request.Id, cancellationToken);
        if (MessageStatus.IsFinal(message.Status))
        {
            throw JsonRpcException.Info(JsonRpcErrorCodes.UnsupportedOperation, "The task is in a terminal state", "UNSUPPORTED_OPERATION",
                new JsonObject { ["taskId"] = request.Id, ["state"] = Tasks.State(message) });
        }

        return new Sent(message, null, null);
    }

    /// <summary>
    /// What a send did: the task (new, or the one whose approval it answered), the run event after which its stream goes on (the
    /// decision's), and the approval it answered.
    /// </summary>
    public sealed record Sent(MessageRow Message, long? AfterEvent, string? Answered);

    /// <summary>
    /// The task first, then an artifact update per text delta (appended to the "answer" artifact), and the
    /// final status; a run that streamed no text gets its whole answer as one artifact update before it.
    /// </summary>
    /// A run that parks for a person's approval ends the stream with the input-required status (A2A's interrupted state); the
    /// answer, sent in the task, streams on from the decision.
    public async IAsyncEnumerable<JsonNode> StreamAsync(Sent sent, DateTimeOffset until,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var message = sent.Message;
        var taskId = message.Id.ToString("D");
        var contextId = message.Session.ToString("D");
        var streamedText = false;
        var working = false;
        if (sent.AfterEvent is not null)
        {
            yield return Serialize(new StreamResponse { Task = Tasks.From(message) });
        }

        await foreach (var item in feed.FollowAsync(message, sent.AfterEvent, until, cancellationToken))
        {
            var waitsFor = item.Type == RunEventTypes.Waiting && item.DataJson is { } json ? ApprovalIdOf(json) : null;
            switch (item.Type)
            {
                case RunEventTypes.Waiting when waitsFor is { } approval && approval != sent.Answered:
                    // An approval still pending (not one a replay passes that was decided since) interrupts the stream.
                    if (await messages.FindAsync(message.AgentId, message.Id, cancellationToken) is { } current
                        && Tasks.WaitsForApproval(current)?["approval_id"]?.GetValue<string>() == approval)
                    {
                        yield return Serialize(new StreamResponse { StatusUpdate = new() { TaskId = taskId, ContextId = contextId,
                            Status = Tasks.Status(current) } });
                        yield break;
                    }

                    break;
                case FeedEventTypes.Accepted:
                    yield return Serialize(new StreamResponse { Task = Tasks.From(item.Message!) });
                    break;
                case FeedEventTypes.Heartbeat:
                    yield return new JsonObject();
                    break;
                case RunEventTypes.Delta when item.DeltaText is { } delta:
                    if (!working)
                    {
                        working = true;
                        yield return Serialize(new StreamResponse
                        {
                            StatusUpdate = new() { TaskId = taskId, ContextId = contextId, Status = new() { State = TaskStates.Working } },
                        });
                    }

                    yield return Serialize(new StreamResponse
                    {
                        ArtifactUpdate = new()
                        {
                            TaskId = taskId, ContextId = contextId, Append = streamedText, LastChunk = false,
                            Artifact = new() { ArtifactId = Tasks.AnswerArtifactId, Name = "answer", Parts = [new Part { Text = delta }] },
                        },
                    });
                    streamedText = true;
                    break;
                case FeedEventTypes.Done or FeedEventTypes.Error:
                    var row = item.Message!;
                    if (row.Status == MessageStatus.Done && row.Reply is not null && !streamedText)
                    {
                        yield return Serialize(new StreamResponse
                        {
                            ArtifactUpdate = new() { TaskId = taskId, ContextId = contextId, Artifact = Tasks.Answer(row.Reply),
                                LastChunk = true },
                        });
                    }

                    yield return Serialize(new StreamResponse { StatusUpdate =
                        new() { TaskId = taskId, ContextId = contextId, Status = Tasks.Status(row) } });
                    yield break;
                default:
                    if (!working)
                    {
                        working = true;
                        yield return Serialize(new StreamResponse
                        {
                            StatusUpdate = new() { TaskId = taskId, ContextId = contextId, Status = new() { State = TaskStates.Working } },
                        });
                    }

                    break;
            }
        }
    }

    private static string? ApprovalIdOf(string waitingJson) =>
        JsonNode.Parse(waitingJson) is JsonObject waiting && waiting["approval_id"] is JsonValue id
            && id.TryGetValue<string>(out var text) ? text : null;

    private async Task<Sent> SendAsync(ClaimsPrincipal caller, int agentId, SendMessageRequest request, CancellationToken cancellationToken)
    {
        var message = request.Message ?? throw JsonRpcException.InvalidParams("message", "A message is required.");
        if (message.Parts.Count == 0)
        {
            throw JsonRpcException.InvalidParams("message.parts", "At least one part is required");
        }

        if (message.Role is not (Roles.User or "user"))
        {
            throw JsonRpcException.InvalidParams("message.role", "A message sent to an agent has the role ROLE_USER.");
        }

        if (!string.IsNullOrEmpty(message.TaskId))
        {
            return await AnswerAsync(caller, agentId, message, cancellationToken);
        }

        Guid session;
        if (string.IsNullOrEmpty(message.ContextId))
        {
            session = Guid.NewGuid();
        }
        else if (!Guid.TryParse(message.ContextId, out session))
        {
            throw JsonRpcException.InvalidParams("message.contextId", "A contextId here is a UUID (it names an AgentCloud session).");
        }

        var payload = Tasks.Payload(message)
            ?? throw JsonRpcException.InvalidParams("message.parts", "Only text and data parts are supported.");
        if (!Shared.Data.StorableText.IsStorable(payload))
        {
            throw JsonRpcException.InvalidParams("message.parts", Shared.Data.StorableText.Problem);
        }

        var payloadJson = payload.ToJsonString();
        if (MessageRules.IsTooLarge(payloadJson))
        {
            throw JsonRpcException.InvalidParams("message.parts",
                $"The content may be at most {MessageRules.MaxPayloadBytes} bytes of JSON.");
        }

        // A push config given with the message is checked before anything is sent, and saved on the new task at once.
        var push = request.Configuration?.TaskPushNotificationConfig is { } pushJson
            ? await pushConfigs.ValidAsync(Parse<TaskPushNotificationConfig>(pushJson), "configuration.taskPushNotificationConfig.",
                cancellationToken)
            : null;
        var sent = (await messages.SendToAgentAsync(caller.UserId(), agentId, payloadJson, session, MessageRules.CurrentTraceparent(),
                idempotencyKey: null, cancellationToken)).Message
            ?? throw TaskNotFound(""); // the agent vanished between the check and the send
        if (push is not null)
        {
            await pushConfigs.SaveAsync(agentId, sent.Id, push, cancellationToken);
        }

        return new Sent(sent, null, null);
    }

    /// <summary>
    /// A message in a task that requires input (A2A: the client continues the task with its taskId): the answer to the approval the
    /// task waits for, decided as REST's POST …/approvals/{id} does (with approvals:write). Any other task takes no message.
    /// </summary>
    private async Task<Sent> AnswerAsync(ClaimsPrincipal caller, int agentId, Message message, CancellationToken cancellationToken)
    {
        var task = Guid.TryParse(message.TaskId, out var taskId) ? await conversations.InboundAsync(agentId, taskId,
            cancellationToken) : null;
        if (task is null || Tasks.WaitsForApproval(task)?["approval_id"]?.GetValue<string>() is not { } waiting
            || !Guid.TryParse(waiting, out var approvalId))
        {
            throw JsonRpcException.Info(JsonRpcErrorCodes.UnsupportedOperation,
                "This task requires no input: each message is its own task here, so send without taskId, with the same contextId to "
                + "continue the conversation",
                "UNSUPPORTED_OPERATION", new JsonObject { ["taskId"] = message.TaskId,
                    ["state"] = task is null ? null : Tasks.State(task) });
        }

        if (!caller.HasScope(ApiScopes.ApprovalsWrite))
        {
            throw JsonRpcException.Info(JsonRpcErrorCodes.Forbidden, $"This API key lacks the scope '{ApiScopes.ApprovalsWrite}'",
                "PERMISSION_DENIED",
                new JsonObject { ["scope"] = ApiScopes.ApprovalsWrite, ["taskId"] = message.TaskId });
        }

        if (Tasks.ApprovalAnswer(message) is not var (approve, arguments, reason))
        {
            throw JsonRpcException.InvalidParams("message.parts",
                "The task waits for an approval: answer with the text approve, or deny: reason, or a data part "
                + "{\"decision\": \"approve\" | \"deny\", \"arguments\"?: {…}, \"reason\"?}.");
        }

        if (reason is { } why && (why.Length > Approvals.Decide.Request.MaxReasonLength || why.Contains('\0')))
        {
            throw JsonRpcException.InvalidParams("message.parts",
                $"A reason is at most {Approvals.Decide.Request.MaxReasonLength} characters, without U+0000.");
        }

        if (arguments is not null && arguments.ToJsonString().Length > Approvals.Decide.Request.MaxArgumentsLength)
        {
            throw JsonRpcException.InvalidParams("message.parts",
                $"The arguments are at most {Approvals.Decide.Request.MaxArgumentsLength} characters of JSON.");
        }

        var (outcome, row, decidedEvent) = await approvals.DecideAsync(agentId, approvalId, approve, arguments,
            string.IsNullOrWhiteSpace(reason) ? null : reason,
            Approvals.Decide.Endpoint.Decider(caller, Approvals.Decide.ApprovalDoors.A2A), cancellationToken);
        if (outcome != Shared.Llm.DecideOutcome.Decided)
        {
            throw JsonRpcException.Info(JsonRpcErrorCodes.UnsupportedOperation, "The approval was decided already or expired",
                "APPROVAL_DECIDED",
                new JsonObject { ["taskId"] = message.TaskId, ["approvalId"] = waiting, ["decision"] = row?.Decision });
        }

        var current = await messages.FindAsync(agentId, task.Id, cancellationToken) ?? task;
        return new Sent(current, decidedEvent, waiting);
    }

    private async Task<ListTasksResponse> ListAsync(int agentId, ListTasksRequest request, CancellationToken cancellationToken)
    {
        Guid? session = null;
        if (!string.IsNullOrEmpty(request.ContextId))
        {
            session = Guid.TryParse(request.ContextId, out var parsed) ? parsed
                : throw JsonRpcException.InvalidParams("contextId", "A contextId here is a UUID.");
        }

        IReadOnlyList<string>? statuses = null;
        if (!string.IsNullOrEmpty(request.Status) && request.Status != "TASK_STATE_UNSPECIFIED")
        {
            statuses = TaskStates.All.Contains(request.Status)
                ? Tasks.Statuses(request.Status) ?? []
                : throw JsonRpcException.InvalidParams("status", $"status must be one of {string.Join(", ", TaskStates.All)}.");
        }

        var pageSize = request.PageSize ?? DefaultPageSize;
        if (pageSize is < 1 or > MaxPageSize)
        {
            throw JsonRpcException.InvalidParams("pageSize", $"pageSize must be from 1 to {MaxPageSize}.");
        }

        long? beforeSeq = null;
        if (!string.IsNullOrEmpty(request.PageToken))
        {
            beforeSeq = long.TryParse(request.PageToken, NumberStyles.None, CultureInfo.InvariantCulture, out var seq) ? seq
                : throw JsonRpcException.InvalidParams("pageToken", "Not a page token this server gave.");
        }

        var (rows, total) = statuses is { Count: 0 }
            ? ([], 0)
            : await conversations.PageAsync(agentId, session, statuses, beforeSeq, pageSize, cancellationToken);
        return new ListTasksResponse
        {
            Tasks = [.. rows.Select(row => Tasks.From(row, request.HistoryLength ?? 0, request.IncludeArtifacts == true))],
            NextPageToken = rows.Count == pageSize ? rows[^1].Seq.ToString(CultureInfo.InvariantCulture) : "",
            PageSize = pageSize,
            TotalSize = total,
        };
    }

    private async Task<MessageRow> FindTaskAsync(int agentId, string? id, CancellationToken cancellationToken) =>
        await conversations.InboundAsync(agentId, TaskId(id), cancellationToken) ?? throw TaskNotFound(id!);

    private static Guid TaskId(string? id)
    {
        if (string.IsNullOrEmpty(id))
        {
            throw JsonRpcException.InvalidParams("id", "A task id is required.");
        }

        // Not one of our ids is simply no task of ours.
        return Guid.TryParse(id, out var value) ? value : throw TaskNotFound(id);
    }

    private static JsonRpcException TaskNotFound(string id) =>
        JsonRpcException.Info(JsonRpcErrorCodes.TaskNotFound, "Task not found", "TASK_NOT_FOUND", new JsonObject { ["taskId"] = id });

    private static T Parse<T>(JsonObject parameters)
    {
        try
        {
            return parameters.Deserialize<T>(A2AJson.Options)
                ?? throw JsonRpcException.InvalidParams("params", "The parameters are missing.");
        }
        catch (JsonException exception)
        {
            throw JsonRpcException.InvalidParams(exception.Path is { Length: > 2 } path ? path[2..] : "params",
                "A value of the wrong type.");
        }
    }

    private static JsonNode Serialize<T>(T value) => JsonSerializer.SerializeToNode(value, A2AJson.Options)!;
}
