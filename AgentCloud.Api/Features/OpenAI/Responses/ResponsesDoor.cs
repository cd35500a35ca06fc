using System.Text.Json;
using System.Text.Json.Nodes;
using AgentCloud.Api.Features.Doors;
using AgentCloud.Api.Infrastructure;
using AgentCloud.Shared.Messaging;

namespace AgentCloud.Api.Features.OpenAI.Responses;

/// <summary>What the Responses and Conversations routes share: their errors, and finding the caller's response or conversation.</summary>
public static class ResponsesDoor
{
    public static Task BadRequestAsync(HttpContext context, string message, string? param, string? code = null) =>
        OpenAIErrors.WriteAsync(context, StatusCodes.Status400BadRequest, message, "invalid_request_error", param, code);

    /// <summary>The body as a JSON object (a member given twice is a parse error); null after writing the 400.</summary>
    public static async Task<JsonObject?> ReadObjectAsync(HttpContext context, bool emptyIsObject, CancellationToken cancellationToken)
    {
        try
        {
            using var reader = new StreamReader(context.Request.Body);
            var text = await reader.ReadToEndAsync(cancellationToken);
            if (emptyIsObject && string.IsNullOrWhiteSpace(text))
            {
                return [];
            }

            return DoorJson.Parse(text) as JsonObject ?? throw new JsonException("not an object");
        }
        catch (JsonException)
        {
            await BadRequestAsync(context, "We could not parse the JSON body of your request. Expected a JSON object.", null);
            return null;
        }
    }

    /// <summary>
    /// The caller's response named <paramref name="id"/>, which an API key limited to some agents finds only on theirs; null
    /// after writing OpenAI's 404 (a malformed id, another user's response and none at all answer alike).
    /// </summary>
    public static async Task<MessageRow?> FindResponseAsync(HttpContext context, ResponseStore store, int userId, string? id, string? param,
        CancellationToken cancellationToken)
    {
        var message = ResponseIds.ParseResponse(id) is { } messageId ? await store.ResponseAsync(userId, messageId, cancellationToken)
            : null;
        if (message is not null && context.User.MayUseAgent(message.AgentId))
        {
            return message;
        }

        await OpenAIErrors.WriteAsync(context, StatusCodes.Status404NotFound, $"No response found with id '{id}'.", "invalid_request_error",
            param, param is null ? "not_found" : "previous_response_not_found");
        return null;
    }

    /// <summary>The caller's conversation named <paramref name="id"/> (as <see cref="FindResponseAsync"/> finds a response); null after the
    /// 404.</summary>
    public static async Task<ConversationRow?> FindConversationAsync(HttpContext context, ResponseStore store, int userId, string? id,
        string? param, CancellationToken cancellationToken)
    {
        var conversation = ResponseIds.ParseConversation(id) is { } session
            ? await store.ConversationAsync(userId, session, cancellationToken) : null;
        if (conversation is not null && (conversation.AgentId is not { } agentId || context.User.MayUseAgent(agentId)))
        {
            return conversation;
        }

        await ConversationNotFoundAsync(context, id, param);
        return null;
    }

    public static Task ConversationNotFoundAsync(HttpContext context, string? id, string? param) =>
        OpenAIErrors.WriteAsync(context, StatusCodes.Status404NotFound, $"Conversation with id '{id}' not found.", "invalid_request_error",
            param, "not_found");

    /// <summary>A response as GET shows it: its output so far from the stored steps.</summary>
    public static async Task<JsonObject> ResponseAsync(ResponseStore store, int userId, MessageRow message,
        CancellationToken cancellationToken)
    {
        var steps = await store.StepsAsync(message.Id, cancellationToken);
        var conversation = await store.IsConversationAsync(userId, message.Session, cancellationToken)
            ? ResponseIds.Conversation(message.Session)
            : null;
        var echo = new ResponseEcho(OpenAIErrors.Model(message.AgentId), null, conversation, false, null);
        return ResponseObjects.Response(message, echo, ResponseObjects.Output(message, steps), steps);
    }

    /// <summary>Metadata as OpenAI allows it: up to 16 string values, keys up to 64 characters, values up to 512; else why not.</summary>
    public static string? InvalidMetadata(JsonNode? metadata)
    {
        if (metadata is null)
        {
            return null;
        }

        if (metadata is not JsonObject entries)
        {
            return "metadata must be an object of strings.";
        }

        if (entries.Count > 16)
        {
            return "metadata has at most 16 entries.";
        }

        if (!Shared.Data.StorableText.IsStorable(entries))
        {
            return "metadata must not hold U+0000 or unpaired surrogates.";
        }

        foreach (var (key, value) in entries)
        {
            if (key.Length > 64 || value is not JsonValue v || !v.TryGetValue<string>(out var text) || text.Length > 512)
            {
                return $"metadata['{(key.Length > 64 ? key[..64] + "…" : key)}'] must be a string of at most 512 characters (keys at " +
                    $"most 64).";
            }
        }

        return null;
    }
}
