using Microsoft.Extensions.DependencyInjection.Extensions;
using AgentCloud.Shared.UAgents;

namespace AgentCloud.AgentWorker.Outbox;

public static class OutboxExtensions
{
    /// <summary>Remote delivery: endpoint resolution (static map, Almanac), the outbox listener and loop.</summary>
    public static WebApplicationBuilder AddAgentOutbox(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<OutboxOptions>()
            .BindConfiguration(OutboxOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate(OutboxOptions.AreConsistent,
                $"{OutboxOptions.SectionName}: delays must be positive, each maximum at least its base, the lease longer than any attempt.")
            .ValidateOnStart();
        builder.Services.AddOutboundDestinations();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<IEndpointResolver, EndpointResolver>();

        // EXTEXP0001: RemoveAllResilienceHandlers is marked experimental; it is the documented way out of the defaults.
#pragma warning disable EXTEXP0001
        // One attempt per claim, with our own timeout and backoff: the default resilience handler's retries
        // and timeouts would double up on ours (and replay non-idempotent POSTs).
        // Both connect only where the destination policy allows (checked on the connected address), follow no redirects.
        builder.Services.AddHttpClient(OutboxDelivery.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .RemoveAllResilienceHandlers()
            .ConfigurePrimaryHttpMessageHandler(services => services.GetRequiredService<OutboundDestinationPolicy>().CreateHandler());
        builder.Services.AddHttpClient(EndpointResolver.AlmanacClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .RemoveAllResilienceHandlers()
            .ConfigurePrimaryHttpMessageHandler(services => services.GetRequiredService<OutboundDestinationPolicy>().CreateHandler());
#pragma warning restore EXTEXP0001

        builder.Services.AddSingleton<OutboxSignal>();
        builder.Services.AddSingleton<OutboxMetrics>();
        builder.Services.AddSingleton<OutboxDelivery>();
        builder.Services.AddHostedService<OutboxProcessor>();
        return builder;
    }
}
