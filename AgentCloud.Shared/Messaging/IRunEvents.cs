using System.Text.Json.Nodes;

namespace AgentCloud.Shared.Messaging;

/// <summary>
/// Where a running message reports what it produces before it ends (model steps, text deltas, tool
/// calls and results), for the doors that stream them. Types: <see cref="Llm.RunEventTypes"/>.
/// </summary>
public interface IRunEvents
{
    ValueTask PublishAsync(Guid messageId, string type, JsonNode data, CancellationToken cancellationToken);
}
