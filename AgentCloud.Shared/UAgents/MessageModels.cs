using System.Security.Cryptography;
using System.Text;

namespace AgentCloud.Shared.UAgents;

/// <summary>
/// A uAgents message model, known by the exact JSON schema text the reference (pydantic v1) generates
/// for it: the schema digest is the SHA-256 of that text, so it is kept verbatim, never generated.
/// </summary>
public sealed record MessageModel(string Name, string SchemaJson)
{
    public string Digest { get; } = "model:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(SchemaJson)));

    public override string ToString() => $"{Name} ({Digest})";
}

/// <summary>The models AgentCloud speaks, with the reference's schema text.</summary>
public static class MessageModels
{
    /// <summary><c>Message {message: str}</c>: the original design's plain text message.</summary>
    public static readonly MessageModel Message = new("Message",
        """{"properties": {"message": {"title": "Message", "type": "string"}}, "required": ["message"], "title": "Message", "type": "object"}""");

    /// <summary><c>ErrorMessage {error: str}</c>: what a uAgent answers when something went wrong.</summary>
    public static readonly MessageModel ErrorMessage = new("ErrorMessage",
        """{"description": "Error message model", "properties": {"error": {"title": "Error", "type": "string"}}, "required": ["error"], "title": "ErrorMessage", "type": "object"}""");

    /// <summary>The Agent Chat Protocol's message (uAgents-based chat clients).</summary>
    public static readonly MessageModel ChatMessage = new("ChatMessage",
        """{"definitions": {"EndSessionContent": {"properties": {"type": {"enum": ["end-session"], "title": "Type", "type": "string"}}, "required": ["type"], "title": "EndSessionContent", "type": "object"}, "EndStreamContent": {"properties": {"stream_id": {"format": "uuid4", "title": "Stream Id", "type": "string"}, "type": {"enum": ["end-stream"], "title": "Type", "type": "string"}}, "required": ["type", "stream_id"], "title": "EndStreamContent", "type": "object"}, "MetadataContent": {"properties": {"metadata": {"additionalProperties": {"type": "string"}, "title": "Metadata", "type": "object"}, "type": {"enum": ["metadata"], "title": "Type", "type": "string"}}, "required": ["type", "metadata"], "title": "MetadataContent", "type": "object"}, "Resource": {"properties": {"metadata": {"additionalProperties": {"type": "string"}, "title": "Metadata", "type": "object"}, "uri": {"title": "Uri", "type": "string"}}, "required": ["uri", "metadata"], "title": "Resource", "type": "object"}, "ResourceContent": {"properties": {"resource": {"anyOf": [{"$ref": "#/definitions/Resource"}, {"items": {"$ref": "#/definitions/Resource"}, "type": "array"}], "title": "Resource"}, "resource_id": {"format": "uuid4", "title": "Resource Id", "type": "string"}, "type": {"enum": ["resource"], "title": "Type", "type": "string"}}, "required": ["type", "resource_id", "resource"], "title": "ResourceContent", "type": "object"}, "StartSessionContent": {"properties": {"type": {"enum": ["start-session"], "title": "Type", "type": "string"}}, "required": ["type"], "title": "StartSessionContent", "type": "object"}, "StartStreamContent": {"properties": {"stream_id": {"format": "uuid4", "title": "Stream Id", "type": "string"}, "type": {"enum": ["start-stream"], "title": "Type", "type": "string"}}, "required": ["type", "stream_id"], "title": "StartStreamContent", "type": "object"}, "TextContent": {"properties": {"text": {"title": "Text", "type": "string"}, "type": {"enum": ["text"], "title": "Type", "type": "string"}}, "required": ["type", "text"], "title": "TextContent", "type": "object"}}, "properties": {"content": {"items": {"anyOf": [{"$ref": "#/definitions/TextContent"}, {"$ref": "#/definitions/ResourceContent"}, {"$ref": "#/definitions/MetadataContent"}, {"$ref": "#/definitions/StartSessionContent"}, {"$ref": "#/definitions/EndSessionContent"}, {"$ref": "#/definitions/StartStreamContent"}, {"$ref": "#/definitions/EndStreamContent"}]}, "title": "Content", "type": "array"}, "msg_id": {"format": "uuid4", "title": "Msg Id", "type": "string"}, "timestamp": {"format": "date-time", "title": "Timestamp", "type": "string"}}, "required": ["timestamp", "msg_id", "content"], "title": "ChatMessage", "type": "object"}""");

    /// <summary>The Agent Chat Protocol's acknowledgement of a <c>ChatMessage</c>.</summary>
    public static readonly MessageModel ChatAcknowledgement = new("ChatAcknowledgement",
        """{"properties": {"acknowledged_msg_id": {"format": "uuid4", "title": "Acknowledged Msg Id", "type": "string"}, "metadata": {"additionalProperties": {"type": "string"}, "title": "Metadata", "type": "object"}, "timestamp": {"format": "date-time", "title": "Timestamp", "type": "string"}}, "required": ["timestamp", "acknowledged_msg_id"], "title": "ChatAcknowledgement", "type": "object"}""");

    public static readonly IReadOnlyList<MessageModel> All = [Message, ErrorMessage, ChatMessage, ChatAcknowledgement];
}
