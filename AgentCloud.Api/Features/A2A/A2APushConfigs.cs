using System.Globalization;
using System.Text.Json.Nodes;
using AgentCloud.Api.Features.A2A.Protocol;
using AgentCloud.Api.Features.Callbacks;
using AgentCloud.Shared.UAgents;

namespace AgentCloud.Api.Features.A2A;

/// <summary>
/// The A2A 1.0 push notification methods over <see cref="PushConfigStore"/>, for any binding (JSON-RPC here; REST routes call the
/// same): a config names where a task's state changes are POSTed (the callback outbox sends them, retried, under the outbound
/// destination rules). Its token and credentials are write-only: they are sent with each push, never shown back.
/// </summary>
public sealed class A2APushConfigs(PushConfigStore store, OutboundDestinationPolicy destinations)
{
    private const int DefaultPageSize = 50;
    private const int MaxPageSize = 100;
    private const int MaxIdLength = 200;
    private const int MaxTokenLength = 1000;
    private const int MaxCredentialsLength = 4000;

    public async Task<TaskPushNotificationConfig> CreateAsync(int agentId, TaskPushNotificationConfig config,
        CancellationToken cancellationToken)
    {
        var taskId = TaskId(config.TaskId, "taskId");
        return await SaveAsync(agentId, taskId, await ValidAsync(config, "", cancellationToken), cancellationToken);
    }

    /// <summary>A config that came inside SendMessage's configuration: checked before the message is sent.</summary>
    public async Task<TaskPushNotificationConfig> ValidAsync(TaskPushNotificationConfig config, string fieldPrefix,
        CancellationToken cancellationToken)
    {
        if (config.Id is { Length: > MaxIdLength } || config.Id is { } id && id.Any(char.IsControl))
        {
            throw JsonRpcException.InvalidParams($"{fieldPrefix}id",
                $"id must be at most {MaxIdLength} characters, none of them control characters.");
        }

        if (await CallbackUrls.ProblemAsync(config.Url, destinations, cancellationToken) is { } problem)
        {
            throw JsonRpcException.InvalidParams($"{fieldPrefix}url", problem);
        }

        if (config.Token is { } token && (token.Length > MaxTokenLength || !IsHeaderValue(token)))
        {
            throw JsonRpcException.InvalidParams($"{fieldPrefix}token",
                $"token must be at most {MaxTokenLength} printable ASCII characters.");
        }

        if (config.Authentication is { } authentication)
        {
            if (string.IsNullOrEmpty(authentication.Scheme) || authentication.Scheme.Length > 100
                || !authentication.Scheme.All(IsTokenChar))
            {
                throw JsonRpcException.InvalidParams($"{fieldPrefix}authentication.scheme",
                    "scheme must be an HTTP authentication scheme such as Bearer.");
            }

            if (authentication.Credentials is { } credentials && (credentials.Length > MaxCredentialsLength || !IsHeaderValue(credentials)))
            {
                throw JsonRpcException.InvalidParams($"{fieldPrefix}authentication.credentials",
                    $"credentials must be at most {MaxCredentialsLength} printable ASCII characters.");
            }
        }

        return config;
    }

    /// <summary>Saves an already checked config on a task (SendMessage's, once its task exists).</summary>
    public async Task<TaskPushNotificationConfig> SaveAsync(int agentId, Guid taskId, TaskPushNotificationConfig config,
        CancellationToken cancellationToken)
    {
        var id = string.IsNullOrEmpty(config.Id) ? Guid.NewGuid().ToString("D") : config.Id;
        var (outcome, row) = await store.SaveAsync(agentId, taskId, id, config.Url!, NullIfEmpty(config.Token),
            NullIfEmpty(config.Authentication?.Scheme), NullIfEmpty(config.Authentication?.Credentials), cancellationToken);
        return outcome switch
        {
            PushConfigStore.Outcome.Saved => Shown(row!),
            PushConfigStore.Outcome.Full => throw JsonRpcException.InvalidParams("id",
                $"A task may have at most {PushConfigStore.MaxPerTask.ToString(CultureInfo.InvariantCulture)} push notification configs."),
            _ => throw TaskNotFound(taskId.ToString("D")),
        };
    }

