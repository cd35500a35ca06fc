using AgentCloud.Api.Features.A2A;
using AgentCloud.Api.Features.Mcp;
using AgentCloud.Api.Features.Messages;
using AgentCloud.Api.Features.Messages.Events;
using AgentCloud.Api.Features.OpenAI.Responses;

namespace AgentCloud.Api.Features.Doors;

public static class DoorsExtensions
{
    /// <summary>The streaming doors and the standard ones (A2A, MCP, OpenAI-compatible chat), all over the same message store.</summary>
    public static WebApplicationBuilder AddDoors(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<StreamOptions>().BindConfiguration(StreamOptions.SectionName).ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<HeldStreams>();
        builder.Services.AddSingleton<MessageEventFeed>();
        builder.Services.AddSingleton<MessageEventStream>();
        builder.Services.AddSingleton<MessageCancellation>();
        builder.Services.AddSingleton<Conversations>();
        builder.Services.AddSingleton<A2AService>();
        builder.Services.AddSingleton<ResponseStore>();
        builder.Services.AddSingleton<ResponseEventStream>();
        builder.Services.AddSingleton<AgUi.AgUiEventStream>();
        builder.Services.AddHttpContextAccessor();
        // Stateless: any API replica answers any request, and no session outlives its request. The SDK then
        // serves both revisions on one endpoint, per request: 2025-11-25 and older through `initialize` (no
        // Mcp-Session-Id is issued, which that revision allows), 2026-07-28 through `server/discover` and the
        // per-request `_meta` and `Mcp-Method` / `Mcp-Name` headers it checks before any handler runs.
        builder.Services.AddMcpServer(options => options.ServerInfo = new() { Name = "AgentCloud", Version = "1.0.0" })
            .WithHttpTransport(options => options.SessionMode = ModelContextProtocol.AspNetCore.HttpServerSessionMode.Stateless)
            .WithTools<AgentTools>(AgentTools.SerializerOptions)
            .WithListResourcesHandler(AgentLogResources.ListAsync)
            .WithReadResourceHandler(AgentLogResources.ReadAsync);
        return builder;
    }

    /// <summary>/mcp (Streamable HTTP), authenticated like the rest of the API.</summary>
    public static WebApplication MapDoors(this WebApplication app)
    {
        app.MapMcp("/mcp").RequireAuthorization();
        return app;
    }
}
