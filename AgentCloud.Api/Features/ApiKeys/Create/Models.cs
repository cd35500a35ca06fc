using AgentCloud.Api.Infrastructure;
using FastEndpoints;
using FluentValidation;

namespace AgentCloud.Api.Features.ApiKeys.Create;

public sealed class Request
{
    public const int MaxAgents = 100;

    public string? Name { get; init; }

    /// <summary>Any of agents:read, agents:write, messages:send.</summary>
    public List<string>? Scopes { get; init; }

    /// <summary>Left out: every agent of the caller, now and later. Else only these (the caller's own).</summary>
    public List<int>? AgentIds { get; init; }

    /// <summary>Left out: the key works until deleted.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    public sealed class Validator : Validator<Request>
    {
        public Validator()
        {
            RuleFor(r => r.Name)
                .Must(name => !string.IsNullOrWhiteSpace(name)).WithMessage("name must not be empty or blank.")
                .Must(name => name is null || name.Length <= 100).WithMessage("name must be at most 100 characters long.")
                .Must(name => name is null || !name.Any(char.IsControl)).WithMessage("name must not contain control characters.");
            RuleFor(r => r.Scopes)
                .Must(scopes => scopes is { Count: > 0 }).WithMessage(
                    $"scopes must list at least one of {string.Join(", ", ApiScopes.All)}.")
                .Must(scopes => scopes is null || scopes.All(ApiScopes.All.Contains))
                .WithMessage($"scopes may hold only {string.Join(", ", ApiScopes.All)}.");
            RuleFor(r => r.AgentIds)
                .Must(ids => ids is null || ids.Count is > 0 and <= MaxAgents)
                .WithMessage($"agent_ids must list 1 to {MaxAgents} agents, or be left out for all of them.");
            RuleFor(r => r.ExpiresAt)
                .Must(expires => expires is null || expires > DateTimeOffset.UtcNow).WithMessage("expires_at must be in the future.");
        }
    }
}

/// <summary>The new key, with the key itself: the only time it is shown.</summary>
public sealed record Response(int Id, string Name, string Key, string KeyPrefix, IReadOnlyList<string> Scopes,
    IReadOnlyList<int>? AgentIds, DateTime? ExpiresAt, DateTime CreatedAt);
