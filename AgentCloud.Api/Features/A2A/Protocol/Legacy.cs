using System.Text.Json.Nodes;

namespace AgentCloud.Api.Features.A2A.Protocol;

/// <summary>
/// The A2A 0.3 wire shapes, for clients that call the 0.3 method names: objects carry a <c>kind</c>
/// ("task", "message", "status-update", "artifact-update"; parts "text", "data", "file"), states and roles
/// are lower case ("completed", "input-required"; "user", "agent"), SendMessage answers with the task
/// itself rather than <c>{"task": …}</c>, and a status update says whether it is <c>final</c>.
/// </summary>
public static class Legacy
{
    public static bool IsLegacyName(string method) => method.Contains('/', StringComparison.Ordinal);

    /// <summary>0.3 <c>configuration.blocking: false</c> is 1.0's <c>returnImmediately: true</c>.</summary>
    public static JsonObject Parameters(JsonObject parameters)
    {
        if (parameters["configuration"] is JsonObject configuration && configuration["blocking"] is JsonValue blocking
            && blocking.TryGetValue<bool>(out var value))
        {
            var copy = parameters.DeepClone().AsObject();
            var settings = copy["configuration"]!.AsObject();
            settings.Remove("blocking");
            settings["returnImmediately"] = !value;
            return copy;
        }

        return parameters;
    }

    /// <summary>A method's 1.0 result in its 0.3 shape.</summary>
    public static JsonNode? Result(string method, JsonNode? result) => result switch
    {
        JsonObject answer when method == A2AMethods.SendMessage =>
            answer["task"] is JsonObject task ? Task(task) : answer["message"] is JsonObject message ? Message(message) : answer,
        JsonObject task when method is A2AMethods.GetTask or A2AMethods.CancelTask => Task(task),
        JsonObject list when method == A2AMethods.ListTasks && list["tasks"] is JsonArray tasks =>
            new JsonObject { ["tasks"] = new JsonArray([.. tasks.Select(t => (JsonNode)Task(t!.AsObject()))]),
                ["nextPageToken"] = list["nextPageToken"]?.DeepClone(), ["pageSize"] = list["pageSize"]?.DeepClone(),
                ["totalSize"] = list["totalSize"]?.DeepClone() },
        _ => result,
    };

    /// <summary>One 1.0 StreamResponse as the 0.3 event it stands for.</summary>
    public static JsonNode StreamEvent(JsonNode response)
    {
        var answer = response.AsObject();
        if (answer["task"] is JsonObject task)
        {
            return Task(task);
        }

        if (answer["message"] is JsonObject message)
        {
            return Message(message);
        }

        if (answer["statusUpdate"] is JsonObject status)
        {
            var update = status.DeepClone().AsObject();
            update["kind"] = "status-update";
            var state = update["status"]?["state"]?.GetValue<string>() ?? "";
            update["final"] = TaskStates.IsTerminal(state) || state is TaskStates.InputRequired or TaskStates.AuthRequired;
            Status(update["status"]);
            return update;
        }

        if (answer["artifactUpdate"] is JsonObject artifact)
        {
            var update = artifact.DeepClone().AsObject();
            update["kind"] = "artifact-update";
            Parts(update["artifact"]?["parts"]);
            return update;
        }

        return response;
    }

    private static JsonObject Task(JsonObject task)
    {
        var copy = task.DeepClone().AsObject();
        copy["kind"] = "task";
        Status(copy["status"]);
        foreach (var message in copy["history"]?.AsArray() ?? [])
        {
            InPlace(message!.AsObject());
        }

        foreach (var artifact in copy["artifacts"]?.AsArray() ?? [])
        {
            Parts(artifact!["parts"]);
        }

        return copy;
    }

    private static JsonObject Message(JsonObject message)
    {
        var copy = message.DeepClone().AsObject();
        InPlace(copy);
        return copy;
    }

    private static void InPlace(JsonObject message)
    {
        message["kind"] = "message";
        message["role"] = message["role"]?.GetValue<string>() switch
        {
            Roles.User => "user",
            Roles.Agent => "agent",
            var other => other,
        };
        Parts(message["parts"]);
    }

    private static void Status(JsonNode? status)
    {
        if (status is not JsonObject value)
        {
            return;
        }

        if (value["state"]?.GetValue<string>() is { } state && state.StartsWith("TASK_STATE_", StringComparison.Ordinal))
        {
            value["state"] = state["TASK_STATE_".Length..].ToLowerInvariant().Replace('_', '-');
        }

        if (value["message"] is JsonObject message)
        {
            InPlace(message);
        }
    }

    private static void Parts(JsonNode? parts)
    {
        foreach (var part in parts?.AsArray() ?? [])
        {
            if (part is not JsonObject value)
            {
                continue;
            }

            value["kind"] = value.ContainsKey("text") ? "text" : value.ContainsKey("data") ? "data" : "file";
        }
    }
}
