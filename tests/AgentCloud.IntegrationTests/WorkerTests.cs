using AgentCloud.Shared.UAgents;
using Dapper;

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
}
