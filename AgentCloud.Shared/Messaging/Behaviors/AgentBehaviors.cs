using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCloud.Shared.Messaging.Behaviors;

/// <summary>The behaviours this deployment knows, by name; used to validate configs and to pick a handler.</summary>
public sealed class AgentBehaviors(IEnumerable<IAgentBehavior> behaviors)
{
    public const string ConfigField = "behavior";

    private readonly Dictionary<string, IAgentBehavior> byName = behaviors.ToDictionary(b => b.Name, StringComparer.Ordinal);

    public IEnumerable<string> Names => byName.Keys.Order();

    /// <summary>The behaviour a config selects: its <c>behavior</c> field, or the default one without it.</summary>
    public IAgentBehavior For(JsonObject config) =>
        config[ConfigField] is JsonValue value && value.TryGetValue<string>(out var name) && byName.TryGetValue(name, out var behavior)
            ? behavior
            : byName[DefaultBehavior.BehaviorName];

    /// <summary>The behaviour a stored config (JSON text; not an object reads as <c>{}</c>) selects.</summary>
    public IAgentBehavior For(string configJson) => For(JsonNode.Parse(configJson) as JsonObject ?? []);

    /// <summary>Problems with an agent's config; empty when it names a known behaviour with good fields.</summary>
    public IReadOnlyList<string> Validate(JsonElement config)
    {
        if (config.ValueKind != JsonValueKind.Object)
        {
            return ["config must be a JSON object."];
        }

        var node = JsonNode.Parse(config.GetRawText())!.AsObject();
        return Validate(node);
    }

    public IReadOnlyList<string> Validate(JsonObject config)
    {
        var problems = ValidateBehavior(config);
        // Read by the worker's /submit: unsigned uAgents "user…" senders are refused unless the agent allows them.
        return config.TryGetPropertyValue(AllowUserSendersField, out var allow) && allow is not null
            && allow.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False)
            ? [.. problems, $"config.{AllowUserSendersField} must be true or false."]
            : problems;
    }

    public const string AllowUserSendersField = "allow_user_senders";

    private IReadOnlyList<string> ValidateBehavior(JsonObject config)
    {
        if (!config.TryGetPropertyValue(ConfigField, out var field) || field is null)
        {
            return byName[DefaultBehavior.BehaviorName].Validate(config);
        }

        if (field is not JsonValue value || !value.TryGetValue<string>(out var name))
        {
            return [$"config.{ConfigField} must be a string, one of: {string.Join(", ", Names)}."];
        }

        return byName.TryGetValue(name, out var behavior)
            ? behavior.Validate(config)
            : [$"config.{ConfigField} '{name}' is unknown; known behaviours: {string.Join(", ", Names)}."];
    }
}

public static class AgentBehaviorRegistration
{
    /// <summary>
    /// The built-in behaviours. <c>AgentCloud:EnableTestBehaviors</c> adds <c>fail</c>, which always
    /// throws: the tests use it to prove retries and dead-lettering; production leaves it off.
    /// </summary>
    public static IServiceCollection AddAgentBehaviors(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<IAgentBehavior, DefaultBehavior>();
        services.AddSingleton<IAgentBehavior, EchoBehavior>();
        services.AddSingleton<IAgentBehavior, ForwardBehavior>();
        services.AddSingleton<Llm.ModelCatalog>();
        services.AddSingleton<Llm.McpServerCatalog>();
        services.AddSingleton<IAgentBehavior, LlmBehavior>();
        if (configuration.GetValue("AgentCloud:EnableTestBehaviors", false))
        {
            services.AddSingleton<IAgentBehavior, FailingBehavior>();
            services.AddSingleton<IAgentBehavior, StreamingTestBehavior>();
        }

        services.AddSingleton<AgentBehaviors>();
        return services;
    }
}
