using AgentCloud.Shared.UAgents;

namespace AgentCloud.UnitTests.UAgents;

public class SignatureTests
{
    private const string AliceSeed = "alice recovery password";

    public static TheoryData<string, string, string, string, bool, bool> SignatureVectors()
    {
        var data = new TheoryData<string, string, string, string, bool, bool>();
        foreach (var vector in Vectors.SignatureCases)
        {
            data.Add(vector.GetProperty("address").GetString()!, vector.GetProperty("digest").GetString()!,
                vector.GetProperty("signature").GetString()!, vector.GetProperty("raw").GetString()!,
                vector.GetProperty("valid").GetBoolean(), vector.Flag("rfc6979"));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(SignatureVectors))]
    public void VerifiesEverySignatureVector(string address, string digest, string signature, string raw, bool valid, bool rfc6979)
    {
        _ = rfc6979;
        Assert.Equal(raw, Convert.ToHexStringLower(Bech32.Decode(signature, Signatures.Prefix)));
        Assert.Equal(valid, Signatures.Verify(address, Convert.FromHexString(digest), signature));
    }

    [Theory]
    [MemberData(nameof(SignatureVectors))]
    public void AChangedDigestByteFailsVerification(string address, string digest, string signature, string raw, bool valid, bool rfc6979)
    {
        _ = (raw, valid, rfc6979);
        var tampered = Convert.FromHexString(digest);
        tampered[^1] ^= 0x01;

        Assert.False(Signatures.Verify(address, tampered, signature));
    }

    [Theory]
    [MemberData(nameof(SignatureVectors))]
    public void SignsDeterministicallyAndVerifiesItsOwnSignature(string address, string digest, string signature, string raw, bool valid,
        bool rfc6979)
    {
        _ = (raw, valid);
        var alice = AgentIdentity.FromSeed(AliceSeed);
        Assert.Equal(address, alice.Address);
        var digestBytes = Convert.FromHexString(digest);

        var own = alice.Sign(digestBytes);

        Assert.Equal(113, own.Length);
        Assert.Equal(own, alice.Sign(digestBytes));
        Assert.True(Signatures.Verify(alice.Address, digestBytes, own));
        if (rfc6979)
        {
            Assert.Equal(signature, own);
        }
    }

    [Fact]
    public void ASignatureByAnotherAgentFailsVerification()
    {
        var digest = new byte[32];
        var bob = AgentIdentity.FromSeed("bob recovery password");

        var signature = bob.Sign(digest);

        Assert.False(Signatures.Verify(AgentIdentity.FromSeed(AliceSeed).Address, digest, signature));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("sig1qqqqqq")]
    [InlineData("agent1qf5gfqm48k9acegez3sg82ney2aa6l5fvpwh3n3z0ajh0nam3ssgwnn5me7")]
    public void AMalformedSignatureFailsVerification(string? signature)
    {
        var alice = AgentIdentity.FromSeed(AliceSeed);

        Assert.False(Signatures.Verify(alice.Address, new byte[32], signature));
    }

    [Fact]
    public void SigningRefusesADigestThatIsNot32Bytes() =>
        Assert.Throws<ArgumentException>(() => AgentIdentity.FromSeed(AliceSeed).Sign(new byte[31]));
}
