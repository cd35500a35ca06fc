using AgentCloud.Api.Features.Agents;
using FastEndpoints;

namespace AgentCloud.Api.Infrastructure;

/// <summary>A request whose route names one of the caller's agents (<c>{agent_id}</c>).</summary>
public interface IAgentRequest
{
    int AgentId { get; }
}

/// <summary>
/// The ownership check of every route whose request is an <see cref="IAgentRequest"/>: an agent that does not
/// exist or is not the caller's gets <see cref="AgentProblems.NotFound"/> before the handler runs. A request
/// that failed binding or validation gets its 400 first, as it did when each handler checked for itself.
/// Routes that look the agent up in their own statement (agents, sends) do not use it: one query, not two.
/// </summary>
public sealed class AgentOwnership(AgentStore agents) : IGlobalPreProcessor
{
    public async Task PreProcessAsync(IPreProcessorContext context, CancellationToken ct)
    {
        if (context.Request is IAgentRequest request && !context.HasValidationFailures
            && !await agents.ExistsAsync(context.HttpContext.User.UserId(), request.AgentId, ct))
        {
            await context.HttpContext.Response.SendResultAsync(AgentProblems.NotFound());
        }
    }
}
