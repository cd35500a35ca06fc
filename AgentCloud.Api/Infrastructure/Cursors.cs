using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace AgentCloud.Api.Infrastructure;

/// <summary>
/// Opaque keyset-pagination cursors: base64url of a tagged text, so a cursor of one list (or any
/// other base64url text) is refused instead of silently starting somewhere.
/// </summary>
public static class Cursors
{
    private const string AgentTag = "agents.v1";
    private const string LogTag = "logs.v1";
    private const string MessageTag = "messages.v1";
    private const string ConversationTag = "conversations.v1";
    private const string DeliveryTag = "deliveries.v1";
    private const string ApprovalTag = "approvals.v1";

    public static string ForAgent(int lastId) => Encode($"{AgentTag}|{lastId.ToString(CultureInfo.InvariantCulture)}");

    public static bool TryReadAgent(string? cursor, out int lastId)
    {
        lastId = 0;
        var parts = Decode(cursor, AgentTag, 1);
        return parts is not null && TryParsePositive(parts[0], out lastId);
    }

    public static string ForLog(DateTime lastTimestamp, int lastId) =>
        Encode($"{LogTag}|{lastTimestamp.Ticks.ToString(CultureInfo.InvariantCulture)}|{lastId.ToString(CultureInfo.InvariantCulture)}");

    public static bool TryReadLog(string? cursor, out DateTime lastTimestamp, out int lastId)
    {
        lastTimestamp = default;
        lastId = 0;
        var parts = Decode(cursor, LogTag, 2);
        if (parts is null
            || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
            || ticks > DateTime.MaxValue.Ticks
            || !TryParsePositive(parts[1], out lastId))
        {
            return false;
        }

        lastTimestamp = new DateTime(ticks, DateTimeKind.Unspecified);
        return true;
    }

    public static string ForMessage(long lastSeq) => Encode($"{MessageTag}|{lastSeq.ToString(CultureInfo.InvariantCulture)}");

    public static bool TryReadMessage(string? cursor, out long lastSeq) => TryReadSeq(cursor, MessageTag, out lastSeq);

    /// <summary>A conversation list position: the newest message seq of the last conversation shown.</summary>
    public static string ForConversation(long lastSeq) => Encode($"{ConversationTag}|{lastSeq.ToString(CultureInfo.InvariantCulture)}");

    public static bool TryReadConversation(string? cursor, out long lastSeq) => TryReadSeq(cursor, ConversationTag, out lastSeq);

    /// <summary>A webhook delivery list position: the id of the last delivery shown.</summary>
    public static string ForDelivery(long lastId) => Encode($"{DeliveryTag}|{lastId.ToString(CultureInfo.InvariantCulture)}");

    public static bool TryReadDelivery(string? cursor, out long lastId) => TryReadSeq(cursor, DeliveryTag, out lastId);

    /// <summary>An approval list position: when the last approval shown was requested, and its id.</summary>
    public static string ForApproval(DateTime lastRequestedAt, Guid lastId) =>
        Encode($"{ApprovalTag}|{lastRequestedAt.Ticks.ToString(CultureInfo.InvariantCulture)}|{lastId:D}");

    public static bool TryReadApproval(string? cursor, out DateTime lastRequestedAt, out Guid lastId)
    {
        lastRequestedAt = default;
        lastId = Guid.Empty;
        var parts = Decode(cursor, ApprovalTag, 2);
        if (parts is null
            || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
            || ticks > DateTime.MaxValue.Ticks
            || !Guid.TryParseExact(parts[1], "D", out lastId))
        {
            return false;
        }

        lastRequestedAt = new DateTime(ticks, DateTimeKind.Unspecified);
        return true;
    }

    private static bool TryReadSeq(string? cursor, string tag, out long lastSeq)
    {
        lastSeq = 0;
        var parts = Decode(cursor, tag, 1);
        return parts is not null
            && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out lastSeq) && lastSeq > 0;
    }

    private static string Encode(string text) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(text));

    private static string[]? Decode(string? cursor, string tag, int values)
    {
        if (string.IsNullOrEmpty(cursor) || cursor.Length > 200 || !Base64Url.IsValid(cursor))
        {
            return null;
        }

        string text;
        try
        {
            text = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor));
        }
        catch (FormatException)
        {
            return null;
        }

        var parts = text.Split('|');
        return parts.Length == values + 1 && parts[0] == tag ? parts[1..] : null;
    }

    private static bool TryParsePositive(string text, out int value) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value > 0;
}
