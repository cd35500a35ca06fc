using System.Text.Json;
using System.Text.Json.Nodes;
using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.UAgents;
using Dapper;
using Npgsql;

namespace AgentCloud.Shared.Llm;

public static class StepKinds
{
    /// <summary>data: <c>{"text", "tool_calls": [{"id", "name", "arguments", "error"?}]}</c>; carries the call's usage.</summary>
    public const string ModelCall = "model_call";
    /// <summary>data: <c>{"id", "name", "arguments", "sent_message_id"?}</c>; a tool's effect commits with this step.</summary>
    public const string ToolCall = "tool_call";
    /// <summary>data: <c>{"id", "name", "result", "is_error"}</c>.</summary>
    public const string ToolResult = "tool_result";
    /// <summary>data: <c>{"text"}</c>: the run's answer, the last step.</summary>
    public const string Answer = "answer";
    /// <summary>
    /// data: <c>{"id", "name", "arguments", "approval_id", "expires_at"}</c>: a call that waits for a person's approval (its row in
    /// tool_approvals, <see cref="ToolApprovals"/>); its tool_call step follows once decided, with the decision in <c>"approval"</c>.
    /// </summary>
    public const string Approval = "approval";
}

/// <summary>
/// The types of the events a running message publishes through <see cref="IRunEvents"/> before it ends, which the
/// streaming doors pass on (the SSE event names of <c>POST …/messages?stream=true</c>).
/// </summary>
public static class RunEventTypes
{
    /// <summary>A step was stored; data: <c>{"index", "kind"}</c> (<see cref="StepKinds"/>).</summary>
    public const string Step = "step";
    /// <summary>Text as the model writes it; data: <c>{"text"}</c>.</summary>
    public const string Delta = "delta";
    /// <summary>A tool call about to be answered, as its step.</summary>
    public const string ToolCall = StepKinds.ToolCall;
    /// <summary>What went back to the model, as its step.</summary>
    public const string ToolResult = StepKinds.ToolResult;
    /// <summary>The run parked; data: what it waits for (<c>{"kind", "message_id", "from", "until"}</c>, see ParkedRuns).</summary>
    public const string Waiting = "waiting";
    /// <summary>A call waits for a person's approval; data: the approval as <c>GET /approvals</c> shows it.</summary>
    public const string ApprovalRequested = "approval_requested";
    /// <summary>A person decided (or the approval expired); data: the approval with its decision.</summary>
    public const string ApprovalDecided = "approval_decided";
}

public sealed class StepRow
{
    public Guid MessageId { get; init; }
    public int StepIndex { get; init; }
    public string Kind { get; init; } = "";
    public string Data { get; init; } = "{}";
    public string? Model { get; init; }
    public int? InputTokens { get; init; }
    public int? OutputTokens { get; init; }
    public double? DurationMs { get; init; }
    public DateTime CreatedAt { get; init; }

    public JsonObject Json => JsonNode.Parse(Data) as JsonObject ?? [];
}

/// <summary>One turn of a conversation as the model sees it (and the API shows it).</summary>
/// <param name="Role">user, assistant or tool.</param>
public sealed record ConversationTurn(Guid MessageId, string Role, string? Text, IReadOnlyList<ToolCallTurn> ToolCalls,
    string? ToolCallId = null, string? ToolName = null, bool IsError = false);

public sealed record ToolCallTurn(string Id, string Name, JsonObject Arguments);

/// <summary>The SQL of runs and conversations, shared by the worker (to continue them) and the API (to show them).</summary>
public static class RunSteps
{
    public const string Columns =
        "message_id, step_index, kind, data::text AS data, model, input_tokens, output_tokens, duration_ms, created_at";

    public static async Task<IReadOnlyList<StepRow>> LoadAsync(NpgsqlConnection connection, Guid messageId,
        CancellationToken cancellationToken) =>
        (await connection.QueryAsync<StepRow>(new CommandDefinition(
            $"SELECT {Columns} FROM run_steps WHERE message_id = @messageId ORDER BY step_index",
            new { messageId }, cancellationToken: cancellationToken))).AsList();

    public sealed class ConversationMessage
    {
        public Guid Id { get; init; }
        public long Seq { get; init; }
        public string Payload { get; init; } = "null";
        public string? SchemaDigest { get; init; }
        public string? Reply { get; init; }
        public string Status { get; init; } = "";
    }

