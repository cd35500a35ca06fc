namespace AgentCloud.IntegrationTests;

/// <summary>
/// The AppHost's own program, run with a setting it cannot work with: it stops at once, with one line
/// naming the setting, no stack trace and a non-zero exit code.
/// </summary>
public sealed class AppHostConfigurationTests
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task ABogusPostgresModeStopsTheAppHostWithOneLineNamingTheSetting()
    {
        var (exitCode, output) = await RunAppHostAsync(new() { ["Postgres__Mode"] = "bogus" });

        AssertOneClearLine(exitCode, output, "Postgres__Mode");
        Assert.Contains("bogus", output);
    }

    [Fact]
    public async Task AnExternalDatabaseWithoutAConnectionStringStopsTheAppHostNamingTheSetting()
    {
        var (exitCode, output) = await RunAppHostAsync(new() { ["Postgres__Mode"] = "external" });

        AssertOneClearLine(exitCode, output, "ConnectionStrings__agentsdb");
    }

    private static void AssertOneClearLine(int exitCode, string output, string setting)
    {
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(exitCode != 0, $"exit code 0:\n{output}");
        Assert.True(lines.Length == 1, $"expected one line:\n{output}");
        Assert.Contains(setting, lines[0]);
        Assert.DoesNotContain("   at ", output);
        Assert.DoesNotContain("Exception", output);
    }

    private static Task<(int ExitCode, string Output)> RunAppHostAsync(Dictionary<string, string?> settings)
    {
        settings["DOTNET_ENVIRONMENT"] = "Development";
        settings["ASPIRE_ALLOW_UNSECURED_TRANSPORT"] = "true";
        settings["ConnectionStrings__agentsdb"] = null;
        return RepositoryFiles.RunAsync("dotnet", [RepositoryFiles.AppHostDll()], RunTimeout, settings,
            RepositoryFiles.AppHostDirectory);
    }
}
