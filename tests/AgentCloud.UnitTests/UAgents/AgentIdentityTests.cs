using AgentCloud.Shared.UAgents;

namespace AgentCloud.UnitTests.UAgents;

public class AgentIdentityTests
{
    public static TheoryData<string, int, string?, string?, string> SeedVectors()
    {
        var data = new TheoryData<string, int, string?, string?, string>();
        foreach (var seed in Vectors.Seeds)
        {
            data.Add(seed.GetProperty("seed").GetString()!, seed.GetProperty("index").GetInt32(),
                seed.OptionalString("private_key"), seed.OptionalString("public_key"), seed.GetProperty("address").GetString()!);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(SeedVectors))]
    public void DerivesTheKeysAndAddressOfEverySeedVector(string seed, int index, string? privateKey, string? publicKey, string address)
    {
        var identity = AgentIdentity.FromSeed(seed, index);

        Assert.Equal(address, identity.Address);
        if (privateKey is not null)
        {
            Assert.Equal(privateKey, Convert.ToHexStringLower(identity.ExportPrivateKeyForTests()));
        }

        if (publicKey is not null)
        {
            Assert.Equal(publicKey, Convert.ToHexStringLower(identity.PublicKey));
        }
    }

    [Theory]
    [MemberData(nameof(SeedVectors))]
    public void AddressesAre65CharactersAndValid(string seed, int index, string? privateKey, string? publicKey, string address)
    {
        _ = (privateKey, publicKey, address);
        var identity = AgentIdentity.FromSeed(seed, index);

        Assert.Equal(65, identity.Address.Length);
        Assert.True(Address.IsValid(identity.Address));
    }

    [Fact]
    public void ToStringShowsTheAddressAndNeverThePrivateKey()
    {
        var identity = AgentIdentity.FromSeed("alice recovery password");

        Assert.Equal("agent1qf5gfqm48k9acegez3sg82ney2aa6l5fvpwh3n3z0ajh0nam3ssgwnn5me7", identity.ToString());
        Assert.DoesNotContain("dcb2e4bbf43c3a2f", identity.ToString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void AUserAgentHasTheIdentityOfItsDerivedSeedString()
    {
        var root = "root seed with at least thirty-two bytes in it";

        var agent = AgentIdentity.ForUserAgent(root, 42);

        Assert.Equal(AgentIdentity.FromSeed($"{root}/agents/42", 0).Address, agent.Address);
        Assert.NotEqual(AgentIdentity.FromSeed(root).Address, agent.Address);
        Assert.NotEqual(AgentIdentity.ForUserAgent(root, 43).Address, agent.Address);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(256)]
    public void RejectsAnIndexOutsideOneByte(int index) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => AgentIdentity.FromSeed("seed", index));
}
