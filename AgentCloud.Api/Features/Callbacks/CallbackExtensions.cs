using Microsoft.Extensions.DependencyInjection.Extensions;
using AgentCloud.Shared.UAgents;

namespace AgentCloud.Api.Features.Callbacks;

public static class CallbackExtensions
{
    /// <summary>Webhooks and A2A push delivery: the outbox's store, its sender (under the outbound destination policy) and loop.</summary>
    public static WebApplicationBuilder AddCallbacks(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<CallbackOptions>()
            .BindConfiguration(CallbackOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate(CallbackOptions.AreConsistent,
                $"{CallbackOptions.SectionName}: delays must be positive, the maximum at least the base, the lease longer than an attempt.")
            .ValidateOnStart();
        builder.Services.AddOutboundDestinations();
        builder.Services.TryAddSingleton(TimeProvider.System);

        // EXTEXP0001: RemoveAllResilienceHandlers is marked experimental; it is the documented way out of the defaults.
#pragma warning disable EXTEXP0001
        // One attempt per claim with our own timeout and backoff (the default handler's retries would replay the POST), to
        // allowed addresses only (checked on the connected address), following no redirect.
        builder.Services.AddHttpClient(CallbackSender.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .RemoveAllResilienceHandlers()
            .ConfigurePrimaryHttpMessageHandler(services => services.GetRequiredService<OutboundDestinationPolicy>().CreateHandler());
#pragma warning restore EXTEXP0001

        builder.Services.AddSingleton<A2A.PushConfigStore>();
        builder.Services.AddSingleton<A2A.A2APushConfigs>();
        builder.Services.AddSingleton<CallbackStore>();
        builder.Services.AddSingleton<CallbackSender>();
        builder.Services.AddHostedService<CallbackProcessor>();
        return builder;
    }
}
