using System.Text.Json.Nodes;
using AgentCloud.Shared.Llm;
using AgentCloud.Shared.Messaging;

namespace AgentCloud.Api.Features.OpenAI.Responses;

/// <summary>The ids of the Responses door: a response is a message (<c>resp_</c> + its id), a conversation a session.</summary>
public static class ResponseIds
{
    public const string ResponsePrefix = "resp_";
    public const string ConversationPrefix = "conv_";

    public static string Response(Guid messageId) => ResponsePrefix + messageId.ToString("N");

    public static string Conversation(Guid session) => ConversationPrefix + session.ToString("N");

    /// <summary>
    /// An item's id: its kind, its message and its place among what the message contributes (0 is the input), so the
    /// stream, the response and the conversation's item list name one item alike.
    /// </summary>
    public static string Item(string prefix, Guid messageId, int position) => $"{prefix}_{messageId:N}_{position}";

    public static Guid? ParseResponse(string? id) => Parse(id, ResponsePrefix);

    public static Guid? ParseConversation(string? id) => Parse(id, ConversationPrefix);

    private static Guid? Parse(string? id, string prefix) =>
        id is { Length: 32 + 5 } && id.StartsWith(prefix, StringComparison.Ordinal)
        && Guid.TryParseExact(id.AsSpan(prefix.Length), "N", out var guid) ? guid : null;
}

/// <summary>What a response echoes of its request (the rest of the object comes from the message).</summary>
public sealed record ResponseEcho(string Model, string? PreviousResponseId, string? ConversationId, bool Background, JsonObject? Metadata);

/// <summary>Responses objects built from messages and their stored run steps, in the shapes of OpenAI's Responses API.</summary>
public static class ResponseObjects
{
    /// <summary>
    /// A message's status as a response's: a queued message is queued; one being handled, waiting for a retry or parked
    /// (a run waiting for a reply) is in progress; done is completed, dead failed, canceled cancelled.
    /// </summary>
    public static string Status(string status) => status switch
    {
        MessageStatus.Queued => "queued",
        MessageStatus.Done => "completed",
        MessageStatus.Dead => "failed",
        MessageStatus.Canceled => "cancelled",
        _ => "in_progress",
    };

    public static JsonObject Response(MessageRow message, ResponseEcho echo, JsonArray output, IReadOnlyList<StepRow>? steps,
        string? status = null)
    {
        status ??= Status(message.Status);
        var usage = steps is null ? null : Usage(steps);
        return new JsonObject
        {
            ["id"] = ResponseIds.Response(message.Id),
            ["object"] = "response",
            ["created_at"] = Unix(message.CreatedAt),
            ["status"] = status,
            ["completed_at"] = status == "completed" && message.CompletedAt is { } completed ? Unix(completed) : null,
            ["background"] = echo.Background,
            ["error"] = status == "failed" ? Error(message) : null,
            ["incomplete_details"] = null,
            ["instructions"] = null,
            ["max_output_tokens"] = null,
            ["max_tool_calls"] = null,
            ["model"] = echo.Model,
            ["output"] = output,
            ["parallel_tool_calls"] = true,
            ["previous_response_id"] = echo.PreviousResponseId,
            ["conversation"] = echo.ConversationId is { } conversation ? new JsonObject { ["id"] = conversation } : null,
            ["reasoning"] = new JsonObject { ["effort"] = null, ["summary"] = null },
            ["store"] = true,
            ["temperature"] = null,
            ["text"] = new JsonObject { ["format"] = new JsonObject { ["type"] = "text" } },
            ["tool_choice"] = "auto",
            ["tools"] = new JsonArray(),
            ["top_p"] = null,
            ["truncation"] = "disabled",
            ["usage"] = usage,
            ["user"] = null,
            ["metadata"] = echo.Metadata?.DeepClone() ?? new JsonObject(),
        };
    }

    /// <summary>Why a dead message has no answer, as a response's error.</summary>
    public static JsonObject Error(MessageRow message) => new()
    {
        ["code"] = "server_error",
        ["message"] = $"The agent did not answer: message {message.Id:D} is {message.Status}"
            + (message.Error is { } reason ? $" ({reason})." : "."),
    };

