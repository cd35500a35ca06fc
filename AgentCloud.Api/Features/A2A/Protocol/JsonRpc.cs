using System.Text.Json.Nodes;

namespace AgentCloud.Api.Features.A2A.Protocol;

/// <summary>JSON-RPC 2.0 error codes, the standard ones and A2A's (specification sections 5.4 and 9.5).</summary>
public static class JsonRpcErrorCodes
{
    public const int ParseError = -32700;
    public const int InvalidRequest = -32600;
    public const int MethodNotFound = -32601;
    public const int InvalidParams = -32602;
    public const int InternalError = -32603;
    public const int TaskNotFound = -32001;
    public const int TaskNotCancelable = -32002;
    public const int PushNotificationNotSupported = -32003;
    public const int UnsupportedOperation = -32004;
    public const int ContentTypeNotSupported = -32005;
    public const int InvalidAgentResponse = -32006;
    public const int ExtendedAgentCardNotConfigured = -32007;
    public const int ExtensionSupportRequired = -32008;
    public const int VersionNotSupported = -32009;

    // Server errors of our own (JSON-RPC reserves -32000 to -32099 for the implementation).
    /// <summary>The credential (an API key) lacks the scope the method needs.</summary>
    public const int Forbidden = -32040;
    /// <summary>A quota of the caller stopped the call (nothing was stored); the data says which and when to retry.</summary>
    public const int QuotaExceeded = -32029;
}

/// <summary>The methods of the JSON-RPC binding (section 9.4), and the 0.3 names clients still send.</summary>
public static class A2AMethods
{
    public const string SendMessage = "SendMessage";
    public const string SendStreamingMessage = "SendStreamingMessage";
    public const string GetTask = "GetTask";
    public const string ListTasks = "ListTasks";
    public const string CancelTask = "CancelTask";
    public const string SubscribeToTask = "SubscribeToTask";
    public const string CreateTaskPushNotificationConfig = "CreateTaskPushNotificationConfig";
    public const string GetTaskPushNotificationConfig = "GetTaskPushNotificationConfig";
    public const string ListTaskPushNotificationConfigs = "ListTaskPushNotificationConfigs";
    public const string DeleteTaskPushNotificationConfig = "DeleteTaskPushNotificationConfig";
    public const string GetExtendedAgentCard = "GetExtendedAgentCard";

    private static readonly Dictionary<string, string> Legacy = new(StringComparer.Ordinal)
    {
        ["message/send"] = SendMessage,
        ["message/stream"] = SendStreamingMessage,
        ["tasks/get"] = GetTask,
        ["tasks/cancel"] = CancelTask,
        ["tasks/resubscribe"] = SubscribeToTask,
    };

    /// <summary>The 1.0 name of a method, whichever name the client used.</summary>
    public static string Canonical(string method) => Legacy.GetValueOrDefault(method, method);

    public static bool IsKnown(string method) =>
        method is SendMessage or SendStreamingMessage or GetTask or ListTasks or CancelTask or SubscribeToTask
            or CreateTaskPushNotificationConfig or GetTaskPushNotificationConfig or ListTaskPushNotificationConfigs
            or DeleteTaskPushNotificationConfig or GetExtendedAgentCard;

    public static bool IsStreaming(string method) => method is SendStreamingMessage or SubscribeToTask;

    /// <summary>The API scope a method needs: sending, canceling or setting where a task is pushed is messages:send, reading
    /// agents:read.</summary>
    public static string Scope(string method) => method is SendMessage or SendStreamingMessage or CancelTask
            or CreateTaskPushNotificationConfig or DeleteTaskPushNotificationConfig
        ? Infrastructure.ApiScopes.MessagesSend
        : Infrastructure.ApiScopes.AgentsRead;
}

/// <summary>A JSON-RPC error that ends a call; <see cref="Data"/> follows the A2A error detail shape.</summary>
public sealed class JsonRpcException(int code, string message, JsonNode? data = null) : Exception(message)
{
    public int Code { get; } = code;
    public JsonNode? Details { get; } = data;

    public static JsonRpcException InvalidParams(string field, string description) => new(JsonRpcErrorCodes.InvalidParams,
        "Invalid parameters", new JsonArray(new JsonObject
        {
            ["@type"] = "type.googleapis.com/google.rpc.BadRequest",
            ["fieldViolations"] = new JsonArray(new JsonObject { ["field"] = field, ["description"] = description }),
        }));

    public static JsonRpcException Info(int code, string message, string reason, JsonObject? metadata = null) => new(code, message,
        new JsonArray(new JsonObject
        {
            ["@type"] = "type.googleapis.com/google.rpc.ErrorInfo",
            ["reason"] = reason,
            ["domain"] = "a2a-protocol.org",
            ["metadata"] = metadata ?? [],
        }));
}

public static class JsonRpcMessages
{
    public static JsonObject Result(JsonNode? id, JsonNode? result) => new()
    {
        ["jsonrpc"] = "2.0",
        ["id"] = id?.DeepClone(),
        ["result"] = result,
    };

    public static JsonObject Error(JsonNode? id, int code, string message, JsonNode? data = null)
    {
        var error = new JsonObject { ["code"] = code, ["message"] = message };
        if (data is not null)
        {
            error["data"] = data.DeepClone();
        }

        return new JsonObject { ["jsonrpc"] = "2.0", ["id"] = id?.DeepClone(), ["error"] = error };
    }
}
