using System.Text.Json;
using System.Text.Json.Nodes;
using AgentCloud.Api.Features.Doors;
using AgentCloud.Api.Features.Messages;
using AgentCloud.Api.Features.Messages.Events;
using AgentCloud.Api.Infrastructure;
using AgentCloud.Shared.Quotas;
using FastEndpoints;

namespace AgentCloud.Api.Features.OpenAI.Responses.Create;

/// <summary>
/// The Responses API (OpenAI's, and Open Responses): the model names the agent (agent-{id}), the last user message of
/// <c>input</c> is what it is sent; <c>previous_response_id</c> continues that response's session, <c>conversation</c> the
/// conversation's, else a new session starts. The agent keeps the conversation itself, so earlier input items are not sent
/// again. A response is the message: its id is the message id.
/// </summary>
public sealed class Endpoint(Conversations conversations, MessageStore messages, MessageWaiter waiter, ResponseStore store,
    ResponseEventStream events, HeldStreams streams) : EndpointWithoutRequest
{
    public static readonly TimeSpan AnswerWait = TimeSpan.FromSeconds(30);

    private static readonly string[] Booleans = ["stream", "background", "store", "parallel_tool_calls"];
    private static readonly string[] Strings =
        ["instructions", "user", "previous_response_id", "safety_identifier", "prompt_cache_key", "service_tier", "truncation"];
    private static readonly string[] Numbers = ["temperature", "top_p", "presence_penalty", "frequency_penalty"];
    private static readonly string[] Integers = ["max_output_tokens", "max_tool_calls", "top_logprobs"];
    private static readonly string[] Objects = ["text", "reasoning", "stream_options", "prompt"];

    public override void Configure()
    {
        Post("/v1/responses");
        // Authenticated by hand, so a bad token gets OpenAI's error body, not problem details.
        AllowAnonymous();
        Summary(s =>
        {
            s.Summary = "Responses API (OpenAI and Open Responses): a response from one of the caller's agents";
            s.Description = "model agent-{id}; input a string or message items, the last a user message. stream: true answers with " +
                "the Responses events (response.created … response.completed or response.failed, then data: [DONE]); " +
                "background: true answers at once (status queued): poll GET /v1/responses/{id}. previous_response_id or " +
                "conversation continue a conversation. Tools are the agent's own: the request's tools must be empty.";
            s.Responses[200] = "A response object, or its events as server-sent events.";
            s.Responses[400] = "Invalid request (OpenAI-style error).";
            s.Responses[401] = "No valid bearer token (OpenAI-style error).";
            s.Responses[403] = "The API key lacks messages:send, or a standing quota is reached (OpenAI-style error).";
            s.Responses[404] = "No such model (agent), previous response or conversation of the caller (OpenAI-style error).";
            s.Responses[429] = "A quota is reached (insufficient_quota), or (stream: true) the caller holds as many event streams as " +
                "it may (event_streams_per_user): see Retry-After. OpenAI-style error; nothing is stored.";
        });
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        if (await OpenAIErrors.AuthenticateAsync(HttpContext) is not { } userId
            || !await OpenAIErrors.RequireScopeAsync(HttpContext, ApiScopes.MessagesSend)
            || await ResponsesDoor.ReadObjectAsync(HttpContext, emptyIsObject: false, ct) is not { } request)
        {
            return;
        }

        if (Invalid(request) is { } problem)
        {
            await ResponsesDoor.BadRequestAsync(HttpContext, problem.Message, problem.Param);
            return;
        }

        var model = request["model"]!.GetValue<string>();
        if (DoorText.Payload(LastUserText(request["input"]!)!) is not { } payload)
        {
            await ResponsesDoor.BadRequestAsync(HttpContext,
                $"The last user message is too long (at most {MessageRules.MaxPayloadBytes} bytes) or holds U+0000.", "input");
            return;
        }

        // A key limited to some agents finds no other model, as the API finds no other agent.
        var agentId = OpenAIErrors.AgentId(model) is { } named && User.MayUseAgent(named)
            && await conversations.AgentAsync(userId, named, ct) is not null ? named : (int?)null;
        if (agentId is not { } agent)
        {
            await ModelNotFoundAsync(model);
            return;
        }

        var previousId = Text(request["previous_response_id"]);
        var conversationId = request["conversation"] is JsonObject named2 ? Text(named2["id"]) : Text(request["conversation"]);
        Guid session;
        if (previousId is not null)
        {
            if (await ResponsesDoor.FindResponseAsync(HttpContext, store, userId, previousId, "previous_response_id", ct) is not { }
                previous)
            {
                return;
            }

            if (previous.AgentId != agent)
            {
                await ResponsesDoor.BadRequestAsync(HttpContext,
                    $"Response '{previousId}' is a response of {OpenAIErrors.Model(previous.AgentId)}: " +
                    "an agent keeps its own history, so continue it with that model.", "previous_response_id");
                return;
            }

            session = previous.Session;
            conversationId = await store.IsConversationAsync(userId, session, ct) ? ResponseIds.Conversation(session) : null;
        }
        else if (conversationId is not null)
        {
            var bound = ResponseIds.ParseConversation(conversationId) is { } id ? await store.BindConversationAsync(userId, id, agent, ct)
                : null;
            if (bound is null)
            {
                await ResponsesDoor.ConversationNotFoundAsync(HttpContext, conversationId, "conversation");
                return;
            }

            if (bound != agent)
            {
                await ResponsesDoor.BadRequestAsync(HttpContext,
                    $"Conversation '{conversationId}' talks to {OpenAIErrors.Model(bound.Value)}: " +
                    "an agent keeps its own history, so continue it with that model.", "conversation");
                return;
            }

            session = ResponseIds.ParseConversation(conversationId)!.Value;
        }
        else
        {
            session = Guid.NewGuid();
        }

        // A stream's slot is taken before the message is stored: a refused stream stores nothing.
        HeldStreams.Slot? slot;
        try
        {
            slot = IsTrue(request["stream"]) ? streams.Hold(userId) : null;
        }
        catch (QuotaExceededException quota)
        {
            await OpenAIErrors.WriteQuotaAsync(HttpContext, quota);
            return;
        }

        using var held = slot;

        SendResult sent;
        try
        {
            sent = await messages.SendToAgentAsync(userId, agent, payload, session, MessageRules.CurrentTraceparent(), idempotencyKey: null,
                ct);
        }
        catch (QuotaExceededException quota)
        {
            await OpenAIErrors.WriteQuotaAsync(HttpContext, quota);
            return;
        }

        if (sent.Message is not { } message)
        {
            await ModelNotFoundAsync(model); // deleted meanwhile
            return;
        }

        var echo = new ResponseEcho(model, previousId, conversationId, IsTrue(request["background"]), request["metadata"] as JsonObject);
        if (IsTrue(request["stream"]))
        {
            await events.WriteAsync(HttpContext, message, echo, null, ct);
            return;
        }

        if (!echo.Background)
        {
            // Not finished within the wait: the response as it stands (in progress), to poll like a background one.
            message = await waiter.WaitUntilFinishedAsync(message, AnswerWait, ct);
        }

        var steps = await store.StepsAsync(message.Id, ct);
        var response = ResponseObjects.Response(message, echo, ResponseObjects.Output(message, steps), steps);
        await Send.StringAsync(response.ToJsonString(), contentType: "application/json", cancellation: ct);
    }

    private Task ModelNotFoundAsync(string model) =>
        OpenAIErrors.WriteAsync(HttpContext, StatusCodes.Status404NotFound,
            $"The model '{model}' does not exist or you do not have access to it.", "invalid_request_error", "model", "model_not_found");

    /// <summary>What OpenAI itself would refuse (a wrong type, no user text), or what an agent cannot do (the caller's tools).</summary>
    private static (string Message, string Param)? Invalid(JsonObject request)
    {
        if (request["model"] is not JsonValue model || model.GetValueKind() != JsonValueKind.String)
        {
            return ("you must provide a model parameter (a string: agent-{id}).", "model");
        }

        foreach (var (names, kinds, what) in new[]
        {
            (Booleans, new[] { JsonValueKind.True, JsonValueKind.False }, "a boolean"),
            (Strings, [JsonValueKind.String], "a string"),
            (Numbers, [JsonValueKind.Number], "a number"),
            (Objects, [JsonValueKind.Object], "an object"),
        })
        {
            foreach (var name in names)
            {
                if (request[name] is { } value && !kinds.Contains(value.GetValueKind()))
                {
                    return ($"{name} must be {what}.", name);
                }
            }
        }

        foreach (var name in Integers)
        {
            if (request[name] is { } value && !(value is JsonValue number && number.TryGetValue<long>(out var n) && n > 0))
            {
                return ($"{name} must be a positive integer.", name);
            }
        }

        if (ResponsesDoor.InvalidMetadata(request["metadata"]) is { } metadata)
        {
            return (metadata, "metadata");
        }

        if (request["tools"] is { } tools && (tools is not JsonArray list || list.Count > 0))
        {
            return ("Tools are not supported: the agent has its own (tools must be empty).", "tools");
        }

        if (request["tool_choice"] is { } choice && choice.GetValueKind() is not (JsonValueKind.String or JsonValueKind.Object))
        {
            return ("tool_choice must be a string or an object.", "tool_choice");
        }

        if (request["include"] is { } include && include is not JsonArray)
        {
            return ("include must be an array.", "include");
        }

        switch (request["conversation"])
        {
            case null:
                break;
            case JsonValue conversation when conversation.GetValueKind() == JsonValueKind.String:
            case JsonObject named when named["id"] is JsonValue id && id.GetValueKind() == JsonValueKind.String:
                if (request["previous_response_id"] is not null)
                {
                    return ("previous_response_id and conversation cannot both be given.", "conversation");
                }

                break;
            default:
                return ("conversation must be a conversation id or an object with one ({\"id\": \"conv_…\"}).", "conversation");
        }

        return InvalidInput(request["input"]);
    }

    private static (string Message, string Param)? InvalidInput(JsonNode? input)
    {
        if (input is JsonValue value && value.GetValueKind() == JsonValueKind.String)
        {
            return null;
        }

        if (input is not JsonArray { Count: > 0 } items)
        {
            return ("input must be a string or a non-empty array of input items.", "input");
        }

        for (var i = 0; i < items.Count; i++)
        {
            if (items[i] is not JsonObject item)
            {
                return ($"input[{i}] must be an object.", $"input[{i}]");
            }

            var type = item["type"] is JsonValue t && t.GetValueKind() == JsonValueKind.String ? t.GetValue<string>() : item["type"] is null
                ? "message" : null;
            if (type != "message")
            {
                return (type is null
                    ? $"input[{i}].type must be a string."
                    : $"input[{i}].type '{type}' is not supported: only message items (the agent runs its own tools and keeps its own " +
                        $"history).",
                    $"input[{i}].type");
            }

            if (item["role"] is not JsonValue role || role.GetValueKind() != JsonValueKind.String
                || role.GetValue<string>() is not ("user" or "system" or "developer" or "assistant"))
            {
                return ($"input[{i}].role must be one of user, system, developer, assistant.", $"input[{i}].role");
            }

            switch (item["content"])
            {
                case JsonValue content when content.GetValueKind() == JsonValueKind.String:
                    break;
                case JsonArray parts:
                    for (var p = 0; p < parts.Count; p++)
                    {
                        if (parts[p] is not JsonObject part || part["type"] is not JsonValue partType
                            || partType.GetValueKind() != JsonValueKind.String)
                        {
                            return ($"input[{i}].content[{p}] must be an object with a type.", $"input[{i}].content[{p}]");
                        }

                        if (partType.GetValue<string>() is not ("input_text" or "output_text" or "refusal"))
                        {
                            return ($"input[{i}].content[{p}].type '{partType.GetValue<string>()}' is not supported: only text.",
                                $"input[{i}].content[{p}].type");
                        }

                        var field = partType.GetValue<string>() == "refusal" ? "refusal" : "text";
                        if (part[field] is not JsonValue partText || partText.GetValueKind() != JsonValueKind.String)
                        {
                            return ($"input[{i}].content[{p}].{field} must be a string.", $"input[{i}].content[{p}].{field}");
                        }
                    }

                    break;
                default:
                    return ($"input[{i}].content must be a string or an array of content parts.", $"input[{i}].content");
            }
        }

        return LastUserText(items) is null
            ? ("The last input item must be a user message with text.", "input")
            : null;
    }

    /// <summary>The text sent to the agent: the input string, or the last item's text parts joined (null unless it is the
    /// user's).</summary>
    private static string? LastUserText(JsonNode input)
    {
        if (input is JsonValue value)
        {
            return value.GetValue<string>();
        }

        if (input.AsArray()[^1] is not JsonObject last || Text(last["role"]) != "user")
        {
            return null;
        }

        return last["content"] switch
        {
            JsonValue content => content.GetValue<string>() is { Length: > 0 } text ? text : null,
            JsonArray parts => string.Join("\n", parts.Where(p => Text(p!["type"]) == "input_text").Select(p => Text(p!["text"]))) is
                { Length: > 0 } joined ? joined : null,
            _ => null,
        };
    }

    private static string? Text(JsonNode? node) => node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    private static bool IsTrue(JsonNode? node) => node?.GetValueKind() == JsonValueKind.True;
}
