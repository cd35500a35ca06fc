using System.Net.Http.Json;
using Dapper;

namespace AgentCloud.IntegrationTests;

[Collection(AgentCloudCollection.Name)]
public sealed class SignupTests(AgentCloudFixture fixture)
{
    [Fact]
    public async Task SignupCreatesTheUserAndAnswersWithoutTheHash()
    {
        using var client = fixture.CreateApiClient();
        var username = TestApi.UniqueName();

        using var response = await client.SignupAsync(username, $"{username}@example.com", "a good long password");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var user = await response.ReadJsonAsync();
        Assert.True(user["id"]!.GetValue<int>() > 0);
        Assert.Equal(username, user["username"]!.GetValue<string>());
        Assert.Equal($"{username}@example.com", user["email"]!.GetValue<string>());
        Assert.NotNull(user["created_at"]);
        Assert.NotNull(user["updated_at"]);
        Assert.Equal(["created_at", "email", "id", "updated_at", "username"], user.Select(p => p.Key).Order());

        await using var db = await fixture.OpenDatabaseAsync();
        var hash = await db.QuerySingleAsync<string>("SELECT password_hash FROM users WHERE username = @username", new { username });
        Assert.DoesNotContain("a good long password", hash);
        Assert.DoesNotContain(hash, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task SignupRejectsADuplicateUsername()
    {
        using var client = fixture.CreateApiClient();
        var username = TestApi.UniqueName();
        using var first = await client.SignupAsync(username, $"{username}@example.com", "password-one");
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);

        using var second = await client.SignupAsync(username, $"other-{username}@example.com", "password-two");

        await second.AssertProblemAsync(HttpStatusCode.Conflict);
        Assert.Equal(1, await CountUsersAsync(username));
    }

    [Fact]
    public async Task SignupRejectsADuplicateEmailWhateverItsCase()
    {
        using var client = fixture.CreateApiClient();
        var username = TestApi.UniqueName();
        using var first = await client.SignupAsync(username, $"{username}@example.com", "password-one");
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);

        using var second = await client.SignupAsync(TestApi.UniqueName(), $"{username.ToUpperInvariant()}@EXAMPLE.com", "password-two");

        await second.AssertProblemAsync(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task ConcurrentSignupsWithTheSameNameHaveExactlyOneWinner()
    {
        var username = TestApi.UniqueName();
        var clients = Enumerable.Range(0, 5).Select(_ => fixture.CreateApiClient()).ToList();

        var responses = await Task.WhenAll(clients.Select((client, i) =>
            client.SignupAsync(username, $"{username}-{i}@example.com", "same-name-race")));

        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
        Assert.All(responses.Where(r => r.StatusCode != HttpStatusCode.Created),
            r => Assert.Equal(HttpStatusCode.Conflict, r.StatusCode));
        Assert.Equal(1, await CountUsersAsync(username));
        clients.ForEach(c => c.Dispose());
    }

    [Theory]
    [InlineData("ab", "ok@example.com", "long enough", "username")]
    [InlineData("has space", "ok@example.com", "long enough", "username")]
    [InlineData("semi;colon", "ok@example.com", "long enough", "username")]
    [InlineData("valid_name", "not-an-email", "long enough", "email")]
    [InlineData("valid_name", "two@@example.com", "long enough", "email")]
    [InlineData("valid_name", "ok@example.com", "short", "password")]
    public async Task SignupRejectsInvalidFieldsAndNamesThem(string username, string email, string password, string field)
    {
        using var client = fixture.CreateApiClient();
        var unique = username == "valid_name" ? TestApi.UniqueName() : username;

        using var response = await client.SignupAsync(unique, email, password);

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(field, problem.ToJsonString(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(0, await CountUsersAsync(unique));
    }

    [Fact]
    public async Task SignupRejectsOverlongFields()
    {
        using var client = fixture.CreateApiClient();

        using var longName = await client.SignupAsync(new string('a', 51), "ok@example.com", "long enough");
        using var longEmail = await client.SignupAsync(TestApi.UniqueName(), new string('e', 95) + "@x.com", "long enough");
        using var longPassword = await client.SignupAsync(TestApi.UniqueName(), "ok2@example.com", new string('p', 129));

        Assert.Contains("username", (await longName.AssertProblemAsync(HttpStatusCode.BadRequest)).ToJsonString());
        Assert.Contains("email", (await longEmail.AssertProblemAsync(HttpStatusCode.BadRequest)).ToJsonString());
        Assert.Contains("password", (await longPassword.AssertProblemAsync(HttpStatusCode.BadRequest)).ToJsonString());
    }

    [Fact]
    public async Task SignupRejectsMalformedJsonMissingAndUnknownFields()
    {
        using var client = fixture.CreateApiClient();
        var username = TestApi.UniqueName();

        using var broken = await client.PostAsync("/signup", TestApi.RawJson("{\"username\": \"x"));
        using var missing = await client.PostAsync("/signup", TestApi.RawJson($"{{\"username\": \"{username}\"}}"));
        using var unknown = await client.PostAsync("/signup", TestApi.RawJson(
            $"{{\"username\": \"{username}\", \"email\": \"{username}@example.com\", \"password\": \"long enough\", \"is_admin\": true}}"));
        using var wrongType = await client.PostAsync("/signup", TestApi.RawJson(
            $"{{\"username\": 42, \"email\": \"{username}@example.com\", \"password\": \"long enough\"}}"));

        await broken.AssertProblemAsync(HttpStatusCode.BadRequest);
        await missing.AssertProblemAsync(HttpStatusCode.BadRequest);
        await unknown.AssertProblemAsync(HttpStatusCode.BadRequest);
        await wrongType.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(0, await CountUsersAsync(username));
    }

    [Fact]
    public async Task SignupRefusesAnOversizedBody()
    {
        using var client = fixture.CreateApiClient();
        var username = TestApi.UniqueName();
        var body = $"{{\"username\": \"{username}\", \"email\": \"{username}@example.com\", \"password\": " +
            $"\"{new string('p', 2_000_000)}\"}}";

        // As curl does for big bodies: the client waits for "100 Continue", which a server that
        // refuses the declared length never sends, so the refusal arrives before any of the body.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/signup") { Content = TestApi.RawJson(body) };
        request.Headers.ExpectContinue = true;
        using var response = await client.SendAsync(request);

        await response.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal(0, await CountUsersAsync(username));
    }

    [Fact]
    public async Task SignupIsRateLimitedPerClient()
    {
        using var client = fixture.CreateApiClient();
        HttpResponseMessage? limited = null;
        for (var i = 0; i < 50 && limited is null; i++)
        {
            var response = await client.SignupAsync("ab", "bad", "x");
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                limited = response;
            }
            else
            {
                Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
                response.Dispose();
            }
        }

        Assert.NotNull(limited);
        await limited.AssertProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.True(limited.Headers.RetryAfter?.Delta > TimeSpan.Zero, "429 carries Retry-After in seconds");

        // Another client is not affected by this one's limit.
        using var other = fixture.CreateApiClient();
        var username = TestApi.UniqueName();
        using var ok = await other.SignupAsync(username, $"{username}@example.com", "long enough");
        Assert.Equal(HttpStatusCode.Created, ok.StatusCode);
        limited.Dispose();
    }

    private async Task<long> CountUsersAsync(string username)
    {
        await using var db = await fixture.OpenDatabaseAsync();
        return await db.ExecuteScalarAsync<long>("SELECT count(*) FROM users WHERE username = @username", new { username });
    }
}
