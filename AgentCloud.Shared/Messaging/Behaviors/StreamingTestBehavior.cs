using System.Text.Json.Nodes;
using AgentCloud.Shared.Data;
using AgentCloud.Shared.Llm;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCloud.Shared.Messaging.Behaviors;

/// <summary>
/// Echoes a text payload word by word as run events (a step, then one delta per word, <c>config.delay_ms</c>
/// apart, default 200), then answers with the whole payload, like a model that streams. Registered only
/// with <c>AgentCloud:EnableTestBehaviors</c>: the streaming doors' tests need a run that takes a while and
/// produces deltas, without a language model.
/// </summary>
public sealed class StreamingTestBehavior(IServiceProvider services) : IAgentBehavior
{
    public string Name => "stream";

    public IReadOnlyList<string> Validate(JsonObject config) =>
        config["delay_ms"] is null || config["delay_ms"]!.GetValueKind() == System.Text.Json.JsonValueKind.Number
            ? []
            : ["config.delay_ms: must be a number of milliseconds."];

    public async ValueTask<BehaviorResult> HandleAsync(BehaviorContext context, CancellationToken cancellationToken)
    {
        // Resolved here, not injected: the API registers the behaviours too (to validate configs) but never runs them.
        var events = services.GetRequiredService<IRunEvents>();
        var delay = TimeSpan.FromMilliseconds(Math.Clamp(context.Config["delay_ms"]?.GetValue<double>() ?? 200, 0, 10_000));
        var payload = context.Payload;
        var text = payload is JsonValue value && value.TryGetValue<string>(out var s) ? s : payload?.ToJsonString() ?? "null";
        await events.PublishAsync(context.Message.Id, RunEventTypes.Step, new JsonObject { ["index"] = 0, ["kind"] = "answer" },
            cancellationToken);
        var words = text.Split(' ');
        for (var i = 0; i < words.Length; i++)
        {
            await Task.Delay(delay, cancellationToken);
            await events.PublishAsync(context.Message.Id, RunEventTypes.Delta,
                new JsonObject { ["text"] = i == 0 ? words[i] : " " + words[i] },
                cancellationToken);
        }

        return new BehaviorResult
        {
            Reply = payload?.DeepClone(),
            Logs = [new(LogLevels.Info, $"Streamed message {context.Message.Id} back in {words.Length} deltas")],
        };
    }
}
