using System.Diagnostics;
using System.Text.Json.Nodes;
using Dapper;
using Xunit.Abstractions;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// Minutes of steady mixed traffic from a second process (tests/AgentCloud.LoadDriver): no 5xx, no
/// growth in memory or database connections after warm-up, and every accepted message handled.
/// <c>SOAK_SECONDS</c> (default 120) and <c>SOAK_RATE</c> (requests per second, default 25) tune it.
/// </summary>
[Collection(AgentCloudCollection.Name)]
[Trait("Category", "Soak")]
public sealed class SoakTests(AgentCloudFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task SteadyMixedTrafficCausesNoServerErrorsNoGrowthAndLosesNoMessage()
    {
        var seconds = int.TryParse(Environment.GetEnvironmentVariable("SOAK_SECONDS"), out var s) && s > 0 ? s : 120;
        var rate = double.TryParse(Environment.GetEnvironmentVariable("SOAK_RATE"), System.Globalization.CultureInfo.InvariantCulture,
            out var r) && r > 0 ? r : 25;
        var warmUp = TimeSpan.FromSeconds(Math.Clamp(seconds / 4, 10, 60));
        var api = fixture.App.GetEndpoint("api", "http");

        using var driver = StartDriver(api, seconds, rate);
        var stdout = driver.StandardOutput.ReadToEndAsync();
        var stderr = driver.StandardError.ReadToEndAsync();
        Sample warm;
        try
        {
            await Task.Delay(warmUp);
            warm = await SampleAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds + 120));
            await driver.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            // A failed test must not leave the traffic running into the tests after it.
            if (!driver.HasExited)
            {
                driver.Kill(entireProcessTree: true);
            }
        }

        var end = await SampleAsync();
        var text = await stdout;
        Assert.True(driver.ExitCode == 0, $"the load driver exited with {driver.ExitCode}: {await stderr}\n{text}");
        var figures = JsonNode.Parse(text.TrimEnd().Split('\n')[^1])!.AsObject();
        var messageIds = figures["message_ids"]!.AsArray().Select(id => Guid.Parse(id!.GetValue<string>())).ToList();
        figures.Remove("message_ids");

        var clock = Stopwatch.StartNew();
        var unfinished = await WaitUntilHandledAsync(messageIds, TimeSpan.FromSeconds(90));
        string[] report =
        [
            $"soak: {seconds}s at {rate}/s from a second process (warm-up {warmUp.TotalSeconds}s)",
            $"figures: {figures.ToJsonString()}",
            $"messages accepted {messageIds.Count}, unfinished {unfinished} ({clock.Elapsed.TotalSeconds:F1}s after the traffic stopped)",
            .. warm.Rss.Select(p => $"RSS {p.Key}: warm {p.Value / 1048576.0:F1} MB, end " +
                $"{end.Rss.GetValueOrDefault(p.Key) / 1048576.0:F1} MB"),
            $"agentsdb connections: warm {warm.Connections}, end {end.Connections}",
        ];
        foreach (var line in report)
        {
            output.WriteLine(line);
            Console.WriteLine($"[soak] {line}");
        }

        Assert.Equal(0, figures["server_errors"]!.GetValue<int>());
        Assert.Equal(0, figures["transport_errors"]!.GetValue<int>());
        Assert.Empty(figures["unexpected"]!.AsArray());
        Assert.True(figures["total"]!.GetValue<int>() >= seconds * rate * 0.9, "the driver fell behind its rate");
        Assert.NotEmpty(messageIds);
        Assert.Equal(0, unfinished);

        // Same processes throughout (a restart would hide a leak), and bounded growth: a heap that keeps
        // expanding or a pool that keeps opening connections fails this; GC breathing does not.
        Assert.Equal(warm.Rss.Keys.Order(), end.Rss.Keys.Order());
        foreach (var (name, before) in warm.Rss)
        {
            var after = end.Rss[name];
            Assert.True(after <= before * 1.5 + 50 * 1048576, $"{name}: RSS grew from {before / 1048576} MB to {after / 1048576} MB");
        }

        Assert.True(end.Connections <= warm.Connections + 10, $"connections grew from {warm.Connections} to {end.Connections}");
    }

    private static Process StartDriver(Uri api, int seconds, double rate)
    {
        var directory = Path.GetDirectoryName(new Projects.AgentCloud_Api().ProjectPath)!;
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}")
            ? "Release" : "Debug";
        var dll = Path.Combine(directory, "..", "tests", "AgentCloud.LoadDriver", "bin", configuration, "net10.0",
            "AgentCloud.LoadDriver.dll");
        Assert.True(File.Exists(dll), $"{dll} is not built");
        var start = new ProcessStartInfo("dotnet",
            [dll, api.ToString(), seconds.ToString(), rate.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        return Process.Start(start)!;
    }

    private sealed record Sample(Dictionary<string, long> Rss, long Connections);

    /// <summary>RSS of the API and each worker replica (by pid), and the database's open connections.</summary>
    private async Task<Sample> SampleAsync()
    {
        var rss = new Dictionary<string, long>();
        foreach (var name in new[] { "api", "agent-worker" })
        {
            foreach (var replica in await fixture.RunningAsync(name))
            {
                var pid = ResourceProcesses.ServicePid(replica.Pid);
                rss[$"{replica.ResourceId} (pid {pid})"] = ResourceProcesses.RssBytes(pid);
            }
        }

        await using var db = await fixture.OpenDatabaseAsync();
        var connections = await db.ExecuteScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE datname = 'agentsdb'");
        return new Sample(rss, connections);
    }

    private async Task<long> WaitUntilHandledAsync(List<Guid> ids, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        await using var db = await fixture.OpenDatabaseAsync();
        while (true)
        {
            var unfinished = await db.ExecuteScalarAsync<long>(
                "SELECT count(*) FROM messages WHERE id = ANY(@ids) AND status <> 'done'", new { ids });
            if (unfinished == 0 || DateTime.UtcNow > deadline)
            {
                return unfinished;
            }

            await Task.Delay(250);
        }
    }
}
