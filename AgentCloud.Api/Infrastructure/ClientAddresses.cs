using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.HttpOverrides;

namespace AgentCloud.Api.Infrastructure;

/// <summary>
/// Who the client is, for rate limits: the connection's address, or the X-Forwarded-For entry of a
/// proxy this deployment trusts (<c>ForwardedHeaders:KnownProxies</c>, addresses, and
/// <c>ForwardedHeaders:KnownNetworks</c>, CIDR ranges). Nothing is trusted unless configured, except
/// loopback in Development (a local reverse proxy, and the integration tests' per-client headers).
/// </summary>
public static class ClientAddresses
{
    public static WebApplicationBuilder AddForwardedClientAddresses(this WebApplicationBuilder builder)
    {
        var trusted = TrustedProxies.From(builder.Configuration.GetSection("ForwardedHeaders"), builder.Environment.IsDevelopment());
        builder.Services.AddSingleton(trusted);
        builder.Services.Configure<ForwardedHeadersOptions>(options => trusted.ApplyTo(options));
        return builder;
    }

    /// <summary>
    /// The rate-limit partition of a client: an IPv4-mapped IPv6 address counts as its IPv4 address, and
    /// an IPv6 client as its /64 (one subscriber usually holds a whole /64 and can rotate within it).
    /// </summary>
    public static string PartitionKey(IPAddress? address)
    {
        if (address is null)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return $"{new IPAddress(bytes)}/64";
    }
}

/// <summary>The proxies whose X-Forwarded-For is believed.</summary>
public sealed class TrustedProxies(IReadOnlyList<IPAddress> proxies, IReadOnlyList<System.Net.IPNetwork> networks)
{
    public IReadOnlyList<IPAddress> Proxies { get; } = proxies;
    public IReadOnlyList<System.Net.IPNetwork> Networks { get; } = networks;

    /// <summary>The configured lists; with none configured, loopback in Development and nothing otherwise.</summary>
    public static TrustedProxies From(IConfiguration section, bool isDevelopment)
    {
        var proxies = section.GetSection("KnownProxies").Get<string[]>() ?? [];
        var networks = section.GetSection("KnownNetworks").Get<string[]>() ?? [];
        if (proxies.Length == 0 && networks.Length == 0 && isDevelopment)
        {
            networks = ["127.0.0.0/8", "::1/128"];
        }

        return new TrustedProxies(
            [.. proxies.Select(value => IPAddress.TryParse(value, out var address)
                ? address
                : throw new InvalidOperationException($"ForwardedHeaders:KnownProxies: '{value}' is not an IP address."))],
            [.. networks.Select(value => System.Net.IPNetwork.TryParse(value, out var network)
                ? network
                : throw new InvalidOperationException($"ForwardedHeaders:KnownNetworks: '{value}' is not a CIDR range."))]);
    }

    /// <summary>Whether a connection from <paramref name="remote"/> may say who the client is (as the middleware decides).</summary>
    public bool Trusts(IPAddress remote)
    {
        var address = remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote;
        return Proxies.Any(proxy => proxy.Equals(address) || proxy.Equals(remote))
            || Networks.Any(network => network.Contains(address) || network.Contains(remote));
    }

    public void ApplyTo(ForwardedHeadersOptions options)
    {
        // With both lists empty the middleware would believe every sender, not none: then it does nothing.
        options.ForwardedHeaders = Proxies.Count == 0 && Networks.Count == 0
            ? ForwardedHeaders.None
            : ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
        // The framework's defaults trust loopback; here only what is configured counts.
        options.KnownProxies.Clear();
        options.KnownIPNetworks.Clear();
        foreach (var proxy in Proxies)
        {
            options.KnownProxies.Add(proxy);
        }

        foreach (var network in Networks)
        {
            options.KnownIPNetworks.Add(network);
        }
    }
}
