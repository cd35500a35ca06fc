using System.Text.Json;
using System.Text.Json.Nodes;

namespace AgentCloud.Web.Api;

// The API's JSON shapes, as far as the console reads them (snake_case on the wire).

public sealed record UserInfo(int Id, string Username, string Email, DateTime? CreatedAt);

public sealed record TokenInfo(string AccessToken, string TokenType, int ExpiresIn);

public sealed record Page<T>(IReadOnlyList<T> Items, string? NextCursor);

public sealed record AgentInfo(int Id, string Name, JsonObject Config, string? Address, DateTime? CreatedAt, DateTime? UpdatedAt)
{
    public string Behavior => Config["behavior"]?.GetValueKind() == JsonValueKind.String ? Config["behavior"]!.GetValue<string>()
        : "default";
}

public sealed record MessageInfo(
    Guid Id, int AgentId, string Direction, string Sender, string Target, Guid Session, JsonElement Payload, string Status,
    JsonElement? WaitingFor, int Attempts, JsonElement? Reply, string? Error, Guid? InReplyTo, string? TraceId, DateTime CreatedAt,
        DateTime UpdatedAt,
    DateTime? CompletedAt)
{
    public string PayloadText => Display(Payload);

    public string? ReplyText => Reply is { } reply ? Display(reply) : null;

    /// <summary>A text message's text (<c>{text}</c> is stored as <c>{"text": …}</c>); anything else as JSON.</summary>
    public static string Display(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.Object when value.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String
            && value.EnumerateObject().Count() == 1 => text.GetString()!,
        _ => value.GetRawText(),
    };
}

public sealed record ConversationInfo(Guid Session, int Messages, DateTime StartedAt, DateTime LastMessageAt);

public sealed record ToolCallInfo(string Id, string Name, JsonObject Arguments);

public sealed record TurnInfo(Guid MessageId, string Role, string? Text, IReadOnlyList<ToolCallInfo>? ToolCalls, string? ToolCallId,
    string? ToolName, bool? IsError);

public sealed record ConversationTurns(Guid Session, IReadOnlyList<TurnInfo> Turns);

public sealed record UsageTotals(long ModelCalls, long InputTokens, long OutputTokens);

/// <summary>Today's tokens against one spending limit (a null limit: none of this kind).</summary>
public sealed record TokenUseInfo(long InputUsed, long? InputLimit, long OutputUsed, long? OutputLimit);

/// <summary>An agent's usage: all time, and today's against its limits (user, agent, outsiders).</summary>
public sealed record AgentUsageInfo(long ModelCalls, long InputTokens, long OutputTokens, IReadOnlyDictionary<string, TokenUseInfo>? Today)
{
    public string TodayText(string limit) => Today?.GetValueOrDefault(limit) is { } use
        ? $"{use.InputUsed} in{(use.InputLimit is { } i ? $" / {i}" : "")}, {use.OutputUsed} out{(use.OutputLimit is { } o ? $" / " +
            $"{o}" : "")}"
        : "—";
}

public sealed record StepInfo(int Index, string Kind, JsonObject Data, string? Model, int? InputTokens, int? OutputTokens,
    double? DurationMs,
    DateTime CreatedAt);

public sealed record RunSteps(IReadOnlyList<StepInfo> Items, UsageTotals Usage);

public sealed record LogLine(int Id, int AgentId, string? LogLevel, string? Message, DateTime Timestamp);

public sealed record ApiKeyInfo(int Id, string Name, string KeyPrefix, IReadOnlyList<string> Scopes, IReadOnlyList<int>? AgentIds,
    DateTime? ExpiresAt, DateTime CreatedAt);

public sealed record NewApiKey(int Id, string Name, string Key, string KeyPrefix, IReadOnlyList<string> Scopes,
    IReadOnlyList<int>? AgentIds,
    DateTime? ExpiresAt, DateTime CreatedAt);

public sealed record QuotaUse(long Used, long Limit);

public sealed record WebhookInfo(Guid Id, string Url, IReadOnlyList<string> Events, IReadOnlyList<int>? AgentIds, DateTime CreatedAt,
    DateTime UpdatedAt);

/// <summary>A webhook just made, with its signing secret: the only time it is shown.</summary>
public sealed record NewWebhook(Guid Id, string Url, IReadOnlyList<string> Events, IReadOnlyList<int>? AgentIds, string Secret,
    DateTime CreatedAt, DateTime UpdatedAt);

public sealed record DeliveryInfo(long Id, Guid MessageId, string Event, string Status, int Attempts, int? LastStatusCode,
    string? LastError,
    DateTime? LastAttemptAt, DateTime? NextAttemptAt, DateTime? DeliveredAt, DateTime CreatedAt);

public sealed record DeliveryList(IReadOnlyList<DeliveryInfo> Deliveries, string? NextCursor);

/// <summary>One server-sent event: its type (<c>event:</c>), id and data.</summary>
public sealed record ServerSentEvent(string Type, string? Id, string Data)
{
    public JsonNode? Json => string.IsNullOrEmpty(Data) ? null : JsonNode.Parse(Data);
}

public sealed record ScheduleInfo(Guid Id, int AgentId, string? Name, string Kind, string? Cron, string? TimeZone, int? IntervalSeconds,
    DateTime? At, JsonElement Payload, Guid? Session, DateTime? NextDueAt, DateTime? LastDueAt, Guid? LastMessageId, string? LastError,
    int Fired)
{
    public string When => Kind switch
    {
        "cron" => $"cron {Cron} ({TimeZone})",
        "interval" => $"every {IntervalSeconds} s",
        _ => "once",
    };
}

public sealed record ScheduleList(IReadOnlyList<ScheduleInfo> Schedules);

/// <summary>A tool call that waits (or waited) for a person's approval (docs/approvals.md).</summary>
public sealed record ApprovalInfo(Guid Id, int AgentId, Guid MessageId, Guid Session, string CallId, string Tool, JsonObject Arguments,
    string Status, DateTime RequestedAt, DateTime ExpiresAt, JsonObject? DecidedArguments, string? Reason, ApprovalDecider? DecidedBy,
    DateTime? DecidedAt);

public sealed record ApprovalDecider(int? UserId, int? ApiKeyId, string? Via);

public sealed record ApprovalList(IReadOnlyList<ApprovalInfo> Items);
