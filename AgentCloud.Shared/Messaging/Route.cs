using AgentCloud.Shared.UAgents;

namespace AgentCloud.Shared.Messaging;

/// <summary>
/// Where a message from an agent goes: into the inbox of an agent hosted here, or its sender's outbox. An outbound route no
/// endpoint source could ever resolve (<see cref="StaticEndpointMap.CanResolve"/>) is <see cref="Unreachable"/>.
/// </summary>
public readonly record struct Route(int AgentId, string Direction, bool Unreachable = false)
{
    public bool IsLocal => Direction == MessageDirection.Inbound;
}
