namespace AgentCloud.IntegrationTests;

/// <summary>
/// The official MCP conformance suite (<c>@modelcontextprotocol/conformance</c>, from npm) against our /mcp:
/// its protocol scenarios (initialise, ping, log level, list tools and resources, concurrent POST streams,
/// SSE polling), run by the Node 22 the suite needs (the <c>node</c> package of tests/clients). The
/// scenarios that expect the reference server's own test tools, resources and prompts do not apply.
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed class McpConformanceTests(AgentCloudFixture fixture)
{
    [Fact]
    public async Task TheOfficialMcpConformanceSuitePassesItsProtocolScenariosAgainstOurServer()
    {
        var user = await fixture.CreateUserAsync();
        await user.CreateAgentAsync(config: new { behavior = "echo" });
        var baseUrl = fixture.CreateApiClient().BaseAddress!.ToString().TrimEnd('/');

        var summary = await NodeClients.RunAsync("mcp-conformance.mjs",
            new Dictionary<string, string> { ["BASE_URL"] = baseUrl, ["TOKEN"] = user.Token }, TimeSpan.FromMinutes(3));

        Assert.Equal(0, summary["failed"]!.GetValue<int>());
        var scenarios = summary["scenarios"]!.AsObject();
        Assert.Equal(["logging-set-level", "ping", "resources-list", "server-initialize", "server-sse-multiple-streams",
            "server-sse-polling", "tools-list"],
            scenarios.Select(s => s.Key).Order());
        foreach (var name in new[] { "server-initialize", "ping", "logging-set-level", "tools-list", "resources-list" })
        {
            Assert.Equal("SUCCESS", scenarios[name]![name]!.GetValue<string>());
        }
    }
}
