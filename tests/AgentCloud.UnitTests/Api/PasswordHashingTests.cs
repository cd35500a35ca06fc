using System.Security.Cryptography;
using System.Text;
using AgentCloud.Api.Features.Auth;

namespace AgentCloud.UnitTests.Api;

public sealed class PasswordHashingTests
{
    private readonly PasswordHashing hashing = new();

    [Fact]
    public void ANewHashVerifiesItsPassword()
    {
        var hash = hashing.Hash("correct horse battery staple");

        Assert.Equal(PasswordCheck.Succeeded, hashing.Verify(hash, "correct horse battery staple"));
    }

    [Fact]
    public void AWrongPasswordFails()
    {
        var hash = hashing.Hash("correct horse battery staple");

        Assert.Equal(PasswordCheck.Failed, hashing.Verify(hash, "correct horse battery stapler"));
    }

    [Fact]
    public void HashesAreSaltedAndNeverContainThePassword()
    {
        var first = hashing.Hash("same password");
        var second = hashing.Hash("same password");

        Assert.NotEqual(first, second);
        Assert.DoesNotContain("same password", first);
    }

    [Fact]
    public void ALegacySha256HexHashVerifiesAndAsksForARehash()
    {
        var legacy = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("from the python days")));

        Assert.Equal(PasswordCheck.SucceededRehashNeeded, hashing.Verify(legacy, "from the python days"));
        Assert.Equal(PasswordCheck.Failed, hashing.Verify(legacy, "from the ruby days"));
    }

    [Fact]
    public void TheRehashOfALegacyPasswordIsInTheModernForm()
    {
        var rehashed = hashing.Hash("from the python days");

        Assert.DoesNotMatch("^[0-9a-f]{64}$", rehashed);
        Assert.Equal(PasswordCheck.Succeeded, hashing.Verify(rehashed, "from the python days"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not a hash at all")]
    [InlineData("AQAAAA==")]
    public void AGarbageStoredHashFailsInsteadOfThrowing(string stored)
    {
        Assert.Equal(PasswordCheck.Failed, hashing.Verify(stored, "anything"));
    }

    [Fact]
    public void TheDummyCheckForAnUnknownUserDoesNotThrow()
    {
        hashing.VerifyAgainstDummy("whatever was typed");
    }
}
