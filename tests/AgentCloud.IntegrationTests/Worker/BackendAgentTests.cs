using Dapper;

namespace AgentCloud.IntegrationTests;

[Collection(AgentCloudCollection.Name)]
public sealed class BackendAgentTests(AgentCloudFixture fixture)
{
    [Fact]
    public async Task TwoWorkerReplicasCreateTheBackendAgentOnceWithoutBurningAnId()
    {
        await using var db = await fixture.OpenDatabaseAsync();
        var backendAgents = (await db.QueryAsync<int>("SELECT id FROM agents WHERE user_id IS NULL")).ToList();

        Assert.Equal([1], backendAgents);
        // Both replicas had started before any test ran; one id drawn means the first user agent got 2.
        Assert.Equal(1, fixture.AgentIdsDrawnAtStart);
    }
}
