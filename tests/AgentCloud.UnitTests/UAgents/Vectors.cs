using System.Text.Json;

namespace AgentCloud.UnitTests.UAgents;

/// <summary>The reference implementation's expected values (Vectors/uagents-vectors.json).</summary>
internal static class Vectors
{
    private static readonly Lazy<JsonElement> Root = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Vectors", "uagents-vectors.json")))
            .RootElement);

    public static IEnumerable<JsonElement> Seeds => Root.Value.GetProperty("identity").GetProperty("seeds").EnumerateArray();

    public static IEnumerable<JsonElement> SignatureCases =>
        Root.Value.GetProperty("signatures").GetProperty("cases").EnumerateArray();

    public static IEnumerable<JsonElement> EnvelopeCases =>
        Root.Value.GetProperty("envelopes").GetProperty("cases").EnumerateArray();

    public static IEnumerable<JsonElement> ModelDigestCases =>
        Root.Value.GetProperty("model_digests").GetProperty("cases").EnumerateArray();

    public static IEnumerable<JsonElement> ProtocolDigestCases =>
        Root.Value.GetProperty("protocol_digests").GetProperty("cases").EnumerateArray();

    public static JsonElement ChatProtocolPayloads => Root.Value.GetProperty("chat_protocol_payloads");

    public static string? OptionalString(this JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public static bool Flag(this JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.True;
}
