using System.Globalization;
using System.Text;

namespace AgentCloud.Shared.Data;

/// <summary>Text from outside (an envelope's sender, a URL) made safe for one log line: short, and nothing that breaks or fakes a
/// line.</summary>
public static class UntrustedText
{
    public const int DefaultMaxLength = 100;

    /// <summary>At most <paramref name="maxLength"/> characters, control and line-breaking characters escaped as <c>\uXXXX</c>.</summary>
    public static string ForLog(string? text, int maxLength = DefaultMaxLength)
    {
        if (text is null)
        {
            return "(none)";
        }

        var builder = new StringBuilder(Math.Min(text.Length, maxLength) + 24);
        var shown = 0;
        for (; shown < text.Length && shown < maxLength; shown++)
        {
            var c = text[shown];
            if (char.IsControl(c) || c is '\u2028' or '\u2029' or '\u200e' or '\u200f' || c is >= '\u202a' and <= '\u202e'
                || c is >= '\u2066' and <= '\u2069' || char.IsSurrogate(c) && !IsPaired(text, shown))
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
            else
            {
                builder.Append(c);
            }
        }

        if (shown < text.Length)
        {
            builder.Append(CultureInfo.InvariantCulture, $"…({text.Length} characters)");
        }

        return builder.ToString();
    }

    private static bool IsPaired(string text, int i) =>
        char.IsHighSurrogate(text[i]) ? i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])
        : i > 0 && char.IsHighSurrogate(text[i - 1]);
}
