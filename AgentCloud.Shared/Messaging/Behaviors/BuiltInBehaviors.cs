using System.Text.Json.Nodes;
using AgentCloud.Shared.Data;
using AgentCloud.Shared.UAgents;

namespace AgentCloud.Shared.Messaging.Behaviors;

/// <summary>
/// The original design's example agent: logs what it receives and acknowledges it (a chat message with
/// the chat protocol's <c>ChatAcknowledgement</c>).
/// </summary>
public sealed class DefaultBehavior : IAgentBehavior
{
    public const string BehaviorName = "default";

    public string Name => BehaviorName;

    public bool IsPure => true;

    public IReadOnlyList<string> Validate(JsonObject config) => [];

    public ValueTask<BehaviorResult> HandleAsync(BehaviorContext context, CancellationToken cancellationToken)
    {
        var log = new BehaviorLogLine(LogLevels.Info,
            $"Message {context.Message.Id} from {context.Message.Sender}: {Preview(context.Message.Payload)}");
        if (ChatProtocol.IsChatMessage(context.Message) && ChatProtocol.Acknowledge(context.Payload, DateTimeOffset.UtcNow) is { } ack)
        {
            return ValueTask.FromResult(new BehaviorResult { Reply = ack.Payload, Replies = [ack], Logs = [log] });
        }

        return ValueTask.FromResult(new BehaviorResult
        {
            Reply = new JsonObject { ["status"] = "acknowledged" },
            Logs = [log],
        });
    }

    internal static string Preview(string payload, int max = 200) =>
        payload.Length <= max ? payload : payload[..max] + "…";
}

/// <summary>
/// Answers the sender with the payload it sent, as the same uAgents model; a chat message with an
/// acknowledgement and then a new chat message of the same text.
/// </summary>
public sealed class EchoBehavior : IAgentBehavior
{
    public string Name => "echo";

    public bool IsPure => true;

    public IReadOnlyList<string> Validate(JsonObject config) => [];

    public ValueTask<BehaviorResult> HandleAsync(BehaviorContext context, CancellationToken cancellationToken)
    {
        var payload = context.Payload;
        if (ChatProtocol.IsChatMessage(context.Message))
        {
            var now = DateTimeOffset.UtcNow;
            var echo = ChatProtocol.Echo(payload, now);
            return ValueTask.FromResult(new BehaviorResult
            {
                Reply = echo.Payload,
                Replies = ChatProtocol.Acknowledge(payload, now) is { } ack ? [ack, echo] : [echo],
            });
        }

        return ValueTask.FromResult(new BehaviorResult
        {
            Reply = payload,
            Replies = [new ReplyMessage(payload?.DeepClone(), context.Message.SchemaDigest, context.Message.ProtocolDigest)],
        });
    }
}

/// <summary>Passes each message on to <c>config.target</c> (an agent address, here or elsewhere).</summary>
public sealed class ForwardBehavior : IAgentBehavior
{
    public string Name => "forward";

    public bool IsPure => true;

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
