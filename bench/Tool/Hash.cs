using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace Bench;

/// <summary>The cost of one password check as the API configures it: Identity v3, PBKDF2-HMAC-SHA512, 100,000 iterations.</summary>
public static class Hash
{
    public static Task RunAsync(Args args)
    {
        var hasher = new PasswordHasher<object>(Options.Create(new PasswordHasherOptions
        {
            CompatibilityMode = PasswordHasherCompatibilityMode.IdentityV3,
            IterationCount = 100_000,
        }));
        var owner = new object();
        var hash = hasher.HashPassword(owner, "bench-password");
        hasher.VerifyHashedPassword(owner, hash, "bench-password");

        var seconds = args.Double("seconds", 3);
        var calls = 0;
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed.TotalSeconds < seconds)
        {
            if (hasher.VerifyHashedPassword(owner, hash, "bench-password") != PasswordVerificationResult.Success)
            {
                throw new InvalidOperationException("The hash did not verify.");
            }

            calls++;
        }

        var ms = watch.Elapsed.TotalMilliseconds / calls;
        Stats.Write(args.Get("out"), new JsonObject
        {
            ["name"] = "hash",
            ["ms_per_verify"] = ms,
            ["cores"] = Environment.ProcessorCount,
            ["max_logins_per_s"] = Environment.ProcessorCount * 1000 / ms,
        });
        return Task.CompletedTask;
    }
}
