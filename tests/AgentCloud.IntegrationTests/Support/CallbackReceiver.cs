using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// A webhook (or A2A push) receiver on 127.0.0.1 that records every request and answers the statuses it is told, in turn
/// (200 once they run out): the loopback destination the fixture allows explicitly, as a deployment would not.
/// </summary>
public sealed class CallbackReceiver : IAsyncDisposable
{
    private readonly ConcurrentQueue<int> statuses;
    private readonly WebApplication app;

    public sealed record Received(IReadOnlyDictionary<string, string> Headers, string Body, int AnsweredStatus);

    private CallbackReceiver(WebApplication app, ConcurrentQueue<int> statuses)
    {
        this.app = app;
        this.statuses = statuses;
    }

    public ConcurrentQueue<Received> Requests { get; } = new();

    public string Url => $"{app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()}/hook";

    public static async Task<CallbackReceiver> StartAsync(params int[] answers)
    {
        CallbackReceiver? receiver = null;
        var statuses = new ConcurrentQueue<int>(answers);
        var app = await OpenNetworkTests.LoopbackAppAsync(app => app.MapPost("/hook", async (HttpContext context) =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            var status = statuses.TryDequeue(out var next) ? next : StatusCodes.Status200OK;
            var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
            receiver!.Requests.Enqueue(new Received(headers, body, status));
            return Results.StatusCode(status);
        }));
        receiver = new CallbackReceiver(app, statuses);
        return receiver;
    }

    /// <summary>The requests once at least <paramref name="count"/> came (the test fails after <paramref name="seconds"/>).</summary>
    public Task<List<Received>> WaitForAsync(int count, int seconds = 30) =>
        Wait.ForAsync(() => Task.FromResult(Requests.Count >= count ? Requests.ToList() : null), seconds);

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
