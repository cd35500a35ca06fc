using System.Text.Json;
using System.Text.Json.Nodes;

namespace AgentCloud.Shared.Data;

/// <summary>
/// PostgreSQL stores every character but one: U+0000 is refused in <c>text</c> (SQLSTATE 22021) and as
/// <c>\u0000</c> in <c>jsonb</c> (22P05). Input that would carry it into the database is refused where it
/// arrives, with a clear answer, instead of failing as a server error when it is written.
/// </summary>
public static class StorableText
{
    public const string Problem = "must not contain the character U+0000, which PostgreSQL cannot store";

    public static bool IsStorable(string? text) => text is null || !text.Contains('\0');

    /// <summary>Every string and property name in <paramref name="json"/> is storable.</summary>
    public static bool IsStorable(JsonElement json) => json.ValueKind switch
    {
        JsonValueKind.String => IsStorable(json.GetString()),
        JsonValueKind.Array => json.EnumerateArray().All(IsStorable),
        JsonValueKind.Object => json.EnumerateObject().All(property => IsStorable(property.Name) && IsStorable(property.Value)),
        _ => true,
    };

    /// <inheritdoc cref="IsStorable(JsonElement)"/>
    public static bool IsStorable(JsonNode? json) => json switch
    {
        null => true,
        JsonArray array => array.All(IsStorable),
        JsonObject obj => obj.All(property => IsStorable(property.Key) && IsStorable(property.Value)),
        _ => json.GetValueKind() != JsonValueKind.String || IsStorable(json.GetValue<string>()),
    };
}
