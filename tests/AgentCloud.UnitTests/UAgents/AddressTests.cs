using AgentCloud.Shared.UAgents;

namespace AgentCloud.UnitTests.UAgents;

public class AddressTests
{
    private const string Alice = "agent1qf5gfqm48k9acegez3sg82ney2aa6l5fvpwh3n3z0ajh0nam3ssgwnn5me7";

    [Theory]
    [InlineData(Alice)]
    [InlineData("agent://" + Alice)]
    [InlineData("test-agent://" + Alice)]
    [InlineData("alice/" + Alice)]
    [InlineData("  " + Alice + " ")]
    public void NormalizeStripsTheKnownPrefixes(string identifier) =>
        Assert.Equal(Alice, Address.Normalize(identifier));

    [Fact]
    public void AcceptsAValidAgentAddress() => Assert.True(Address.IsValid(Alice));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("agent1qf5gfqm48k9acegez3sg82ney2aa6l5fvpwh3n3z0ajh0nam3ssgwnn5me8")]
    [InlineData("sig1qyvn5fjzrhjzqcmj2gfg4us6xj00gvscs4u9uqxy6wpvp9agxjf723eh5l6w878p67lycgd3fz77zr3h0q6mrheg48e35zsvv0rm2tsuvyn3l")]
    [InlineData("AGENT1QF5GFQM48K9ACEGEZ3SG82NEY2AA6L5FVPWH3N3Z0AJH0NAM3SSGWNN5ME7")]
    public void RejectsAnythingButALowercaseAgentAddressOfA33BytePublicKey(string? address) =>
        Assert.False(Address.IsValid(address));

    [Fact]
    public void RejectsAnAgentPrefixedStringOfTheWrongLength() =>
        Assert.False(Address.IsValid(Bech32.Encode("agent", new byte[32])));

    [Fact]
    public void RecognisesUnsignedUserSenders()
    {
        Assert.True(Address.IsUserSender("user1qabc"));
        Assert.False(Address.IsUserSender(Alice));
    }
}
