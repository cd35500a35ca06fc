using System.Text.Json;
using AgentCloud.Api.Infrastructure;

namespace AgentCloud.Api.Features.Agents;

/// <summary>An agent as the API shows it.</summary>
public sealed record AgentResponse(
    int Id, string Name, int? UserId, JsonElement Config, string? Address, DateTime? CreatedAt, DateTime? UpdatedAt)
{
    public static AgentResponse From(AgentRow row) => new(
        row.Id, row.Name, row.UserId, JsonDocument.Parse(row.Config).RootElement.Clone(), row.Address,
        row.CreatedAt.AsUtc(), row.UpdatedAt.AsUtc());
}
