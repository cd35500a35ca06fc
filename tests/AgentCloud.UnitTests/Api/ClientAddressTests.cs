using System.Net;
using AgentCloud.Api.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AgentCloud.UnitTests.Api;

public sealed class ClientPartitionTests
{
    [Fact]
    public void AnIPv4ClientIsItsOwnPartition() =>
        Assert.Equal("203.0.113.7", ClientAddresses.PartitionKey(IPAddress.Parse("203.0.113.7")));

    [Fact]
    public void AnIPv4MappedAddressCountsAsTheIPv4Address() =>
        Assert.Equal(ClientAddresses.PartitionKey(IPAddress.Parse("203.0.113.7")),
            ClientAddresses.PartitionKey(IPAddress.Parse("::ffff:203.0.113.7")));

    [Fact]
    public void EveryAddressOfOneIPv6SlashSixtyFourSharesAPartition()
    {
        var first = ClientAddresses.PartitionKey(IPAddress.Parse("2001:db8:1:2::1"));
        Assert.Equal("2001:db8:1:2::/64", first);
        Assert.Equal(first, ClientAddresses.PartitionKey(IPAddress.Parse("2001:db8:1:2:ffff:ffff:ffff:ffff")));
        Assert.Equal(first, ClientAddresses.PartitionKey(IPAddress.Parse("2001:db8:1:2:abcd:1234:5678:9abc")));
    }

    [Fact]
    public void NeighbouringIPv6SlashSixtyFoursArePartitionedApart() =>
        Assert.NotEqual(ClientAddresses.PartitionKey(IPAddress.Parse("2001:db8:1:2::1")),
            ClientAddresses.PartitionKey(IPAddress.Parse("2001:db8:1:3::1")));

    [Fact]
    public void AClientWithoutAnAddressFallsInOnePartition() => Assert.Equal("unknown", ClientAddresses.PartitionKey(null));
}

public sealed class TrustedProxyTests
{
    private static TrustedProxies From(bool isDevelopment, params (string Key, string Value)[] settings) =>
        TrustedProxies.From(new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build(), isDevelopment);

    [Fact]
    public void ProductionTrustsNoProxyUnlessConfigured()
    {
        var trusted = From(isDevelopment: false);
        Assert.False(trusted.Trusts(IPAddress.Loopback));
        Assert.False(trusted.Trusts(IPAddress.IPv6Loopback));
        Assert.False(trusted.Trusts(IPAddress.Parse("10.0.0.1")));
    }

    [Fact]
    public void DevelopmentTrustsLoopbackInEveryForm()
    {
        var trusted = From(isDevelopment: true);
        Assert.True(trusted.Trusts(IPAddress.Parse("127.0.0.1")));
        Assert.True(trusted.Trusts(IPAddress.Parse("::ffff:127.0.0.1")));
        Assert.True(trusted.Trusts(IPAddress.IPv6Loopback));
        Assert.False(trusted.Trusts(IPAddress.Parse("192.168.1.10")));
    }

    [Fact]
    public void ConfiguredProxiesReplaceTheDevelopmentDefault()
    {
        var trusted = From(isDevelopment: true, ("KnownNetworks:0", "100.100.0.0/16"), ("KnownProxies:0", "10.1.2.3"));
        Assert.True(trusted.Trusts(IPAddress.Parse("100.100.7.8")));
        Assert.True(trusted.Trusts(IPAddress.Parse("::ffff:100.100.7.8")));
        Assert.True(trusted.Trusts(IPAddress.Parse("10.1.2.3")));
        Assert.False(trusted.Trusts(IPAddress.Loopback));
    }

    [Fact]
    public void AMalformedProxySettingStopsStartup() =>
        Assert.Throws<InvalidOperationException>(() => From(isDevelopment: false, ("KnownNetworks:0", "not-a-range")));

    [Theory]
    [InlineData(false, "127.0.0.1", "127.0.0.1")]
    [InlineData(true, "127.0.0.1", "198.18.0.9")]
    [InlineData(false, "::ffff:127.0.0.1", "::ffff:127.0.0.1")]
    [InlineData(true, "::ffff:127.0.0.1", "198.18.0.9")]
    public async Task TheForwardedHeadersMiddlewareBelievesXForwardedForOnlyFromATrustedProxy(bool development, string remote,
        string expected)
    {
        var options = new ForwardedHeadersOptions();
        From(development).ApplyTo(options);
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(remote);
        context.Request.Headers["X-Forwarded-For"] = "198.18.0.9";
        var middleware = new ForwardedHeadersMiddleware(_ => Task.CompletedTask, NullLoggerFactory.Instance, Options.Create(options));

        await middleware.Invoke(context);

        Assert.Equal(IPAddress.Parse(expected), context.Connection.RemoteIpAddress);
    }

    [Fact]
    public async Task ADirectClientRotatingXForwardedForStaysInItsOwnPartition()
    {
        var options = new ForwardedHeadersOptions();
        From(isDevelopment: false).ApplyTo(options);
        var middleware = new ForwardedHeadersMiddleware(_ => Task.CompletedTask, NullLoggerFactory.Instance, Options.Create(options));
        var partitions = new HashSet<string>();
        for (var i = 1; i <= 20; i++)
        {
            var context = new DefaultHttpContext();
            context.Connection.RemoteIpAddress = IPAddress.Parse("203.0.113.50");
            context.Request.Headers["X-Forwarded-For"] = $"198.18.0.{i}";
            await middleware.Invoke(context);
            partitions.Add(ClientAddresses.PartitionKey(context.Connection.RemoteIpAddress));
        }

        Assert.Equal(["203.0.113.50"], partitions);
    }
}
