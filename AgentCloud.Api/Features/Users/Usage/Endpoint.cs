using AgentCloud.Shared.Quotas;
using AgentCloud.Api.Infrastructure;
using FastEndpoints;
using Npgsql;

namespace AgentCloud.Api.Features.Users.Usage;

public sealed class Endpoint(QuotaChecks quotas, NpgsqlDataSource dataSource) : EndpointWithoutRequest<IReadOnlyDictionary<string,
    QuotaUse>>
{
    public override void Configure()
    {
        Get("/users/me/usage");
        Policies(ApiScopes.AgentsRead);
        Summary(s =>
        {
            s.Summary = "The caller's use of each quota, against its limit";
            s.Description =
                "agents_per_user, config_bytes_per_user (all agent configs together), messages_per_day (this UTC day), " +
                "input_tokens_per_day and output_tokens_per_day (model tokens all the caller's agents spent this UTC day), and " +
                "queued_messages_per_agent (the fullest queue of any of the caller's agents), each as {used, limit}.";
        });
    }

    public override async Task HandleAsync(CancellationToken ct) =>
        await Send.OkAsync(await quotas.UsageAsync(dataSource, User.UserId(), ct), ct);
}
