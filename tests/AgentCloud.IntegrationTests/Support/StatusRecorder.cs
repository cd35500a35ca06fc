using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// Sits in every client <see cref="AgentCloudFixture.CreateApiClient"/> makes and writes down, for the
/// whole run, which status each request got, so the OpenAPI document can be held to what the API was
/// seen to answer.
/// </summary>
public sealed class StatusRecorder : DelegatingHandler
{
    public static readonly ConcurrentQueue<ObservedStatus> Observed = new();

    public StatusRecorder() : base(new SocketsHttpHandler())
    {
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        Observed.Enqueue(new ObservedStatus(request.Method.Method, request.RequestUri!.AbsolutePath, (int)response.StatusCode));
        return response;
    }
}

public sealed record ObservedStatus(string Method, string Path, int Status);

/// <summary>The OpenAPI document's routes, and which observed statuses it does not list.</summary>
public static class OpenApiCoverage
{
    public const string DocumentPath = "/swagger/v1/swagger.json";

    public static async Task<JsonObject> FetchDocumentAsync(HttpClient client, CancellationToken ct = default)
    {
        using var response = await client.GetAsync(DocumentPath, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        Assert.True(response.IsSuccessStatusCode, $"{DocumentPath}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!.AsObject();
    }

    /// <summary>
    /// Each observed (method, path, status) whose route the document has (matched by its template) but
    /// whose status that operation does not list, as "METHOD /template status (path)". Requests to paths
    /// or methods the document does not have (unknown routes, 405s) are not the document's business.
    /// </summary>
    public static List<string> Undocumented(JsonObject document, IEnumerable<ObservedStatus> observed)
    {
        var routes = Routes(document);
        var missing = new SortedSet<string>();
        foreach (var seen in observed)
        {
            if (OperationFor(routes, seen.Method, seen.Path) is not var (template, operation))
            {
                continue;
            }

            var statuses = operation["responses"]!.AsObject().Select(r => r.Key).ToHashSet();
            if (!statuses.Contains(seen.Status.ToString()))
            {
                missing.Add($"{seen.Method} {template} {seen.Status} (e.g. {seen.Path})");
            }
        }

        return [.. missing];
    }

    /// <summary>The document's template and operation for a request, or null when it has none.</summary>
    public static (string Template, JsonObject Operation)? OperationFor(JsonObject document, string method, string path) =>
        OperationFor(Routes(document), method, path);

    private static (string Template, JsonObject Operation)? OperationFor(
        List<(string Template, Regex Pattern, JsonObject Operations)> routes, string method, string path)
    {
        var route = routes.FirstOrDefault(r => r.Pattern.IsMatch(path));
        return route.Template is not null && route.Operations[method.ToLowerInvariant()] is JsonObject operation
            ? (route.Template, operation)
            : null;
    }

    private static List<(string Template, Regex Pattern, JsonObject Operations)> Routes(JsonObject document) =>
        document["paths"]!.AsObject()
            .Select(path => (Template: path.Key, Pattern: TemplatePattern(path.Key), Operations: path.Value!.AsObject()))
            // A literal segment beats a parameter: /agents/{agent_id}/messages before /agents/{agent_id}/{x}.
            .OrderByDescending(route => route.Template.Count(c => c == '/'))
            .ThenBy(route => route.Template.Count(c => c == '{'))
            .ToList();

    private static Regex TemplatePattern(string template) =>
        new("^" + Regex.Replace(Regex.Escape(template), @"\\\{[^}]+\}", "[^/]+") + "/?$", RegexOptions.CultureInvariant);
}
