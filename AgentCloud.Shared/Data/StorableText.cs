using System.Text.Json;
using System.Text.Json.Nodes;

namespace AgentCloud.Shared.Data;

/// <summary>
/// PostgreSQL stores every character but one: U+0000 is refused in <c>text</c> (SQLSTATE 22021) and as
/// <c>\u0000</c> in <c>jsonb</c> (22P05). Input that would carry it into the database is refused where it
/// arrives, with a clear answer, instead of failing as a server error when it is written.
/// The same goes for what would break reading it back: a lone UTF-16 surrogate (<c>"\ud800"</c>), which
/// .NET's JSON cannot turn into a string, and JSON nested so deep that a response wrapping it passes the
/// serializer's depth limit of 64 (<see cref="MaxJsonDepth"/> leaves room for every response).
/// </summary>
public static class StorableText
{
    public const string Problem = "must not contain the character U+0000, which PostgreSQL cannot store";

    public const string SurrogateProblem = "must not contain a lone UTF-16 surrogate (such as \\ud800 without its pair)";

    /// <summary>Stored JSON (payloads, configs, replies) nests at most this deep: half the serializer's limit.</summary>
    public const int MaxJsonDepth = 32;

    public const string DepthProblem = "must not nest objects and arrays more than 32 levels deep";

    public static bool IsStorable(string? text) => ProblemWith(text) is null;

    /// <summary>Every string and property name in <paramref name="json"/> is storable, and it is not too deep.</summary>
    public static bool IsStorable(JsonElement json) => ProblemWith(json) is null;

    /// <inheritdoc cref="IsStorable(JsonElement)"/>
    public static bool IsStorable(JsonNode? json) => ProblemWith(json) is null;

    /// <summary>What makes <paramref name="text"/> unstorable (one of the problem texts), or null.</summary>
    public static string? ProblemWith(string? text)
    {
        if (text is null)
        {
            return null;
        }

        if (text.Contains('\0'))
        {
            return Problem;
        }

        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return SurrogateProblem;
            }
        }

        return null;
    }

    /// <inheritdoc cref="ProblemWith(string?)"/>
    public static string? ProblemWith(JsonElement json) => ProblemWith(json, 0);

    /// <inheritdoc cref="ProblemWith(string?)"/>
    public static string? ProblemWith(JsonNode? json) => ProblemWith(json, 0);

    private static string? ProblemWith(JsonElement json, int depth)
    {
        try
        {
            switch (json.ValueKind)
            {
                case JsonValueKind.String:
                    return ProblemWith(json.GetString());
                case JsonValueKind.Array when depth >= MaxJsonDepth:
                case JsonValueKind.Object when depth >= MaxJsonDepth:
                    return DepthProblem;
                case JsonValueKind.Array:
                    return json.EnumerateArray().Select(item => ProblemWith(item, depth + 1))
                        .FirstOrDefault(problem => problem is not null);
                case JsonValueKind.Object:
                    return json.EnumerateObject()
                        .Select(property => ProblemWith(property.Name) ?? ProblemWith(property.Value, depth + 1))
                        .FirstOrDefault(problem => problem is not null);
                default:
                    return null;
            }
        }
        catch (InvalidOperationException)
        {
            // The JSON reader cannot decode an escaped lone surrogate into a string.
            return SurrogateProblem;
        }
    }

    private static string? ProblemWith(JsonNode? json, int depth)
    {
        try
        {
            return json switch
            {
                null => null,
                JsonArray when depth >= MaxJsonDepth => DepthProblem,
                JsonObject when depth >= MaxJsonDepth => DepthProblem,
                JsonArray array => array.Select(item => ProblemWith(item, depth + 1)).FirstOrDefault(problem => problem is not null),
                JsonObject obj => obj.Select(property => ProblemWith(property.Key) ?? ProblemWith(property.Value, depth + 1))
                    .FirstOrDefault(problem => problem is not null),
                _ => json.GetValueKind() == JsonValueKind.String ? ProblemWith(json.GetValue<string>()) : null,
            };
        }
        catch (InvalidOperationException)
        {
            return SurrogateProblem;
        }
    }
}
