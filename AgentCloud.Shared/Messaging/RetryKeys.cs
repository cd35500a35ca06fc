using System.Globalization;
using System.Security.Cryptography;

namespace AgentCloud.Shared.Messaging;

/// <summary>
/// One request as a client that retries on its own sees it: the same bytes to the same door with the same credential. A retry of it
/// is one more attempt of the same call, so it must find what an earlier attempt stored instead of storing it again.
/// </summary>
/// <param name="Family">The first <see cref="RetryKeys.FamilyLength"/> characters of every key its attempts store.</param>
/// <param name="Attempt">0 for the first attempt; the client's retry count after that.</param>
/// <param name="Window">How far back an earlier attempt of this call can have stored its message.</param>
public sealed record RetriedCall(string Family, int Attempt, TimeSpan Window)
{
    /// <summary>A key of its own for an attempt that finds no earlier one: two calls alike are still two messages.</summary>
    public string NewKey() => $"{Family}:{Guid.NewGuid():N}";
}

/// <summary>
/// The idempotency keys a door derives for clients that retry without sending one (the official OpenAI clients retry a timeout,
/// a 408, 409, 429 or 5xx up to twice, saying which attempt it is in <c>X-Stainless-Retry-Count</c>, and send no key). Every
/// attempt of a call stores under its own key in the call's family; a retry takes the newest key of its family stored within
/// the window, so the messages table's idempotency finds the first attempt's message. Nothing about the content is trusted
/// across calls: only an attempt the client itself numbers as a retry looks back, and only as far as its attempts can reach.
/// </summary>
public static class RetryKeys
{
    public const string Prefix = "retry:";

    /// <summary>The prefix and a SHA-256 in base64url (43 characters).</summary>
    public const int FamilyLength = 49;

    public const string RetryCountHeader = "X-Stainless-Retry-Count";
    public const string TimeoutHeader = "X-Stainless-Timeout";

    /// <summary>The OpenAI clients' own timeout when the request does not say it (10 minutes).</summary>
    public static readonly TimeSpan DefaultClientTimeout = TimeSpan.FromMinutes(10);

    /// <summary>What a client sleeps between attempts at most: a Retry-After it honours is under 60 s.</summary>
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(60);

    public static readonly TimeSpan MaxWindow = TimeSpan.FromHours(1);

    /// <summary>
    /// The call behind a request: <paramref name="door"/> (its route), <paramref name="credential"/> (who exactly sent it: the user
    /// and the key or login), any request header that picks the conversation, and the body's bytes. The retry headers as the
    /// client sent them (null when absent, then this is a first attempt).
    /// </summary>
    public static RetriedCall Of(string door, string credential, string? conversation, ReadOnlySpan<byte> body, string? retryCount,
        string? timeoutSeconds)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var part in new[] { door, credential, conversation ?? "" })
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(part));
            hash.AppendData([0]);
        }

        hash.AppendData(body);
        var family = Prefix + Convert.ToBase64String(hash.GetHashAndReset()).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var attempt = int.TryParse(retryCount, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? Math.Min(n, 100) : 0;
        var timeout = int.TryParse(timeoutSeconds, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds > 0
            ? TimeSpan.FromSeconds(Math.Min(seconds, MaxWindow.TotalSeconds))
            : DefaultClientTimeout;
        var window = attempt * (timeout + MaxBackoff);
        return new RetriedCall(family, attempt, window < MaxWindow ? window : MaxWindow);
    }
}
