using AgentCloud.Shared.UAgents;

namespace AgentCloud.UnitTests.UAgents;

public class Bech32Tests
{
    [Theory]
    [InlineData("agent", 33)]
    [InlineData("sig", 64)]
    [InlineData("x", 0)]
    [InlineData("test", 1)]
    [InlineData("long", 200)]
    public void RoundTripsBytes(string hrp, int length)
    {
        var data = Enumerable.Range(0, length).Select(i => (byte)(i * 37 + 11)).ToArray();

        var encoded = Bech32.Encode(hrp, data);

        Assert.True(Bech32.TryDecode(encoded, out var decodedHrp, out var decoded));
        Assert.Equal(hrp, decodedHrp);
        Assert.Equal(data, decoded);
        Assert.Equal(encoded.ToLowerInvariant(), encoded);
    }

    [Theory]
    [InlineData("A12UEL5L", "a")]
    [InlineData("a12uel5l", "a")]
    [InlineData("an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
        "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio")]
    [InlineData("abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw", "abcdef")]
    [InlineData("split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w", "split")]
    public void AcceptsTheBip173ValidStrings(string text, string hrp)
    {
        Assert.True(Bech32.TryDecode(text, out var decodedHrp, out _));
        Assert.Equal(hrp, decodedHrp);
    }

    [Theory]
    [InlineData("agent1qf5gfqm48k9acegez3sg82ney2aa6l5fvpwh3n3z0ajh0nam3ssgwnn5me8")]
    [InlineData("agent1qf5gfqm48k9acegez3sg82ney2aa6l5fvpwh3n3z0ajh0nam3ssgwnn5mf7")]
    [InlineData("agent1pf5gfqm48k9acegez3sg82ney2aa6l5fvpwh3n3z0ajh0nam3ssgwnn5me7")]
    [InlineData("agenT1qf5gfqm48k9acegez3sg82ney2aa6l5fvpwh3n3z0ajh0nam3ssgwnn5me7")]
    [InlineData("agent1qf5gfqm48k9acegez3sg82ney2aa6l5fvpwh3n3z0ajh0nam3ssgwnn5mb7")]
    [InlineData("a12uel5m")]
    [InlineData("1qqqqqq")]
    [InlineData("")]
    public void RejectsABadChecksumOrMalformedString(string text) =>
        Assert.False(Bech32.TryDecode(text, out _, out _));

    [Fact]
    public void RejectsABech32mChecksum() =>
        // BIP-350's valid Bech32m test string: its checksum constant differs from Bech32's.
        Assert.False(Bech32.TryDecode("a1lqfn3a", out _, out _));

    [Fact]
    public void DecodesA113CharacterSignatureBeyondTheBip173Limit()
    {
        const string signature =
            "sig1qyvn5fjzrhjzqcmj2gfg4us6xj00gvscs4u9uqxy6wpvp9agxjf723eh5l6w878p67lycgd3fz77zr3h0q6mrheg48e35zsvv0rm2tsuvyn3l";

        Assert.Equal(113, signature.Length);
        Assert.Equal(64, Bech32.Decode(signature, "sig").Length);
    }
}
