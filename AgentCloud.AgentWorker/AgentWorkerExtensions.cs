using AgentCloud.AgentWorker.Messaging;
using AgentCloud.AgentWorker.Outbox;
using AgentCloud.AgentWorker.Scheduling;
using AgentCloud.AgentWorker.UAgents;
using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.Scheduling;
using AgentCloud.Shared.UAgents;

namespace AgentCloud.AgentWorker;

public static class AgentWorkerExtensions
{
    /// <summary>The backend agent's identity, the worker's options, the worker itself and the message runtime.</summary>
    public static WebApplicationBuilder AddAgentWorker(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<AgentWorkerOptions>().BindConfiguration(AgentWorkerOptions.SectionName);
        builder.AddUAgents();
        builder.Services.AddHostedService<AgentWorker>();
        // Wakes the inbox, outbox and schedule loops and sync /submit waits (message_finished).
        builder.AddNotificationHub(NotifyChannels.Inbox, NotifyChannels.Outbox, ScheduleChannel.Name);
        builder.AddAgentMessaging();
        builder.AddAgentOutbox();
        builder.AddUAgentsSubmit();
        builder.AddSchedules();
        Llm.LlmExtensions.AddLlmAgents(builder);
        return builder;
    }

    /// <summary><c>/health</c>: every registered check, the database's included (the AppHost's health probe).</summary>
    public static WebApplication MapAgentWorkerEndpoints(this WebApplication app)
    {
        app.MapHealthChecks(Microsoft.Extensions.Hosting.Extensions.HealthEndpointPath);
        UAgents.SubmitEndpoint.MapUAgentsSubmit(app);
        return app;
    }
}