    /// <summary>The model tokens the run's steps used (zero for behaviours that call no model).</summary>
    public static JsonObject Usage(IReadOnlyList<StepRow> steps)
    {
        var input = steps.Sum(s => s.InputTokens ?? 0);
        var output = steps.Sum(s => s.OutputTokens ?? 0);
        return new JsonObject
        {
            ["input_tokens"] = input,
            ["input_tokens_details"] = new JsonObject { ["cached_tokens"] = 0 },
            ["output_tokens"] = output,
            ["output_tokens_details"] = new JsonObject { ["reasoning_tokens"] = 0 },
            ["total_tokens"] = input + output,
        };
    }

    /// <summary>
    /// The items a message contributes to its conversation, in order: what was said to the agent (position 0), then its
    /// output: text as assistant messages, the tools it called as function_call items each followed, once answered, by
    /// a function_call_output (the agent ran them: nothing is left for the client to do), its answer.
    /// </summary>
    public static List<JsonObject> Items(RunSteps.ConversationMessage message, IReadOnlyList<StepRow> steps)
    {
        var items = new List<JsonObject>();
        foreach (var turn in RunSteps.Turns(message, steps, finishedOnly: false))
        {
            var position = items.Count;
            switch (turn.Role)
            {
                case "user":
                    items.Add(new JsonObject
                    {
                        ["type"] = "message", ["id"] = ResponseIds.Item("msg", message.Id, position), ["status"] = "completed",
                        ["role"] = "user",
                        ["content"] = new JsonArray(new JsonObject { ["type"] = "input_text", ["text"] = turn.Text ?? "" }),
                    });
                    break;
                case "assistant":
                    if (!string.IsNullOrEmpty(turn.Text))
                    {
                        items.Add(AssistantMessage(ResponseIds.Item("msg", message.Id, position), turn.Text, "completed"));
                    }

                    foreach (var call in turn.ToolCalls)
                    {
                        items.Add(FunctionCall(ResponseIds.Item("fc", message.Id, items.Count), call.Id, call.Name,
                            call.Arguments.ToJsonString(), "completed"));
                    }

                    break;
                case "tool":
                    items.Add(FunctionCallOutput(ResponseIds.Item("fco", message.Id, position), turn.ToolCallId ?? "", turn.Text ?? ""));
                    break;
            }
        }

        return items;
    }

    /// <summary>A message's output items (its items but the input).</summary>
    public static JsonArray Output(MessageRow message, IReadOnlyList<StepRow> steps) =>
        [.. Items(Conversation(message), steps).Skip(1)];

    public static RunSteps.ConversationMessage Conversation(MessageRow message) => new()
    {
        Id = message.Id, Seq = message.Seq, Payload = message.Payload, SchemaDigest = message.SchemaDigest, Reply = message.Reply,
        Status = message.Status,
    };

    public static JsonObject AssistantMessage(string id, string text, string status) => new()
    {
        ["type"] = "message", ["id"] = id, ["status"] = status, ["role"] = "assistant",
        ["content"] = status == "in_progress" ? new JsonArray() : new JsonArray(OutputText(text)),
    };

    public static JsonObject OutputText(string text) => new()
    {
        ["type"] = "output_text", ["text"] = text, ["annotations"] = new JsonArray(), ["logprobs"] = new JsonArray(),
    };

    public static JsonObject FunctionCall(string id, string callId, string name, string arguments, string status) => new()
    {
        ["type"] = "function_call", ["id"] = id, ["call_id"] = callId, ["name"] = name, ["arguments"] = arguments, ["status"] = status,
    };

    public static JsonObject FunctionCallOutput(string id, string callId, string output) => new()
    {
        ["type"] = "function_call_output", ["id"] = id, ["call_id"] = callId, ["output"] = output, ["status"] = "completed",
    };

    public static long Unix(DateTime utc) => new DateTimeOffset(DateTime.SpecifyKind(utc, DateTimeKind.Utc)).ToUnixTimeSeconds();
}
