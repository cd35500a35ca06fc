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
/// "reply_timeout_seconds"}</c>.
/// </summary>
/// <param name="ReplyTimeoutSeconds">How long a send_message waits for the reply (the worker's SendMessageReplyTimeout without it).</param>
public sealed partial record LlmAgentConfig(string? Model, string? Instructions, float? Temperature, int? MaxOutputTokens,
    IReadOnlyList<string> Tools, int? ReplyTimeoutSeconds = null)
{
    public const int MaxReplyTimeoutSeconds = 7 * 24 * 3600;

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
        config["reply_timeout_seconds"] is JsonValue r && r.TryGetValue<int>(out var seconds) ? seconds : null);

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
