using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentCloud.Api.Features.A2A.Protocol;
using AgentCloud.Api.Features.Doors;
using AgentCloud.Api.Features.Messages.Events;
using AgentCloud.Api.Infrastructure;
using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.Quotas;
using FastEndpoints;
using Microsoft.AspNetCore.Authentication;

namespace AgentCloud.Api.Features.A2A.Rest;

/// <summary>The caller and agent of one HTTP+JSON request, once both are checked.</summary>
public sealed record RestCall(int UserId, DoorAgent Agent, string BaseUrl);

/// <summary>
/// One route of A2A's HTTP+JSON binding (specification section 11) below /a2a/{agent_id}, the URL the card names for it. The
/// route only turns its path, query and body into the method's request and calls <see cref="A2AService"/>, as the JSON-RPC
/// endpoint does. What every route shares is here: the bearer token (authenticated by hand, so a 401 has the binding's
/// shape too), A2A-Version, the agent, the method's scope, and the errors as google.rpc.Status
/// (<c>{"error": {code, status, message, details}}</c>, with an ErrorInfo naming the A2A error).
/// </summary>
public abstract class RestEndpoint(A2AService a2a, Conversations conversations) : EndpointWithoutRequest
{
    public const string ContentType = "application/a2a+json";

    protected A2AService A2A { get; } = a2a;

    /// <summary>The A2A method the route is (its scope is checked before the route runs).</summary>
    protected abstract string Method { get; }

    protected abstract Task ServeAsync(RestCall call, CancellationToken ct);

    /// <summary>Declares the route, relative to /a2a/{agent_id}, with every status the binding answers.</summary>
    protected void Binding(Http verb, string path, string summary, int success = StatusCodes.Status200OK)
    {
        Verbs(verb);
        Routes($"/a2a/{{agent_id}}{path}");
        AllowAnonymous(); // authenticated in HandleAsync, so that a 401 is in the binding's error shape
        Summary(s =>
        {
            s.Summary = $"A2A HTTP+JSON: {summary}";
            s.Description = $"The {Method} method of A2A 1.0's HTTP+JSON binding for one of the caller's agents. Errors are " +
                "google.rpc.Status objects ({\"error\": {code, status, message, details}}) with a google.rpc.ErrorInfo naming the " +
                "A2A error.";
            s.Responses[success] = success == StatusCodes.Status204NoContent
                ? "Done."
                : "The method's answer (application/a2a+json), or an event stream.";
            s.Responses[400] = "Bad input, an unsupported A2A-Version, or an operation the task's state does not allow " +
                "(INVALID_ARGUMENT, FAILED_PRECONDITION).";
            s.Responses[401] = "No valid bearer token (UNAUTHENTICATED).";
            s.Responses[403] = "The API key lacks the method's scope, or a standing quota is reached " +
                "(PERMISSION_DENIED, RESOURCE_EXHAUSTED).";
            s.Responses[404] = "No such agent of the caller, or no such task (NOT_FOUND).";
            s.Responses[429] = "A quota is reached, or (streams) the caller holds as many event streams as it may: see Retry-After " +
                "(RESOURCE_EXHAUSTED).";
        });
    }

