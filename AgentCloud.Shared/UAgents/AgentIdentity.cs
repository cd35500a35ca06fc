using System.Security.Cryptography;
using System.Text;
using Secp256k1Net;

namespace AgentCloud.Shared.UAgents;

/// <summary>
/// A uAgents identity: the secp256k1 key derived from a seed string and an index exactly as the
/// reference Python code derives it, so the same seed gives the same address in both.
/// </summary>
public sealed class AgentIdentity
{
    private readonly byte[] privateKey;

    private AgentIdentity(byte[] privateKey)
    {
        this.privateKey = privateKey;
        PublicKey = Secp256k1.CreatePublicKey(privateKey, compressed: true);
        Address = Bech32.Encode(UAgents.Address.AgentPrefix, PublicKey);
    }

    /// <summary>The <c>agent1…</c> address.</summary>
    public string Address { get; }

    /// <summary>The 33-byte compressed public key.</summary>
    public byte[] PublicKey { get; }

    public static AgentIdentity FromSeed(string seed, int index = 0)
    {
        ArgumentNullException.ThrowIfNull(seed);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(index, 255);

        var key = DerivePrivateKey(seed, (byte)index);
        if (!Secp256k1.IsValidSecretKey(key))
        {
            CryptographicOperations.ZeroMemory(key);
            throw new ArgumentException("The seed derives no valid key.", nameof(seed));
        }

        return new AgentIdentity(key);
    }

    /// <summary>
    /// A user agent's identity: index 0 of the seed string <c>{rootSeed}/agents/{agentId}</c>, so
    /// whoever holds the root seed can recreate any agent's key with the reference code.
    /// </summary>
    public static AgentIdentity ForUserAgent(string rootSeed, int agentId) =>
        FromSeed($"{rootSeed}/agents/{agentId}", 0);

    /// <summary>A deterministic (RFC 6979), low-S signature of a 32-byte digest, as <c>sig1…</c>.</summary>
    public string Sign(ReadOnlySpan<byte> digest)
    {
        if (digest.Length != 32)
        {
            throw new ArgumentException("A digest is 32 bytes.", nameof(digest));
        }

        // libsecp256k1's default nonce is RFC 6979's, and its signatures are low-S.
        return Bech32.Encode(Signatures.Prefix, Secp256k1.Sign(digest, privateKey));
    }

    /// <summary>Never the key: identities end up in log lines.</summary>
    public override string ToString() => Address;

    internal static byte[] DerivePrivateKey(string seed, byte index)
    {
        var prefix = SHA256.HashData([.. "agent"u8, index]);
        var seedHash = SHA256.HashData(Encoding.UTF8.GetBytes(seed));
        return SHA256.HashData([.. prefix, .. seedHash]);
    }

    /// <summary>For tests against the reference vectors only.</summary>
    internal byte[] ExportPrivateKeyForTests()
    {
        return [.. privateKey];
    }
}
