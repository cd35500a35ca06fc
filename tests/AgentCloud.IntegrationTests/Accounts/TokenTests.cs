using Dapper;

namespace AgentCloud.IntegrationTests;

[Collection(AgentCloudCollection.Name)]
public sealed class TokenTests(AgentCloudFixture fixture)
{
    [Fact]
    public async Task UsersMeWithoutATokenIs401()
    {
        using var client = fixture.CreateApiClient();

        using var response = await client.GetAsync("/users/me");

        await response.AssertProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
    }

    public static TheoryData<string, Func<int, string>> BadTokens => new()
    {
        { "malformed", _ => "not.a.jwt" },
        { "garbage", _ => "abc" },
        { "alg none", id => TestApi.ForgeToken(null, alg: "none", sub: id.ToString()) },
        { "wrong key", id => TestApi.ForgeToken("a-completely-different-secret-key-of-enough-length", sub: id.ToString()) },
        { "expired", id => TestApi.ForgeToken(AgentCloudFixture.JwtSecret, sub: id.ToString(),
            notBefore: DateTimeOffset.UtcNow.AddHours(-2), expires: DateTimeOffset.UtcNow.AddHours(-1)) },
        { "not yet valid", id => TestApi.ForgeToken(AgentCloudFixture.JwtSecret, sub: id.ToString(),
            notBefore: DateTimeOffset.UtcNow.AddHours(1), expires: DateTimeOffset.UtcNow.AddHours(2)) },
        { "wrong issuer", id => TestApi.ForgeToken(AgentCloudFixture.JwtSecret, sub: id.ToString(), issuer: "someone-else") },
        { "wrong audience", id => TestApi.ForgeToken(AgentCloudFixture.JwtSecret, sub: id.ToString(), audience: "another-api") },
        { "HS512", id => TestApi.ForgeToken(AgentCloudFixture.JwtSecret, alg: "HS512", sub: id.ToString()) },
        { "no subject", _ => TestApi.ForgeToken(AgentCloudFixture.JwtSecret, sub: null) },
    };

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task UsersMeRefusesABadToken(string kind, Func<int, string> makeToken)
    {
        var user = await fixture.CreateUserAsync();
        using var client = fixture.CreateApiClient();

        using var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/users/me").WithBearer(makeToken(user.Id)));

        Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{kind}: {(int)response.StatusCode}");
        await response.AssertProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task AForgedTokenWithTheRightKeyIsAcceptedSoTheBadTokenTestsMeanSomething()
    {
        var user = await fixture.CreateUserAsync();
        using var client = fixture.CreateApiClient();

        using var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/users/me")
            .WithBearer(TestApi.ForgeToken(AgentCloudFixture.JwtSecret, sub: user.Id.ToString())));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task ATamperedTokenIs401()
    {
        var user = await fixture.CreateUserAsync();
        var parts = user.Token.Split('.');
        var payload = System.Text.Json.Nodes.JsonNode.Parse(
            Convert.FromBase64String(parts[1].Replace('-', '+').Replace('_', '/').PadRight((parts[1].Length + 3) / 4 * 4, '=')))!;
        payload["sub"] = (user.Id + 1).ToString();
        var tampered = $"{parts[0]}.{TestApi.Base64Url(payload.ToJsonString())}.{parts[2]}";
        using var client = fixture.CreateApiClient();

        using var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/users/me").WithBearer(tampered));

        await response.AssertProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task ATokenOfADeletedUserIs401()
    {
        var user = await fixture.CreateUserAsync();
        using (var before = await user.Client.GetAsync("/users/me"))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        await using (var db = await fixture.OpenDatabaseAsync())
        {
            await db.ExecuteAsync("DELETE FROM users WHERE id = @id", new { id = user.Id });
        }

        using var after = await user.Client.GetAsync("/users/me");
        await after.AssertProblemAsync(HttpStatusCode.Unauthorized);
    }
}
