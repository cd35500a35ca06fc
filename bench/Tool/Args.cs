namespace Bench;

/// <summary>--name value pairs; a repeated name keeps every value.</summary>
public sealed class Args(string[] args)
{
    private readonly ILookup<string, string> values = Parse(args).ToLookup(pair => pair.Key, pair => pair.Value);

    public string Get(string name) => values[name].LastOrDefault() ?? throw new ArgumentException($"--{name} is required.");

    public string? Optional(string name) => values[name].LastOrDefault();

    public int Int(string name, int fallback) => Optional(name) is { } value ? int.Parse(value) : fallback;

    public double Double(string name, double fallback) => Optional(name) is { } value
        ? double.Parse(value, System.Globalization.CultureInfo.InvariantCulture) : fallback;

    public IEnumerable<string> All(string name) => values[name];

    private static IEnumerable<KeyValuePair<string, string>> Parse(string[] args)
    {
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"Expected --name value, got '{args[i]}'.");
            }

            yield return new(args[i][2..], args[++i]);
        }
    }
}
