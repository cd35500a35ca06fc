using System.Text.RegularExpressions;

namespace AgentCloud.IntegrationTests;

/// <summary>What tests read out of the worker's log lines, in one place, by pattern rather than by word position.</summary>
public static partial class LogText
{
    /// <summary>The message id of a <c>Received message {id} from …</c> line.</summary>
    public static Guid ReceivedMessageId(string line) =>
        ReceivedMessage().Match(line) is { Success: true } match
            ? Guid.Parse(match.Groups["id"].ValueSpan)
            : throw new FormatException($"Not a 'Received message' line: {line}");

    [GeneratedRegex(@"^Received message (?<id>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\b")]
    private static partial Regex ReceivedMessage();
}
