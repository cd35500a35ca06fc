using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Infrastructure;
using Microsoft.AspNetCore.Authorization.Policy;

namespace AgentCloud.Api.Infrastructure;

/// <summary>
/// What a credential may do. A login token holds every scope; an API key holds those it was made with.
/// Each scope is an authorization policy of the same name; <see cref="Session"/> admits login tokens only
/// (account routes: password, logout, API keys, so a leaked key cannot mint keys or lock its owner out).
/// </summary>
public static class ApiScopes
{
    public const string AgentsRead = "agents:read";
    public const string AgentsWrite = "agents:write";
    public const string MessagesSend = "messages:send";
    /// <summary>
    /// Deciding the tool calls an agent's config makes wait for a person (docs/approvals.md): a power of its own, so a key that
    /// sends the agent messages (a chat front end) cannot approve what the agent does with them.
    /// </summary>
    public const string ApprovalsWrite = "approvals:write";
    public const string Session = "session";

    public static readonly IReadOnlyList<string> All = [AgentsRead, AgentsWrite, MessagesSend, ApprovalsWrite];

    public static IServiceCollection AddScopePolicies(this IServiceCollection services)
    {
        services.AddAuthorization(options =>
        {
            foreach (var scope in All)
            {
                options.AddPolicy(scope, policy => policy.RequireAuthenticatedUser().RequireClaim(AuthClaims.Scope, scope));
            }

            options.AddPolicy(Session, policy => policy.RequireAuthenticatedUser().RequireClaim(AuthClaims.Credential, AuthClaims.Session));
        });
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, ScopeProblems>();
        return services;
    }

    /// <summary>
    /// An API key limited to some agents reaches no other: routes naming an agent (<c>/agents/{id}</c>,
    /// <c>/agents/{agent_id}/…</c>) answer as for an agent that is not the caller's. One check for every
    /// agent route, where the route values are known, so a new route cannot forget it. The A2A door
    /// (<c>/a2a/{agent_id}</c>, its card included) is an agent route too; the OpenAI and MCP doors name
    /// the agent in their bodies and check <see cref="MayUseAgent"/> themselves.
    /// </summary>
    /// <summary>Whether the credential holds <paramref name="scope"/>, for doors that check per call (A2A methods, MCP tools).</summary>
    public static bool HasScope(this System.Security.Claims.ClaimsPrincipal user, string scope) => user.HasClaim(AuthClaims.Scope, scope);

    /// <summary>Whether the credential may use agent <paramref name="agentId"/> (a key limited to some agents reaches no other).</summary>
    public static bool MayUseAgent(this System.Security.Claims.ClaimsPrincipal user, int agentId) =>
        user.AllowedAgents() is not { } allowed || allowed.Contains(agentId);

    public static IApplicationBuilder UseAgentRestrictions(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            if (context.User.AllowedAgents() is { } allowed
                && (context.Request.Path.StartsWithSegments("/agents") || context.Request.Path.StartsWithSegments("/a2a"))
                && (context.GetRouteValue("agent_id") ?? context.GetRouteValue("id")) is string value
                && (!int.TryParse(value, out var agentId) || !allowed.Contains(agentId)))
            {
                await ProblemResponses.WriteAsync(context, StatusCodes.Status404NotFound, "Agent not found.");
                return;
            }

            await next(context);
        });
}

/// <summary>A 403 that names what the credential lacks, as problem details.</summary>
internal sealed class ScopeProblems : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler fallback = new();

    public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy,
        PolicyAuthorizationResult authorizeResult)
    {
        if (!authorizeResult.Forbidden || context.User.Identity?.IsAuthenticated != true)
        {
            return fallback.HandleAsync(next, context, policy, authorizeResult);
        }

        var missing = authorizeResult.AuthorizationFailure?.FailedRequirements.OfType<ClaimsAuthorizationRequirement>().FirstOrDefault();
        var detail = missing switch
        {
            { ClaimType: AuthClaims.Scope, AllowedValues: { } values } =>
                $"This API key lacks the scope '{string.Join("' or '", values)}'.",
            { ClaimType: AuthClaims.Credential } => "This route needs a login token; an API key cannot use it.",
            _ => "Not allowed.",
        };
        return ProblemResponses.WriteAsync(context, StatusCodes.Status403Forbidden, detail);
    }
}
