using System.Net.Http.Json;
using Dapper;

namespace AgentCloud.IntegrationTests;

/// <summary>Brute force on one account from many addresses, and look-alike names.</summary>
[Collection(AgentCloudCollection.Name)]
public sealed class OpenNetworkAccountTests(AgentCloudFixture fixture)
{
    /// <summary>RateLimiting:LoginPerAccount:PermitLimit's default.</summary>
    private const int FailuresPerAccount = 20;

    [Fact]
    public async Task FailedLoginsFromRotatingAddressesAreLimitedPerAccount()
    {
        var victim = await fixture.CreateUserAsync();
        var bystander = await fixture.CreateUserAsync();

        // Five failures from each of four addresses: every client stays under its own limit (10 a minute).
        for (var client = 0; client < FailuresPerAccount / 5; client++)
        {
            using var attacker = fixture.CreateApiClient();
            for (var i = 0; i < 5; i++)
            {
                using var guess = await attacker.LoginAsync(victim.Username, $"guess-{client}-{i}");
                Assert.Equal(HttpStatusCode.Unauthorized, guess.StatusCode);
            }
        }

        using var fresh = fixture.CreateApiClient();
        using var nextGuess = await fresh.LoginAsync(victim.Username, "one more guess");
        using var rightPassword = await fixture.CreateApiClient().LoginAsync(victim.Username, victim.Password);
        using var otherAccount = await fixture.CreateApiClient().LoginAsync(bystander.Username, bystander.Password);

        await nextGuess.AssertProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.True(nextGuess.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        // Even the right password waits out the window: a guess that happened to be right must not get in.
        await rightPassword.AssertProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.Equal(HttpStatusCode.OK, otherAccount.StatusCode);
        // Tokens already issued are not touched.
        using var me = await victim.Client.GetAsync("/users/me");
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
    }

    [Fact]
    public async Task AUsernameDifferingOnlyInCaseIs409()
    {
        using var client = fixture.CreateApiClient();
        var name = TestApi.UniqueName("alice");
        using var first = await client.SignupAsync(name, $"{name}@example.com", "correct horse battery");
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);

        using var upper = await fixture.CreateApiClient().SignupAsync(name.ToUpperInvariant(), $"other-{name}@example.com",
            "correct horse battery");

        await upper.AssertProblemAsync(HttpStatusCode.Conflict);
        await using var db = await fixture.OpenDatabaseAsync();
        Assert.Equal(1, await db.ExecuteScalarAsync<long>("SELECT count(*) FROM users WHERE lower(username) = lower(@name)", new { name }));
    }

    [Fact]
    public async Task AUsernameEqualToAnExistingOneAfterNfkcIs409()
    {
        var name = TestApi.UniqueName("wide");
        // An account whose name is the fullwidth form (the API refuses such names now; older rows may hold them).
        var fullwidth = string.Concat(name.Select(c => c is >= '!' and <= '~' ? (char)(c - '!' + '\uFF01') : c));
        await using (var db = await fixture.OpenDatabaseAsync())
        {
            await db.ExecuteAsync("INSERT INTO users (username, email, password_hash) VALUES (@fullwidth, @email, 'x')",
                new { fullwidth, email = $"{name}-wide@example.com" });
        }

        using var signup = await fixture.CreateApiClient().SignupAsync(name, $"{name}@example.com", "correct horse battery");

        await signup.AssertProblemAsync(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task AZeroWidthSpaceInTheEmailIs400NamingIt()
    {
        var name = TestApi.UniqueName("zw");

        using var signup = await fixture.CreateApiClient().SignupAsync(name, $"{name}\u200B@example.com", "correct horse battery");

        var problem = await signup.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("email must not contain invisible", problem.ToJsonString());
        await using var db = await fixture.OpenDatabaseAsync();
        Assert.Equal(0, await db.ExecuteScalarAsync<long>("SELECT count(*) FROM users WHERE username = @name", new { name }));
    }

    [Theory]
    [InlineData("\u202E")]
    [InlineData("\u200D")]
    [InlineData("\u2066")]
    public async Task AnInvisibleCharacterInTheUsernameIs400NamingIt(string invisible)
    {
        var name = TestApi.UniqueName("bidi");

        using var signup = await fixture.CreateApiClient().SignupAsync(name[..5] + invisible + name[5..], $"{name}@example.com",
            "correct horse battery");

        var problem = await signup.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("invisible", problem.ToJsonString());
    }
}
