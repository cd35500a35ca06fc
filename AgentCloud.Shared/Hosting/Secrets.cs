using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace AgentCloud.Shared.Hosting;

/// <summary>
/// The two root secrets of the original design. Outside Development a missing, short or well-known
/// value stops the service at start; in Development a missing one is generated for this process only.
/// </summary>
public static class Secrets
{
    public const string JwtSecretKey = "JWT_SECRET_KEY";
    public const string BackendAgentSeed = "BACKEND_AGENT_SEED";
    public const int MinimumBytes = 32;

    // Placeholders from the original project's samples and the usual tutorial values.
    private static readonly HashSet<string> KnownDefaults = new(StringComparer.OrdinalIgnoreCase)
    {
        "secret", "changeme", "change-me", "change_me", "your-secret-key", "your_secret_key",
        "your-secret-key-here", "your_secret_key_here", "your-jwt-secret", "jwt-secret", "supersecret",
        "backend_agent_seed", "backend-agent-seed", "your-agent-seed", "your_agent_seed", "agent_seed",
        "your-secret-key-change-in-production", "your_backend_agent_seed_here",
    };

    public static string Require(IConfiguration configuration, IHostEnvironment environment, string name)
    {
        var value = configuration[name];
        var problem = Check(value);
        if (problem is null)
        {
            return value!;
        }

        if (!environment.IsDevelopment())
        {
            throw new InvalidOperationException(
                $"{name} {problem}. Set it to at least {MinimumBytes} random bytes, for example the output of "
                + "`openssl rand -base64 48`, in the environment or the .env file; the service will not start without it.");
        }

        // Development only: a throw-away value keeps a lone service usable; tokens and agent
        // identities then change with every restart, which is what a warning at start says.
        return string.IsNullOrEmpty(value) ? Convert.ToBase64String(RandomNumberGenerator.GetBytes(48)) : value;
    }

    /// <summary>Why a secret is unfit, or null when it is fine.</summary>
    public static string? Check(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return "is missing";
        }

        if (KnownDefaults.Contains(value.Trim()))
        {
            return "is a well-known default value";
        }

        if (Encoding.UTF8.GetByteCount(value) < MinimumBytes)
        {
            return $"is shorter than {MinimumBytes} bytes";
        }

        return null;
    }
}
