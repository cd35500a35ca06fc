using System.ComponentModel;
using System.Text.Json;
using AgentCloud.Api.Infrastructure;
using AgentCloud.Shared.Messaging;

namespace AgentCloud.Api.Features.Messages;

/// <summary>
/// A message as the API shows it: payload and reply as JSON values, times in UTC. The descriptions also make
/// their JSON Schemas objects rather than the bare `true` of "any value", which MCP output schemas refuse.
/// </summary>
public sealed record MessageResponse(
    Guid Id,
    int AgentId,
    string Direction,
    string Sender,
    string Target,
    Guid Session,
    [property: Description("What was sent: any JSON value (a text message is a string).")] JsonElement Payload,
    string Status,
    [property: Description("What a waiting run waits for ({\"kind\": \"reply\", \"message_id\", \"from\", \"until\"}); null otherwise.")]
    JsonElement? WaitingFor,
    int Attempts,
    [property: Description("The agent's answer, any JSON value; null until the message is done.")] JsonElement? Reply,
    string? Error,
    Guid? InReplyTo,
    string? TraceId,
    DateTime CreatedAt,
    DateTime UpdatedAt,
    DateTime? CompletedAt)
{
    public static MessageResponse From(MessageRow row) => new(
        row.Id, row.AgentId, row.Direction, row.Sender, row.Target, row.Session, Parse(row.Payload), row.Status,
        row.Status == MessageStatus.Waiting && row.WaitingFor is { } waitingFor ? Parse(waitingFor) : null, row.Attempts,
        row.Reply is null ? null : Parse(row.Reply), row.Error, row.InReplyTo, row.TraceId,
        row.CreatedAt.AsUtc(), row.UpdatedAt.AsUtc(), row.CompletedAt.AsUtc());

    private static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
