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

    public bool Awaits => true;

    public IReadOnlyList<string> Validate(JsonObject config) => LlmAgentConfig.Validate(config, models, mcp);

    public ValueTask<BehaviorResult> HandleAsync(BehaviorContext context, CancellationToken cancellationToken) =>
        (services.GetService<ILlmRunner>() ?? throw new InvalidOperationException("This process does not run llm agents."))
            .RunAsync(context, cancellationToken);
}

/// <summary>
/// Thrown by a run that must wait for something that is not a model call (the reply to a message it sent): the handler
/// commits the message as <c>waiting</c> with <paramref name="Wait"/> and lets it go; what it waits for wakes it, and any
/// worker resumes it from its stored steps.
/// </summary>
public sealed class RunParksException(RunWait wait) : Exception($"The run waits for {wait.Kind} until {wait.Until:O}.")
{
    public RunWait Wait { get; } = wait;
}

/// <summary>
/// What a parked run waits for. <paramref name="Until"/> is its deadline (it wakes then regardless); a reply wakes it before:
/// an inbound message in reply to <paramref name="Awaits"/>, or the next message from <paramref name="AwaitsFrom"/> in its
/// session after seq <paramref name="AwaitsAfter"/> (a remote uAgent cannot say what it answers).
/// </summary>
/// <paramref name="Approval"/>: the tool approval it waits for (its decision wakes it, <see cref="Llm.ToolApprovals"/>).
public sealed record RunWait(string Kind, DateTime Until, Guid? Awaits, string? AwaitsFrom, long? AwaitsAfter, JsonObject Shown,
    Guid? Approval = null)
{
    public const string Reply = "reply";
    public const string ApprovalKind = "approval";
}

/// <summary>A failure that another attempt cannot fix (a refused key, an unknown model, a run limit): the message is dead at
/// once.</summary>
public sealed class PermanentBehaviorException(string message) : Exception(message);
