using System.Globalization;
using System.Text.Json.Nodes;
using AgentCloud.Api.Features.A2A.Protocol;
using AgentCloud.Api.Infrastructure;
using AgentCloud.Shared.Messaging;
using TaskStatus = AgentCloud.Api.Features.A2A.Protocol.TaskStatus;

namespace AgentCloud.Api.Features.A2A;

/// <summary>
/// An A2A task is an AgentCloud message: task id = message id, contextId = session, and the states map
/// one to one (a failed attempt that will be retried is still working).
/// </summary>
public static class Tasks
{
    public const string AnswerArtifactId = "answer";

    /// <summary>The task's state: a run waiting for a person's approval of a tool call requires input (docs/approvals.md).</summary>
    public static string State(MessageRow row) => WaitsForApproval(row) is not null ? TaskStates.InputRequired : State(row.Status);

    /// <summary>What a waiting run waits for when it is an approval (<c>waiting_for</c>, kind approval), else null.</summary>
    public static JsonObject? WaitsForApproval(MessageRow row) =>
        row.Status == MessageStatus.Waiting && row.WaitingFor is { } json && JsonNode.Parse(json) is JsonObject waiting
            && waiting["kind"]?.GetValue<string>() == Shared.Messaging.Behaviors.RunWait.ApprovalKind
            ? waiting
            : null;

    public static string State(string status) => status switch
    {
        MessageStatus.Queued => TaskStates.Submitted,
        MessageStatus.Processing or MessageStatus.Waiting or MessageStatus.Failed => TaskStates.Working,
        MessageStatus.Done => TaskStates.Completed,
        MessageStatus.Dead => TaskStates.Failed,
        MessageStatus.Canceled => TaskStates.Canceled,
        _ => TaskStates.Working,
    };

    /// <summary>The message statuses behind a task state (null: the state names none of ours).</summary>
    public static IReadOnlyList<string>? Statuses(string state) => state switch
    {
        TaskStates.Submitted => [MessageStatus.Queued],
        TaskStates.Working => [MessageStatus.Processing, MessageStatus.Waiting, MessageStatus.Failed],
        TaskStates.Completed => [MessageStatus.Done],
        TaskStates.Failed => [MessageStatus.Dead],
        TaskStates.Canceled => [MessageStatus.Canceled],
        _ => null,
    };

    public static A2ATask From(MessageRow row, int? historyLength = null, bool includeArtifacts = true)
    {
        var history = new List<Message> { UserMessage(row) };
        if (AgentMessage(row) is { } answer)
        {
            history.Add(answer);
        }

        if (historyLength is { } length)
        {
            history = length <= 0 ? [] : history.TakeLast(length).ToList();
        }

        return new A2ATask
        {
            Id = row.Id.ToString("D"),
            ContextId = row.Session.ToString("D"),
            Status = Status(row),
            Artifacts = includeArtifacts && row.Status == MessageStatus.Done && row.Reply is not null ? [Answer(row.Reply)] : null,
            History = history.Count == 0 ? null : history,
        };
    }

    public static TaskStatus Status(MessageRow row) => new()
    {
        State = State(row),
        Message = row.Status switch
        {
            MessageStatus.Waiting when WaitsForApproval(row) is { } approval => ApprovalRequest(row, approval),
            MessageStatus.Done => AgentMessage(row),
            MessageStatus.Dead or MessageStatus.Canceled when row.Error is { } error => new Message
            {
                MessageId = $"{row.Id:D}-status",
                ContextId = row.Session.ToString("D"),
                TaskId = row.Id.ToString("D"),
                Role = Roles.Agent,
                Parts = [new Part { Text = error }],
            },
            _ => null,
        },
        Timestamp = row.UpdatedAt.AsUtc().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
    };

