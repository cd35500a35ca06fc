using System.Net;
using System.Net.Sockets;
using System.Text;
using AgentCloud.Shared.UAgents;

namespace AgentCloud.UnitTests.Outbound;

/// <summary>
/// Which addresses the worker may connect to, and the outbound handler that enforces it. The handler tests
/// run against listeners on loopback only: a refused destination must see no connection at all.
/// </summary>
public sealed class OutboundDestinationTests
{
    private static readonly OutboundDestinationPolicy Default = new([]);

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.255.255.254")]
    [InlineData("0.0.0.0")]
    [InlineData("10.1.2.3")]
    [InlineData("172.16.0.1")]
    [InlineData("172.31.255.255")]
    [InlineData("192.168.1.1")]
    [InlineData("100.64.0.1")]
    [InlineData("100.127.255.255")]
    [InlineData("169.254.169.254")]
    [InlineData("192.0.2.10")]
    [InlineData("198.18.0.1")]
    [InlineData("198.51.100.7")]
    [InlineData("203.0.113.9")]
    [InlineData("224.0.0.251")]
    [InlineData("239.255.255.250")]
    [InlineData("240.0.0.1")]
    [InlineData("255.255.255.255")]
    [InlineData("::")]
    [InlineData("::1")]
    [InlineData("fe80::1")]
    [InlineData("fc00::1")]
    [InlineData("fd12:3456:789a::1")]
    [InlineData("ff02::1")]
    [InlineData("2001:db8::1")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("::ffff:10.0.0.1")]
    [InlineData("::ffff:169.254.169.254")]
    [InlineData("::127.0.0.1")]
    [InlineData("64:ff9b::7f00:1")]
    [InlineData("2002:7f00:1::1")]
    public void NonPublicAddressesAreRefusedByDefault(string address) =>
        Assert.False(Default.IsAllowed(IPAddress.Parse(address)), address);

    [Theory]
    [InlineData("8.8.8.8")]
    [InlineData("1.1.1.1")]
    [InlineData("100.63.255.255")]
    [InlineData("100.128.0.0")]
    [InlineData("172.15.255.255")]
    [InlineData("172.32.0.0")]
    [InlineData("2606:4700:4700::1111")]
    [InlineData("::ffff:8.8.8.8")]
    public void PublicAddressesAreAllowed(string address) =>
        Assert.True(Default.IsAllowed(IPAddress.Parse(address)), address);

    [Theory]
    // .NET reads these host forms as the address they encode; each must be judged as that address.
    [InlineData("http://2130706433/", "127.0.0.1")]
    [InlineData("http://0177.0.0.1/", "127.0.0.1")]
    [InlineData("http://0x7f.0.0.1/", "127.0.0.1")]
    [InlineData("http://0x7f000001/", "127.0.0.1")]
    [InlineData("http://127.1/", "127.0.0.1")]
    [InlineData("http://[::ffff:127.0.0.1]/", "[::ffff:127.0.0.1]")]
    [InlineData("http://[::1]/", "[::1]")]
    [InlineData("http://[0:0:0:0:0:0:0:1]/", "[::1]")]
    [InlineData("http://0xa9fea9fe/", "169.254.169.254")]
    public async Task UrlHostFormsAreJudgedAsTheAddressTheyEncode(string url, string host)
    {
        var uri = new Uri(url);

        Assert.Equal(host, uri.Host);
        Assert.Empty(await Default.AllowedAddressesAsync(uri.IdnHost, CancellationToken.None));
    }

    [Fact]
    public async Task TheAllowListAdmitsNetworksAddressesAndHostNames()
    {
        var policy = new OutboundDestinationPolicy(["127.0.0.0/8", "fd00::5", "peer.internal"],
            (host, _) => Task.FromResult(host == "peer.internal" ? new[] { IPAddress.Parse("10.0.0.5") } : []));

        Assert.True(policy.IsAllowed(IPAddress.Parse("127.0.0.1")));
        Assert.True(policy.IsAllowed(IPAddress.Parse("::ffff:127.0.0.1")));
        Assert.True(policy.IsAllowed(IPAddress.Parse("fd00::5")));
        Assert.False(policy.IsAllowed(IPAddress.Parse("fd00::6")));
        Assert.False(policy.IsAllowed(IPAddress.Parse("::1")));
        Assert.Equal([IPAddress.Parse("10.0.0.5")], await policy.AllowedAddressesAsync("peer.internal", CancellationToken.None));
    }

    [Fact]
    public async Task ANameIsCheckedOnEveryAddressItResolvesTo()
    {
        var policy = new OutboundDestinationPolicy([],
            (_, _) => Task.FromResult(new[] { IPAddress.Parse("127.0.0.1"), IPAddress.Parse("93.184.215.14"),
                IPAddress.Parse("10.0.0.1") }));

        Assert.Equal([IPAddress.Parse("93.184.215.14")], await policy.AllowedAddressesAsync("mixed.example", CancellationToken.None));
    }

    [Theory]
    [InlineData("http://127.0.0.1:{0}/submit")]
    [InlineData("http://localhost:{0}/submit")]
    [InlineData("http://2130706433:{0}/submit")]
    [InlineData("http://0177.0.0.1:{0}/submit")]
    [InlineData("http://[::ffff:127.0.0.1]:{0}/submit")]
    [InlineData("http://rebound.test:{0}/submit")]
    public async Task TheHandlerOpensNoConnectionToARefusedDestination(string url)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        // A name that was public when someone looked and is loopback when the worker connects (DNS rebinding).
        var policy = new OutboundDestinationPolicy([],
            (host, _) => Task.FromResult(host == "rebound.test" ? [IPAddress.Loopback] : Dns.GetHostAddresses(host)));
        using var client = new HttpClient(policy.CreateHandler()) { Timeout = TimeSpan.FromSeconds(10) };

        var refused = await Assert.ThrowsAsync<HttpRequestException>(() =>
            client.PostAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, url, port), new StringContent("{}")));

        Assert.Contains(OutboundDestinationPolicy.Refused, refused.Message);
        await Task.Delay(200);
        Assert.False(listener.Pending(), "a connection reached the listener");
    }

    [Fact]
    public async Task TheHandlerConnectsToAnAllowedDestinationAndFollowsNoRedirect()
    {
        using var target = new TcpListener(IPAddress.Loopback, 0);
        target.Start();
        var targetPort = ((IPEndPoint)target.LocalEndpoint).Port;
        using var redirecting = new TcpListener(IPAddress.Loopback, 0);
        redirecting.Start();
        var redirectingPort = ((IPEndPoint)redirecting.LocalEndpoint).Port;
        var policy = new OutboundDestinationPolicy(["127.0.0.0/8"]);
        using var client = new HttpClient(policy.CreateHandler()) { Timeout = TimeSpan.FromSeconds(10) };
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        var answering = Task.Run(async () =>
        {
            using var socket = await redirecting.AcceptSocketAsync(timeout.Token);
            var buffer = new byte[8192];
            await socket.ReceiveAsync(buffer, timeout.Token);
            await socket.SendAsync(Encoding.ASCII.GetBytes(
                $"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:{targetPort}/internal\r\nContent-Length: " +
                $"0\r\nConnection: close\r\n\r\n"),
                timeout.Token);
        }, timeout.Token);
        using var response = await client.PostAsync($"http://127.0.0.1:{redirectingPort}/submit", new StringContent("{}"), timeout.Token);
        await answering;

        Assert.Equal(HttpStatusCode.TemporaryRedirect, response.StatusCode);
        await Task.Delay(200);
        Assert.False(target.Pending(), "the redirect was followed");
    }
}
