using AgentCloud.Shared.Quotas;
using FastEndpoints;
using Microsoft.Extensions.Options;

namespace AgentCloud.Api.Features.Schedules.Update;

public sealed class Request : ScheduleBody
{
    [BindFrom("schedule_id")]
    public Guid ScheduleId { get; init; }

    public sealed class Validator : Validator<Request>
    {
        public Validator(IOptions<QuotaOptions> quotas) => this.AddScheduleRules(quotas.Value);
    }
}
