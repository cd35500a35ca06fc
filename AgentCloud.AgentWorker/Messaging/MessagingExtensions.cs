using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.Messaging.Behaviors;

namespace AgentCloud.AgentWorker.Messaging;

public static class MessagingExtensions
{
    /// <summary>The message runtime: behaviours, the inbox listener and the processing loop.</summary>
    public static WebApplicationBuilder AddAgentMessaging(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<MessagingOptions>()
            .BindConfiguration(MessagingOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate(MessagingOptions.AreConsistent,
                $"{MessagingOptions.SectionName}: delays must be positive and each maximum at least its base.")
            .ValidateOnStart();
        builder.Services.AddAgentBehaviors(builder.Configuration);
        builder.Services.AddSingleton<WorkerIdentity>();
        builder.Services.AddSingleton<InboxSignal>();
        builder.Services.AddSingleton<MessagingMetrics>();
        builder.Services.AddSingleton<MessageHandler>();
        // Plain Add (not TryAdd): this one, which stores events for the streaming doors, wins over any default.
        builder.Services.AddSingleton<IRunEvents, PostgresRunEvents>();
        builder.Services.AddHostedService<MessageProcessor>();
        return builder;
    }
}
