using System.Text;
using System.Text.Json;
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
            .Must(name => name is null || name.Length <= MaxNameLength).WithMessage($"name must be at most {MaxNameLength} characters long.")
            .Must(name => name is null || !name.Any(char.IsControl)).WithMessage("name must not contain control characters.");

    public static IRuleBuilderOptions<T, JsonElement?> ValidAgentConfig<T>(this IRuleBuilder<T, JsonElement?> rule) =>
        rule
            .Must(config => config is null || config.Value.ValueKind == JsonValueKind.Object)
            .WithMessage("config must be a JSON object.")
            .Must(config => config is null || Encoding.UTF8.GetByteCount(config.Value.GetRawText()) <= MaxConfigBytes)
            .WithMessage($"config must be at most {MaxConfigBytes} bytes of JSON.");
}
