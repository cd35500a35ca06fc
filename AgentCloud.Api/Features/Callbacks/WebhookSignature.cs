using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace AgentCloud.Api.Features.Callbacks;

/// <summary>
/// Standard Webhooks (standardwebhooks.com): a secret <c>whsec_</c> + base64 of random bytes; each request carries
/// <c>webhook-id</c>, <c>webhook-timestamp</c> (Unix seconds) and <c>webhook-signature: v1,</c> + base64 of the
/// HMAC-SHA256, keyed by the secret's bytes, of <c>id.timestamp.body</c>. A receiver's library verifies it as is.
/// </summary>
public static class WebhookSignature
{
    public const string SecretPrefix = "whsec_";
    public const string IdHeader = "webhook-id";
    public const string TimestampHeader = "webhook-timestamp";
    public const string SignatureHeader = "webhook-signature";

    /// <summary>24 random bytes, as the specification recommends (between 24 and 64).</summary>
    public static string NewSecret() => SecretPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));

    public static string Sign(string secret, string id, long timestamp, string body)
    {
        var key = Convert.FromBase64String(secret.StartsWith(SecretPrefix, StringComparison.Ordinal) ? secret[SecretPrefix.Length..]
            : secret);
        var signed = Encoding.UTF8.GetBytes($"{id}.{timestamp.ToString(CultureInfo.InvariantCulture)}.{body}");
        return "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, signed));
    }
}
