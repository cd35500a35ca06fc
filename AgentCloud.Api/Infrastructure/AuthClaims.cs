using System.Globalization;
using System.Security.Claims;
using AgentCloud.Api.Features.ApiKeys;
using AgentCloud.Api.Features.Users;
using Microsoft.IdentityModel.JsonWebTokens;

namespace AgentCloud.Api.Infrastructure;

/// <summary>The claims a caller carries beyond its user id, whichever credential it presented.</summary>
public static class AuthClaims
{
    /// <summary><see cref="Session"/> (a login token) or <see cref="ApiKey"/>.</summary>
    public const string Credential = "credential";
    public const string Session = "session";
    public const string ApiKey = "api_key";

    public const string Scope = "scope";
    /// <summary>On a key limited to some agents: one claim per agent it may use.</summary>
    public const string Agent = "agent_id";
    public const string ApiKeyId = "api_key_id";
    /// <summary>The user's token version when the token was issued.</summary>
    public const string TokenVersion = "ver";
    /// <summary>The key's expiry (Unix seconds), when it has one.</summary>
    public const string Expires = "exp";

    public static bool IsApiKey(this ClaimsPrincipal user) => user.HasClaim(Credential, ApiKey);

    /// <summary>Null: every agent of the user; else the only agents this credential may use.</summary>
    public static IReadOnlySet<int>? AllowedAgents(this ClaimsPrincipal user)
    {
        if (!user.IsApiKey() || !user.HasClaim(claim => claim.Type == Agent))
        {
            return null;
        }

        return user.FindAll(Agent).Select(claim => int.Parse(claim.Value, NumberStyles.None, CultureInfo.InvariantCulture)).ToHashSet();
    }

    /// <summary>When the credential stops working by itself, if ever (a login token's exp, a key's expiry).</summary>
    public static DateTimeOffset? TokenExpiresAt(this ClaimsPrincipal user) =>
        long.TryParse(user.FindFirstValue(Expires), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : null;

    /// <summary>
    /// Whether the credential behind an already authenticated caller still stands (for a long request,
    /// such as a log stream, that outlives the check at its start).
    /// </summary>
    public static async Task<bool> StillValidAsync(this ClaimsPrincipal user, IServiceProvider services,
        CancellationToken cancellationToken)
    {
        if (user.TokenExpiresAt() is { } expires && expires <= DateTimeOffset.UtcNow)
        {
            return false;
        }

        if (user.IsApiKey())
        {
            var keyId = int.Parse(user.FindFirstValue(ApiKeyId)!, NumberStyles.None, CultureInfo.InvariantCulture);
            return await services.GetRequiredService<ApiKeyStore>().IsLiveAsync(keyId, cancellationToken);
        }

        var state = await services.GetRequiredService<UserStore>().FindTokenStateAsync(user.UserId(), Jti(user));
        return SessionStands(user, state);
    }

    /// <summary>A session token stands while its user exists, its version is current and it was not revoked.</summary>
    public static bool SessionStands(ClaimsPrincipal user, TokenState? state)
    {
        if (state is null || state.Revoked)
        {
            return false;
        }

        // Tokens issued before versions existed carry none: they count as version 0.
        var version = int.TryParse(user.FindFirstValue(TokenVersion), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : 0;
        return version == state.TokenVersion;
    }

    /// <summary>Which credential of its user sent a request: the API key's id, or the login token's id.</summary>
    public static string CredentialId(this ClaimsPrincipal user) => user.IsApiKey()
        ? $"key:{user.FindFirstValue(ApiKeyId)}"
        : $"login:{user.Jti()?.ToString("D") ?? user.FindFirstValue(JwtRegisteredClaimNames.Sub)}";

    public static Guid? Jti(this ClaimsPrincipal user) =>
        Guid.TryParseExact(user.FindFirstValue(JwtRegisteredClaimNames.Jti), "D", out var jti) ? jti : null;
}
