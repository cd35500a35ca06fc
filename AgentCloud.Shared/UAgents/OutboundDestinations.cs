using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace AgentCloud.Shared.UAgents;

/// <summary>
/// Where the worker may open a connection (section <c>AgentWorker:Outbound</c>). Endpoint URLs come from
/// outside (the Almanac, a peer's registration, an owner's endpoint map): without this, an agent could be
/// pointed at the worker's own network (loopback, the database, cloud metadata at 169.254.169.254).
/// </summary>
public sealed class OutboundDestinationOptions
{
    public const string SectionName = "AgentWorker:Outbound";

    /// <summary>
    /// Networks (CIDR such as <c>127.0.0.0/8</c>, or a single address) and host names that are allowed even
    /// though they are not public: loopback for local development, an operator's internal peers.
    /// </summary>
    public List<string> AllowedDestinations { get; set; } = [];
}

/// <summary>
/// The decision on one address, and the connection that honours it. The check runs on the addresses
/// the connection is actually made to (after DNS, inside the handler), so a name that resolves to a
/// public address when looked at and to 127.0.0.1 when connected (DNS rebinding) is still refused.
/// </summary>
public sealed class OutboundDestinationPolicy
{
    /// <summary>The one text for every destination refused or not reached: a client learns nothing about what is behind it.</summary>
    public const string Refused = "not delivered: the destination is not allowed, not reachable, or did not answer HTTP 200 in time";

    private static readonly IPNetwork[] NonPublic =
    [
        .. new[]
        {
            // IPv4: "this network", private, CGNAT, loopback, link-local, IETF, documentation, 6to4 relay,
            // benchmarking, multicast, reserved and broadcast.
            "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
            "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
            "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
            // IPv6: unspecified, loopback, IPv4-compatible, NAT64, discard, IETF (Teredo, benchmarking, ORCHID),
            // documentation, 6to4, unique-local, site-local, link-local, multicast.
            "::/128", "::1/128", "::/96", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32",
            "2002::/16", "3fff::/20", "fc00::/7", "fec0::/10", "fe80::/10", "ff00::/8",
        }.Select(network => IPNetwork.Parse(network)),
    ];

    private readonly IPNetwork[] allowedNetworks;
    private readonly HashSet<string> allowedHosts;
    private readonly Func<string, CancellationToken, Task<IPAddress[]>> resolve;

    /// <param name="allowed">See <see cref="OutboundDestinationOptions.AllowedDestinations"/>.</param>
    /// <param name="resolve">Name resolution (DNS unless a test supplies its own).</param>
    public OutboundDestinationPolicy(IEnumerable<string> allowed, Func<string, CancellationToken, Task<IPAddress[]>>? resolve = null)
    {
        var networks = new List<IPNetwork>();
        allowedHosts = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in allowed.Select(entry => entry.Trim()).Where(entry => entry.Length > 0))
        {
            if (IPNetwork.TryParse(entry, out var network))
            {
                networks.Add(network);
            }
            else if (IPAddress.TryParse(entry, out var address))
            {
                address = Canonical(address);
                networks.Add(new IPNetwork(address, address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128));
            }
            else
            {
                allowedHosts.Add(entry.TrimEnd('.'));
            }
        }

        allowedNetworks = [.. networks];
        this.resolve = resolve ?? ((host, cancellationToken) => Dns.GetHostAddressesAsync(host, cancellationToken));
    }

    /// <summary>Whether a connection to <paramref name="address"/> is allowed: a public address, or one on the allow list.</summary>
    public bool IsAllowed(IPAddress address)
    {
        address = Canonical(address);
        return allowedNetworks.Any(network => network.Contains(address)) || IsPublic(address);
    }

    /// <summary>Not loopback, private, link-local, unique-local, multicast, unspecified, broadcast, documentation or reserved.</summary>
    public static bool IsPublic(IPAddress address)
    {
        address = Canonical(address);
        return address.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6
            && !NonPublic.Any(network => network.Contains(address));
    }

    /// <summary>An IPv4-mapped IPv6 address (<c>::ffff:127.0.0.1</c>) is the IPv4 address it carries; scope ids do not matter.</summary>
    private static IPAddress Canonical(IPAddress address) =>
        address.IsIPv4MappedToIPv6 ? address.MapToIPv4()
        : address.AddressFamily == AddressFamily.InterNetworkV6 && address.ScopeId != 0 ? new IPAddress(address.GetAddressBytes())
        : address;

    /// <summary>The addresses of <paramref name="host"/> a connection may be made to, in resolution order (none: refused).</summary>
    public async Task<IReadOnlyList<IPAddress>> AllowedAddressesAsync(string host, CancellationToken cancellationToken)
    {
        var bare = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        IPAddress[] addresses;
        if (IPAddress.TryParse(bare, out var literal))
        {
            addresses = [literal];
        }
        else
        {
            try
            {
                addresses = await resolve(bare, cancellationToken);
            }
            catch (SocketException)
            {
                return [];
            }

            if (allowedHosts.Contains(bare.TrimEnd('.')))
            {
                return addresses;
            }
        }

        return [.. addresses.Where(IsAllowed)];
    }

    /// <summary>
    /// The primary handler for outbound HTTP: connects only to allowed addresses, follows no redirect
    /// (a 3xx is an answer like any other, not delivered) and uses no proxy (which would hide the destination).
    /// </summary>
    public SocketsHttpHandler CreateHandler() => new()
    {
        AllowAutoRedirect = false,
        UseProxy = false,
        UseCookies = false,
        ConnectCallback = ConnectAsync,
    };

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var addresses = await AllowedAddressesAsync(context.DnsEndPoint.Host, cancellationToken);
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException)
            {
                socket.Dispose();
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        throw new HttpRequestException(HttpRequestError.ConnectionError, Refused);
    }
}

public static class OutboundDestinationExtensions
{
    /// <summary>
    /// The one <see cref="OutboundDestinationPolicy"/> of a process, from <see cref="OutboundDestinationOptions.SectionName"/>: the
    /// worker's remote uAgents delivery and the API's callbacks (webhooks, A2A push) follow the same operator setting.
    /// </summary>
    public static IServiceCollection AddOutboundDestinations(this IServiceCollection services)
    {
        services.AddOptions<OutboundDestinationOptions>().BindConfiguration(OutboundDestinationOptions.SectionName);
        services.TryAddSingleton(provider => new OutboundDestinationPolicy(
            provider.GetRequiredService<IOptions<OutboundDestinationOptions>>().Value.AllowedDestinations));
        return services;
    }
}
