using Microsoft.AspNetCore.Components.Authorization;

namespace AgentCloud.Web.Api;

/// <summary>The signed-in person's API token, from the authentication cookie's claims.</summary>
public sealed class SessionToken(AuthenticationStateProvider authentication, IHttpContextAccessor http)
{
    public const string ClaimType = "agentcloud:access_token";

    public async Task<string?> GetAsync()
    {
        try
        {
            // Pages (static or interactive) have the authentication state; a plain endpoint has only the request.
            var state = await authentication.GetAuthenticationStateAsync();
            return state.User.FindFirst(ClaimType)?.Value;
        }
        catch (InvalidOperationException)
        {
            return http.HttpContext?.User.FindFirst(ClaimType)?.Value;
        }
    }
}
