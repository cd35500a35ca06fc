using AgentCloud.Shared.UAgents;
using Aspire.Hosting.ApplicationModel;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCloud.IntegrationTests;

[Collection(AgentCloudCollection.Name)]
public sealed class WorkerTests(AgentCloudFixture fixture)
{
    [Fact]
    public async Task TheWorkerRegistersTheBackendAgentWithTheSeedsAddressAndLogsItsStart()
    {
        var expected = AgentIdentity.FromSeed(AgentCloudFixture.AgentSeed).Address;
        await using var db = await fixture.OpenDatabaseAsync();

        var agents = (await db.QueryAsync<(int Id, string Name, int? UserId)>(
            "SELECT id, name, user_id FROM agents WHERE address = @expected", new { expected })).ToList();

        var backend = Assert.Single(agents);
        Assert.Null(backend.UserId);
        var lines = (await db.QueryAsync<(string Level, string Message)>(
            "SELECT log_level, message FROM agent_logs WHERE agent_id = @Id ORDER BY id", new { backend.Id })).ToList();
        Assert.Contains(lines, line => line.Level == "INFO" && line.Message.Contains("started") && line.Message.Contains(expected));
    }

    [Fact]
    public async Task AUserAgentsAddressDerivesFromTheRootSeedAndItsId()
    {
        var user = await fixture.CreateUserAsync();

        var agent = await user.CreateAgentAsync();

        var id = agent["id"]!.GetValue<int>();
        Assert.Equal(AgentIdentity.ForUserAgent(AgentCloudFixture.AgentSeed, id).Address, agent["address"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnExistingAgentWithoutAnAddressGetsItsAddressWhenAWorkerStarts()
    {
        var user = await fixture.CreateUserAsync();
        int id;
        await using (var db = await fixture.OpenDatabaseAsync())
        {
            // As a row from the original backend: no address column value.
            id = await db.ExecuteScalarAsync<int>(
                "INSERT INTO agents (name, user_id, config) VALUES ('legacy', @userId, '{}') RETURNING id", new { userId = user.Id });
        }

        await RestartOneWorkerReplicaAsync();

        var expected = AgentIdentity.ForUserAgent(AgentCloudFixture.AgentSeed, id).Address;
        var address = await Wait.ForAsync(async () =>
        {
            using var response = await user.Client.GetAsync($"/agents/{id}");
            return (await response.ReadJsonAsync())["address"]?.GetValue<string>();
        }, seconds: 60);
        Assert.Equal(expected, address);
    }

    private async Task RestartOneWorkerReplicaAsync()
    {
        var notifications = fixture.App.Services.GetRequiredService<ResourceNotificationService>();
        var commands = fixture.App.Services.GetRequiredService<ResourceCommandService>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var replica = await notifications.WaitForResourceAsync("agent-worker",
            e => e.Snapshot.State?.Text == KnownResourceStates.Running, timeout.Token);

        var result = await commands.ExecuteCommandAsync(replica.ResourceId, KnownResourceCommands.RestartCommand, timeout.Token);

        Assert.True(result.Success, result.Message);
    }
}
