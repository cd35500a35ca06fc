using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;

namespace AgentCloud.Shared.Llm;

/// <summary>The tools an llm agent may list in <c>config.tools</c> besides MCP ones.</summary>
public static class BuiltInTools
{
    public const string SendMessage = "send_message";
    public const string Remember = "remember";
    public const string Recall = "recall";
    public const string Forget = "forget";

    public static readonly IReadOnlyList<string> All = [SendMessage, Remember, Recall, Forget];

    /// <summary>The tools of the agent's memory, which <see cref="MemoryScope"/> scopes to the run's sender.</summary>
    public static readonly IReadOnlyList<string> Memory = [Remember, Recall, Forget];
}

/// <summary>
/// MCP servers the operator offers llm agents, from <c>AgentCloud:Llm:McpServers:{name}:Url</c> (HTTP
/// transport). An agent lists their tools as <c>{server}.{tool}</c>, or <c>{server}.*</c> for all of them.
/// </summary>
public sealed class McpServerCatalog
{
    public const string SectionName = "AgentCloud:Llm:McpServers";

    public McpServerCatalog(IConfiguration configuration)
    {
        Servers = configuration.GetSection(SectionName).GetChildren()
            .Select(child => (child.Key, Url: child["Url"]))
            .Where(s => LlmAgentConfig.IsToolPart(s.Key) && Uri.TryCreate(s.Url, UriKind.Absolute, out _))
            .ToDictionary(s => s.Key, s => new Uri(s.Url!), StringComparer.Ordinal);
    }

    public IReadOnlyDictionary<string, Uri> Servers { get; }
}

