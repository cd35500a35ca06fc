using System.Globalization;
using System.Security.Claims;
using AgentCloud.Api.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace AgentCloud.Api.Features.Auth;

public sealed record AccessToken(string Token, TimeSpan Lifetime);

public sealed class TokenIssuer(JwtSettings settings)
{
    private readonly JsonWebTokenHandler handler = new();

    /// <summary>
    /// A token for the user at <paramref name="tokenVersion"/> (a password change moves past it), with a
    /// jti so this one token can be revoked alone.
    /// </summary>
    public AccessToken Issue(int userId, int tokenVersion)
    {
        var now = DateTime.UtcNow;
        var token = handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = settings.Issuer,
            Audience = settings.Audience,
            Subject = new ClaimsIdentity(
            [
                new Claim(JwtRegisteredClaimNames.Sub, userId.ToString(CultureInfo.InvariantCulture)),
                new Claim(JwtRegisteredClaimNames.Jti, Guid.NewGuid().ToString("D")),
                new Claim(AuthClaims.TokenVersion, tokenVersion.ToString(CultureInfo.InvariantCulture)),
            ]),
            IssuedAt = now,
            NotBefore = now,
            Expires = now + settings.AccessTokenLifetime,
            SigningCredentials = new SigningCredentials(settings.SigningKey, SecurityAlgorithms.HmacSha256),
        });
        return new AccessToken(token, settings.AccessTokenLifetime);
    }
}
