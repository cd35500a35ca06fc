namespace AgentCloud.Api.Features.A2A.Protocol;

// The push notification objects of A2A 1.0 (specification/a2a.proto: TaskPushNotificationConfig, AuthenticationInfo and the
// requests of the four *TaskPushNotificationConfig* methods), in their JSON form.

public sealed record AuthenticationInfo
{
    /// <summary>An HTTP authentication scheme (Bearer, Basic, …): the push is sent with <c>Authorization: {scheme}
    /// {credentials}</c>.</summary>
    public string? Scheme { get; init; }
    public string? Credentials { get; init; }
}

public sealed record TaskPushNotificationConfig
{
    public string? Tenant { get; init; }
    public string? Id { get; init; }
    public string? TaskId { get; init; }
    public string? Url { get; init; }
    public string? Token { get; init; }
    public AuthenticationInfo? Authentication { get; init; }
}

public sealed record GetTaskPushNotificationConfigRequest
{
    public string? Tenant { get; init; }
    public string? TaskId { get; init; }
    public string? Id { get; init; }
}

public sealed record DeleteTaskPushNotificationConfigRequest
{
    public string? Tenant { get; init; }
    public string? TaskId { get; init; }
    public string? Id { get; init; }
}

public sealed record ListTaskPushNotificationConfigsRequest
{
    public string? Tenant { get; init; }
    public string? TaskId { get; init; }
    public int? PageSize { get; init; }
    public string? PageToken { get; init; }
}

public sealed record ListTaskPushNotificationConfigsResponse
{
    public IReadOnlyList<TaskPushNotificationConfig> Configs { get; init; } = [];
    public string NextPageToken { get; init; } = "";
}