/// <summary>
/// An llm agent's config: <c>{"behavior": "llm", "model", "instructions", "temperature", "max_output_tokens", "tools",
/// "reply_timeout_seconds", "approve", "approval_timeout_seconds", "outsider_memory"}</c>.
/// </summary>
/// <param name="ReplyTimeoutSeconds">How long a send_message waits for the reply (the worker's SendMessageReplyTimeout without it).</param>
/// <param name="Approve">The tools a person approves before they run (<see cref="ApprovalPatterns"/>; docs/approvals.md).</param>
/// <param name="ApprovalTimeoutSeconds">How long a call waits for its approval before it counts as denied.</param>
/// <param name="OutsiderMemory">What of the agent's memory runs for others than its owner use (<see cref="MemoryScope"/>).</param>
public sealed partial record LlmAgentConfig(string? Model, string? Instructions, float? Temperature, int? MaxOutputTokens,
    IReadOnlyList<string> Tools, int? ReplyTimeoutSeconds = null, IReadOnlyList<string>? Approve = null, int ApprovalTimeoutSeconds =
        LlmAgentConfig.DefaultApprovalTimeoutSeconds, string OutsiderMemory = MemoryScope.Default)
{
    public const int MaxReplyTimeoutSeconds = 7 * 24 * 3600;
    public const int DefaultApprovalTimeoutSeconds = 24 * 3600;
    public const int MaxApprovalTimeoutSeconds = 30 * 24 * 3600;

    /// <summary>Whether a call of <paramref name="tool"/> waits for a person's approval.</summary>
    public bool NeedsApproval(string tool) => ApprovalPatterns.Matches(Approve ?? [], tool);

    public const int MaxInstructionsLength = 16 * 1024;
    public const int MaxOutputTokensLimit = 1_000_000;
    public const int MaxTools = 64;

    /// <summary>The config's fields, assuming <see cref="Validate"/> found nothing wrong.</summary>
    public static LlmAgentConfig Read(JsonObject config) => new(
        Text(config, "model"),
        Text(config, "instructions"),
        config["temperature"] is JsonValue t && t.TryGetValue<double>(out var temperature) ? (float)temperature : null,
        config["max_output_tokens"] is JsonValue m && m.TryGetValue<int>(out var max) ? max : null,
        config["tools"] is JsonArray tools ? [.. tools.Select(tool => tool!.GetValue<string>())] : [],
        config["reply_timeout_seconds"] is JsonValue r && r.TryGetValue<int>(out var seconds) ? seconds : null,
        config["approve"] is JsonArray approve ? [.. approve.Select(pattern => pattern!.GetValue<string>())] : [],
        config["approval_timeout_seconds"] is JsonValue a
            && a.TryGetValue<int>(out var approvalSeconds) ? approvalSeconds : DefaultApprovalTimeoutSeconds,
        MemoryScope.Read(config));

    public static IReadOnlyList<string> Validate(JsonObject config, ModelCatalog models, McpServerCatalog mcp)
    {
        var problems = new List<string>();
        if (models.IsEmpty)
        {
            problems.Add("config.model: no model is configured on this deployment (the operator sets ConnectionStrings:llm).");
        }
        else if (config["model"] is { } model)
        {
            if (model.GetValueKind() != JsonValueKind.String)
            {
                problems.Add("config.model must be a string, one of the offered models.");
            }
            else if (models.Resolve(model.GetValue<string>()) is null)
            {
                problems.Add($"config.model '{model.GetValue<string>()}' is not offered; offered models: {string.Join(", " +
                    $"", models.OfferedModels)}.");
            }
        }

        if (config["instructions"] is { } instructions
            && (instructions.GetValueKind() != JsonValueKind.String || instructions.GetValue<string>().Length > MaxInstructionsLength))
        {
            problems.Add($"config.instructions must be a string of at most {MaxInstructionsLength} characters.");
        }

        if (config["temperature"] is { } temperature
            && (temperature.GetValueKind() != JsonValueKind.Number || temperature.GetValue<double>() is < 0 or > 2))
        {
            problems.Add("config.temperature must be a number from 0 to 2.");
        }

        if (config["max_output_tokens"] is { } maxTokens
            && (maxTokens is not JsonValue value || !value.TryGetValue<int>(out var tokens) || tokens is < 1 or > MaxOutputTokensLimit))
        {
            problems.Add($"config.max_output_tokens must be a whole number from 1 to {MaxOutputTokensLimit}.");
        }

        if (config["reply_timeout_seconds"] is { } replyTimeout
            && (replyTimeout is not JsonValue timeout || !timeout.TryGetValue<int>(out var seconds)
                || seconds is < 1 or > MaxReplyTimeoutSeconds))
        {
            problems.Add($"config.reply_timeout_seconds must be a whole number from 1 to {MaxReplyTimeoutSeconds}.");
        }

        if (config["approval_timeout_seconds"] is { } approvalTimeout
            && (approvalTimeout is not JsonValue av || !av.TryGetValue<int>(out var approvalSeconds)
                || approvalSeconds is < 1 or > MaxApprovalTimeoutSeconds))
        {
            problems.Add($"config.approval_timeout_seconds must be a whole number from 1 to {MaxApprovalTimeoutSeconds}.");
        }

        problems.AddRange(MemoryScope.Problems(config));
        if (config["approve"] is { } approve)
        {
            if (approve is not JsonArray patterns || patterns.Count > MaxTools
                || patterns.Any(t => t?.GetValueKind() != JsonValueKind.String))
            {
                problems.Add($"config.approve must be an array of at most {MaxTools} tool names, {{server}}.* or *.");
            }
            else
            {
                var names = patterns.Select(t => t!.GetValue<string>()).ToList();
                foreach (var name in names.Where(name => name != ApprovalPatterns.Everything && !IsKnownTool(name, mcp)).Distinct())
                {
                    problems.Add($"config.approve: '{name}' is not a tool; name one of {string.Join(", ", BuiltInTools.All)}"
                        + (mcp.Servers.Count == 0
                            ? ""
                            : $", {{server}}.{{tool}} or {{server}}.* of the MCP servers {string.Join(", ", mcp.Servers.Keys.Order())}")
                        + ", or * for every tool.");
                }

                if (names.Distinct().Count() != names.Count)
                {
                    problems.Add("config.approve must not list a tool twice.");
                }
            }
        }

        if (config["tools"] is { } tools)
        {
            if (tools is not JsonArray list || list.Count > MaxTools || list.Any(t => t?.GetValueKind() != JsonValueKind.String))
            {
                problems.Add($"config.tools must be an array of at most {MaxTools} tool names.");
            }
            else
            {
                var names = list.Select(t => t!.GetValue<string>()).ToList();
                foreach (var name in names.Where(name => !IsKnownTool(name, mcp)).Distinct())
                {
                    problems.Add($"config.tools: '{name}' is not a tool; known tools: {string.Join(", ", BuiltInTools.All)}"
                        + (mcp.Servers.Count == 0 ? "."
                            : $", and {{server}}.{{tool}} of the MCP servers {string.Join(", ", mcp.Servers.Keys.Order())}."));
                }

                if (names.Distinct().Count() != names.Count)
                {
                    problems.Add("config.tools must not list a tool twice.");
                }
            }
        }

        return problems;
    }

    public static bool IsKnownTool(string name, McpServerCatalog mcp)
    {
        if (BuiltInTools.All.Contains(name))
        {
            return true;
        }

        var dot = name.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 && mcp.Servers.ContainsKey(name[..dot]) && (name[(dot + 1)..] == "*" || IsToolPart(name[(dot + 1)..]));
    }

    internal static bool IsToolPart(string text) => ToolPart().IsMatch(text);

    private static string? Text(JsonObject config, string field) =>
        config[field] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex ToolPart();
}

/// <summary>
/// The patterns of <c>config.approve</c>: a tool's name (<c>send_message</c>, <c>files.delete</c>), <c>{server}.*</c> for every tool
/// of an MCP server, or <c>*</c> for every tool. Names match exactly (case matters, as tool names do).
/// </summary>
public static class ApprovalPatterns
{
    public const string Everything = "*";

    public static bool Matches(IEnumerable<string> patterns, string tool) => patterns.Any(pattern => Matches(pattern, tool));

    public static bool Matches(string pattern, string tool) =>
        pattern == Everything
        || string.Equals(pattern, tool, StringComparison.Ordinal)
        || (pattern.Length > 2 && pattern.EndsWith(".*", StringComparison.Ordinal)
            && tool.Length > pattern.Length - 1 && tool.StartsWith(pattern[..^1], StringComparison.Ordinal));
}
