using System.Text.Json.Nodes;
using AgentCloud.Shared.Messaging;

namespace AgentCloud.Shared.Llm;

/// <summary>
/// Which of an llm agent's memory a run may use (issue 31): the owner's runs use the owner's memory; a run for anyone else
/// (<see cref="SenderSpaces"/>) uses what <c>config.outsider_memory</c> allows. Writes go to <see cref="Writes"/>; a read looks
/// in <see cref="Reads"/> in order and the first space that holds the key wins. No outsider ever writes the owner's memory.
/// </summary>
public sealed record MemoryScope(string Writes, IReadOnlyList<string> Reads)
{
    public const string ConfigField = "outsider_memory";
    /// <summary>Outsiders get no memory: the memory tools are not offered on their runs.</summary>
    public const string None = "none";
    /// <summary>Each outsider has a memory of its own, empty at first; the owner's is out of its sight (the default).</summary>
    public const string Own = "own";
    /// <summary>As <see cref="Own"/>, and recall also reads the owner's memory, whose values win over the outsider's own.</summary>
    public const string ReadOwner = "read_owner";
    public const string Default = Own;

    /// <summary>The keys one outsider's space holds at most (the owner's has no such cap).</summary>
    public const int MaxOutsiderKeys = 100;

    public static readonly IReadOnlyList<string> Modes = [None, Own, ReadOwner];

    public static readonly MemoryScope Owner = new(SenderSpaces.Owner, [SenderSpaces.Owner]);

    public bool IsOwner => SenderSpaces.IsOwner(Writes);

    /// <summary>The scope of a run whose message's sender is in <paramref name="space"/>; null: no memory at all.</summary>
    public static MemoryScope? For(string space, string outsiderMemory) =>
        SenderSpaces.IsOwner(space) ? Owner : outsiderMemory switch
        {
            Own => new MemoryScope(space, [space]),
            ReadOwner => new MemoryScope(space, [SenderSpaces.Owner, space]),
            _ => null,
        };

    /// <summary><c>config.outsider_memory</c>, <see cref="Default"/> without it.</summary>
    public static string Read(JsonObject config) =>
        config[ConfigField] is JsonValue value && value.TryGetValue<string>(out var mode) ? mode : Default;

    public static IEnumerable<string> Problems(JsonObject config)
    {
        if (config[ConfigField] is { } field && (field is not JsonValue value || !value.TryGetValue<string>(out var mode)
            || !Modes.Contains(mode)))
        {
            yield return $"config.{ConfigField} must be one of: {string.Join(", ", Modes)}.";
        }
    }
}
