namespace AgentCloud.Web.Components.Shared;

public static class ReturnUrls
{
    /// <summary>
    /// Only a path of this site: never another origin (open redirect) or a protocol-relative URL. A control
    /// character anywhere is refused too: browsers drop tabs and line breaks, so <c>/\t/host</c> would be
    /// <c>//host</c> to them, and LocalRedirect throws on it.
    /// </summary>
    public static string Local(string? returnUrl) =>
        returnUrl is { Length: > 0 } url && url[0] == '/' && !url.StartsWith("//", StringComparison.Ordinal)
            && !url.StartsWith("/\\", StringComparison.Ordinal) && !url.Any(char.IsControl)
            ? url
            : "/agents";
}
