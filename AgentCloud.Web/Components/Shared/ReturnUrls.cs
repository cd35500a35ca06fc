namespace AgentCloud.Web.Components.Shared;

public static class ReturnUrls
{
    /// <summary>Only a path of this site: never another origin (open redirect) or a protocol-relative URL.</summary>
    public static string Local(string? returnUrl) =>
        returnUrl is { Length: > 0 } url && url[0] == '/' && !url.StartsWith("//", StringComparison.Ordinal) && !url.StartsWith("/\\", StringComparison.Ordinal)
            ? url
            : "/agents";
}
