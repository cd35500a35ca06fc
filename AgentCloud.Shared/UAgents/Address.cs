namespace AgentCloud.Shared.UAgents;

/// <summary>uAgents addresses: <c>agent1…</c>, Bech32 of a 33-byte compressed secp256k1 public key.</summary>
public static class Address
{
    public const string AgentPrefix = "agent";
    public const string UserPrefix = "user";
    public const int PublicKeyLength = 33;

    private static readonly string[] SchemePrefixes = ["agent://", "test-agent://"];

    /// <summary>
    /// The bare address of an identifier as uAgents writes them: <c>agent://ADDR</c>,
    /// <c>test-agent://ADDR</c> or <c>NAME/ADDR</c>.
    /// </summary>
    public static string Normalize(string identifier)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        var value = identifier.Trim();
        foreach (var scheme in SchemePrefixes)
        {
            if (value.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            {
                value = value[scheme.Length..];
                break;
            }
        }

        var slash = value.LastIndexOf('/');
        return slash >= 0 ? value[(slash + 1)..] : value;
    }

    /// <summary>True for a well-formed <c>agent1…</c> address (checksum and key length checked).</summary>
    public static bool IsValid(string? address) =>
        Bech32.TryDecode(address, out var hrp, out var data) && hrp == AgentPrefix
        && data.Length == PublicKeyLength && address!.StartsWith(AgentPrefix + "1", StringComparison.Ordinal);

    public static bool TryGetPublicKey(string? address, out byte[] publicKey)
    {
        publicKey = [];
        if (!IsValid(address))
        {
            return false;
        }

        publicKey = Bech32.Decode(address!, AgentPrefix);
        return true;
    }

    /// <summary>uAgents' unsigned senders (e.g. the Agentverse user of a chat) have addresses starting with <c>user</c>.</summary>
    public static bool IsUserSender(string? address) =>
        address is not null && address.StartsWith(UserPrefix, StringComparison.Ordinal);
}
