using AgentCloud.Api.Infrastructure;
using FastEndpoints;
using ModelContextProtocol;
using ModelContextProtocol.Authentication;

namespace AgentCloud.Api.Features.Mcp.ResourceMetadata;

/// <summary>
/// OAuth 2.0 protected resource metadata (RFC 9728), which MCP 2025-06-18 and later ask of a resource
/// server: at the origin's well-known path and at its /mcp-suffixed form (RFC 9728 section 3.1: the
/// well-known segment goes between the host and the resource's path), naming the API itself as the
/// authorization server that issues its bearer tokens (POST /login).
/// </summary>
public sealed class Endpoint : EndpointWithoutRequest
{
    public const string WellKnown = "/.well-known/oauth-protected-resource";
    public const string McpPath = "/mcp";

    public override void Configure()
    {
        Get(WellKnown, WellKnown + McpPath);
        AllowAnonymous();
        Summary(s =>
        {
            s.Summary = "OAuth protected resource metadata (RFC 9728) of the API and of /mcp";
            s.Description = "resource (the API, or its /mcp), authorization_servers (this API, whose POST /login issues the bearer " +
                "tokens), bearer_methods_supported (header) and scopes_supported (the API key scopes). A 401 from /mcp points here " +
                "in WWW-Authenticate's resource_metadata.";
            s.Responses[200] = "The metadata document.";
        });
    }

    public override Task HandleAsync(CancellationToken ct)
    {
        var origin = Origin(HttpContext.Request);
        var metadata = new ProtectedResourceMetadata
        {
            Resource = HttpContext.Request.Path.Value!.EndsWith(McpPath, StringComparison.Ordinal) ? origin + McpPath : origin,
            AuthorizationServers = [origin],
            BearerMethodsSupported = ["header"],
            ScopesSupported = [.. ApiScopes.All],
            ResourceName = "AgentCloud",
        };
        HttpContext.Response.Headers.CacheControl = "public, max-age=300";
        return Send.StringAsync(System.Text.Json.JsonSerializer.Serialize(metadata,
            McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(ProtectedResourceMetadata))),
            contentType: "application/json", cancellation: ct);
    }

    /// <summary>For a 401 on /mcp: where its metadata is (WWW-Authenticate's resource_metadata); null elsewhere.</summary>
    public static string? UrlFor(HttpRequest request) =>
        request.Path.StartsWithSegments(McpPath) ? Origin(request) + WellKnown + McpPath : null;

    private static string Origin(HttpRequest request) => $"{request.Scheme}://{request.Host}{request.PathBase}";
}
