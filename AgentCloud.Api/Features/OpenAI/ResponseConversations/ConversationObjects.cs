using System.Text.Json.Nodes;
using AgentCloud.Api.Features.OpenAI.Responses;

namespace AgentCloud.Api.Features.OpenAI.ResponseConversations;

public static class ConversationObjects
{
    public static JsonObject Conversation(ConversationRow row) => new()
    {
        ["id"] = ResponseIds.Conversation(row.Id),
        ["object"] = "conversation",
        ["created_at"] = ResponseObjects.Unix(row.CreatedAt),
        ["metadata"] = JsonNode.Parse(row.Metadata),
    };
}