    public async Task<TaskPushNotificationConfig> GetAsync(int agentId, GetTaskPushNotificationConfigRequest request,
        CancellationToken cancellationToken)
    {
        var taskId = TaskId(request.TaskId, "taskId");
        var id = string.IsNullOrEmpty(request.Id) ? throw JsonRpcException.InvalidParams("id", "A config id is required.") : request.Id;
        if (await store.GetAsync(agentId, taskId, id, cancellationToken) is { } row)
        {
            return Shown(row);
        }

        throw await store.TaskExistsAsync(agentId, taskId, cancellationToken)
            ? JsonRpcException.InvalidParams("id", "The task has no push notification config with this id.")
            : TaskNotFound(request.TaskId!);
    }

    public async Task<ListTaskPushNotificationConfigsResponse> ListAsync(int agentId, ListTaskPushNotificationConfigsRequest request,
        CancellationToken cancellationToken)
    {
        var taskId = TaskId(request.TaskId, "taskId");
        var pageSize = request.PageSize is null or 0 ? DefaultPageSize : request.PageSize.Value;
        if (pageSize is < 1 or > MaxPageSize)
        {
            throw JsonRpcException.InvalidParams("pageSize", $"pageSize must be from 1 to {MaxPageSize}.");
        }

        if (!await store.TaskExistsAsync(agentId, taskId, cancellationToken))
        {
            throw TaskNotFound(request.TaskId!);
        }

        var rows = await store.ListAsync(agentId, taskId, NullIfEmpty(request.PageToken), pageSize + 1, cancellationToken);
        return new ListTaskPushNotificationConfigsResponse
        {
            Configs = [.. rows.Take(pageSize).Select(Shown)],
            NextPageToken = rows.Count > pageSize ? rows[pageSize - 1].Id : "",
        };
    }

    /// <summary>Deletes the config; deleting one that is not there (again) is not an error, as long as the task is the agent's.</summary>
    public async Task DeleteAsync(int agentId, DeleteTaskPushNotificationConfigRequest request, CancellationToken cancellationToken)
    {
        var taskId = TaskId(request.TaskId, "taskId");
        var id = string.IsNullOrEmpty(request.Id) ? throw JsonRpcException.InvalidParams("id", "A config id is required.") : request.Id;
        if (!await store.DeleteAsync(agentId, taskId, id, cancellationToken)
            && !await store.TaskExistsAsync(agentId, taskId, cancellationToken))
        {
            throw TaskNotFound(request.TaskId!);
        }
    }

    private static TaskPushNotificationConfig Shown(PushConfigRow row) => new()
    {
        Id = row.Id,
        TaskId = row.MessageId.ToString("D"),
        Url = row.Url,
        Authentication = row.AuthScheme is { } scheme ? new AuthenticationInfo { Scheme = scheme } : null,
    };

    private static Guid TaskId(string? id, string field)
    {
        if (string.IsNullOrEmpty(id))
        {
            throw JsonRpcException.InvalidParams(field, "A task id is required.");
        }

        return Guid.TryParse(id, out var value) ? value : throw TaskNotFound(id);
    }

    private static JsonRpcException TaskNotFound(string id) =>
        JsonRpcException.Info(JsonRpcErrorCodes.TaskNotFound, "Task not found", "TASK_NOT_FOUND", new JsonObject { ["taskId"] = id });

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    // What may travel in a header value as is: printable ASCII, so no CR or LF can start a header of its own.
    private static bool IsHeaderValue(string value) => value.All(c => c is >= ' ' and <= '~');

    private static bool IsTokenChar(char c) => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c);
}
