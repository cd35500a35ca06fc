using System.Security.Cryptography;
using System.Text;
using Dapper;

namespace AgentCloud.IntegrationTests;

[Collection(AgentCloudCollection.Name)]
public sealed class LoginTests(AgentCloudFixture fixture)
{
    [Fact]
    public async Task LoginReturnsABearerTokenThatOpensUsersMe()
    {
        var user = await fixture.CreateUserAsync();
        using var client = fixture.CreateApiClient();

        using var login = await client.LoginAsync(user.Username, user.Password);

        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var body = await login.ReadJsonAsync();
        Assert.Equal("bearer", body["token_type"]!.GetValue<string>());
        Assert.True(body["expires_in"]!.GetValue<int>() > 0);
        var token = body["access_token"]!.GetValue<string>();

        using var me = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/users/me").WithBearer(token));
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        var current = await me.ReadJsonAsync();
        Assert.Equal(user.Id, current["id"]!.GetValue<int>());
        Assert.Equal(user.Username, current["username"]!.GetValue<string>());
        Assert.Equal(user.Email, current["email"]!.GetValue<string>());
        Assert.Null(current["password_hash"]);
    }

    [Fact]
    public async Task LoginAcceptsTheOAuth2PasswordFormPost()
    {
        var user = await fixture.CreateUserAsync();
        using var client = fixture.CreateApiClient();

        using var login = await client.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "password",
            ["username"] = user.Username,
            ["password"] = user.Password,
        }));

        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        Assert.Equal("bearer", (await login.ReadJsonAsync())["token_type"]!.GetValue<string>());
    }

    [Fact]
    public async Task WrongPasswordAndUnknownUserGetTheSame401()
    {
        var user = await fixture.CreateUserAsync();
        using var client = fixture.CreateApiClient();

        using var wrongPassword = await client.LoginAsync(user.Username, "not the password");
        using var unknownUser = await client.LoginAsync(TestApi.UniqueName("ghost"), "not the password");

        var first = await wrongPassword.AssertProblemAsync(HttpStatusCode.Unauthorized);
        var second = await unknownUser.AssertProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Equal(first["detail"]?.ToJsonString(), second["detail"]?.ToJsonString());
        Assert.Equal(first["title"]?.ToJsonString(), second["title"]?.ToJsonString());
        Assert.Contains(wrongPassword.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
    }

    [Fact]
    public async Task LoginRejectsMissingFields()
    {
        using var client = fixture.CreateApiClient();

        using var response = await client.PostAsync("/login", TestApi.RawJson("{\"username\": \"someone\"}"));

        await response.AssertProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task ALegacySha256HashLogsInOnceAndIsUpgradedInPlace()
    {
        var username = TestApi.UniqueName("legacy");
        const string password = "from the python days";
        var legacyHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(password)));
        await using (var db = await fixture.OpenDatabaseAsync())
        {
            await db.ExecuteAsync("INSERT INTO users (username, email, password_hash) VALUES (@username, @email, @legacyHash)",
                new { username, email = $"{username}@example.com", legacyHash });
        }

        using var client = fixture.CreateApiClient();
        using var first = await client.LoginAsync(username, password);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);

        await using (var db = await fixture.OpenDatabaseAsync())
        {
            var stored = await db.QuerySingleAsync<string>("SELECT password_hash FROM users WHERE username = @username", new { username });
            Assert.NotEqual(legacyHash, stored);
            Assert.DoesNotMatch("^[0-9a-f]{64}$", stored);
        }

        using var second = await client.LoginAsync(username, password);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        using var wrong = await client.LoginAsync(username, "from the ruby days");
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
    }

    [Fact]
    public async Task RepeatedFailedLoginsAreThrottled()
    {
        var user = await fixture.CreateUserAsync();
        using var attacker = fixture.CreateApiClient();

        HttpResponseMessage? limited = null;
        for (var i = 0; i < 40 && limited is null; i++)
        {
            var response = await attacker.LoginAsync(user.Username, $"guess-{i}");
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                limited = response;
            }
            else
            {
                Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
                response.Dispose();
            }
        }

        Assert.NotNull(limited);
        await limited.AssertProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.True(limited.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        limited.Dispose();

        // The real user, from their own address, still gets in.
        using var owner = fixture.CreateApiClient();
        using var ok = await owner.LoginAsync(user.Username, user.Password);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }
}
