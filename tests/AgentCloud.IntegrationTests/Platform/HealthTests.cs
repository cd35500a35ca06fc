namespace AgentCloud.IntegrationTests;

[Collection(AgentCloudCollection.Name)]
public sealed class HealthTests(AgentCloudFixture fixture)
{
    [Fact]
    public async Task HealthSaysHealthyWithoutAToken()
    {
        using var client = fixture.CreateApiClient();

        using var response = await client.GetAsync("/health");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("{\"status\":\"healthy\"}", (await response.ReadJsonAsync()).ToJsonString());
    }

    [Fact]
    public async Task TheWorkerAnswersItsHealthCheck()
    {
        using var client = fixture.App.CreateHttpClient("agent-worker");

        using var response = await client.GetAsync("/health");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task UnknownRoutesAre404ProblemDetails()
    {
        using var client = fixture.CreateApiClient();

        using var response = await client.GetAsync("/no/such/route");

        await response.AssertProblemAsync(HttpStatusCode.NotFound);
    }
}
