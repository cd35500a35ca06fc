using System.Net;
using AgentCloud.Shared.UAgents;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AgentCloud.UnitTests.Outbound;

public sealed class EndpointResolverTests : IDisposable
{
    private static readonly string Peer = AgentIdentity.FromSeed("resolver peer").Address;
    private static readonly string Other = AgentIdentity.FromSeed("resolver other").Address;

    private readonly string directory = Directory.CreateTempSubdirectory("agentcloud-endpoints-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public async Task TheConfiguredMapIsUsed()
    {
        using var host = Build(new() { [$"AgentWorker:Uagents:Endpoints:{Peer}"] = "http://127.0.0.1:9000/submit" });
        var resolver = host.Services.GetRequiredService<IEndpointResolver>();

        Assert.Equal("http://127.0.0.1:9000/submit", await resolver.ResolveAsync(Peer, CancellationToken.None));
        Assert.Null(await resolver.ResolveAsync(Other, CancellationToken.None));
    }

    [Fact]
    public async Task TheSharedUAgentsSectionWinsOverTheWorkersFormerOne()
    {
        using var host = Build(new()
        {
            [$"AgentWorker:Uagents:Endpoints:{Peer}"] = "http://127.0.0.1:9000/submit",
            [$"AgentWorker:Uagents:Endpoints:{Other}"] = "http://127.0.0.1:9002/submit",
            [$"UAgents:Endpoints:{Peer}"] = "http://127.0.0.1:9001/submit",
        });
        var resolver = host.Services.GetRequiredService<IEndpointResolver>();

        Assert.Equal("http://127.0.0.1:9001/submit", await resolver.ResolveAsync(Peer, CancellationToken.None));
        Assert.Equal("http://127.0.0.1:9002/submit", await resolver.ResolveAsync(Other, CancellationToken.None));
    }

    [Fact]
    public async Task AChangedEndpointsFileTakesEffectWithoutARestart()
    {
        var file = Path.Combine(directory, "endpoints.json");
        await File.WriteAllTextAsync(file, $"{{\"{Peer}\": \"http://127.0.0.1:9001/submit\"}}");
        using var host = Build(new()
        {
            ["AgentWorker:Uagents:EndpointsFile"] = file,
            [$"AgentWorker:Uagents:Endpoints:{Peer}"] = "http://127.0.0.1:9000/submit",
        });
        var map = host.Services.GetRequiredService<StaticEndpointMap>();
        Assert.Equal("http://127.0.0.1:9001/submit", map.Find(Peer));
        Assert.Null(map.Find(Other));

        var temporary = file + ".tmp";
        await File.WriteAllTextAsync(temporary,
            $"{{\"{Peer}\": \"http://127.0.0.1:9001/submit\", \"{Other}\": \"http://127.0.0.1:9002/submit\"}}");
        File.Move(temporary, file, overwrite: true);

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (map.Find(Other) is null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.Equal("http://127.0.0.1:9002/submit", map.Find(Other));
    }

    [Fact]
    public async Task TheAlmanacIsAskedForAnAddressNotInTheMapAndItsAnswerCached()
    {
        var handler = new StubHandler(request =>
            request.RequestUri!.AbsolutePath == $"/v1/almanac/agents/{Peer}"
                ? new HttpResponseMessage(HttpStatusCode.OK)
                {
                    Content = new StringContent($"{{\"address\": \"{Peer}\", \"endpoints\": [{{\"url\": " +
                        $"\"http://peer.example:8000/submit\", \"weight\": 1}}]}}"),
                }
                : new HttpResponseMessage(HttpStatusCode.NotFound));
        using var host = Build(new() { ["AgentWorker:Uagents:AlmanacApiUrl"] = "http://almanac.example/" }, handler);
        var resolver = host.Services.GetRequiredService<IEndpointResolver>();

        Assert.Equal("http://peer.example:8000/submit", await resolver.ResolveAsync(Peer, CancellationToken.None));
        Assert.Equal("http://peer.example:8000/submit", await resolver.ResolveAsync(Peer, CancellationToken.None));
        Assert.Null(await resolver.ResolveAsync(Other, CancellationToken.None));
        Assert.Equal(2, handler.Calls);
    }

    [Fact]
    public async Task AnAlmanacThatFailsMeansNoEndpoint()
    {
        var handler = new StubHandler(_ => throw new HttpRequestException("connection refused"));
        using var host = Build(new() { ["AgentWorker:Uagents:AlmanacApiUrl"] = "http://almanac.example" }, handler);

        Assert.Null(await host.Services.GetRequiredService<IEndpointResolver>().ResolveAsync(Peer, CancellationToken.None));
    }

    [Fact]
    public void AlmanacRecordsAreParsedLeniently()
    {
        var endpoints = EndpointResolver.ParseAlmanacEndpoints(
            """{"endpoints": [{"url": "http://a/submit", "weight": 2}, {"url": "http://b/submit"}, {"url": "ftp://c"}, {"weight": 1}, 5]}""");

        Assert.Equal([new AlmanacEndpoint("http://a/submit", 2), new AlmanacEndpoint("http://b/submit", 1)], endpoints);
        Assert.Empty(EndpointResolver.ParseAlmanacEndpoints("""{"detail": "not found"}"""));
        Assert.Empty(EndpointResolver.ParseAlmanacEndpoints("[]"));
    }

    [Theory]
    [InlineData(0.0, "http://a")]
    [InlineData(0.24, "http://a")]
    [InlineData(0.26, "http://b")]
    [InlineData(0.99, "http://b")]
    public void EndpointsArePickedByWeight(double sample, string expected)
    {
        AlmanacEndpoint[] endpoints = [new("http://a", 1), new("http://z", 0), new("http://b", 3)];

        Assert.Equal(expected, EndpointResolver.PickWeighted(endpoints, sample)!.Url);
        Assert.Null(EndpointResolver.PickWeighted([], sample));
    }

    private static IHost Build(Dictionary<string, string?> settings, StubHandler? almanac = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddStaticEndpointMap();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddLogging();
        builder.Services.AddSingleton<IEndpointResolver, EndpointResolver>();
        var client = builder.Services.AddHttpClient(EndpointResolver.AlmanacClientName);
        if (almanac is not null)
        {
            client.ConfigurePrimaryHttpMessageHandler(() => almanac);
        }

        return builder.Build();
    }

    private sealed class StubHandler(Func<HttpRequestMessage, HttpResponseMessage> answer) : HttpMessageHandler
    {
        private int calls;

        public int Calls => calls;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref calls);
            return Task.FromResult(answer(request));
        }
    }
}