    public sealed override async Task HandleAsync(CancellationToken ct)
    {
        try
        {
            var authentication = await HttpContext.AuthenticateAsync();
            if (!authentication.Succeeded || authentication.Principal.FindFirst("sub")?.Value is not { } subject
                || !int.TryParse(subject, NumberStyles.None, CultureInfo.InvariantCulture, out var userId))
            {
                HttpContext.Response.Headers.WWWAuthenticate = "Bearer";
                await WriteErrorAsync(StatusCodes.Status401Unauthorized, "UNAUTHENTICATED",
                    "Send an AgentCloud access token or API key as the bearer token.", null, ct);
                return;
            }

            HttpContext.User = authentication.Principal;
            A2AVersions.Check(HttpContext.Request.Headers[A2AVersions.Header], ProtocolBindings.HttpJson);
            var named = Route<string>("agent_id", isRequired: false);
            var agent = int.TryParse(named, NumberStyles.None, CultureInfo.InvariantCulture, out var agentId) && User.MayUseAgent(agentId)
                    ? await conversations.AgentAsync(userId, agentId, ct)
                    : null;
            if (agent is null)
            {
                await WriteErrorAsync(StatusCodes.Status404NotFound, "NOT_FOUND", "Agent not found.", null, ct);
                return;
            }

            var scope = A2AMethods.Scope(Method);
            if (!User.HasScope(scope))
            {
                throw JsonRpcException.Info(JsonRpcErrorCodes.Forbidden, $"This API key lacks the scope '{scope}'", "PERMISSION_DENIED",
                    new JsonObject { ["scope"] = scope, ["method"] = Method });
            }

            await ServeAsync(new RestCall(userId, agent, JsonRpc.Endpoint.BaseUrl(HttpContext)), ct);
        }
        catch (JsonRpcException error) when (!HttpContext.Response.HasStarted)
        {
            var (status, name) = StatusOf(error.Code);
            await WriteErrorAsync(status, name, error.Message, error.Details, ct);
        }
        catch (QuotaExceededException quota) when (!HttpContext.Response.HasStarted)
        {
            if (quota.RetryAfter is { } retry)
            {
                HttpContext.Response.Headers.RetryAfter = Math.Ceiling(retry.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            }

            var metadata = new JsonObject { ["quota"] = quota.Quota, ["limit"] = quota.Limit.ToString(CultureInfo.InvariantCulture) };
            await WriteErrorAsync(quota.Status, "RESOURCE_EXHAUSTED", quota.Message,
                JsonRpcException.Info(JsonRpcErrorCodes.QuotaExceeded, quota.Message, "RESOURCE_EXHAUSTED", metadata).Details, ct);
        }
    }

    /// <summary>Calls the method and answers its result; <paramref name="status"/> 204 answers nothing.</summary>
    protected async Task CallAsync(RestCall call, JsonObject parameters, CancellationToken ct, int status = StatusCodes.Status200OK)
    {
        var result = await A2A.CallAsync(User, call.Agent, call.BaseUrl, Method, parameters, ct);
        HttpContext.Response.StatusCode = status;
        if (status != StatusCodes.Status204NoContent)
        {
            await Send.StringAsync(result?.ToJsonString() ?? "{}", status, ContentType, ct);
        }
    }

    /// <summary>SendStreamingMessage and SubscribeToTask: checks answer plain errors, then the events as SSE of StreamResponses.</summary>
    protected async Task StreamAsync(RestCall call, JsonObject parameters, CancellationToken ct)
    {
        // Held before the message is stored: a refused stream (429 RESOURCE_EXHAUSTED) stores nothing.
        using var slot = Resolve<HeldStreams>().Hold(call.UserId);
        var message = await A2A.StartStreamAsync(User, call.Agent.Id, Method, parameters, ct);
        await ServerSentEvents.StartAsync(HttpContext, ct);
        try
        {
            await foreach (var item in A2A.StreamAsync(message, ServerSentEvents.TokenExpiry(User), ct))
            {
                if (item is JsonObject { Count: 0 })
                {
                    await ServerSentEvents.WriteKeepAliveAsync(HttpContext.Response, ct);
                    continue;
                }

                await ServerSentEvents.WriteAsync(HttpContext.Response, null, null, item.ToJsonString(), ct);
            }
        }
        catch (Exception exception) when (ct.IsCancellationRequested && exception is OperationCanceledException or IOException)
        {
            // The client went away.
        }
    }

    /// <summary>The request body as an object; no body is an empty one.</summary>
    protected async Task<JsonObject> BodyAsync(CancellationToken ct)
    {
        using var reader = new StreamReader(HttpContext.Request.Body);
        var text = await reader.ReadToEndAsync(ct);
        if (string.IsNullOrWhiteSpace(text))
        {
            return [];
        }

        try
        {
            return DoorJson.Parse(text) as JsonObject ?? throw new JsonException();
        }
        catch (JsonException)
        {
            throw JsonRpcException.InvalidParams("body", "The body must be a JSON object.");
        }
    }

    /// <summary>The task id of the route; the route's value wins over one in the body.</summary>
    protected string TaskId() => Route<string>("task_id", isRequired: false) ?? "";

    /// <summary>Query parameters (section 11.5: camelCase names, numbers and booleans as text) as the method's typed members.</summary>
    protected JsonObject Query(params (string Name, Type Kind)[] members)
    {
        var parameters = new JsonObject();
        foreach (var (name, kind) in members)
        {
            if (HttpContext.Request.Query[name] is not { Count: > 0 } values || values[^1] is not { } value)
            {
                continue;
            }

            parameters[name] = kind == typeof(int)
                ? int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) ? number
                    : throw JsonRpcException.InvalidParams(name, $"{name} must be a whole number.")
                : kind == typeof(bool)
                    ? value is "true" or "false" ? value == "true"
                        : throw JsonRpcException.InvalidParams(name, $"{name} must be true or false.")
                    : value;
        }

        return parameters;
    }

    /// <summary>The HTTP status and google.rpc.Code name of an A2A error (specification section 5.4).</summary>
    public static (int Status, string Name) StatusOf(int code) => code switch
    {
        JsonRpcErrorCodes.TaskNotFound or JsonRpcErrorCodes.MethodNotFound => (StatusCodes.Status404NotFound, "NOT_FOUND"),
        JsonRpcErrorCodes.TaskNotCancelable or JsonRpcErrorCodes.PushNotificationNotSupported or JsonRpcErrorCodes.UnsupportedOperation
            or JsonRpcErrorCodes.ExtendedAgentCardNotConfigured or JsonRpcErrorCodes.ExtensionSupportRequired
            or JsonRpcErrorCodes.VersionNotSupported => (StatusCodes.Status400BadRequest, "FAILED_PRECONDITION"),
        JsonRpcErrorCodes.Forbidden => (StatusCodes.Status403Forbidden, "PERMISSION_DENIED"),
        JsonRpcErrorCodes.QuotaExceeded => (StatusCodes.Status429TooManyRequests, "RESOURCE_EXHAUSTED"),
        JsonRpcErrorCodes.InternalError or JsonRpcErrorCodes.InvalidAgentResponse => (StatusCodes.Status500InternalServerError, "INTERNAL"),
        _ => (StatusCodes.Status400BadRequest, "INVALID_ARGUMENT"), // parse errors, invalid params, content types
    };

    private Task WriteErrorAsync(int status, string name, string message, JsonNode? details, CancellationToken ct)
    {
        var body = new JsonObject
        {
            ["error"] = new JsonObject
            {
                ["code"] = status,
                ["status"] = name,
                ["message"] = message,
                ["details"] = details?.DeepClone() ?? new JsonArray(),
            },
        };
        return Send.StringAsync(body.ToJsonString(), status, ContentType, ct);
    }
}