    /// <summary>
    /// The conversation's messages to the agent (not replies, not acknowledgements) from senders of <paramref name="space"/>
    /// (<see cref="SenderSpaces"/>: a conversation is its participants'), oldest first, the newest <paramref name="limit"/> of
    /// those before <paramref name="beforeSeq"/> (all with null), with their steps.
    /// </summary>
    public static async Task<IReadOnlyList<(ConversationMessage Message, IReadOnlyList<StepRow> Steps)>> LoadConversationAsync(
        NpgsqlConnection connection, int agentId, Guid session, string space, long? beforeSeq, int limit,
        CancellationToken cancellationToken)
    {
        var messages = await MessageTable.ConversationAsync<ConversationMessage>(connection, agentId, session, space, beforeSeq, limit,
            MessageModels.ChatAcknowledgement.Digest, cancellationToken);
        if (messages.Count == 0)
        {
            return [];
        }

        var steps = (await connection.QueryAsync<StepRow>(new CommandDefinition(
            $"SELECT {Columns} FROM run_steps WHERE message_id = ANY(@ids) ORDER BY message_id, step_index",
            new { ids = messages.Select(m => m.Id).ToArray() }, cancellationToken: cancellationToken)))
            .GroupBy(s => s.MessageId).ToDictionary(g => g.Key, g => (IReadOnlyList<StepRow>)g.ToList());
        return [.. messages.Select(m => (m, steps.TryGetValue(m.Id, out var own) ? own : (IReadOnlyList<StepRow>)[]))];
    }

    /// <summary>A finished message's turns: what was said to the agent, its tool calls and their results, its answer.</summary>
    public static IReadOnlyList<ConversationTurn> Turns(ConversationMessage message, IReadOnlyList<StepRow> steps, bool finishedOnly)
    {
        var turns = new List<ConversationTurn> { new(message.Id, "user", PayloadText.Of(message.Payload, message.SchemaDigest), []) };
        turns.AddRange(StepTurns(message.Id, steps));
        if (!steps.Any(s => s.Kind == StepKinds.Answer))
        {
            if (finishedOnly)
            {
                // Only whole turns go to the model: a call without its result is refused by providers.
                return message.Status == MessageStatus.Done && message.Reply is { } reply
                    ? [turns[0], new(message.Id, "assistant", PayloadText.Of(reply, null), [])]
                    : [];
            }

            if (message.Reply is { } shown && message.Status == MessageStatus.Done)
            {
                turns.Add(new(message.Id, "assistant", PayloadText.Of(shown, null), []));
            }
        }

        return turns;
    }

    /// <summary>What the stored steps of a run contribute to the model's view: assistant calls and texts, tool results.</summary>
    public static IEnumerable<ConversationTurn> StepTurns(Guid messageId, IReadOnlyList<StepRow> steps)
    {
        foreach (var step in steps)
        {
            var data = step.Json;
            switch (step.Kind)
            {
                case StepKinds.ModelCall:
                    var calls = (data["tool_calls"] as JsonArray ?? [])
                        .Select(c => new ToolCallTurn(Str(c?["id"]) ?? "", Str(c?["name"]) ?? "",
                            c?["arguments"] as JsonObject is { } args ? (JsonObject)args.DeepClone() : []))
                        .ToList();
                    if (calls.Count > 0 || !string.IsNullOrEmpty(Str(data["text"])))
                    {
                        yield return new(messageId, "assistant", Str(data["text"]), calls);
                    }

                    break;
                case StepKinds.ToolResult:
                    yield return new(messageId, "tool", Str(data["result"]), [], Str(data["id"]), Str(data["name"]),
                        data["is_error"] is JsonValue e && e.TryGetValue<bool>(out var isError) && isError);
                    break;
            }
        }
    }

    private static string? Str(JsonNode? node) => node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
}

/// <summary>The text of a payload for a model: a JSON string as itself, a chat message's texts, a Message's text, else the JSON.</summary>
public static class PayloadText
{
    public static string Of(string payloadJson, string? schemaDigest)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(payloadJson);
        }
        catch (JsonException)
        {
            return payloadJson;
        }

        if (schemaDigest == MessageModels.ChatMessage.Digest)
        {
            return string.Join("\n", Messaging.Behaviors.ChatProtocol.TextContents(node));
        }

        if (node is JsonValue value && value.TryGetValue<string>(out var text))
        {
            return text;
        }

        if (node is JsonObject obj && obj.Count == 1 && obj["message"] is JsonValue m && m.TryGetValue<string>(out var message))
        {
            return message;
        }

        return node?.ToJsonString() ?? "null";
    }
}
