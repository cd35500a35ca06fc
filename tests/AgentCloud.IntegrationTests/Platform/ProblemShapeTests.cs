using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace AgentCloud.IntegrationTests;

/// <summary>Every error, whoever answers it (validation, auth, endpoint, limits), has one RFC 9457 shape.</summary>
[Collection(AgentCloudCollection.Name)]
public sealed class ProblemShapeTests(AgentCloudFixture fixture)
{
    private static readonly HashSet<string> Fields = ["type", "title", "status", "detail", "instance", "errors", "trace_id"];

    [Fact]
    public async Task AValidationFailureHasTheOneShapeWithItsFieldErrors()
    {
        var client = fixture.CreateApiClient();
        using var response = await client.PostAsJsonAsync("/signup", new { username = "", email = "not an email", password = "x" });

        var problem = await AssertOneShapeAsync(response, HttpStatusCode.BadRequest, "/signup");
        var errors = problem["errors"]!.AsObject();
        Assert.Equal(["email", "password", "username"], errors.Select(e => e.Key).Order());
        Assert.All(errors, e => Assert.All(e.Value!.AsArray(), m => Assert.False(string.IsNullOrWhiteSpace(m!.GetValue<string>()))));
    }

    [Fact]
    public async Task ABodyThatIsNotJsonHasTheOneShapeNamingTheBody()
    {
        var user = await fixture.CreateUserAsync();
        using var response = await user.Client.PostAsync("/agents", TestApi.RawJson("not json"));

        var problem = await AssertOneShapeAsync(response, HttpStatusCode.BadRequest, "/agents");
        Assert.NotNull(problem["errors"]!.AsObject()["body"]);
    }

    [Fact]
    public async Task AMissingTokenHasTheOneShape()
    {
        var client = fixture.CreateApiClient();
        using var response = await client.GetAsync("/users/me");

        var problem = await AssertOneShapeAsync(response, HttpStatusCode.Unauthorized, "/users/me");
        Assert.Null(problem["errors"]);
    }

    [Fact]
    public async Task AnAgentThatIsNotTheCallersHasTheOneShape()
    {
        var owner = await fixture.CreateUserAsync();
        var agent = await owner.CreateAgentAsync();
        var other = await fixture.CreateUserAsync();

        using var response = await other.Client.GetAsync($"/agents/{agent["id"]}");

        await AssertOneShapeAsync(response, HttpStatusCode.NotFound, $"/agents/{agent["id"]}");
    }

    [Fact]
    public async Task ATakenUsernameHasTheOneShape()
    {
        var user = await fixture.CreateUserAsync();
        var client = fixture.CreateApiClient();

        using var response = await client.SignupAsync(user.Username, $"other-{user.Email}", user.Password);

        await AssertOneShapeAsync(response, HttpStatusCode.Conflict, "/signup");
    }

    [Fact]
    public async Task ABodyOverTheLimitHasTheOneShape()
    {
        var user = await fixture.CreateUserAsync();
        var name = new string('a', 70 * 1024);

        using var response = await user.Client.PostAsync("/agents", TestApi.RawJson($"{{\"name\": \"{name}\"}}"));

        await AssertOneShapeAsync(response, HttpStatusCode.RequestEntityTooLarge, "/agents");
    }

    [Fact]
    public async Task TooManyLoginsHaveTheOneShape()
    {
        var client = fixture.CreateApiClient(); // its own rate-limit partition
        HttpResponseMessage? limited = null;
        for (var attempt = 0; attempt < 30 && limited is null; attempt++)
        {
            var response = await client.LoginAsync("nobody-" + attempt, "wrong password");
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                limited = response;
            }
            else
            {
                response.Dispose();
            }
        }

        Assert.NotNull(limited);
        using (limited)
        {
            await AssertOneShapeAsync(limited, HttpStatusCode.TooManyRequests, "/login");
            Assert.NotNull(limited.Headers.RetryAfter);
        }
    }

    [Fact]
    public async Task TheTraceIdIsTheW3CTraceIdOfTheRequest()
    {
        var client = fixture.CreateApiClient();
        var traceId = ActivityTraceId.CreateRandom().ToHexString();
        foreach (var path in new[] { "/users/me", "/signup" })
        {
            using var request = new HttpRequestMessage(path == "/signup" ? HttpMethod.Post : HttpMethod.Get, path)
            {
                Content = path == "/signup" ? TestApi.RawJson("{}") : null,
            };
            request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
            using var response = await client.SendAsync(request);

            var problem = await response.ReadJsonAsync();
            Assert.Equal(traceId, problem["trace_id"]!.GetValue<string>());
        }
    }

    /// <summary>
    /// EventSource reconnects and browsers send an Accept with no JSON in it; a refusal is still the one
    /// problem shape (it was a 500 and a stack trace in the log when no problem writer took that Accept).
    /// </summary>
    [Theory]
    [InlineData("text/event-stream")]
    [InlineData("text/html,application/xhtml+xml;q=0.9,image/avif")]
    public async Task ARefusalWhoseAcceptHasNoJsonStillHasTheOneShape(string accept)
    {
        var owner = await fixture.CreateUserAsync();
        var agent = await owner.CreateAgentAsync();
        var other = await fixture.CreateUserAsync();
        var stream = $"/agents/{agent["id"]}/logs/stream";
        var anonymous = fixture.CreateApiClient();
        (HttpClient Client, string Path, HttpStatusCode Status)[] refusals =
        [
            (anonymous, stream, HttpStatusCode.Unauthorized),
            (other.Client, stream, HttpStatusCode.NotFound),
            (owner.Client, stream + "?tail=abc", HttpStatusCode.BadRequest),
            (owner.Client, "/no/such/route", HttpStatusCode.NotFound),
        ];
        foreach (var (client, path, status) in refusals)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.TryAddWithoutValidation("Accept", accept);
            using var response = await client.SendAsync(request);

            await AssertOneShapeAsync(response, status, path.Split('?')[0]);
        }
    }

    /// <summary>problem+json; exactly the fields of the one shape, each of the right kind; trace_id a bare W3C trace id.</summary>
    private static async Task<JsonObject> AssertOneShapeAsync(HttpResponseMessage response, HttpStatusCode status, string instance)
    {
        var problem = await response.AssertProblemAsync(status);
        Assert.Subset(Fields, problem.Select(p => p.Key).ToHashSet());
        Assert.StartsWith("https://www.rfc-editor.org/rfc/", problem["type"]!.GetValue<string>());
        Assert.False(string.IsNullOrWhiteSpace(problem["title"]!.GetValue<string>()));
        Assert.False(string.IsNullOrWhiteSpace(problem["detail"]!.GetValue<string>()));
        Assert.Equal(instance, problem["instance"]!.GetValue<string>());
        Assert.Matches("^[0-9a-f]{32}$", problem["trace_id"]!.GetValue<string>());
        Assert.NotEqual(new string('0', 32), problem["trace_id"]!.GetValue<string>());
        if (problem["errors"] is { } errors)
        {
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.All(errors.AsObject(), e => Assert.IsType<JsonArray>(e.Value));
        }

        return problem;
    }
}
