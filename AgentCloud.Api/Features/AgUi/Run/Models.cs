using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using AgentCloud.Api.Features.Doors;
using AgentCloud.Api.Infrastructure;
using FastEndpoints;
using FluentValidation;
using DecideRequest = AgentCloud.Api.Features.Approvals.Decide.Request;

namespace AgentCloud.Api.Features.AgUi.Run;

/// <summary>
/// AG-UI's RunAgentInput (camelCase, as the protocol names its fields). <c>state</c>, <c>context</c>, <c>tools</c> and
/// <c>forwardedProps</c> are accepted and not used: the agent has its own instructions and tools.
/// </summary>
public sealed class Request : IAgentRequest
{
    public const int MaxIdLength = 256;

    [BindFrom("agent_id")]
    public int AgentId { get; init; }

    /// <summary>The conversation: the agent's session (a UUID is the session itself; any other string names one of its own).</summary>
    [JsonPropertyName("threadId")]
    public string? ThreadId { get; init; }

    /// <summary>The client's id of this run, echoed in RUN_STARTED and RUN_FINISHED.</summary>
    [JsonPropertyName("runId")]
    public string? RunId { get; init; }

    /// <summary>The conversation so far; its last message, the user's, is what the agent is sent (the agent keeps the rest).</summary>
    [JsonPropertyName("messages")]
    public JsonElement Messages { get; init; }

    /// <summary>Answers to the interrupts that ended the thread's last run: one entry per approval it asked for.</summary>
    [JsonPropertyName("resume")]
    public JsonElement Resume { get; init; }

    [JsonPropertyName("tools")]
    public JsonElement Tools { get; init; }

    [JsonPropertyName("context")]
    public JsonElement Context { get; init; }

    [JsonPropertyName("state")]
    public JsonElement State { get; init; }

    [JsonPropertyName("forwardedProps")]
    public JsonElement ForwardedProps { get; init; }

    [JsonPropertyName("parentRunId")]
    public string? ParentRunId { get; init; }

    [JsonPropertyName("protocolVersion")]
    public string? ProtocolVersion { get; init; }

    public bool Resumes => Resume.ValueKind == JsonValueKind.Array;

    public sealed class Validator : Validator<Request>
    {
        public Validator()
        {
            RuleFor(r => r.ThreadId).Must(IsId).WithMessage($"threadId must be a non-empty string of at most {MaxIdLength} characters.");
            RuleFor(r => r.RunId).Must(IsId).WithMessage($"runId must be a non-empty string of at most {MaxIdLength} characters.");
            RuleFor(r => r.Messages).Must(m => m.ValueKind == JsonValueKind.Array).WithMessage("messages must be an array of messages.");
            RuleFor(r => r.Tools).Must(ArrayOrAbsent).WithMessage("tools must be an array.");
            RuleFor(r => r.Context).Must(ArrayOrAbsent).WithMessage("context must be an array.");
            RuleFor(r => r.Resume).Must(ArrayOrAbsent).WithMessage("resume must be an array of resume entries.");
            RuleFor(r => r).Custom((request, context) =>
            {
                var problem = request.Resumes ? AgUiInput.Answers(request.Resume).Problem
                    : request.Messages.ValueKind == JsonValueKind.Array ? AgUiInput.Text(request.Messages).Problem : null;
                if (problem is not null)
                {
                    context.AddFailure(request.Resumes ? "resume" : "messages", problem);
                }
            });
        }

        private static bool IsId(string? id) => id is { Length: > 0 and <= MaxIdLength } && !id.Contains('\0');

        private static bool ArrayOrAbsent(JsonElement value) => value.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null
            or JsonValueKind.Array;
    }
}

/// <summary>An answer to an approval interrupt: approve (perhaps with the tool's arguments edited) or deny (with a reason).</summary>
public sealed record ApprovalAnswer(Guid ApprovalId, bool Approve, JsonObject? Arguments, string? Reason);

