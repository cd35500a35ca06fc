using System.Collections.Concurrent;
using System.Net.Http.Json;
using AgentCloud.Shared.UAgents;
using Dapper;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// The attacks of "hold on an open network" (issue 12), tried the way an outsider would, each against the
/// running system. Every destination here is loopback (the fixture allows it, as development does).
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed class OpenNetworkTests(AgentCloudFixture fixture)
{
    [Fact]
    public async Task ARedirectFromAPeerIsNotFollowed()
    {
        var hits = new ConcurrentQueue<string>();
        await using var internalService = await LoopbackAppAsync(app =>
            app.MapPost("/internal/hook", () => { hits.Enqueue("hook"); return Results.Text("{}", "application/json"); }));
        var hook = internalService.Urls.First().TrimEnd('/') + "/internal/hook";
        await using var redirecting = await LoopbackAppAsync(app =>
            app.MapPost("/submit", () => { hits.Enqueue("submit"); return Results.Redirect(hook, permanent: false, preserveMethod: true); }));
        var peer = AgentIdentity.FromSeed($"redirecting peer {Guid.NewGuid()}").Address;
        await fixture.AddEndpointAsync(peer, redirecting.Urls.First().TrimEnd('/') + "/submit");
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("sender");

        using var response = await user.Client.PostAsJsonAsync($"/agents/{agent["id"]}/send", new { target = peer, text = "follow me" });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = Guid.Parse((await response.ReadJsonAsync())["id"]!.GetValue<string>());

        var row = await WaitUntilFinishedAsync(id);
        Assert.Equal("dead", row.Status);
        Assert.Contains(OutboundDestinationPolicy.Refused, row.Error);
        Assert.DoesNotContain("hook", hits);
        Assert.Equal(AgentCloudFixture.OutboxMaxAttempts, hits.Count(hit => hit == "submit"));
    }

    private sealed record Row(string Status, string? Error);

    private Task<Row> WaitUntilFinishedAsync(Guid id, int seconds = 30) =>
        MessagingTests.PollAsync(async () =>
        {
            await using var db = await fixture.OpenDatabaseAsync();
            return await db.QuerySingleAsync<Row>("SELECT status, error FROM messages WHERE id = @id", new { id })
                is { Status: "dead" or "done" } row ? row : null;
        }, seconds);

    /// <summary>A small Kestrel app on 127.0.0.1 with the routes <paramref name="map"/> adds.</summary>
    internal static async Task<WebApplication> LoopbackAppAsync(Action<WebApplication> map)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        return app;
    }
}
