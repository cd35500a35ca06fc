using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AgentCloud.IntegrationTests;

/// <summary>A signed-up, logged-in user and the client that speaks for them.</summary>
public sealed record TestUser(int Id, string Username, string Email, string Password, string Token, HttpClient Client);

/// <summary>What tests do again and again, said once, over plain HTTP.</summary>
public static class TestApi
{
    public static string UniqueName(string prefix = "user") => $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 17, 50)];

    public static Task<HttpResponseMessage> SignupAsync(this HttpClient client, string username, string email, string password) =>
        client.PostAsJsonAsync("/signup", new { username, email, password });

    public static Task<HttpResponseMessage> LoginAsync(this HttpClient client, string username, string password) =>
        client.PostAsJsonAsync("/login", new { username, password });

    public static async Task<TestUser> CreateUserAsync(this AgentCloudFixture fixture)
    {
        var client = fixture.CreateApiClient();
        var username = UniqueName();
        var email = $"{username}@example.com";
        const string password = "correct horse battery staple";

        using var signup = await client.SignupAsync(username, email, password);
        Assert.Equal(HttpStatusCode.Created, signup.StatusCode);
        var user = await signup.ReadJsonAsync();

        using var login = await client.LoginAsync(username, password);
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var token = (await login.ReadJsonAsync())["access_token"]!.GetValue<string>();

        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return new TestUser(user["id"]!.GetValue<int>(), username, email, password, token, client);
    }

    public static async Task<JsonObject> CreateAgentAsync(this TestUser user, string? name = null, object? config = null)
    {
        using var response = await user.Client.PostAsJsonAsync("/agents",
            config is null ? new { name = name ?? UniqueName("agent") } : (object)new { name = name ?? UniqueName("agent"), config });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await response.ReadJsonAsync();
    }

    public static async Task<JsonObject> ReadJsonAsync(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return JsonNode.Parse(text)?.AsObject() ?? throw new InvalidOperationException($"Not a JSON object: {text}");
    }

    /// <summary>Asserts an RFC 9457 problem-details answer with <paramref name="status"/> and returns it.</summary>
    public static async Task<JsonObject> AssertProblemAsync(this HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"Expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(body)!.AsObject();
        Assert.Equal((int)status, problem["status"]!.GetValue<int>());
        return problem;
    }

    public static HttpRequestMessage WithBearer(this HttpRequestMessage request, string token)
    {
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return request;
    }

    public static HttpContent RawJson(string json) => new StringContent(json, Encoding.UTF8, "application/json");

    /// <summary>
    /// A hand-made JWT, so tests can present every kind of bad token: expired, wrong key, alg none,
    /// wrong issuer. Null <paramref name="key"/> leaves it unsigned.
    /// </summary>
    public static string ForgeToken(string? key, string alg = "HS256", string? sub = "1", string issuer = "agentcloud",
        string audience = "agentcloud-api", DateTimeOffset? notBefore = null, DateTimeOffset? expires = null)
    {
        var now = DateTimeOffset.UtcNow;
        var header = new JsonObject { ["alg"] = alg, ["typ"] = "JWT" };
        var payload = new JsonObject
        {
            ["iss"] = issuer,
            ["aud"] = audience,
            ["iat"] = (notBefore ?? now).ToUnixTimeSeconds(),
            ["nbf"] = (notBefore ?? now).ToUnixTimeSeconds(),
            ["exp"] = (expires ?? now.AddMinutes(10)).ToUnixTimeSeconds(),
        };
        if (sub is not null)
        {
            payload["sub"] = sub;
        }

        var unsigned = $"{Base64Url(header.ToJsonString())}.{Base64Url(payload.ToJsonString())}";
        if (key is null)
        {
            return unsigned + ".";
        }

        var signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), Encoding.ASCII.GetBytes(unsigned));
        return $"{unsigned}.{Base64Url(signature)}";
    }

    public static string Base64Url(string text) => Base64Url(Encoding.UTF8.GetBytes(text));

    public static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();
}
