using System.Text.Json.Nodes;
using AgentCloud.Shared.Llm;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCloud.Shared.Messaging.Behaviors;

/// <summary>Runs one message of an llm agent (the worker supplies it; the API only validates configs).</summary>
public interface ILlmRunner
{
    ValueTask<BehaviorResult> RunAsync(BehaviorContext context, CancellationToken cancellationToken);
}

/// <summary>
/// A language-model agent: the model answers each message, with the conversation's earlier turns and the
/// tools the config lists. The config is checked here, against the models and MCP servers this
/// deployment offers; the run itself is the worker's <see cref="ILlmRunner"/>.
/// </summary>
public sealed class LlmBehavior(ModelCatalog models, McpServerCatalog mcp, IServiceProvider services) : IAgentBehavior
{
    public const string BehaviorName = "llm";

    public string Name => BehaviorName;

    public IReadOnlyList<string> Validate(JsonObject config) => LlmAgentConfig.Validate(config, models, mcp);

    public ValueTask<BehaviorResult> HandleAsync(BehaviorContext context, CancellationToken cancellationToken) =>
        (services.GetService<ILlmRunner>() ?? throw new InvalidOperationException("This process does not run llm agents."))
            .RunAsync(context, cancellationToken);
}

/// <summary>A failure that another attempt cannot fix (a refused key, an unknown model, a run limit): the message is dead at once.</summary>
public sealed class PermanentBehaviorException(string message) : Exception(message);