    /// <summary>
    /// The status message of a task that requires a person's approval: what the agent wants to call, and how to answer in this
    /// task (a data part <c>{"decision": "approve" | "deny", "arguments"?, "reason"?}</c>, or the text approve or "deny: reason").
    /// </summary>
    public static Message ApprovalRequest(MessageRow row, JsonObject waiting) => new()
    {
        MessageId = $"{row.Id:D}-approval-{waiting["approval_id"]?.GetValue<string>()}",
        ContextId = row.Session.ToString("D"),
        TaskId = row.Id.ToString("D"),
        Role = Roles.Agent,
        Parts =
        [
            new Part
            {
                Text = $"The agent wants to call {waiting["tool"]?.GetValue<string>()} with "
                    + $"{waiting["arguments"]?.ToJsonString() ?? "{}"}. Answer in this task: approve, or deny: reason (or a data part "
                    + "{\"decision\": \"approve\" | \"deny\", \"arguments\", \"reason\"}).",
                MediaType = "text/plain",
            },
            new Part { Data = new JsonObject { ["approval"] = waiting.DeepClone() }, MediaType = "application/json" },
        ],
    };

    /// <summary>
    /// A client's answer to an approval, from the message it sent in the task: a data part <c>{"decision", "arguments"?, "reason"?}</c>
    /// or a text part "approve", "deny" or "deny: reason". Null when it is neither.
    /// </summary>
    public static (bool Approve, JsonObject? Arguments, string? Reason)? ApprovalAnswer(Message message)
    {
        if (message.Parts.FirstOrDefault(p => p.Data is JsonObject)?.Data is JsonObject data)
        {
            if (data["decision"] is not JsonValue d || !d.TryGetValue<string>(out var decision) || decision is not ("approve" or "deny"))
            {
                return null;
            }

            if (data["arguments"] is { } arguments && (arguments is not JsonObject || decision == "deny"))
            {
                return null;
            }

            var reason = data["reason"] is JsonValue r && r.TryGetValue<string>(out var text) ? text : null;
            return (decision == "approve", (JsonObject?)data["arguments"]?.DeepClone(), reason);
        }

        var said = string.Join("\n", message.Parts.Where(p => p.Text is not null).Select(p => p.Text)).Trim();
        if (said.Equals("approve", StringComparison.OrdinalIgnoreCase) || said.Equals("approved", StringComparison.OrdinalIgnoreCase))
        {
            return (true, null, null);
        }

        if (said.StartsWith("deny", StringComparison.OrdinalIgnoreCase))
        {
            var rest = said[4..].TrimStart(':', ' ', '-').Trim();
            return said.Length == 4 || said[4] is ':' or ' ' ? (false, null, rest.Length == 0 ? null : rest) : null;
        }

        return null;
    }

    public static Artifact Answer(string replyJson) => new() { ArtifactId = AnswerArtifactId, Name = "answer", Parts = Parts(replyJson) };

    /// <summary>The payload of an incoming A2A message: its text (parts joined), or one data part's value; null when it has
    /// neither.</summary>
    public static JsonNode? Payload(Message message)
    {
        var texts = message.Parts.Where(p => p.Text is not null).Select(p => p.Text!).ToList();
        var data = message.Parts.Where(p => p.Data is not null).ToList();
        if (texts.Count > 0 && data.Count == 0)
        {
            return JsonValue.Create(string.Join("\n", texts));
        }

        if (texts.Count == 0 && data.Count == 1)
        {
            return data[0].Data!.DeepClone();
        }

        return texts.Count + data.Count == 0 ? null : new JsonObject
        {
            ["parts"] = new JsonArray([.. message.Parts.Select(p =>
                (JsonNode?)(p.Text is not null ? JsonValue.Create(p.Text) : p.Data?.DeepClone()))]),
        };
    }

    private static Message UserMessage(MessageRow row) => new()
    {
        MessageId = row.Id.ToString("D"),
        ContextId = row.Session.ToString("D"),
        TaskId = row.Id.ToString("D"),
        Role = Roles.User,
        Parts = Parts(row.Payload),
    };

    private static Message? AgentMessage(MessageRow row) => row.Status == MessageStatus.Done && row.Reply is not null
        ? new Message
        {
            MessageId = $"{row.Id:D}-answer",
            ContextId = row.Session.ToString("D"),
            TaskId = row.Id.ToString("D"),
            Role = Roles.Agent,
            Parts = Parts(row.Reply),
        }
        : null;

    /// <summary>A JSON string is a text part; any other JSON value a data part.</summary>
    private static IReadOnlyList<Part> Parts(string json)
    {
        var node = JsonNode.Parse(json);
        return node is JsonValue value && value.TryGetValue<string>(out var text)
            ? [new Part { Text = text, MediaType = "text/plain" }]
            : [new Part { Data = node, MediaType = "application/json" }];
    }
}
