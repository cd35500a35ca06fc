using System.Globalization;
using System.Security.Claims;
using System.Text;
using AgentCloud.Api.Features.ApiKeys;
using AgentCloud.Api.Features.Auth;
using AgentCloud.Api.Features.Users;
using AgentCloud.Shared.Hosting;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace AgentCloud.Api.Infrastructure;

/// <summary>What both the token issuer and the bearer handler must agree on.</summary>
public sealed record JwtSettings(string Issuer, string Audience, TimeSpan AccessTokenLifetime, SymmetricSecurityKey SigningKey)
{
    public static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(30);
}

public static class JwtAuthentication
{
    /// <summary>
    /// HS256 bearer tokens signed with <c>JWT_SECRET_KEY</c>; <c>Jwt:Issuer</c> (agentcloud),
    /// <c>Jwt:Audience</c> (agentcloud-api) and <c>Jwt:AccessTokenMinutes</c> (30) are configurable.
    /// </summary>
    public static WebApplicationBuilder AddJwtAuthentication(this WebApplicationBuilder builder)
    {
        var secret = Secrets.Require(builder.Configuration, builder.Environment, Secrets.JwtSecretKey);
        var keyBytes = Encoding.UTF8.GetBytes(secret);
        if (keyBytes.Length < Secrets.MinimumBytes)
        {
            // HS256 needs a 256-bit key; Development tolerates weak values elsewhere, not this one.
            throw new InvalidOperationException($"{Secrets.JwtSecretKey} must be at least {Secrets.MinimumBytes} bytes.");
        }

        var settings = new JwtSettings(
            builder.Configuration["Jwt:Issuer"] ?? "agentcloud",
            builder.Configuration["Jwt:Audience"] ?? "agentcloud-api",
            TimeSpan.FromMinutes(builder.Configuration.GetValue("Jwt:AccessTokenMinutes", 30)),
            new SymmetricSecurityKey(keyBytes));
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton<TokenIssuer>();

        builder.Services.AddSingleton<ApiKeyStore>();
        builder.Services.AddAuthentication(ApiKeyAuthentication.SelectorScheme).AddApiKeys().AddJwtBearer(options =>
        {
            options.MapInboundClaims = false;
            options.TokenValidationParameters = new TokenValidationParameters
            {
                ValidIssuer = settings.Issuer,
                ValidAudience = settings.Audience,
                IssuerSigningKey = settings.SigningKey,
                ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
                ValidateIssuer = true,
                ValidateAudience = true,
                ValidateLifetime = true,
                ValidateIssuerSigningKey = true,
                RequireSignedTokens = true,
                RequireExpirationTime = true,
                ClockSkew = JwtSettings.ClockSkew,
                NameClaimType = JwtRegisteredClaimNames.Sub,
            };
            options.Events = new JwtBearerEvents
            {
                OnTokenValidated = RefuseUnknownSubjectsAsync,
                OnChallenge = WriteChallengeAsync,
            };
        });
        builder.Services.AddScopePolicies();
        return builder;
    }

    /// <summary>The caller's user id; only valid on endpoints that require authentication.</summary>
    public static int UserId(this ClaimsPrincipal user) =>
        int.Parse(user.FindFirstValue(JwtRegisteredClaimNames.Sub)!, NumberStyles.None, CultureInfo.InvariantCulture);

    // A token outlives its user, its password and its logout: a deleted account's tokens, those issued
    // before a password change and a revoked one must all stop working at once.
    private static async Task RefuseUnknownSubjectsAsync(TokenValidatedContext context)
    {
        var subject = context.Principal?.FindFirstValue(JwtRegisteredClaimNames.Sub);
        if (!int.TryParse(subject, NumberStyles.None, CultureInfo.InvariantCulture, out var userId) || userId <= 0)
        {
            context.Fail("The token has no valid subject.");
            return;
        }

        var users = context.HttpContext.RequestServices.GetRequiredService<UserStore>();
        var state = await users.FindTokenStateAsync(userId, context.Principal!.Jti());
        if (!AuthClaims.SessionStands(context.Principal!, state))
        {
            context.Fail(state is null ? "The token's user no longer exists." : "The token was revoked.");
            return;
        }

        // A login token may do everything its user may.
        context.Principal!.AddIdentity(new ClaimsIdentity(
            [new Claim(AuthClaims.Credential, AuthClaims.Session), .. ApiScopes.All.Select(scope => new Claim(AuthClaims.Scope, scope))]));
    }

    /// <summary>
    /// The WWW-Authenticate of a 401: Bearer, the RFC 6750 error when a credential was refused, and on /mcp
    /// the RFC 9728 resource_metadata an MCP client starts its authorization from.
    /// </summary>
    public static string BearerChallenge(HttpRequest request, bool invalidToken)
    {
        var parameters = new List<string>();
        if (invalidToken)
        {
            parameters.Add("error=\"invalid_token\"");
        }

        if (Features.Mcp.ResourceMetadata.Endpoint.UrlFor(request) is { } metadata)
        {
            parameters.Add($"resource_metadata=\"{metadata}\"");
        }

        return parameters.Count == 0 ? "Bearer" : "Bearer " + string.Join(", ", parameters);
    }

    private static Task WriteChallengeAsync(JwtBearerChallengeContext context)
    {
        context.HandleResponse();
        if (context.AuthenticateFailure is { } failure && ProblemExceptionHandler.IsDatabaseUnavailable(failure))
        {
            // The user check could not run: the token may be fine, so this is no 401.
            context.Response.Headers.RetryAfter = "5";
            return ProblemResponses.WriteAsync(context.HttpContext, StatusCodes.Status503ServiceUnavailable,
                "The service cannot reach its database right now. Try again shortly.");
        }

        context.Response.Headers.WWWAuthenticate = BearerChallenge(context.Request, invalidToken: context.AuthenticateFailure is not null);
        return ProblemResponses.WriteAsync(context.HttpContext, StatusCodes.Status401Unauthorized,
            "A valid bearer token is required.");
    }
}
