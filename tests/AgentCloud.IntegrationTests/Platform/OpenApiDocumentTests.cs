using System.Text.Json.Nodes;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// The OpenAPI document tells the truth: it passes an OpenAPI validator, names things one way, lists the
/// success statuses the API sends, and every status a test saw is listed for its route.
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed class OpenApiDocumentTests(AgentCloudFixture fixture)
{
    private static readonly TimeSpan LintTimeout = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task TheDocumentPassesTheOpenApiValidator()
    {
        var lint = RepositoryFiles.PathOf("tests", "openapi", "lint.mjs");
        Assert.True(Directory.Exists(RepositoryFiles.PathOf("tests", "openapi", "node_modules")),
            "tests/openapi has no node_modules: run `npm ci --prefix tests/openapi` (.ci/run does).");
        var file = Path.Combine(Path.GetTempPath(), $"agentcloud-openapi-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, (await DocumentAsync()).ToJsonString());
        try
        {
            var (exitCode, output) = await RepositoryFiles.RunAsync("node", [lint, file], LintTimeout);

            Assert.True(exitCode == 0, output);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task EveryRouteNamesTheAgentIdAgentId()
    {
        var paths = (await DocumentAsync())["paths"]!.AsObject().Select(p => p.Key).ToList();

        Assert.Contains("/agents/{agent_id}", paths);
        Assert.Contains("/agents/{agent_id}/logs", paths);
        Assert.All(paths.Where(p => p.StartsWith("/agents/", StringComparison.Ordinal)),
            p => Assert.StartsWith("/agents/{agent_id}", p));
        Assert.DoesNotContain(paths, p => p.Contains("{id}", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("post", "/signup", new[] { 201, 400, 409, 413, 429 })]
    [InlineData("post", "/login", new[] { 200, 400, 401, 429 })]
    [InlineData("post", "/agents", new[] { 201, 400, 401, 413 })]
    [InlineData("get", "/agents/{agent_id}", new[] { 200, 401, 404 })]
    [InlineData("delete", "/agents/{agent_id}", new[] { 204, 401, 404 })]
    [InlineData("post", "/agents/{agent_id}/messages", new[] { 200, 202, 400, 401, 404, 413 })]
    [InlineData("post", "/agents/{agent_id}/send", new[] { 200, 202, 400, 401, 404, 413 })]
    [InlineData("get", "/agents/{agent_id}/logs/stream", new[] { 200, 401, 404 })]
    [InlineData("post", "/agents/{agent_id}/schedules", new[] { 201, 400, 401, 403, 404, 413 })]
    [InlineData("put", "/agents/{agent_id}/schedules/{schedule_id}", new[] { 200, 400, 401, 404, 413 })]
    [InlineData("delete", "/agents/{agent_id}/schedules/{schedule_id}", new[] { 204, 400, 401, 404 })]
    [InlineData("get", "/agents/{agent_id}/approvals", new[] { 200, 400, 401, 403, 404 })]
    [InlineData("get", "/agents/{agent_id}/approvals/{approval_id}", new[] { 200, 400, 401, 403, 404 })]
    [InlineData("post", "/agents/{agent_id}/approvals/{approval_id}", new[] { 200, 400, 401, 403, 404, 409, 413 })]
    [InlineData("get", "/approvals", new[] { 200, 400, 401, 403 })]
    [InlineData("get", "/health", new[] { 200, 503 })]
    [InlineData("post", "/webhooks", new[] { 201, 400, 401, 403, 409 })]
    [InlineData("get", "/webhooks", new[] { 200, 401, 403 })]
    [InlineData("patch", "/webhooks/{webhook_id}", new[] { 200, 400, 401, 403, 404 })]
    [InlineData("delete", "/webhooks/{webhook_id}", new[] { 204, 401, 403, 404 })]
    [InlineData("get", "/webhooks/{webhook_id}/deliveries", new[] { 200, 400, 401, 403, 404 })]
    public async Task TheDocumentListsWhatTheRouteAnswers(string method, string path, int[] statuses)
    {
        var operation = (await DocumentAsync())["paths"]![path]![method]!.AsObject();
        var listed = operation["responses"]!.AsObject().Select(r => int.Parse(r.Key)).ToHashSet();

        Assert.Subset(listed, statuses.ToHashSet());
        if (statuses.Any(s => s is 201 or 204) && !statuses.Contains(200))
        {
            Assert.DoesNotContain(200, listed); // not the default 200 FastEndpoints assumes
        }
    }

    [Fact]
    public async Task EveryErrorResponseIsTheProblemSchemaWithAnExample()
    {
        var document = await DocumentAsync();
        foreach (var (path, item) in document["paths"]!.AsObject())
        {
            foreach (var (method, operation) in item!.AsObject())
            {
                foreach (var (status, response) in operation!["responses"]!.AsObject())
                {
                    if (status[0] is '4' or '5' && path != "/health")
                    {
                        var media = response!["content"]?["application/problem+json"];
                        Assert.True(media is not null, $"{method} {path} {status}: no problem+json");
                        Assert.EndsWith("ApiProblem", media["schema"]!["$ref"]!.GetValue<string>());
                        Assert.Equal(int.Parse(status), media["example"]!["status"]!.GetValue<int>());
                    }
                }
            }
        }
    }

    [Fact]
    public async Task EveryRequestBodyAndSuccessOfTheTourHasAnExample()
    {
        var paths = (await DocumentAsync())["paths"]!;
        (string Method, string Path, string Status)[] tour =
        [
            ("post", "/signup", "201"), ("post", "/login", "200"), ("post", "/agents", "201"),
            ("put", "/agents/{agent_id}", "200"), ("post", "/agents/{agent_id}/messages", "202"),
            ("post", "/agents/{agent_id}/send", "202"),
        ];
        foreach (var (method, path, status) in tour)
        {
            var operation = paths[path]![method]!;
            Assert.NotNull(operation["requestBody"]!["content"]!["application/json"]!["example"]);
            Assert.NotNull(operation["responses"]![status]!["content"]!["application/json"]!["example"]);
        }
    }

    /// <summary>
    /// Walks every operation of the document with the kinds of request any route can get (no token; a
    /// token and an agent that is not the caller's; an empty JSON body), then holds every status the run
    /// has observed so far, these and those of the tests before, against the document. The walk makes the
    /// check meaningful whatever the test order; the fixture repeats the check over the complete run when
    /// it is disposed.
    /// </summary>
    [Fact]
    public async Task EveryStatusTheTestsObservedIsDocumented()
    {
        var document = await DocumentAsync();
        var user = await fixture.CreateUserAsync();
        var anonymous = fixture.CreateApiClient();
        foreach (var (template, item) in document["paths"]!.AsObject())
        {
            var path = template.Replace("{agent_id}", "2147483647").Replace("{message_id}", Guid.NewGuid().ToString());
            foreach (var (method, operation) in item!.AsObject())
            {
                foreach (var client in new[] { anonymous, user.Client })
                {
                    using var request = new HttpRequestMessage(new HttpMethod(method.ToUpperInvariant()), path)
                    {
                        Content = operation!["requestBody"] is null ? null : TestApi.RawJson("{}"),
                    };
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                    using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
                }
            }
        }

        var undocumented = OpenApiCoverage.Undocumented(document, StatusRecorder.Observed.ToArray());

        Assert.True(undocumented.Count == 0,
            "The API answered statuses its OpenAPI document does not list:\n" + string.Join('\n', undocumented));
    }

    [Fact]
    public async Task TheDashboardLinksTheApisOpenApiPageAndDocument()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var notifications = fixture.App.Services.GetRequiredService<ResourceNotificationService>();
        var api = await notifications.WaitForResourceAsync("api",
            e => e.Snapshot.Urls.Count(u => u.Url.Contains("/swagger", StringComparison.Ordinal)) == 2, timeout.Token);

        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        foreach (var url in api.Snapshot.Urls.Where(u => u.Url.Contains("/swagger", StringComparison.Ordinal)))
        {
            Assert.False(string.IsNullOrWhiteSpace(url.DisplayProperties.DisplayName), url.Url);
            using var response = await client.GetAsync(url.Url, timeout.Token);
            Assert.True(response.IsSuccessStatusCode, $"{url.Url}: {(int)response.StatusCode}");
        }
    }

    [Fact]
    public async Task EveryRequestOfTheHttpFileIsARouteOfTheDocument()
    {
        var document = await DocumentAsync();
        var lines = await File.ReadAllLinesAsync(RepositoryFiles.PathOf("AgentCloud.Api", "AgentCloud.Api.http"));
        var requests = lines.Select(l => System.Text.RegularExpressions.Regex.Match(l, @"^(GET|POST|PUT|DELETE|PATCH) \{\{api\}\}(\S+)$"))
            .Where(m => m.Success)
            .Select(m => (Method: m.Groups[1].Value, Path: m.Groups[2].Value.Split('?')[0].Replace("{{", "").Replace("}}", "")))
            .ToList();

        Assert.True(requests.Count >= 14, $"only {requests.Count} requests in the .http file");
        Assert.All(requests, r => Assert.True(OpenApiCoverage.OperationFor(document, r.Method, r.Path) is not null,
            $"{r.Method} {r.Path}"));
    }

    private async Task<JsonObject> DocumentAsync() => await OpenApiCoverage.FetchDocumentAsync(fixture.CreateApiClient());
}
