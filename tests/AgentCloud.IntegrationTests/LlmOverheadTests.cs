using System.Net.Http.Json;
using Dapper;
using Xunit.Abstractions;
using static AgentCloud.IntegrationTests.LlmAgentTests;

namespace AgentCloud.IntegrationTests;

/// <summary>What an llm run costs beyond the model's own time, beside the echo path: a figure, printed, not a threshold.</summary>
[Collection(AgentCloudCollection.Name)]
public sealed class LlmOverheadTests(AgentCloudFixture fixture, ITestOutputHelper output)
{
    private const int Messages = 20;

    [Fact]
    public async Task TheRunOverheadOfAnLlmAgentIsMeasuredBesideTheEchoPath()
    {
        var user = await fixture.CreateUserAsync();
        var echo = await user.CreateAgentAsync("echo", new { behavior = "echo" });
        var script = fixture.Models.NewScript((_, _) => new TextReply("ok"));
        var llm = await CreateLlmAgentAsync(user, script);

        var echoMs = await MeasureAsync(user, echo, llm: false);
        var llmMs = await MeasureAsync(user, llm, llm: true);

        var line = $"median accepted→done over {Messages} sequential messages: echo {Median(echoMs):F1} ms; "
            + $"llm {Median(llmMs.Select(m => m.Total)):F1} ms, of which the model call {Median(llmMs.Select(m => m.Model)):F1} ms, "
            + $"run overhead (total − model) {Median(llmMs.Select(m => m.Total - m.Model)):F1} ms";
        output.WriteLine(line);
        Console.WriteLine($"[llm-overhead] {line}");
        Assert.Equal(Messages, script.Count);
    }

    private async Task<List<(double Total, double Model)>> MeasureAsync(TestUser user, System.Text.Json.Nodes.JsonObject agent, bool llm)
    {
        var results = new List<(double, double)>();
        await using var db = await fixture.OpenDatabaseAsync();
        for (var i = 0; i < Messages; i++)
        {
            using var response = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/messages?wait=30", new { text = $"m{i}" });
            var message = await response.ReadJsonAsync();
            Assert.Equal("done", message["status"]!.GetValue<string>());
            var id = Guid.Parse(message["id"]!.GetValue<string>());
            var total = await db.ExecuteScalarAsync<double>(
                "SELECT EXTRACT(EPOCH FROM completed_at - created_at)::float8 * 1000 FROM messages WHERE id = @id", new { id });
            var model = llm
                ? await db.ExecuteScalarAsync<double>("SELECT COALESCE(sum(duration_ms), 0) FROM run_steps WHERE message_id = @id AND kind = 'model_call'", new { id })
                : 0;
            results.Add((total, model));
        }

        return results;
    }

    private static double Median(IEnumerable<(double Total, double Model)> values) => Median(values.Select(v => v.Total));

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
