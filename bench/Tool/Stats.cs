using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Bench;

public static class Stats
{
    /// <summary>Nearest-rank percentile of sorted values.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).Order().ToList();
        if (sorted.Count == 0)
        {
            return double.NaN;
        }

        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    public static void Write(string path, JsonObject result)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, result.ToJsonString(new JsonSerializerOptions
            { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }));
        Console.WriteLine($"  {result["name"]}: " + string.Join(", ", result
            .Where(pair => pair.Key != "name" && pair.Value is JsonValue)
            .Select(pair => $"{pair.Key}={Format(pair.Value!)}")));
    }

    private static string Format(JsonNode value) =>
        value is JsonValue number && number.TryGetValue<double>(out var d) ? d.ToString("0.##", CultureInfo.InvariantCulture)
        : value is JsonValue other && other.TryGetValue<long>(out var l) ? l.ToString(CultureInfo.InvariantCulture)
        : value.ToString();
}
