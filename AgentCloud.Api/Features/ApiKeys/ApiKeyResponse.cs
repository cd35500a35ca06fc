using AgentCloud.Api.Infrastructure;

namespace AgentCloud.Api.Features.ApiKeys;

/// <summary>A key as listed: its prefix, never the key nor its hash.</summary>
public sealed record ApiKeyResponse(int Id, string Name, string KeyPrefix, IReadOnlyList<string> Scopes, IReadOnlyList<int>? AgentIds,
    DateTime? ExpiresAt, DateTime CreatedAt)
{
    public static ApiKeyResponse From(ApiKeyRow row) =>
        new(row.Id, row.Name, row.KeyPrefix, row.Scopes, row.AgentIds, row.ExpiresAt.AsUtc(), row.CreatedAt.AsUtc());
}
