using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentCloud.Api.Features.A2A.Protocol;
using AgentCloud.Api.Features.Doors;
using AgentCloud.Api.Features.Messages.Events;
using AgentCloud.Shared.Quotas;
using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.A2A.JsonRpc;

/// <summary>
/// JSON-RPC 2.0 at /a2a/{agent_id}: one request, a batch (answered as an array; notifications get no
/// answer), or a streaming method (server-sent events of JSON-RPC responses). Every failure is a
/// JSON-RPC error in a 200 answer, never a 500; only an agent the caller may not talk to is an HTTP 404.
/// </summary>
public sealed class Endpoint(A2AService a2a, Conversations conversations, HeldStreams streams, ILogger<Endpoint> logger)
    : EndpointWithoutRequest
{
    public override void Configure()
    {
        Post("/a2a/{agent_id}");
        Summary(s =>
        {
            s.Summary = "A2A 1.0 JSON-RPC endpoint of one of the caller's agents";
            s.Description = "Methods: SendMessage, SendStreamingMessage (SSE), GetTask, ListTasks, CancelTask, SubscribeToTask " +
                "(SSE), Create/Get/Delete TaskPushNotificationConfig, ListTaskPushNotificationConfigs, GetExtendedAgentCard, and the 0.3 " +
                "names message/send, message/stream, tasks/get, tasks/cancel, tasks/resubscribe. A task is a " +
                "message (task id = message id, contextId = session).";
            s.Responses[200] = "A JSON-RPC response (or an array of them), or an event stream.";
            s.Responses[204] = "A request or batch of notifications only: JSON-RPC answers nothing.";
            s.Responses[404] = "No such agent, or not the caller's.";
        });
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        var userId = User.UserId();
        var agent = int.TryParse(Route<string>("agent_id", isRequired: false), NumberStyles.None, CultureInfo.InvariantCulture,
            out var agentId)
            ? await conversations.AgentAsync(userId, agentId, ct)
            : null;
        if (agent is null)
        {
            await Send.ResultAsync(ProblemResponses.Problem(StatusCodes.Status404NotFound, "Agent not found."));
            return;
        }

        using var reader = new StreamReader(HttpContext.Request.Body);
        var body = await reader.ReadToEndAsync(ct);
        JsonNode? root;
        try
        {
            root = DoorJson.Parse(body);
        }
        catch (JsonException)
        {
            await WriteJsonAsync(JsonRpcMessages.Error(null, JsonRpcErrorCodes.ParseError, "Invalid JSON payload"), ct);
            return;
        }

        if (root is JsonArray batch)
        {
            if (batch.Count == 0)
            {
                await WriteJsonAsync(JsonRpcMessages.Error(null, JsonRpcErrorCodes.InvalidRequest, "Request payload validation error"), ct);
                return;
            }

            var answers = new JsonArray();
            foreach (var item in batch)
            {
                if (await CallAsync(agent, item, inBatch: true, ct) is { } answer)
                {
                    answers.Add(answer);
                }
            }

            await WriteAnswerAsync(answers.Count == 0 ? null : answers, ct);
            return;
        }

        if (Streaming(root) is { } call)
        {
            await StreamAsync(agent.Id, call.Id, call.Method, call.Parameters, call.Legacy, ct);
            return;
        }

        await WriteAnswerAsync(await CallAsync(agent, root, inBatch: false, ct), ct);
    }

    /// <summary>One request's answer; null for a notification (no id), which gets none.</summary>
    private async Task<JsonObject?> CallAsync(DoorAgent agent, JsonNode? node, bool inBatch, CancellationToken ct)
    {
        if (Validate(node) is { } invalid)
        {
            return invalid;
        }

        var request = node!.AsObject();
        var id = request["id"];
        var isNotification = !request.ContainsKey("id");
        var name = request["method"]!.GetValue<string>();
        var legacy = Legacy.IsLegacyName(name);
        var method = A2AMethods.Canonical(name);
        JsonObject answer;
        try
        {
            if (A2AMethods.IsStreaming(method))
            {
                throw JsonRpcException.Info(JsonRpcErrorCodes.UnsupportedOperation,
                    inBatch ? "Streaming methods cannot be part of a batch" : "Streaming methods cannot be notifications",
                    "UNSUPPORTED_OPERATION");
            }

            RequireScope(method);
            A2AVersions.Check(HttpContext.Request.Headers[A2AVersions.Header], ProtocolBindings.JsonRpc);
            var parameters = Parameters(request)!;
            var result = await a2a.CallAsync(User, agent, BaseUrl(HttpContext), method,
                legacy ? Legacy.Parameters(parameters) : parameters, ct);
            answer = JsonRpcMessages.Result(id, legacy ? Legacy.Result(method, result) : result);
        }
        catch (JsonRpcException error)
        {
            answer = JsonRpcMessages.Error(id, error.Code, error.Message, error.Details);
        }
        catch (QuotaExceededException quota)
        {
            answer = QuotaError(id, quota);
        }
        catch (Exception exception) when (!ct.IsCancellationRequested)
        {
            logger.LogError(exception, "A2A method {Method} failed", method);
            answer = JsonRpcMessages.Error(id, JsonRpcErrorCodes.InternalError, "Internal error");
        }

        return isNotification ? null : answer;
    }

    private async Task StreamAsync(int agentId, JsonNode? id, string method, JsonObject parameters, bool legacy, CancellationToken ct)
    {
        A2AService.Sent message;
        HeldStreams.Slot? slot = null;
        try
        {
            RequireScope(method);
            A2AVersions.Check(HttpContext.Request.Headers[A2AVersions.Header], ProtocolBindings.JsonRpc);
            // Held before the message is stored: a refused stream (a quota error) stores nothing.
            slot = streams.Hold(User.UserId());
            message = await a2a.StartStreamAsync(User, agentId, method, parameters, ct);
        }
        catch (JsonRpcException error)
        {
            slot?.Dispose();
            await WriteJsonAsync(JsonRpcMessages.Error(id, error.Code, error.Message, error.Details), ct);
            return;
        }
        catch (QuotaExceededException quota)
        {
            slot?.Dispose();
            await WriteJsonAsync(QuotaError(id, quota), ct);
            return;
        }

        using var held = slot;
        await ServerSentEvents.StartAsync(HttpContext, ct);
        try
        {
            await foreach (var result in a2a.StreamAsync(message, ServerSentEvents.TokenExpiry(User), ct))
            {
                if (result is JsonObject { Count: 0 })
                {
                    await ServerSentEvents.WriteKeepAliveAsync(HttpContext.Response, ct);
                    continue;
                }

                await ServerSentEvents.WriteAsync(HttpContext.Response, null, null,
                    JsonRpcMessages.Result(id, legacy ? Legacy.StreamEvent(result) : result).ToJsonString(), ct);
            }
        }
        catch (Exception exception) when (ct.IsCancellationRequested && exception is OperationCanceledException or IOException)
        {
            // The client went away.
        }
    }

    /// <summary>An API key without the method's scope gets a JSON-RPC error naming it (a login token holds every scope).</summary>
    private void RequireScope(string method)
    {
        var scope = A2AMethods.Scope(method);
        if (!User.HasScope(scope))
        {
            throw JsonRpcException.Info(JsonRpcErrorCodes.Forbidden, $"This API key lacks the scope '{scope}'", "PERMISSION_DENIED",
                new JsonObject { ["scope"] = scope, ["method"] = method });
        }
    }

    /// <summary>A quota as a JSON-RPC error: the A2A door answers in JSON-RPC, never with problem details.</summary>
    private static JsonObject QuotaError(JsonNode? id, QuotaExceededException quota)
    {
        var metadata = new JsonObject { ["quota"] = quota.Quota, ["limit"] = quota.Limit.ToString(CultureInfo.InvariantCulture) };
        if (quota.RetryAfter is { } retry)
        {
            metadata["retryAfterSeconds"] = Math.Ceiling(retry.TotalSeconds).ToString(CultureInfo.InvariantCulture);
        }

        var error = JsonRpcException.Info(JsonRpcErrorCodes.QuotaExceeded, quota.Message, "RESOURCE_EXHAUSTED", metadata);
        return JsonRpcMessages.Error(id, error.Code, error.Message, error.Details);
    }

    /// <summary>A valid request for a streaming method, or null (anything else goes the ordinary way, errors included).</summary>
    private static (JsonNode? Id, string Method, JsonObject Parameters, bool Legacy)? Streaming(JsonNode? node) =>
        Validate(node) is null && node!["id"] is var id && node.AsObject().ContainsKey("id")
            && node["method"]!.GetValue<string>() is var name && A2AMethods.Canonical(name) is var method && A2AMethods.IsStreaming(method)
            && Parameters(node.AsObject()) is { } parameters
            ? (id, method, parameters, Legacy.IsLegacyName(name))
            : null;

    /// <summary>The error answer for a malformed request object, or null when it is well formed.</summary>
    private static JsonObject? Validate(JsonNode? node)
    {
        if (node is not JsonObject request)
        {
            return JsonRpcMessages.Error(null, JsonRpcErrorCodes.InvalidRequest, "Request payload validation error");
        }

        var id = request["id"];
        var idValid = id is null || (id is JsonValue value && value.GetValueKind() is JsonValueKind.String or JsonValueKind.Number);
        var echoId = idValid ? id : null;
        if (!idValid || request["jsonrpc"] is not JsonValue version || version.GetValueKind() != JsonValueKind.String
            || version.GetValue<string>() != "2.0"
            || request["method"] is not JsonValue method || method.GetValueKind() != JsonValueKind.String
                || method.GetValue<string>().Length == 0)
        {
            return JsonRpcMessages.Error(echoId, JsonRpcErrorCodes.InvalidRequest, "Request payload validation error");
        }

        if (!A2AMethods.IsKnown(A2AMethods.Canonical(method.GetValue<string>())))
        {
            return JsonRpcMessages.Error(echoId, JsonRpcErrorCodes.MethodNotFound, "Method not found");
        }

        return Parameters(request) is null
            ? JsonRpcMessages.Error(echoId, JsonRpcErrorCodes.InvalidParams, "Invalid parameters",
                JsonRpcException.InvalidParams("params", "params must be an object.").Details)
            : null;
    }

    private static JsonObject? Parameters(JsonObject request) => request["params"] switch
    {
        null => [],
        JsonObject parameters => parameters,
        _ => null,
    };

    /// <summary>Scheme, host and path base of the request, as the card names the interfaces.</summary>
    public static string BaseUrl(HttpContext context) => $"{context.Request.Scheme}://{context.Request.Host}{context.Request.PathBase}";

    private Task WriteAnswerAsync(JsonNode? answer, CancellationToken ct)
    {
        if (answer is null)
        {
            HttpContext.Response.StatusCode = StatusCodes.Status204NoContent;
            return Task.CompletedTask;
        }

        return WriteJsonAsync(answer, ct);
    }

    private Task WriteJsonAsync(JsonNode answer, CancellationToken ct) =>
        Send.StringAsync(answer.ToJsonString(), contentType: "application/json", cancellation: ct);
}
