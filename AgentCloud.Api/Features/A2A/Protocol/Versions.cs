using System.Globalization;
using System.Text.Json.Nodes;

namespace AgentCloud.Api.Features.A2A.Protocol;

/// <summary>
/// The A2A-Version service parameter (specification section 3.2.6): the version a client speaks, Major.Minor. Both bindings
/// speak 1.0; JSON-RPC also answers the 0.3 method names, so it accepts 0.3. No header is accepted as well (the spec reads it
/// as 0.3, which JSON-RPC serves; the REST routes here are 1.0's, a 0.3 REST client calls other paths and gets a 404).
/// </summary>
public static class A2AVersions
{
    public const string Header = "A2A-Version";
    public const string Current = "1.0";
    public const string Legacy = "0.3";

    /// <summary>Throws VersionNotSupportedError for a version the binding does not speak.</summary>
    public static void Check(string? requested, string binding)
    {
        if (string.IsNullOrWhiteSpace(requested))
        {
            return;
        }

        var supported = binding == ProtocolBindings.JsonRpc ? new[] { Current, Legacy } : [Current];
        if (MajorMinor(requested) is { } version && supported.Contains(version))
        {
            return;
        }

        throw JsonRpcException.Info(JsonRpcErrorCodes.VersionNotSupported,
            $"A2A version '{requested.Trim()}' is not supported here; this {binding} interface speaks {string.Join(" and ", supported)}.",
            "VERSION_NOT_SUPPORTED",
            new JsonObject { ["requestedVersion"] = requested.Trim(), ["supportedVersions"] = string.Join(",", supported) });
    }

    /// <summary>"1", "1.0" and "1.0.2" are all 1.0 (a patch does not change the protocol); null for what is not a version.</summary>
    private static string? MajorMinor(string version)
    {
        var parts = version.Trim().Split('.');
        if (parts.Length > 3 || parts.Any(p => !int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            return null;
        }

        var minor = parts.Length > 1 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : 0;
        return $"{int.Parse(parts[0], CultureInfo.InvariantCulture)}.{minor}";
    }
}
