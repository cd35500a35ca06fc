namespace AgentCloud.IntegrationTests;

/// <summary>
/// Tokens signed with the right key but naming nobody, and bad tokens on every kind of route (TokenTests
/// covers /users/me): all 401 problem details, never a 5xx or someone else's data.
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed class TokenEdgeTests(AgentCloudFixture fixture)
{
    [Theory]
    [InlineData("2147483647")]
    [InlineData("99999999999999999999")]
    [InlineData("-1")]
    [InlineData("0")]
    [InlineData("abc")]
    [InlineData("1 OR 1=1")]
    [InlineData("")]
    [InlineData("<script>")]
    public async Task AValidlySignedTokenForNoSuchUserIs401(string subject)
    {
        using var client = fixture.CreateApiClient();

        using var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/users/me")
            .WithBearer(TestApi.ForgeToken(AgentCloudFixture.JwtSecret, sub: subject)));

        await response.AssertProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Theory]
    [InlineData("GET", "/agents")]
    [InlineData("POST", "/agents")]
    [InlineData("GET", "/agents/{agent}")]
    [InlineData("PUT", "/agents/{agent}")]
    [InlineData("DELETE", "/agents/{agent}")]
    [InlineData("GET", "/agents/{agent}/logs")]
    [InlineData("GET", "/agents/{agent}/logs/stream")]
    [InlineData("GET", "/agents/{agent}/messages")]
    [InlineData("POST", "/agents/{agent}/messages")]
    [InlineData("GET", "/agents/{agent}/messages/00000000-0000-0000-0000-000000000000")]
    [InlineData("POST", "/agents/{agent}/send")]
    public async Task EveryAuthenticatedRouteRefusesMissingExpiredAndForeignTokens(string method, string path)
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("guarded");
        var url = path.Replace("{agent}", agent["id"]!.ToString());
        var tokens = new (string Kind, string? Token)[]
        {
            ("none", null),
            ("garbage", "x.y.z"),
            ("alg none", TestApi.ForgeToken(null, alg: "none", sub: user.Id.ToString())),
            ("wrong key", TestApi.ForgeToken("another-secret-key-of-sufficient-length-0123456789", sub: user.Id.ToString())),
            ("expired", TestApi.ForgeToken(AgentCloudFixture.JwtSecret, sub: user.Id.ToString(),
                notBefore: DateTimeOffset.UtcNow.AddHours(-2), expires: DateTimeOffset.UtcNow.AddHours(-1))),
        };

        foreach (var (kind, token) in tokens)
        {
            using var client = fixture.CreateApiClient();
            using var request = new HttpRequestMessage(new HttpMethod(method), url)
            {
                Content = method is "POST" or "PUT" ? TestApi.RawJson("{\"name\": \"x\", \"payload\": 1}") : null,
            };
            if (token is not null)
            {
                request.WithBearer(token);
            }

            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path} with {kind}: {(int)response.StatusCode}");
            await response.AssertProblemAsync(HttpStatusCode.Unauthorized);
        }

        using var stillThere = await user.Client.GetAsync($"/agents/{agent["id"]}");
        Assert.Equal(HttpStatusCode.OK, stillThere.StatusCode);
    }
}
