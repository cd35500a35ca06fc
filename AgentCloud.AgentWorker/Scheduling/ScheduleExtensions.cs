using AgentCloud.Shared.Quotas;

namespace AgentCloud.AgentWorker.Scheduling;

public static class ScheduleExtensions
{
    /// <summary>The schedule loop, with the owner's quotas it fires under (section <c>Quotas</c>, as the API reads it).</summary>
    public static WebApplicationBuilder AddSchedules(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ScheduleOptions>()
            .BindConfiguration(ScheduleOptions.SectionName)
            .Validate(ScheduleOptions.AreValid, $"{ScheduleOptions.SectionName}: MaxSleep must be positive and BatchSize 1 to 1000.")
            .ValidateOnStart();
        QuotaChecks.AddQuotas(builder);
        builder.Services.AddSingleton<ScheduleSignal>();
        builder.Services.AddSingleton<ScheduleFirer>();
        builder.Services.AddHostedService<ScheduleLoop>();
        return builder;
    }
}
