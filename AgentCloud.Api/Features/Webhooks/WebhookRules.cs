using AgentCloud.Shared.Callbacks;
using FluentValidation;

namespace AgentCloud.Api.Features.Webhooks;

public static class WebhookRules
{
    public const int MaxAgents = 100;

    public static IRuleBuilderOptions<T, List<string>?> ValidEvents<T>(this IRuleBuilder<T, List<string>?> rule) => rule
        .Must(events => events is null || events.Count > 0 && events.All(CallbackEvents.All.Contains))
        .WithMessage($"events must list one or more of {string.Join(", ", CallbackEvents.All)}.");

    public static IRuleBuilderOptions<T, List<int>?> ValidAgentIds<T>(this IRuleBuilder<T, List<int>?> rule, bool emptyMeansAll) => rule
        .Must(ids => ids is null || ids.Count <= MaxAgents && (emptyMeansAll || ids.Count > 0))
        .WithMessage(emptyMeansAll
            ? $"agent_ids must list at most {MaxAgents} agents ([] for every agent)."
            : $"agent_ids must list 1 to {MaxAgents} agents, or be left out for all of them.");
}
