using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentCloud.Shared.Data;
using AgentCloud.Shared.Messaging.Behaviors;
using AgentCloud.Shared.Quotas;
using FluentValidation;

namespace AgentCloud.Api.Features.Agents;

/// <summary>The rules for an agent's fields, shared by create and update.</summary>
public static class AgentRules
{
    public const int MaxNameLength = 100;
    public const int MaxConfigBytes = 32 * 1024;

    public static IRuleBuilderOptions<T, string?> ValidAgentName<T>(this IRuleBuilder<T, string?> rule) =>
        rule
            .Must(name => !string.IsNullOrWhiteSpace(name)).WithMessage("name must not be empty or blank.")
            .Must(name => name is null || name.Length <= MaxNameLength)
                .WithMessage($"name must be at most {MaxNameLength} characters long.")
            .Must(name => name is null || !name.Any(char.IsControl)).WithMessage("name must not contain control characters.");

    /// <summary>A JSON object of at most 32 KiB that selects a behaviour this deployment knows, with the fields it needs.</summary>
    public static IRuleBuilderOptionsConditions<T, JsonElement?>
        ValidAgentConfig<T>(this IRuleBuilder<T, JsonElement?> rule, AgentBehaviors behaviors) =>
        rule.Custom((config, context) =>
        {
            if (config is not { } value)
            {
                return;
            }

            if (value.ValueKind != JsonValueKind.Object)
            {
                context.AddFailure("config must be a JSON object.");
            }
            else if (Encoding.UTF8.GetByteCount(value.GetRawText()) > MaxConfigBytes)
            {
                context.AddFailure($"config must be at most {MaxConfigBytes} bytes of JSON.");
            }
            else if (StorableText.ProblemWith(value) is { } unstorable)
            {
                context.AddFailure($"config {unstorable}.");
            }
            else
            {
                foreach (var problem in behaviors.Validate(value)
                    .Concat(TokenLimits.Problems(JsonNode.Parse(value.GetRawText())!.AsObject())))
                {
                    context.AddFailure(problem);
                }
            }
        });
}
