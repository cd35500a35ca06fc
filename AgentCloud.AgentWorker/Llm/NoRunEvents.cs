using System.Text.Json.Nodes;
using AgentCloud.Shared.Messaging;

namespace AgentCloud.AgentWorker.Llm;

/// <summary>Until a streaming door registers its own, what a run produces is only stored, not published.</summary>
public sealed class NoRunEvents : IRunEvents
{
    public ValueTask PublishAsync(Guid messageId, string type, JsonNode data, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
