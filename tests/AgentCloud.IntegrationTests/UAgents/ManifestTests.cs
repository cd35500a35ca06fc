using System.Text.Json.Nodes;

namespace AgentCloud.IntegrationTests;

/// <summary>The manifest azd deploys from (publish mode): data that survives, secrets azd asks for, two workers.</summary>
public sealed class ManifestTests
{
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task ThePublishedPostgresKeepsItsDataOnANamedVolume()
    {
        var postgres = (await PublishAsync())["resources"]!["postgres"]!;

        Assert.StartsWith("container.", postgres["type"]!.GetValue<string>());
        var volume = Assert.Single(postgres["volumes"]!.AsArray())!;
        Assert.Equal("agentcloud-postgres-data", volume["name"]!.GetValue<string>());
        Assert.StartsWith("/var/lib/postgresql", volume["target"]!.GetValue<string>());
        Assert.False(volume["readOnly"]!.GetValue<bool>());
    }

    [Fact]
    public async Task EverySecretIsAskedForRatherThanGenerated()
    {
        var resources = (await PublishAsync())["resources"]!.AsObject();

        foreach (var name in new[] { "jwt-secret-key", "backend-agent-seed", "postgres-password" })
        {
            var input = resources[name]!["inputs"]!["value"]!;
            Assert.True(input["secret"]!.GetValue<bool>(), name);
            Assert.True(input["default"] is null, $"{name} has a default: {input["default"]?.ToJsonString()}");
        }

        Assert.DoesNotContain(resources, r => r.Value!["inputs"]?["value"]?["default"] is not null);
    }

    [Fact]
    public async Task TheWorkerRunsTwoReplicas()
    {
        var resources = (await PublishAsync())["resources"]!;

        Assert.Equal(2, resources["agent-worker"]!["replicas"]!.GetValue<int>());
        Assert.Equal("project.v0", resources["agent-worker"]!["type"]!.GetValue<string>());
        Assert.NotNull(resources["agent-worker"]!["env"]!["BACKEND_AGENT_SEED"]);
    }

    [Fact]
    public async Task TheWebConsoleFindsTheApiByServiceDiscoveryAndHasNoDatabase()
    {
        var web = (await PublishAsync())["resources"]!["web"]!;

        Assert.StartsWith("project.", web["type"]!.GetValue<string>());
        var env = web["env"]!.AsObject();
        Assert.Contains(env, e => e.Key.StartsWith("services__api__", StringComparison.Ordinal));
        Assert.DoesNotContain(env, e => e.Key.StartsWith("ConnectionStrings__", StringComparison.Ordinal));
        Assert.True(web["bindings"]!["http"]!["external"]!.GetValue<bool>());
    }

    private static async Task<JsonObject> PublishAsync()
    {
        var output = Path.Combine(Path.GetTempPath(), $"agentcloud-manifest-{Guid.NewGuid():N}.json");
        try
        {
            var (exitCode, log) = await RepositoryFiles.RunAsync("dotnet",
                [RepositoryFiles.AppHostDll(), "--publisher", "manifest", "--output-path", output], PublishTimeout,
                new Dictionary<string, string?> { ["DOTNET_ENVIRONMENT"] = "Development" },
                RepositoryFiles.AppHostDirectory);
            Assert.True(exitCode == 0, log);
            return JsonNode.Parse(await File.ReadAllTextAsync(output))!.AsObject();
        }
        finally
        {
            File.Delete(output);
        }
    }
}
