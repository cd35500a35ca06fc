using System.Text.RegularExpressions;

namespace AgentCloud.IntegrationTests;

/// <summary>The README's curl tour, run as written, so the README cannot drift from the API.</summary>
[Collection(AgentCloudCollection.Name)]
public sealed class ReadmeTourTests(AgentCloudFixture fixture)
{
    private static readonly TimeSpan TourTimeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task TheReadmeTourRunsTopToBottomAgainstTheAppHost()
    {
        var script = Path.Combine(Path.GetTempPath(), $"agentcloud-tour-{Guid.NewGuid():N}.sh");
        await File.WriteAllTextAsync(script, TourBlock());
        try
        {
            var api = fixture.App.GetEndpoint("api", "http").ToString().TrimEnd('/');
            // -e: any command that fails (curl --fail-with-body on a non-2xx, jq on a non-JSON answer) ends the tour.
            var (exitCode, output) = await RepositoryFiles.RunAsync("bash", ["-euo", "pipefail", script], TourTimeout,
                new Dictionary<string, string?> { ["API"] = api });

            Assert.True(exitCode == 0, $"The tour stopped with exit code {exitCode}:\n{output}");
            Assert.Contains("\"status\": \"done\"", output);          // the echo agent answered within ?wait
            Assert.Contains("\"delivery\": \"local\"", output);       // the send reached the second agent by address
            Assert.Contains("\"reply\": \"hi\"", output);
            Assert.Contains("event: log", output);                    // the bounded stream streamed
            Assert.Matches(@"(?m)^204$", output);                     // the delete
            Assert.Contains("\"detail\": \"Agent not found.\"", output);
            Assert.Contains("\"status\": \"healthy\"", output);
        }
        finally
        {
            File.Delete(script);
        }
    }

    [Fact]
    public void TheTourDependsOnNoIdKnownInAdvance()
    {
        var tour = TourBlock();

        Assert.DoesNotMatch(@"/agents/\d", tour);
        Assert.DoesNotContain("agent1q…", tour);
        Assert.Contains("API=${API:-http://localhost:5080}", tour);
    }

    /// <summary>The first bash block under "A tour of the API with curl".</summary>
    internal static string TourBlock()
    {
        var readme = File.ReadAllText(RepositoryFiles.PathOf("README.md"));
        var section = readme[readme.IndexOf("## A tour of the API with curl", StringComparison.Ordinal)..];
        var block = Regex.Match(section, "```bash\n(.*?)```", RegexOptions.Singleline);
        Assert.True(block.Success, "README.md has no bash block under \"A tour of the API with curl\".");
        return block.Groups[1].Value;
    }
}
