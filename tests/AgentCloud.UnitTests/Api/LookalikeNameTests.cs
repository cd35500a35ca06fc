using AgentCloud.Api.Features.Auth;

namespace AgentCloud.UnitTests.Api;

public sealed class LookalikeNameTests
{
    [Theory]
    [InlineData("ALICE", "alice")]
    [InlineData("Alice", "alice")]
    [InlineData("alice", "alice")]
    public void LoginAttemptsOnNamesDifferingInCaseCountAgainstOneAccount(string username, string key) =>
        Assert.Equal(key, Usernames.Key(username));

    [Fact]
    public void ALoneSurrogateIsFound()
    {
        // Built at run time: attribute data cannot carry a lone surrogate intact.
        var text = "a" + (char)0xD800 + "b";
        Assert.True(Usernames.HasInvisibleCharacters(text));
        Assert.True(Usernames.HasInvisibleCharacters("a" + (char)0xDC00));
    }

    [Theory]
    [InlineData("a\u200Bb")] // zero-width space
    [InlineData("a\u200Cb")] // zero-width non-joiner
    [InlineData("a\u200Db")] // zero-width joiner
    [InlineData("a\u2060b")] // word joiner
    [InlineData("a\uFEFFb")] // byte order mark
    [InlineData("a\u202Eb")] // right-to-left override
    [InlineData("a\u2066b")] // left-to-right isolate
    [InlineData("a\u00ADb")] // soft hyphen
    [InlineData("a\u0007b")] // bell
    [InlineData("a\u2028b")] // line separator
    [InlineData("a\u3164b")] // Hangul filler
    [InlineData("a\uFE0Fb")] // variation selector
    [InlineData("a\uE000b")] // private use
    public void InvisibleAndControlCharactersAreFound(string text) => Assert.True(Usernames.HasInvisibleCharacters(text));

    [Theory]
    [InlineData("alice_01")]
    [InlineData("jos\u00E9@example.com")]
    [InlineData("m\u00FCller")]
    [InlineData("\U0001F600")] // a surrogate pair is one visible character
    [InlineData("")]
    public void VisibleTextPasses(string text) => Assert.False(Usernames.HasInvisibleCharacters(text));
}
