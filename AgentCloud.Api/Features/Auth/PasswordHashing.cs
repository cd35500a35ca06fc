using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace AgentCloud.Api.Features.Auth;

public enum PasswordCheck
{
    Failed,
    Succeeded,

    /// <summary>Right password, stored in an old form: store <see cref="PasswordHashing.Hash"/> of it now.</summary>
    SucceededRehashNeeded,
}

/// <summary>
/// ASP.NET Core Identity's hasher (PBKDF2-HMAC-SHA512, 100,000 iterations, salted). Hashes written by
/// the original backend (hex SHA-256 of the password) still verify once, so they can be upgraded.
/// </summary>
public sealed partial class PasswordHashing
{
    private static readonly object Owner = new();

    private readonly PasswordHasher<object> hasher = new(Options.Create(new PasswordHasherOptions
    {
        CompatibilityMode = PasswordHasherCompatibilityMode.IdentityV3,
        IterationCount = 100_000,
    }));

    private readonly string dummyHash;

    public PasswordHashing() => dummyHash = hasher.HashPassword(Owner, Convert.ToBase64String(RandomNumberGenerator.GetBytes(16)));

    public string Hash(string password) => hasher.HashPassword(Owner, password);

    public PasswordCheck Verify(string storedHash, string password)
    {
        if (LegacySha256Hex().IsMatch(storedHash))
        {
            var expected = Convert.FromHexString(storedHash);
            var actual = SHA256.HashData(Encoding.UTF8.GetBytes(password));
            return CryptographicOperations.FixedTimeEquals(expected, actual)
                ? PasswordCheck.SucceededRehashNeeded
                : PasswordCheck.Failed;
        }

        try
        {
            return hasher.VerifyHashedPassword(Owner, storedHash, password) switch
            {
                PasswordVerificationResult.Success => PasswordCheck.Succeeded,
                PasswordVerificationResult.SuccessRehashNeeded => PasswordCheck.SucceededRehashNeeded,
                _ => PasswordCheck.Failed,
            };
        }
        catch (FormatException)
        {
            return PasswordCheck.Failed;
        }
    }

    /// <summary>As slow as a real check, so a login for a missing user takes as long as a wrong password.</summary>
    public void VerifyAgainstDummy(string password) => hasher.VerifyHashedPassword(Owner, dummyHash, password);

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex LegacySha256Hex();
}
