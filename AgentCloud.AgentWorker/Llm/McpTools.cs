using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentCloud.Shared.Llm;
using Microsoft.Extensions.AI;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace AgentCloud.AgentWorker.Llm;

/// <summary>
/// Tools of the operator's MCP servers (HTTP transport). An agent lists them as <c>server.tool</c>; the model
/// sees <c>server__tool</c>, because OpenAI function names allow only letters, digits, <c>_</c> and <c>-</c>.
/// </summary>
public sealed class McpTools(McpServerCatalog catalog, ILoggerFactory loggerFactory) : IAsyncDisposable
{
    public const string Separator = "__";

    private readonly ConcurrentDictionary<string, Lazy<Task<McpClient>>> clients = new(StringComparer.Ordinal);

    public static bool IsMcpTool(string modelName) => modelName.Contains(Separator, StringComparison.Ordinal);

    /// <summary>The declarations a config entry (<c>server.tool</c> or <c>server.*</c>) stands for.</summary>
    public async Task<IReadOnlyList<AIFunctionDeclaration>> DeclarationsAsync(string configName, CancellationToken cancellationToken)
    {
        var dot = configName.IndexOf('.', StringComparison.Ordinal);
        var (server, tool) = (configName[..dot], configName[(dot + 1)..]);
        var client = await ClientAsync(server, cancellationToken);
        var tools = await client.ListToolsAsync(cancellationToken: cancellationToken);
        return [.. tools.Where(t => tool == "*" || t.Name == tool)
            .Select(t => AIFunctionFactory.CreateDeclaration($"{server}{Separator}{t.Name}", t.Description, t.JsonSchema))];
    }

    /// <summary>Calls a tool by its model name; whatever goes wrong comes back as a tool error for the model.</summary>
    public async Task<(string Result, bool IsError)> CallAsync(string modelName, JsonObject arguments, CancellationToken cancellationToken)
    {
        var at = modelName.IndexOf(Separator, StringComparison.Ordinal);
        if (at <= 0)
        {
            return ($"There is no tool '{modelName}'.", true);
        }

        var (server, tool) = (modelName[..at], modelName[(at + Separator.Length)..]);
        try
        {
            var client = await ClientAsync(server, cancellationToken);
            var args = arguments.ToDictionary(kv => kv.Key, kv =>
                (object?)JsonSerializer.Deserialize<JsonElement>(kv.Value?.ToJsonString() ?? "null"));
            var result = await client.CallToolAsync(tool, args, cancellationToken: cancellationToken);
            var text = string.Join("\n", result.Content.OfType<TextContentBlock>().Select(block => block.Text));
            return (text, result.IsError == true);
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            clients.TryRemove(server, out _);
            return ($"The tool {server}.{tool} failed: {exception.Message}", true);
        }
    }

    private async Task<McpClient> ClientAsync(string server, CancellationToken cancellationToken)
    {
        if (!catalog.Servers.TryGetValue(server, out var url))
        {
            throw new InvalidOperationException($"There is no MCP server '{server}'.");
        }

        var lazy = clients.GetOrAdd(server, _ => new Lazy<Task<McpClient>>(() => McpClient.CreateAsync(
            new HttpClientTransport(new HttpClientTransportOptions { Endpoint = url, Name = server }, loggerFactory),
            loggerFactory: loggerFactory, cancellationToken: CancellationToken.None)));
        try
        {
            return await lazy.Value.WaitAsync(cancellationToken);
        }
        catch
        {
            clients.TryRemove(KeyValuePair.Create(server, lazy));
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var lazy in clients.Values.Where(l => l.IsValueCreated))
        {
            try
            {
                await (await lazy.Value).DisposeAsync();
            }
            catch (Exception)
            {
                // A server already gone; nothing to close.
            }
        }
    }
}
