using AgentCloud.Shared.UAgents;

namespace AgentCloud.UnitTests.UAgents;

public sealed class BackendAgentTests
{
    private const string RootSeed = "backend agent tests root seed 0123456789abcdef";
    private static readonly BackendAgent Backend = new(RootSeed);

    [Fact]
    public void TheBackendAgentSignsWithTheRootSeedsOwnKey()
    {
        var key = Backend.SigningKeyFor(1, userId: null, Backend.Address);

        Assert.Equal(AgentIdentity.FromSeed(RootSeed).Address, key?.Address);
    }

    [Fact]
    public void AUserAgentSignsWithTheKeyDerivedFromItsId()
    {
        var address = Backend.AddressFor(42);

        Assert.Equal(AgentIdentity.ForUserAgent(RootSeed, 42).Address, address);
        Assert.Equal(address, Backend.SigningKeyFor(42, userId: 7, address)?.Address);
        Assert.Equal(address, Backend.SigningKeyFor(42, userId: 7, address: null)?.Address);
    }

    [Fact]
    public void NoKeySignsForAnAgentWhoseStoredAddressItDoesNotDerive()
    {
        Assert.Null(Backend.SigningKeyFor(42, userId: 7, Backend.AddressFor(43)));
        // An owned agent that claims the backend's address is not the backend agent.
        Assert.Null(Backend.SigningKeyFor(42, userId: 7, Backend.Address));
    }
}
