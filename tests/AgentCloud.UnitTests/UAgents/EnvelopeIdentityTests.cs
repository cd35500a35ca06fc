using System.Numerics;
using AgentCloud.Shared.UAgents;

namespace AgentCloud.UnitTests.UAgents;

public class EnvelopeIdentityTests
{
    private static readonly BigInteger CurveOrder = BigInteger.Parse(
        "0FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141", System.Globalization.NumberStyles.HexNumber);

    private static readonly AgentIdentity Sender = AgentIdentity.FromSeed("envelope identity tests sender");
    private static readonly string Target = AgentIdentity.FromSeed("envelope identity tests target").Address;
    private static readonly Guid Session = Guid.Parse("0b7e4c6a-2f1d-4e8b-9a53-6c1f0e2d3b4a");

    private static Envelope Signed(long expires, long? nonce = null) =>
        (Envelope.Create(Sender.Address, Target, MessageModels.Message, """{"message": "same"}""", Session, expires: expires)
            with { Nonce = nonce }).SignedBy(Sender);

    [Fact]
    public void TheSameEnvelopeAgainHasTheSameIdentity()
    {
        var envelope = Signed(1_800_000_000);

        Assert.Equal(envelope.Identity(), Envelope.FromJson(envelope.ToJson())!.Identity());
        Assert.Matches("^[0-9a-f]{64}$", envelope.Identity());
    }

    [Fact]
    public void TwoSendsOfTheSameMessageInTheSameSessionAreTwoEnvelopes()
    {
        Assert.NotEqual(Signed(1_800_000_000).Identity(), Signed(1_800_000_001).Identity());
        Assert.NotEqual(Signed(1_800_000_000, nonce: 1).Identity(), Signed(1_800_000_000, nonce: 2).Identity());
    }

    [Fact]
    public void TwoSignaturesOfTheSameDigestAreTwoEnvelopes()
    {
        // The reference signs with a random k: the same fields signed twice are two sends.
        var envelope = Signed(1_800_000_000);
        var other = envelope with { Signature = Signed(1_800_000_001).Signature };

        Assert.NotEqual(envelope.Identity(), other.Identity());
    }

    [Fact]
    public void ASignatureWithSFlippedIsStillTheSameEnvelope()
    {
        var envelope = Signed(1_800_000_000);
        var raw = Bech32.Decode(envelope.Signature!, Signatures.Prefix);
        var s = new BigInteger(raw.AsSpan(32, 32), isUnsigned: true, isBigEndian: true);
        var flipped = (CurveOrder - s).ToByteArray(isUnsigned: true, isBigEndian: true);
        var highS = raw[..32].Concat(new byte[32 - flipped.Length]).Concat(flipped).ToArray();
        var replayed = envelope with { Signature = Bech32.Encode(Signatures.Prefix, highS) };

        Assert.True(replayed.HasValidSignature());
        Assert.NotEqual(envelope.Signature, replayed.Signature);
        Assert.Equal(envelope.Identity(), replayed.Identity());
    }

    [Fact]
    public void AnUnsignedEnvelopeIsIdentifiedByItsSignedFieldsNonceIncluded()
    {
        var first = Envelope.Create("user1qchatclient", Target, MessageModels.Message, """{"message": "hi"}""", Session) with { Nonce = 7 };

        Assert.Equal(first.Identity(), (first with { }).Identity());
        Assert.NotEqual(first.Identity(), (first with { Nonce = 8 }).Identity());
    }
}
