using AgentCloud.AgentWorker.Llm.Tools;
using AgentCloud.Shared.Llm;
using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.Messaging.Behaviors;

namespace AgentCloud.AgentWorker.Llm;

public static class LlmExtensions
{
    /// <summary>What runs llm agents' messages: the model clients, the tools, the step store.</summary>
    public static WebApplicationBuilder AddLlmAgents(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<LlmOptions>()
            .BindConfiguration(LlmOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate(o => o.MaxWallTime > TimeSpan.Zero && o.ModelCallTimeout > TimeSpan.Zero && o.SendMessageReplyTimeout > TimeSpan.Zero,
                $"{LlmOptions.SectionName}: times must be positive.")
            .ValidateOnStart();
        builder.Services.AddSingleton<ChatClients>();
        builder.Services.AddSingleton<McpTools>();
        builder.Services.AddBuiltInTools();
        builder.Services.AddSingleton<RunStore>();
        builder.Services.AddSingleton<ApprovalGate>();
        builder.Services.AddSingleton<TokenBudget>();
        builder.Services.AddSingleton<ILlmRunner, LlmRunner>();
        builder.Services.AddHostedService<ModelCatalogReport>();
        return builder;
    }
}

/// <summary>Says at start which models this worker offers (never the keys), and which connection strings it could not read.</summary>
public sealed class ModelCatalogReport(ModelCatalog models, McpServerCatalog mcp, ILogger<ModelCatalogReport> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var problem in models.Problems)
        {
            logger.LogWarning("Ignoring a model connection: {Problem}", problem);
        }

        if (models.IsEmpty)
        {
            logger.LogInformation("No model is configured (ConnectionStrings:llm); llm agents cannot be created");
        }

        foreach (var connection in models.Connections)
        {
            logger.LogInformation("Model connection {Connection}", connection.ToString());
        }

        foreach (var (name, url) in mcp.Servers)
        {
            logger.LogInformation("MCP server {Server} at {Url}", name, url);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
