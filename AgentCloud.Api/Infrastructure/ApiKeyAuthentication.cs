using System.Globalization;
using System.Security.Claims;
using System.Text.Encodings.Web;
using AgentCloud.Api.Features.ApiKeys;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;

namespace AgentCloud.Api.Infrastructure;

/// <summary>
/// API keys beside login tokens: <c>Authorization: Bearer ak_…</c> or <c>X-API-Key: ak_…</c>. The
/// default scheme looks at the request and hands it to this one or to the JWT bearer handler.
/// </summary>
public static class ApiKeyAuthentication
{
    public const string Scheme = "ApiKey";
    public const string SelectorScheme = "BearerOrApiKey";
    public const string Header = "X-API-Key";

    public static AuthenticationBuilder AddApiKeys(this AuthenticationBuilder authentication)
    {
        authentication.AddScheme<AuthenticationSchemeOptions, ApiKeyHandler>(Scheme, _ => { });
        authentication.AddPolicyScheme(SelectorScheme, SelectorScheme, options =>
            options.ForwardDefaultSelector = context => PresentsApiKey(context.Request) ? Scheme : JwtBearerDefaults.AuthenticationScheme);
        return authentication;
    }

    public static bool PresentsApiKey(HttpRequest request) =>
        request.Headers.ContainsKey(Header)
        || (request.Headers.Authorization.ToString() is var authorization
            && authorization.StartsWith("Bearer " + ApiKeyStore.KeyPrefix, StringComparison.OrdinalIgnoreCase));

    /// <summary>The presented key, or null when the header holds nothing shaped like one.</summary>
    public static string? PresentedKey(HttpRequest request)
    {
        var value = request.Headers.TryGetValue(Header, out var header)
            ? header.ToString()
            : request.Headers.Authorization.ToString()["Bearer ".Length..];
        value = value.Trim();
        return ApiKeyStore.LooksLikeKey(value) ? value : null;
    }
}

/// <summary>
/// Looks the key's hash up on every request, so a deleted key stops working at once. Never logs the key:
/// failure reasons name no value.
/// </summary>
internal sealed class ApiKeyHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    ApiKeyStore keys) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var key = ApiKeyAuthentication.PresentedKey(Request);
        if (key is null)
        {
            return AuthenticateResult.Fail("The API key is malformed.");
        }

        var row = await keys.FindLiveAsync(key, Context.RequestAborted);
        if (row is null)
        {
            return AuthenticateResult.Fail("The API key is unknown, revoked or expired.");
        }

        var claims = new List<Claim>
        {
            new(JwtRegisteredClaimNames.Sub, row.UserId.ToString(CultureInfo.InvariantCulture)),
            new(AuthClaims.Credential, AuthClaims.ApiKey),
            new(AuthClaims.ApiKeyId, row.Id.ToString(CultureInfo.InvariantCulture)),
        };
        claims.AddRange(row.Scopes.Select(scope => new Claim(AuthClaims.Scope, scope)));
        claims.AddRange((row.AgentIds ?? []).Select(id => new Claim(AuthClaims.Agent, id.ToString(CultureInfo.InvariantCulture))));
        if (row.ExpiresAt is { } expires)
        {
            var seconds = new DateTimeOffset(DateTime.SpecifyKind(expires, DateTimeKind.Utc)).ToUnixTimeSeconds();
            claims.Add(new Claim(AuthClaims.Expires, seconds.ToString(CultureInfo.InvariantCulture)));
        }

        var identity = new ClaimsIdentity(claims, ApiKeyAuthentication.Scheme, JwtRegisteredClaimNames.Sub, null);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), ApiKeyAuthentication.Scheme));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        if (result.Failure is { } failure && ProblemExceptionHandler.IsDatabaseUnavailable(failure))
        {
            Response.Headers.RetryAfter = "5";
            await ProblemResponses.WriteAsync(Context, StatusCodes.Status503ServiceUnavailable,
                "The service cannot reach its database right now. Try again shortly.");
            return;
        }

        Response.Headers.WWWAuthenticate = JwtAuthentication.BearerChallenge(Request, invalidToken: true);
        await ProblemResponses.WriteAsync(Context, StatusCodes.Status401Unauthorized, "A valid bearer token or API key is required.");
    }
}
