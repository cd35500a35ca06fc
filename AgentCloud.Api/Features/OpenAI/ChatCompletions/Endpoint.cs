using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentCloud.Api.Features.Doors;
using AgentCloud.Api.Features.Messages;
using AgentCloud.Api.Features.Messages.Events;
using AgentCloud.Shared.Llm;
using AgentCloud.Shared.Quotas;
using AgentCloud.Api.Infrastructure;
using AgentCloud.Shared.Messaging;
using FastEndpoints;

namespace AgentCloud.Api.Features.OpenAI.ChatCompletions;

/// <summary>
/// OpenAI-compatible chat: the model names the agent (agent-{id}), the last user message is what it is
/// sent, the session comes from the request's <c>user</c> field or an X-Session-Id header (else a new
/// one, returned in X-Session-Id). The agent keeps the conversation itself, so earlier messages in the
/// request are not sent again. Clients retry a timeout or a 5xx, so a message once stored is never
/// answered with a 5xx that a retry would store again: each call sends under an idempotency key (the
/// client's Idempotency-Key, else one derived per attempt, see <see cref="RetryKeys"/>), a retry finds
/// the stored message and waits on it, and a wait past <see cref="AnswerWait"/> is a 202 naming it.
/// </summary>
public sealed class Endpoint(Conversations conversations, MessageStore messages, MessageWaiter waiter, MessageEventFeed feed,
    HeldStreams streams) : EndpointWithoutRequest
{
    public static readonly TimeSpan AnswerWait = TimeSpan.FromSeconds(30);
    private const string Route = "/v1/chat/completions";
    private const string SessionHeader = "X-Session-Id";
    private const string IdempotencyHeader = "Idempotency-Key";

    public override void Configure()
    {
        Post(Route);
        AllowAnonymous();
        Summary(s =>
        {
            s.Summary = "OpenAI-compatible chat completion with one of the caller's agents";
            s.Description = "Chat Completions request and answer shapes; stream: true answers with chat.completion.chunk " +
                "events ending with data: [DONE]. Only n = 1; sampling parameters are accepted and ignored (the agent decides). " +
                "A retry stores nothing new: with an Idempotency-Key header, a repeat of the key answers for its first message; " +
                "without one, a request the OpenAI clients number as a retry (X-Stainless-Retry-Count) answers for the message " +
                "an earlier attempt of the same request (same credential, X-Session-Id and body) stored.";
            s.Responses[200] = "A chat.completion, or its chunks as server-sent events.";
            s.Responses[202] = "No answer within 30 s: a chat.completion without choices whose message names the stored message " +
                "(GET its href for the answer), which is still handled.";
            s.Responses[400] = "Invalid request (OpenAI-style error).";
            s.Responses[401] = "No valid bearer token.";
            s.Responses[404] = "No such model (agent) of the caller.";
            s.Responses[403] = "The API key lacks messages:send, or a standing quota is reached (OpenAI-style error).";
            s.Responses[422] = "The Idempotency-Key was already used for a message to another agent (OpenAI-style error).";
            s.Responses[429] = "A quota is reached (insufficient_quota), or (stream: true) the caller holds as many event streams as " +
                "it may (event_streams_per_user): see Retry-After. OpenAI-style error; nothing is stored.";
            s.Responses[502] = "The message ended without an answer (dead or cancelled); OpenAI-style error naming it, with " +
                "x-should-retry: false.";
        });
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        if (await OpenAIErrors.AuthenticateAsync(HttpContext) is not { } userId
            || !await OpenAIErrors.RequireScopeAsync(HttpContext, ApiScopes.MessagesSend))
        {
            return;
        }

        using var body = new MemoryStream();
        await HttpContext.Request.Body.CopyToAsync(body, ct);
        JsonObject request;
        try
        {
            body.Position = 0;
            request = await DoorJson.ParseAsync(body, ct) as JsonObject ?? throw new JsonException("not an object");
        }
        catch (JsonException)
        {
            await BadRequestAsync("We could not parse the JSON body of your request. Expected a JSON object.", null);
            return;
        }

        var model = request["model"] is JsonValue m && m.TryGetValue<string>(out var name) ? name : null;
        if (model is null)
        {
            await BadRequestAsync("you must provide a model parameter", "model");
            return;
        }

        if (Invalid(request) is { } problem)
        {
            await BadRequestAsync(problem.Message, problem.Param);
            return;
        }

        var text = LastUserText(request["messages"]!.AsArray());
        if (text is null)
        {
            await BadRequestAsync("messages must end with a message of role 'user' whose content is text.", "messages");
            return;
        }

        var payload = DoorText.Payload(text);
        if (payload is null)
        {
            await BadRequestAsync(
                $"The last user message is too long (at most {MessageRules.MaxPayloadBytes} bytes) or holds U+0000.", "messages");
            return;
        }

        if (Session(userId, request) is not { } session)
        {
            await BadRequestAsync($"The {SessionHeader} header must be a UUID.", SessionHeader);
            return;
        }

        var clientKey = HttpContext.Request.Headers[IdempotencyHeader].ToString() is { Length: > 0 } given ? given : null;
        if (!MessageRules.IsIdempotencyKey(clientKey))
        {
            await BadRequestAsync($"The {IdempotencyHeader} header must be 1 to {MessageRules.MaxIdempotencyKeyLength} visible " +
                "ASCII characters.", IdempotencyHeader);
            return;
        }

        // A stream's slot is taken before the message is stored: a refused stream stores nothing.
        var streamed = request["stream"] is JsonValue stream && stream.GetValueKind() == JsonValueKind.True;
        HeldStreams.Slot? slot;
        try
        {
            slot = streamed ? streams.Hold(userId) : null;
        }
        catch (QuotaExceededException quota)
        {
            await OpenAIErrors.WriteQuotaAsync(HttpContext, quota);
            return;
        }

        using var held = slot;

        // A key limited to some agents finds no other model, as the API finds no other agent.
        var agentId = OpenAIErrors.AgentId(model) is { } named && User.MayUseAgent(named) ? named : (int?)null;
        SendResult sent;
        try
        {
            sent = agentId is { } id ? await SendAsync(userId, id, payload, session, clientKey, body, ct) : SendResult.NoSuchAgent;
        }
        catch (QuotaExceededException quota)
        {
            await OpenAIErrors.WriteQuotaAsync(HttpContext, quota);
            return;
        }

        if (sent.Outcome == SendOutcome.KeyReused)
        {
            await OpenAIErrors.WriteAsync(HttpContext, StatusCodes.Status422UnprocessableEntity,
                $"This {IdempotencyHeader} was already used for a message to another model; use a new key for a new message.",
                "invalid_request_error", IdempotencyHeader, "idempotency_key_reused");
            return;
        }

        if (sent.Message is not { } message)
        {
            await OpenAIErrors.WriteAsync(HttpContext, StatusCodes.Status404NotFound,
                $"The model '{model}' does not exist or you do not have access to it.", "invalid_request_error", "model",
                "model_not_found");
            return;
        }

        // A repeat answers for the first message, in its conversation.
        HttpContext.Response.Headers[SessionHeader] = message.Session.ToString("D");
        var completionId = $"chatcmpl-{message.Id:N}";
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (streamed)
        {
            var includeUsage = request["stream_options"]?["include_usage"] is JsonValue usage
                && usage.GetValueKind() == JsonValueKind.True;
            await StreamAsync(message, completionId, created, model, includeUsage, ct);
            return;
        }

        message = await waiter.WaitUntilFinishedAsync(message, AnswerWait, ct);
        if (message.Status != MessageStatus.Done)
        {
            await NotAnsweredAsync(message, completionId, created, model, ct);
            return;
        }

        var (input, output) = await conversations.UsageAsync(message.Id, ct);
        var completion = new JsonObject
        {
            ["id"] = completionId,
            ["object"] = "chat.completion",
            ["created"] = created,
            ["model"] = model,
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = new JsonObject
                {
                    ["role"] = "assistant", ["content"] = DoorText.Of(message.Reply), ["refusal"] = null,
                },
                ["logprobs"] = null,
                ["finish_reason"] = "stop",
            }),
            ["usage"] = Usage(input, output),
            ["system_fingerprint"] = null,
        };
        await Send.StringAsync(completion.ToJsonString(), contentType: "application/json", cancellation: ct);
    }

    /// <summary>
    /// Stores the message under its idempotency key (see <see cref="MessageStore.IdempotencyKeyAsync"/>), or finds the one an
    /// earlier attempt of this call stored.
    /// </summary>
    private async Task<SendResult> SendAsync(int userId, int agentId, string payload, Guid session, string? clientKey,
        MemoryStream body, CancellationToken ct)
    {
        var headers = HttpContext.Request.Headers;
        var call = RetryKeys.Of(Route, $"{userId}:{User.CredentialId()}", headers[SessionHeader].ToString(),
            body.GetBuffer().AsSpan(0, (int)body.Length), headers[RetryKeys.RetryCountHeader], headers[RetryKeys.TimeoutHeader]);
        var key = await messages.IdempotencyKeyAsync(userId, clientKey, call, ct);
        return await messages.SendToAgentAsync(userId, agentId, payload, session, MessageRules.CurrentTraceparent(), key, ct);
    }

    private async Task StreamAsync(MessageRow message, string completionId, long created, string model, bool includeUsage,
        CancellationToken ct)
    {
        await ServerSentEvents.StartAsync(HttpContext, ct);
        var response = HttpContext.Response;
        var streamedText = false;
        try
        {
            await WriteChunkAsync(new JsonObject { ["role"] = "assistant", ["content"] = "" }, null);
            await foreach (var item in feed.FollowAsync(message, null, ServerSentEvents.TokenExpiry(User), ct))
            {
                switch (item.Type)
                {
                    case FeedEventTypes.Heartbeat:
                        await ServerSentEvents.WriteKeepAliveAsync(response, ct);
                        break;
                    case RunEventTypes.Delta when item.DeltaText is { } delta:
                        await WriteChunkAsync(new JsonObject { ["content"] = delta }, null);
                        streamedText = true;
                        break;
                    case FeedEventTypes.Done:
                        if (!streamedText)
                        {
                            await WriteChunkAsync(new JsonObject { ["content"] = DoorText.Of(item.Message!.Reply) }, null);
                        }

                        await WriteChunkAsync([], "stop");
                        if (includeUsage)
                        {
                            var (input, output) = await conversations.UsageAsync(message.Id, ct);
                            var chunk = Chunk([], null);
                            chunk["choices"] = new JsonArray();
                            chunk["usage"] = Usage(input, output);
                            await ServerSentEvents.WriteAsync(response, null, null, chunk.ToJsonString(), ct);
                        }

                        break;
                    case FeedEventTypes.Error:
                        var error = new JsonObject
                        {
                            ["error"] = new JsonObject
                            {
                                ["message"] = $"The agent did not answer: the message is {item.Message!.Status}" +
                                    (item.Message.Error is { } reason ? $" ({reason})" : "") + ".",
                                ["type"] = "server_error", ["param"] = null, ["code"] = "agent_" + item.Message.Status,
                            },
                        };
                        await ServerSentEvents.WriteAsync(response, null, null, error.ToJsonString(), ct);
                        break;
                }
            }

            await ServerSentEvents.WriteAsync(response, null, null, "[DONE]", ct);
        }
        catch (Exception exception) when (ct.IsCancellationRequested && exception is OperationCanceledException or IOException)
        {
            // The client went away.
        }

        Task WriteChunkAsync(JsonObject delta, string? finishReason) =>
            ServerSentEvents.WriteAsync(response, null, null, Chunk(delta, finishReason).ToJsonString(), ct);

        JsonObject Chunk(JsonObject delta, string? finishReason) => new()
        {
            ["id"] = completionId,
            ["object"] = "chat.completion.chunk",
            ["created"] = created,
            ["model"] = model,
            ["system_fingerprint"] = null,
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0, ["delta"] = delta, ["logprobs"] = null, ["finish_reason"] = finishReason,
            }),
        };
    }

    /// <summary>
    /// A message that ended unanswered is a 502 the client must not retry (a retry would find the same end); one still being
    /// handled is a 202 naming it, never a 5xx: the message is stored and will be answered.
    /// </summary>
    private async Task NotAnsweredAsync(MessageRow message, string completionId, long created, string model, CancellationToken ct)
    {
        if (MessageStatus.IsFinal(message.Status))
        {
            HttpContext.Response.Headers["x-should-retry"] = "false";
            await OpenAIErrors.WriteAsync(HttpContext, StatusCodes.Status502BadGateway,
                $"The agent did not answer: message {message.Id:D} is {message.Status}" + (message.Error is { } e ? $" ({e})." : "."),
                "server_error", code: "agent_" + message.Status);
            return;
        }

        var href = $"/agents/{message.AgentId.ToString(CultureInfo.InvariantCulture)}/messages/{message.Id:D}";
        HttpContext.Response.Headers.Location = href;
        var pending = new JsonObject
        {
            ["id"] = completionId,
            ["object"] = "chat.completion",
            ["created"] = created,
            ["model"] = model,
            ["choices"] = new JsonArray(),
            ["usage"] = null,
            ["system_fingerprint"] = null,
            ["message"] = new JsonObject { ["id"] = message.Id.ToString("D"), ["status"] = message.Status, ["href"] = href },
        };
        await Send.StringAsync(pending.ToJsonString(), StatusCodes.Status202Accepted, "application/json", ct);
    }

    private Task BadRequestAsync(string message, string? param) =>
        OpenAIErrors.WriteAsync(HttpContext, StatusCodes.Status400BadRequest, message, "invalid_request_error", param);

    /// <summary>What OpenAI itself would refuse, or what an agent cannot do (several choices, tools).</summary>
    private static (string Message, string Param)? Invalid(JsonObject request)
    {
        if (request["messages"] is not JsonArray { Count: > 0 } list)
        {
            return ("messages must be a non-empty array.", "messages");
        }

        for (var i = 0; i < list.Count; i++)
        {
            if (list[i] is not JsonObject item || item["role"] is not JsonValue role
                || role.GetValueKind() != JsonValueKind.String)
            {
                return ($"messages[{i}] must be an object with a role.", $"messages[{i}]");
            }

            if (role.GetValue<string>() is not ("system" or "developer" or "user" or "assistant" or "tool" or "function"))
            {
                return ($"messages[{i}].role '{role.GetValue<string>()}' is not one of system, developer, user, assistant, tool.",
                    $"messages[{i}].role");
            }
        }

        if (request["n"] is { } n && !(n is JsonValue value && value.TryGetValue<int>(out var count) && count == 1))
        {
            return ("Only n = 1 is supported: an agent gives one answer.", "n");
        }

        if (request["stream"] is { } stream
            && stream.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null))
        {
            return ("stream must be a boolean.", "stream");
        }

        if (request["tools"] is JsonArray { Count: > 0 } || request["functions"] is JsonArray { Count: > 0 })
        {
            return ("Tools are not supported: the agent has its own.", request["tools"] is null ? "functions" : "tools");
        }

        return null;
    }

    /// <summary>The text of the last message, if it is the user's: a string, or its text parts joined.</summary>
    private static string? LastUserText(JsonArray list)
    {
        if (list[^1] is not JsonObject last || last["role"]?.GetValue<string>() != "user")
        {
            return null;
        }

        return last["content"] switch
        {
            JsonValue value when value.TryGetValue<string>(out var text) => text,
            JsonArray parts when parts.All(p => p?["type"]?.GetValueKind() == JsonValueKind.String) =>
                string.Join("\n", parts.Where(p => p!["type"]!.GetValue<string>() == "text" && p["text"] is JsonValue)
                    .Select(p => p!["text"]!.GetValue<string>())) is { Length: > 0 } joined ? joined : null,
            _ => null,
        };
    }

    /// <summary>
    /// X-Session-Id (a UUID) wins; else <c>user</c>, which clients fill with any string, becomes a UUID of
    /// its own (the same string, the same conversation, per caller); else a new conversation. Null: a bad header.
    /// </summary>
    private Guid? Session(int userId, JsonObject request)
    {
        var header = HttpContext.Request.Headers[SessionHeader].ToString();
        if (header.Length > 0)
        {
            return Guid.TryParse(header, out var session) ? session : null;
        }

        if (request["user"] is JsonValue user && user.TryGetValue<string>(out var name) && name.Length > 0)
        {
            return DoorSessions.Named("openai-user", userId, name);
        }

        return Guid.NewGuid();
    }

    private static JsonObject Usage(int input, int output) => new()
    {
        ["prompt_tokens"] = input,
        ["completion_tokens"] = output,
        ["total_tokens"] = input + output,
    };
}
