using Secp256k1Net;

namespace AgentCloud.Shared.UAgents;

/// <summary>
/// uAgents signatures: ECDSA secp256k1 over a 32-byte digest, raw r||s as Bech32 <c>sig1…</c>. The curve
/// arithmetic is bitcoin-core's libsecp256k1 (native, through Secp256k1.Net): a verification costs about a
/// sixth of a managed port's, and every <c>/submit</c> envelope pays one.
/// </summary>
public static class Signatures
{
    public const string Prefix = "sig";

    /// <summary>Whether <paramref name="signature"/> is the signature of <paramref name="digest"/> by <paramref name="address"/>.</summary>
    public static bool Verify(string? address, ReadOnlySpan<byte> digest, string? signature) =>
        digest.Length == 32
        && Address.TryGetPublicKey(address, out var publicKey)
        && Canonical(signature) is { } lowS
        && Secp256k1.Verify(lowS, digest, publicKey);

    /// <summary>
    /// The 64 bytes r||s with S made low, or null when <paramref name="signature"/> is no signature: (r, s)
    /// and (r, n−s) sign the same digest, so an envelope re-sent with S flipped is still the same envelope.
    /// The reference signs without normalising S and verifies high-S signatures; libsecp256k1 accepts only
    /// low S, so a high S is flipped before it is verified.
    /// </summary>
    public static byte[]? Canonical(string? signature)
    {
        if (!Bech32.TryDecode(signature, out var hrp, out var raw) || hrp != Prefix || raw.Length != 64)
        {
            return null;
        }

        try
        {
            return Secp256k1.NormalizeSignature(raw);
        }
        catch (ArgumentException)
        {
            return null; // r or s is not below the curve's order
        }
    }
}
