using AgentCloud.Shared.Quotas;
using FastEndpoints;
using Microsoft.Extensions.Options;

namespace AgentCloud.Api.Features.Schedules.Create;

public sealed class Request : ScheduleBody
{
    public sealed class Validator : Validator<Request>
    {
        public Validator(IOptions<QuotaOptions> quotas) => this.AddScheduleRules(quotas.Value);
    }
}
