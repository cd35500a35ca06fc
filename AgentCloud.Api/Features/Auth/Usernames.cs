using System.Globalization;

namespace AgentCloud.Api.Features.Auth;

/// <summary>What makes two names or addresses look alike, or hide characters from a reader.</summary>
public static class Usernames
{
    /// <summary>
    /// The account a login attempt counts against. Logins match the exact username, so case folding is
    /// only for legacy look-alike accounts to share one limit. NFKC is PostgreSQL's (the unique index):
    /// with invariant globalization, .NET's string.Normalize leaves non-ASCII text as it is.
    /// </summary>
    public static string Key(string username) => username.ToLowerInvariant();

    /// <summary>
    /// True when the text holds a character a reader cannot see or that reorders what they see: controls,
    /// format characters (zero-width spaces and joiners, bidi overrides and isolates, the BOM, soft hyphen),
    /// line and paragraph separators, lone surrogates, private use and unassigned code points, and the
    /// fillers and selectors that render as nothing.
    /// </summary>
    public static bool HasInvisibleCharacters(string? text)
    {
        if (text is null)
        {
            return false;
        }

        for (var i = 0; i < text.Length; i += char.IsSurrogatePair(text, i) ? 2 : 1)
        {
            if (char.IsSurrogate(text[i]) && !char.IsSurrogatePair(text, i))
            {
                return true;
            }

            var codePoint = char.ConvertToUtf32(text, i);
            var category = CharUnicodeInfo.GetUnicodeCategory(codePoint);
            if (category is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator
                    or UnicodeCategory.ParagraphSeparator or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned
                || IsBlankLookingCharacter(codePoint))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsBlankLookingCharacter(int codePoint) => codePoint is
        0x034F // combining grapheme joiner
        or 0x115F or 0x1160 or 0x3164 or 0xFFA0 // Hangul fillers
        or (>= 0x180B and <= 0x180F) // Mongolian variation selectors
        or (>= 0xFE00 and <= 0xFE0F) // variation selectors
        or (>= 0xE0100 and <= 0xE01EF)
        or 0x2800; // braille blank
}
