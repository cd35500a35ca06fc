using NBitcoin.Secp256k1;

namespace AgentCloud.Shared.UAgents;

/// <summary>uAgents signatures: ECDSA secp256k1 over a 32-byte digest, raw r||s as Bech32 <c>sig1…</c>.</summary>
public static class Signatures
{
    public const string Prefix = "sig";

    /// <summary>Whether <paramref name="signature"/> is the signature of <paramref name="digest"/> by <paramref name="address"/>.</summary>
    public static bool Verify(string? address, ReadOnlySpan<byte> digest, string? signature)
    {
        if (digest.Length != 32
            || !Address.TryGetPublicKey(address, out var publicKeyBytes)
            || !Bech32.TryDecode(signature, out var hrp, out var raw) || hrp != Prefix || raw.Length != 64
            || !Context.Instance.TryCreatePubKey(publicKeyBytes, out var publicKey) || publicKey is null
            || !SecpECDSASignature.TryCreateFromCompact(raw, out var parsed) || parsed is null)
        {
            return false;
        }

        // The reference signs without normalising S and verifies high-S signatures; libsecp256k1
        // (and this port) accepts only low-S, so flip S to n−S first. (r, s) and (r, n−s) are both valid.
        var (r, s) = parsed;
        var lowS = s.IsHigh ? new SecpECDSASignature(r, s.Negate(), false) : parsed;
        return publicKey.SigVerify(lowS, digest);
    }

    /// <summary>
    /// The 64 bytes r||s with S made low, or null when <paramref name="signature"/> is no signature: (r, s)
    /// and (r, n−s) sign the same digest, so an envelope re-sent with S flipped is still the same envelope.
    /// </summary>
    public static byte[]? Canonical(string? signature)
    {
        if (!Bech32.TryDecode(signature, out var hrp, out var raw) || hrp != Prefix || raw.Length != 64
            || !SecpECDSASignature.TryCreateFromCompact(raw, out var parsed) || parsed is null)
        {
            return null;
        }

        var (r, s) = parsed;
        var lowS = s.IsHigh ? new SecpECDSASignature(r, s.Negate(), false) : parsed;
        var canonical = new byte[64];
        lowS.WriteCompactToSpan(canonical);
        return canonical;
    }
}
