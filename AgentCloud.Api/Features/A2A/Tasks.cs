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
        State = State(row.Status),
        Message = row.Status switch
        {
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