/// <summary>What a run's input asks of the agent, read without I/O: the text it sends, the answer it gives, the session.</summary>
public static class AgUiInput
{
    /// <summary>The last message's text, when it is the user's (a string, or its text parts joined); else why not.</summary>
    public static (string? Payload, string? Problem) Text(JsonElement messages)
    {
        if (messages.GetArrayLength() == 0 || messages[messages.GetArrayLength() - 1] is not { ValueKind: JsonValueKind.Object } last
            || !last.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String || role.GetString() != "user")
        {
            return (null, "messages must end with the user's message (role user): it is what the agent is sent.");
        }

        var text = last.TryGetProperty("content", out var content) ? content.ValueKind switch
        {
            JsonValueKind.String => content.GetString(),
            JsonValueKind.Array => string.Join("\n", content.EnumerateArray()
                .Where(part => part.ValueKind == JsonValueKind.Object && part.TryGetProperty("type", out var type)
                    && type.ValueKind == JsonValueKind.String && type.GetString() == "text"
                    && part.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String)
                .Select(part => part.GetProperty("text").GetString())),
            _ => null,
        } : null;
        if (string.IsNullOrEmpty(text))
        {
            return (null, "The user's message must have text content (a string, or text parts).");
        }

        return DoorText.Payload(text) is { } payload ? (payload, null)
            : (null, $"The user's message is too long (at most {Messages.MessageRules.MaxPayloadBytes} bytes) or holds U+0000.");
    }

    public const int MaxAnswers = 64;

    /// <summary>
    /// The resume entries' answers, one per interrupt: status resolved with payload <c>{"decision": "approve" | "deny",
    /// "arguments"?, "reason"?}</c> (the REST decision's body), or status cancelled (the person gave up on it: a denial).
    /// </summary>
    public static (IReadOnlyList<ApprovalAnswer>? Answers, string? Problem) Answers(JsonElement resume)
    {
        if (resume.GetArrayLength() is 0 or > MaxAnswers)
        {
            return (null, $"resume must hold 1 to {MaxAnswers} entries, one per interrupt it answers.");
        }

        var answers = new List<ApprovalAnswer>();
        for (var i = 0; i < resume.GetArrayLength(); i++)
        {
            var (answer, problem) = Answer(resume[i], $"resume[{i}]");
            if (problem is not null)
            {
                return (null, problem);
            }

            answers.Add(answer!);
        }

        return answers.DistinctBy(a => a.ApprovalId).Count() == answers.Count ? (answers, null)
            : (null, "resume answers each interrupt once.");
    }

    private static (ApprovalAnswer? Answer, string? Problem) Answer(JsonElement entry, string at)
    {
        if (entry.ValueKind != JsonValueKind.Object || !entry.TryGetProperty("interruptId", out var id)
            || id.ValueKind != JsonValueKind.String || !Guid.TryParse(id.GetString(), out var approvalId))
        {
            return (null, $"{at} must be an object whose interruptId is the id of the interrupt it answers.");
        }

        var status = entry.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
        if (status == "cancelled")
        {
            return (new ApprovalAnswer(approvalId, false, null, null), null);
        }

        if (status != "resolved")
        {
            return (null, $"{at}.status must be resolved or cancelled.");
        }

        if (!entry.TryGetProperty("payload", out var payload) || payload.ValueKind != JsonValueKind.Object
            || !payload.TryGetProperty("decision", out var decision) || decision.ValueKind != JsonValueKind.String
            || decision.GetString() is not (DecideRequest.Approve or DecideRequest.Deny))
        {
            return (null, $"{at}.payload must be {{\"decision\": \"approve\" | \"deny\", \"arguments\"?: {{…}}, \"reason\"?: \"…\"}}.");
        }

        var approve = decision.GetString() == DecideRequest.Approve;
        JsonObject? arguments = null;
        if (payload.TryGetProperty("arguments", out var edited) && edited.ValueKind != JsonValueKind.Null)
        {
            if (edited.ValueKind != JsonValueKind.Object || !approve || edited.GetRawText().Length > DecideRequest.MaxArgumentsLength)
            {
                return (null, $"{at}.payload.arguments go with approve only, as a JSON object of at most " +
                    $"{DecideRequest.MaxArgumentsLength} characters.");
            }

            arguments = JsonNode.Parse(edited.GetRawText()) as JsonObject;
        }

        string? reason = null;
        if (payload.TryGetProperty("reason", out var why) && why.ValueKind != JsonValueKind.Null)
        {
            reason = why.ValueKind == JsonValueKind.String ? why.GetString() : null;
            if (reason is null || reason.Length > DecideRequest.MaxReasonLength || reason.Contains('\0'))
            {
                return (null, $"{at}.payload.reason must be a string of at most {DecideRequest.MaxReasonLength} characters, " +
                    "without U+0000.");
            }
        }

        return (new ApprovalAnswer(approvalId, approve, arguments, string.IsNullOrWhiteSpace(reason) ? null : reason), null);
    }

    /// <summary>
    /// The session of a thread: a UUID is the session itself (so A2A's contextId and the REST session name the same conversation);
    /// any other string becomes a UUID of its own, per caller (the same string, the same conversation).
    /// </summary>
    public static Guid Session(int userId, string threadId) => DoorSessions.Named("ag-ui-thread", userId, threadId);
}
