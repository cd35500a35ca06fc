using System.ComponentModel;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Server;

namespace AgentCloud.IntegrationTests;

/// <summary>An MCP server (streamable HTTP) on loopback with one tool, offered to llm agents as the server "kit".</summary>
public sealed class McpTestServer : IAsyncDisposable
{
    public const string Name = "kit";

    private WebApplication? app;

    public string Url { get; private set; } = "";

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddMcpServer().WithHttpTransport(options => options.Stateless = true).WithTools<KitTools>();
        app = builder.Build();
        app.MapMcp("/mcp");
        await app.StartAsync();
        Url = app.Urls.First() + "/mcp";
    }

    public async ValueTask DisposeAsync()
    {
        if (app is not null)
        {
            await app.DisposeAsync();
        }
    }

    [McpServerToolType]
    public sealed class KitTools
    {
        private static int calls;

        public static int Calls => Volatile.Read(ref calls);

        [McpServerTool(Name = "reverse"), Description("Reverses a text.")]
        public static string Reverse([Description("The text to reverse.")] string text)
        {
            Interlocked.Increment(ref calls);
            return new string([.. text.Reverse()]);
        }
    }
}
