using System.Text.Json.Nodes;
using AgentCloud.Api.Features.A2A.Protocol;
using AgentCloud.Api.Features.Doors;
using FastEndpoints;

namespace AgentCloud.Api.Features.A2A.Rest;

// The routes of A2A 1.0's HTTP+JSON binding (specification section 11.3), each the same A2AService method the JSON-RPC
// endpoint calls. They are one file: each is its path and how its request is built, everything else is RestEndpoint.

public sealed class SendMessage(A2AService a2a, Conversations conversations) : RestEndpoint(a2a, conversations)
{
    protected override string Method => A2AMethods.SendMessage;

    public override void Configure() => Binding(Http.POST, "/message:send", "send a message (waits up to 30 s for the answer)");

    protected override async Task ServeAsync(RestCall call, CancellationToken ct) => await CallAsync(call, await BodyAsync(ct), ct);
}

public sealed class SendStreamingMessage(A2AService a2a, Conversations conversations) : RestEndpoint(a2a, conversations)
{
    protected override string Method => A2AMethods.SendStreamingMessage;

    public override void Configure() => Binding(Http.POST, "/message:stream", "send a message and stream the task's events (SSE)");

    protected override async Task ServeAsync(RestCall call, CancellationToken ct) => await StreamAsync(call, await BodyAsync(ct), ct);
}

public sealed class GetTask(A2AService a2a, Conversations conversations) : RestEndpoint(a2a, conversations)
{
    protected override string Method => A2AMethods.GetTask;

    public override void Configure() => Binding(Http.GET, "/tasks/{task_id}", "a task");

    protected override Task ServeAsync(RestCall call, CancellationToken ct)
    {
        var parameters = Query(("historyLength", typeof(int)));
        parameters["id"] = TaskId();
        return CallAsync(call, parameters, ct);
    }
}

public sealed class ListTasks(A2AService a2a, Conversations conversations) : RestEndpoint(a2a, conversations)
{
    protected override string Method => A2AMethods.ListTasks;

    public override void Configure() => Binding(Http.GET, "/tasks", "the agent's tasks, newest first");

    protected override Task ServeAsync(RestCall call, CancellationToken ct)
    {
        var parameters = Query(("contextId", typeof(string)), ("status", typeof(string)), ("pageSize", typeof(int)),
            ("pageToken", typeof(string)), ("historyLength", typeof(int)), ("statusTimestampAfter", typeof(string)),
            ("includeArtifacts", typeof(bool)));
        // Section 11.5 writes an enum in a query as its value ("working"); clients also send the proto name (TASK_STATE_WORKING).
        if (parameters["status"]?.GetValue<string>() is { Length: > 0 } status
            && !status.StartsWith("TASK_STATE_", StringComparison.Ordinal))
        {
            parameters["status"] = "TASK_STATE_" + status.ToUpperInvariant().Replace('-', '_');
        }

        return CallAsync(call, parameters, ct);
    }
}

public sealed class CancelTask(A2AService a2a, Conversations conversations) : RestEndpoint(a2a, conversations)
{
    protected override string Method => A2AMethods.CancelTask;

    public override void Configure() => Binding(Http.POST, "/tasks/{task_id}:cancel", "cancel a task that has not finished");

    protected override async Task ServeAsync(RestCall call, CancellationToken ct)
    {
        var parameters = await BodyAsync(ct);
        parameters["id"] = TaskId();
        await CallAsync(call, parameters, ct);
    }
}

public sealed class SubscribeToTask(A2AService a2a, Conversations conversations) : RestEndpoint(a2a, conversations)
{
    protected override string Method => A2AMethods.SubscribeToTask;

    public override void Configure() => Binding(Http.POST, "/tasks/{task_id}:subscribe", "follow a task that has not finished (SSE)");

    protected override Task ServeAsync(RestCall call, CancellationToken ct) => StreamAsync(call, new JsonObject { ["id"] = TaskId() }, ct);
}

public sealed class CreateTaskPushNotificationConfig(A2AService a2a, Conversations conversations) : RestEndpoint(a2a, conversations)
{
    protected override string Method => A2AMethods.CreateTaskPushNotificationConfig;

    public override void Configure() =>
        Binding(Http.POST, "/tasks/{task_id}/pushNotificationConfigs", "set where a task's state changes are POSTed",
            StatusCodes.Status201Created);

    protected override async Task ServeAsync(RestCall call, CancellationToken ct)
    {
        var parameters = await BodyAsync(ct);
        parameters["taskId"] = TaskId();
        await CallAsync(call, parameters, ct, StatusCodes.Status201Created);
    }
}

public sealed class ListTaskPushNotificationConfigs(A2AService a2a, Conversations conversations) : RestEndpoint(a2a, conversations)
{
    protected override string Method => A2AMethods.ListTaskPushNotificationConfigs;

    public override void Configure() => Binding(Http.GET, "/tasks/{task_id}/pushNotificationConfigs", "a task's push notification configs");

    protected override Task ServeAsync(RestCall call, CancellationToken ct)
    {
        var parameters = Query(("pageSize", typeof(int)), ("pageToken", typeof(string)));
        parameters["taskId"] = TaskId();
        return CallAsync(call, parameters, ct);
    }
}

public sealed class GetTaskPushNotificationConfig(A2AService a2a, Conversations conversations) : RestEndpoint(a2a, conversations)
{
    protected override string Method => A2AMethods.GetTaskPushNotificationConfig;

    public override void Configure() =>
        Binding(Http.GET, "/tasks/{task_id}/pushNotificationConfigs/{config_id}", "one push notification config");

    protected override Task ServeAsync(RestCall call, CancellationToken ct) =>
        CallAsync(call, new JsonObject { ["taskId"] = TaskId(), ["id"] = Route<string>("config_id", isRequired: false) }, ct);
}

public sealed class DeleteTaskPushNotificationConfig(A2AService a2a, Conversations conversations) : RestEndpoint(a2a, conversations)
{
    protected override string Method => A2AMethods.DeleteTaskPushNotificationConfig;

    public override void Configure() =>
        Binding(Http.DELETE, "/tasks/{task_id}/pushNotificationConfigs/{config_id}", "delete a push notification config",
            StatusCodes.Status204NoContent);

    protected override Task ServeAsync(RestCall call, CancellationToken ct) =>
        CallAsync(call, new JsonObject { ["taskId"] = TaskId(), ["id"] = Route<string>("config_id", isRequired: false) }, ct,
            StatusCodes.Status204NoContent);
}

public sealed class GetExtendedAgentCard(A2AService a2a, Conversations conversations) : RestEndpoint(a2a, conversations)
{
    protected override string Method => A2AMethods.GetExtendedAgentCard;

    public override void Configure() => Binding(Http.GET, "/extendedAgentCard", "the agent card for its authenticated owner");

    protected override Task ServeAsync(RestCall call, CancellationToken ct) => CallAsync(call, [], ct);
}
