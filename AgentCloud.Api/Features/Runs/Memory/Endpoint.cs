using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.Runs.Memory;

public sealed class Endpoint(RunStore runs) : Endpoint<AgentRequest, Response>
{
    public override void Configure()
    {
        Get("/agents/{agent_id}/memory");
        Policies(ApiScopes.AgentsRead);
        Summary(s =>
        {
            s.Summary = "What an llm agent remembers (its remember/recall/forget tools), by key";
            s.Responses[404] = "No such agent, or not the caller's.";
        });
    }

    public override async Task HandleAsync(AgentRequest request, CancellationToken ct)
    {
        var entries = await runs.MemoryAsync(request.AgentId, ct);
        await Send.OkAsync(new Response([.. entries.Select(e => e with { UpdatedAt = e.UpdatedAt.AsUtc() })]), ct);
    }
}

public sealed record Response(IReadOnlyList<MemoryEntry> Items);
