using System.Security.Cryptography;
using System.Text;
using NBitcoin.Secp256k1;
using SHA256 = System.Security.Cryptography.SHA256;

namespace AgentCloud.Shared.UAgents;

/// <summary>
/// A uAgents identity: the secp256k1 key derived from a seed string and an index exactly as the
/// reference Python code derives it, so the same seed gives the same address in both.
/// </summary>
public sealed class AgentIdentity
{
    private readonly ECPrivKey _privateKey;

    private AgentIdentity(ECPrivKey privateKey)
    {
        _privateKey = privateKey;
        PublicKey = privateKey.CreatePubKey().ToBytes(compressed: true);
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
        try
        {
            return new AgentIdentity(Context.Instance.CreateECPrivKey(key));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
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

        var signature = _privateKey.SignECDSARFC6979(digest);
        Span<byte> raw = stackalloc byte[64];
        signature.WriteCompactToSpan(raw);
        return Bech32.Encode(Signatures.Prefix, raw);
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
        var bytes = new byte[32];
        _privateKey.WriteToSpan(bytes);
        return bytes;
    }
}
