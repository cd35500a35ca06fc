using System.Text.Json;
using System.Text.Json.Nodes;
using AgentCloud.Shared.Llm;
using AgentCloud.Shared.Messaging.Behaviors;
using Microsoft.Extensions.AI;
using Npgsql;

namespace AgentCloud.AgentWorker.Llm.Tools;

/// <summary>
/// A tool the model can call that this worker implements itself (name, schema, effect, result), registered in DI as
/// <c>IBuiltInTool</c> (see <see cref="BuiltInToolRegistration"/>). A run stores a call as a <c>tool_call</c> step and its
/// answer as a <c>tool_result</c> step; the tool's effect commits in the same transaction as the <c>tool_call</c> step, so a
/// run that continues after a crash finds it done and never applies it twice (docs/llm-agents.md).
/// </summary>
public interface IBuiltInTool
{
    /// <summary>The name the model calls it by and an agent lists in <c>config.tools</c> (one of <see cref="BuiltInTools.All"/>).</summary>
    string Name { get; }

    string Description { get; }

    /// <summary>The JSON schema of its arguments.</summary>
    string Schema { get; }

    /// <summary>
    /// Checks the arguments and applies the effect, if any, in <paramref name="transaction"/>, the one that stores the call's
    /// step; what a later result needs goes into <see cref="ToolInvocation.Data"/> (stored with the step). An error for the
    /// model instead when the call cannot be made (then nothing of the effect may have been written).
    /// </summary>
    Task<ToolApplied> ApplyAsync(ToolInvocation call, NpgsqlConnection connection, NpgsqlTransaction transaction,
        CancellationToken cancellationToken);

    /// <summary>
    /// The result for the model, from the stored call (on this attempt or an earlier one's). May park the run
    /// (<see cref="RunParksException"/>) when it must wait for something that is not a model call.
    /// </summary>
    Task<ToolOutcome> ResultAsync(ToolInvocation call, CancellationToken cancellationToken);
}

/// <summary>One call of a tool: the run's message, the model's arguments, and the step's data (with what the effect stored).</summary>
/// <param name="CalledAt">When its <c>tool_call</c> step was stored (now, before it is).</param>
/// <param name="Memory">The memory the run's sender may use (null: none), <see cref="MemoryScope.For"/>.</param>
public sealed record ToolInvocation(BehaviorContext Context, JsonObject Arguments, JsonObject Data, DateTime CalledAt,
    MemoryScope? Memory);

/// <summary>What applying a call did: an error for the model, and what to do once the step has committed (wake-ups).</summary>
public sealed record ToolApplied(string? Error = null, Action? AfterCommit = null)
{
    public static readonly ToolApplied Nothing = new();

    public static ToolApplied Refused(string error) => new(error);
}

/// <summary>A tool's answer to the model. <paramref name="TakenReply"/>: a message the run took as its reply (done with the result's
/// step).</summary>
public sealed record ToolOutcome(string Text, bool IsError = false, Guid? TakenReply = null, string? TakenFrom = null);

/// <summary>The built-in tools by name, as DI has them; their declarations are what the model sees.</summary>
public sealed class BuiltInToolRegistry
{
    private readonly Dictionary<string, IBuiltInTool> byName;

    public BuiltInToolRegistry(IEnumerable<IBuiltInTool> tools)
    {
        byName = tools.ToDictionary(tool => tool.Name, StringComparer.Ordinal);
        // The API validates agents' configs against BuiltInTools.All: a name there without an implementation here
        // would pass validation and fail every run.
        if (BuiltInTools.All.Except(byName.Keys).ToList() is { Count: > 0 } missing)
        {
            throw new InvalidOperationException($"Built-in tools without an implementation: {string.Join(", ", missing)}.");
        }
    }

    public IBuiltInTool? Find(string name) => byName.GetValueOrDefault(name);

    public AIFunctionDeclaration Declaration(string name)
    {
        var tool = byName[name];
        return AIFunctionFactory.CreateDeclaration(tool.Name, tool.Description, JsonDocument.Parse(tool.Schema).RootElement.Clone());
    }
}

public static class BuiltInToolRegistration
{
    public static IServiceCollection AddBuiltInTools(this IServiceCollection services)
    {
        services.AddSingleton<IBuiltInTool, SendMessageTool>();
        services.AddSingleton<IBuiltInTool, RememberTool>();
        services.AddSingleton<IBuiltInTool, RecallTool>();
        services.AddSingleton<IBuiltInTool, ForgetTool>();
        services.AddSingleton<BuiltInToolRegistry>();
        return services;
    }
}

/// <summary>Reading the model's arguments.</summary>
public static class ToolArguments
{
    public const int MaxKeyLength = 200;
    public const int MaxValueLength = 16 * 1024;

    /// <summary>A string argument, or an error for the model.</summary>
    public static string? Text(JsonObject arguments, string name, int maxLength, bool required, out string? error)
    {
        error = null;
        var node = arguments[name];
        if (node is null)
        {
            error = required ? $"Missing argument '{name}'." : null;
            return null;
        }

        if (node is not JsonValue value || !value.TryGetValue<string>(out var text))
        {
            error = $"Argument '{name}' must be a string.";
            return null;
        }

        if (text.Length == 0 || text.Length > maxLength || text.Contains('\0'))
        {
            error = $"Argument '{name}' must be 1 to {maxLength} characters, without U+0000.";
            return null;
        }

        return text;
    }
}
