using System.Text;

namespace AgentCloud.Shared.UAgents;

/// <summary>
/// Bech32 with the original BIP-173 checksum (not Bech32m) and without BIP-173's 90-character limit:
/// uAgents signatures are 113 characters long.
/// </summary>
public static class Bech32
{
    private const string Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    private const int ChecksumLength = 6;
    private static readonly uint[] Generator = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

    public static string Encode(string hrp, ReadOnlySpan<byte> data)
    {
        ArgumentException.ThrowIfNullOrEmpty(hrp);
        hrp = hrp.ToLowerInvariant();
        var values = ConvertBits(data, 8, 5, pad: true)
            ?? throw new ArgumentException("Data cannot be converted to 5-bit groups.", nameof(data));
        var checksum = CreateChecksum(hrp, values);

        var text = new StringBuilder(hrp.Length + 1 + values.Length + ChecksumLength);
        text.Append(hrp).Append('1');
        foreach (var value in values.Concat(checksum))
        {
            text.Append(Charset[value]);
        }

        return text.ToString();
    }

    /// <summary>Decodes a Bech32 string; false on bad characters, mixed case, padding or checksum.</summary>
    public static bool TryDecode(string? text, out string hrp, out byte[] data)
    {
        hrp = string.Empty;
        data = [];
        if (string.IsNullOrEmpty(text) || text.AsSpan().ContainsAnyExceptInRange('!', '~')
            || (text.AsSpan().ContainsAnyInRange('a', 'z') && text.AsSpan().ContainsAnyInRange('A', 'Z')))
        {
            return false;
        }

        text = text.ToLowerInvariant();
        var separator = text.LastIndexOf('1');
        if (separator < 1 || separator + 1 + ChecksumLength > text.Length)
        {
            return false;
        }

        var values = new byte[text.Length - separator - 1];
        for (var i = 0; i < values.Length; i++)
        {
            var index = Charset.IndexOf(text[separator + 1 + i]);
            if (index < 0)
            {
                return false;
            }

            values[i] = (byte)index;
        }

        var prefix = text[..separator];
        if (Polymod(prefix, values) != 1)
        {
            return false;
        }

        var converted = ConvertBits(values.AsSpan(0, values.Length - ChecksumLength), 5, 8, pad: false);
        if (converted is null)
        {
            return false;
        }

        hrp = prefix;
        data = converted;
        return true;
    }

    public static byte[] Decode(string text, string expectedHrp) =>
        TryDecode(text, out var hrp, out var data) && hrp == expectedHrp
            ? data
            : throw new FormatException($"Not a valid Bech32 string with prefix '{expectedHrp}'.");

    private static byte[] CreateChecksum(string hrp, byte[] values)
    {
        var polymod = Polymod(hrp, [.. values, .. new byte[ChecksumLength]]) ^ 1;
        var checksum = new byte[ChecksumLength];
        for (var i = 0; i < ChecksumLength; i++)
        {
            checksum[i] = (byte)((polymod >> (5 * (5 - i))) & 31);
        }

        return checksum;
    }

    // The checksum of the expanded prefix (each character's high bits, a zero, each character's low bits), then the values.
    // Every signature check decodes two of these: no LINQ here (it was 8 % of the worker's time under a /submit flood).
    private static uint Polymod(string hrp, ReadOnlySpan<byte> values)
    {
        uint checksum = 1;
        foreach (var c in hrp)
        {
            checksum = Step(checksum, (byte)(c >> 5));
        }

        checksum = Step(checksum, 0);
        foreach (var c in hrp)
        {
            checksum = Step(checksum, (byte)(c & 31));
        }

        foreach (var value in values)
        {
            checksum = Step(checksum, value);
        }

        return checksum;
    }

    private static uint Step(uint checksum, byte value)
    {
        var top = checksum >> 25;
        checksum = ((checksum & 0x1ffffff) << 5) ^ value;
        for (var i = 0; i < Generator.Length; i++)
        {
            if (((top >> i) & 1) != 0)
            {
                checksum ^= Generator[i];
            }
        }

        return checksum;
    }

    private static byte[]? ConvertBits(ReadOnlySpan<byte> data, int fromBits, int toBits, bool pad)
    {
        var accumulator = 0;
        var bits = 0;
        var maxValue = (1 << toBits) - 1;
        var result = new List<byte>(data.Length * fromBits / toBits + 1);
        foreach (var value in data)
        {
            if (value >> fromBits != 0)
            {
                return null;
            }

            accumulator = (accumulator << fromBits) | value;
            bits += fromBits;
            while (bits >= toBits)
            {
                bits -= toBits;
                result.Add((byte)((accumulator >> bits) & maxValue));
            }
        }

        if (pad)
        {
            if (bits > 0)
            {
                result.Add((byte)((accumulator << (toBits - bits)) & maxValue));
            }
        }
        else if (bits >= fromBits || ((accumulator << (toBits - bits)) & maxValue) != 0)
        {
            return null;
        }

        return [.. result];
    }
}
