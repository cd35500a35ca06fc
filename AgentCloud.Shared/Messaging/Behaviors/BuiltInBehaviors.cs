using System.Text.Json.Nodes;
using AgentCloud.Shared.Data;
using AgentCloud.Shared.UAgents;

namespace AgentCloud.Shared.Messaging.Behaviors;

/// <summary>The original design's example agent: logs what it receives and acknowledges it.</summary>
public sealed class DefaultBehavior : IAgentBehavior
{
    public const string BehaviorName = "default";

    public string Name => BehaviorName;

    public IReadOnlyList<string> Validate(JsonObject config) => [];

    public ValueTask<BehaviorResult> HandleAsync(BehaviorContext context, CancellationToken cancellationToken) =>
        ValueTask.FromResult(new BehaviorResult
        {
            Reply = new JsonObject { ["status"] = "acknowledged" },
            Logs = [new(LogLevels.Info, $"Message {context.Message.Id} from {context.Message.Sender}: {Preview(context.Message.Payload)}")],
        });

    internal static string Preview(string payload, int max = 200) =>
        payload.Length <= max ? payload : payload[..max] + "…";
}

/// <summary>Answers the sender with the payload it sent.</summary>
public sealed class EchoBehavior : IAgentBehavior
{
    public string Name => "echo";

    public IReadOnlyList<string> Validate(JsonObject config) => [];

    public ValueTask<BehaviorResult> HandleAsync(BehaviorContext context, CancellationToken cancellationToken) =>
        ValueTask.FromResult(new BehaviorResult { Reply = context.Payload });
}

/// <summary>Passes each message on to <c>config.target</c> (an agent address, here or elsewhere).</summary>
public sealed class ForwardBehavior : IAgentBehavior
{
    public string Name => "forward";

    public IReadOnlyList<string> Validate(JsonObject config) =>
        config["target"] is JsonValue value && value.TryGetValue<string>(out var target) && Address.IsValid(Address.Normalize(target))
            ? []
            : ["config.target must be an agent address (agent1…, optionally as agent://…)."];

    public ValueTask<BehaviorResult> HandleAsync(BehaviorContext context, CancellationToken cancellationToken)
    {
        var target = Address.Normalize(context.Config["target"]!.GetValue<string>());
        return ValueTask.FromResult(new BehaviorResult
        {
            Send = [new OutgoingMessage(target, context.Payload)],
            Logs = [new(LogLevels.Info, $"Forwarded message {context.Message.Id} to {target}")],
        });
    }
}

/// <summary>Always throws. Registered only with <c>AgentCloud:EnableTestBehaviors</c>.</summary>
public sealed class FailingBehavior : IAgentBehavior
{
    public string Name => "fail";

    public IReadOnlyList<string> Validate(JsonObject config) => [];

    public ValueTask<BehaviorResult> HandleAsync(BehaviorContext context, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("This behaviour fails on purpose.");
}
