using System.Globalization;
using System.Text.Json.Nodes;
using AgentCloud.Shared.UAgents;

namespace AgentCloud.Shared.Messaging.Behaviors;

/// <summary>
/// The Agent Chat Protocol as the built-in behaviours speak it: every <c>ChatMessage</c> is answered by a
/// <c>ChatAcknowledgement</c> of its <c>msg_id</c>; an acknowledgement is never answered.
/// </summary>
public static class ChatProtocol
{
    public static bool IsChatMessage(MessageRow message) => message.SchemaDigest == MessageModels.ChatMessage.Digest;

    public static bool IsAcknowledgement(MessageRow message) => message.SchemaDigest == MessageModels.ChatAcknowledgement.Digest;

    /// <summary>The acknowledgement of a chat message, or null when it has no <c>msg_id</c> to acknowledge.</summary>
    public static ReplyMessage? Acknowledge(JsonNode? chatMessage, DateTimeOffset now) =>
        chatMessage?["msg_id"] is JsonValue id && id.TryGetValue<string>(out var msgId)
            ? new ReplyMessage(
                new JsonObject
                {
                    ["timestamp"] = Timestamp(now),
                    ["acknowledged_msg_id"] = msgId,
                    ["metadata"] = null,
                },
                MessageModels.ChatAcknowledgement.Digest, ProtocolDigest.AgentChat)
            : null;

    /// <summary>A new chat message (its own <c>msg_id</c>, stamped now) with the text contents of <paramref name="chatMessage"/>.</summary>
    public static ReplyMessage Echo(JsonNode? chatMessage, DateTimeOffset now) =>
        new(
            new JsonObject
            {
                ["timestamp"] = Timestamp(now),
                ["msg_id"] = Guid.NewGuid().ToString("D"),
                ["content"] = new JsonArray([.. TextContents(chatMessage).Select(text => (JsonNode)new JsonObject
                {
                    ["type"] = "text",
                    ["text"] = text,
                })]),
            },
            MessageModels.ChatMessage.Digest, ProtocolDigest.AgentChat);

    public static IEnumerable<string> TextContents(JsonNode? chatMessage) =>
        (chatMessage?["content"] as JsonArray ?? [])
            .Where(item => item?["type"] is JsonValue type && type.TryGetValue<string>(out var kind) && kind == "text")
            .Select(item => item?["text"] is JsonValue text && text.TryGetValue<string>(out var value) ? value : null)
            .OfType<string>();

    // ISO 8601 with an explicit UTC offset, as pydantic's datetime serialises it.
    private static string Timestamp(DateTimeOffset now) =>
        now.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'+00:00'", CultureInfo.InvariantCulture);
}
