using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentCloud.Api.Features.A2A.Protocol;
using AgentCloud.Shared.Messaging;

namespace AgentCloud.Api.Features.A2A;

/// <summary>
/// What an A2A push notification says (A2A 1.0, as the reference SDKs send it): a <c>StreamResponse</c> holding the task
/// as it was when its state changed, with <c>X-A2A-Notification-Token</c> carrying the config's token and
/// <c>Authorization</c> its authentication, if any.
/// </summary>
public static class PushNotifications
{
    public const string TokenHeader = "X-A2A-Notification-Token";
    public const string ContentType = "application/a2a+json";

    /// <summary>The body for a delivery's <paramref name="dataJson"/> (the message as <c>callbacks_message_data</c> saw it).</summary>
    public static string Body(string dataJson)
    {
        var data = JsonNode.Parse(dataJson)!.AsObject();
        var row = new MessageRow
        {
            Id = Guid.Parse(data["id"]!.GetValue<string>()),
            AgentId = data["agent_id"]!.GetValue<int>(),
            Session = Guid.Parse(data["session"]!.GetValue<string>()),
            Status = data["status"]!.GetValue<string>(),
            Reply = data["reply"]?.ToJsonString(),
            Error = data["error"]?.GetValue<string>(),
            UpdatedAt = DateTime.Parse(data["updated_at"]!.GetValue<string>(), CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal),
        };
        return JsonSerializer.Serialize(new StreamResponse { Task = Tasks.From(row, historyLength: 0) }, A2AJson.Options);
    }
}
