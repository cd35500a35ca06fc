using AgentCloud.Shared.UAgents;

namespace AgentCloud.Api.Features.Callbacks;

/// <summary>
/// Whether a webhook or push URL may be registered: absolute http(s), no credentials in it, and a host the outbound
/// destination policy allows (the rule uAgents delivery follows: no loopback, private or link-local address unless the
/// operator allows it). Checked again on the connected address at every delivery, so a name that changes its address later
/// is still refused then.
/// </summary>
public static class CallbackUrls
{
    public const int MaxLength = 2000;

    /// <summary>Null when <paramref name="url"/> may be registered, else why not (for a 400).</summary>
    public static async Task<string?> ProblemAsync(string? url, OutboundDestinationPolicy policy, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(url) || url.Length > MaxLength)
        {
            return $"url must be an absolute http or https URL of at most {MaxLength} characters.";
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0)
        {
            return "url must be an absolute http or https URL.";
        }

        if (uri.UserInfo.Length > 0 || uri.Fragment.Length > 0)
        {
            return "url must not carry credentials or a fragment.";
        }

        return (await policy.AllowedAddressesAsync(uri.Host, cancellationToken)).Count == 0
            ? "url must name a public host: loopback, private, link-local and unresolvable destinations are refused."
            : null;
    }
}
