using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentCloud.Shared.Data;
using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.Messaging.Behaviors;

namespace AgentCloud.Shared.UAgents;

/// <summary>The reference's error texts for <c>POST /submit</c>, word for word (UAGENTS-WIRE.md).</summary>
public static class SubmitErrors
{
    public const string MissingContentType = "missing header: content-type";
    public const string InvalidContentType = "invalid content-type";
    public const string InvalidPayload = "empty or invalid payload";
    public const string SchemaMismatch = "contents do not match envelope schema";
    public const string SignatureMissing = "Envelope signature is missing";
    public const string SignatureFailed = "Signature verification failed";
    public const string UnableToRoute = "unable to route envelope";
    public const string TooLarge = "envelope too large";

    // Ours, not the reference's (it has no limits), in its format.
    public const string SenderRateLimited = "too many envelopes from this sender; retry later";
    public const string AgentRateLimited = "too many envelopes for this agent; retry later";
    public const string QueueFull = "too many messages waiting for this agent; retry later";
    public const string Unavailable = "the service is unavailable; retry later";
}

/// <summary>
/// Checks an inbound <c>/submit</c> request the way the reference does, step by step, so each failure
/// gets the reference's answer: content type, JSON, envelope schema (pydantic's), signature. Routing
/// and the payload are checked by the endpoint once the target is known.
/// </summary>
public static class InboundEnvelope
{
    /// <summary>Null when the content type is JSON; the reference only looks for the substring.</summary>
    public static string? CheckContentType(string? contentType) =>
        contentType is null ? SubmitErrors.MissingContentType
        : contentType.Contains("application/json", StringComparison.OrdinalIgnoreCase) ? null
        : SubmitErrors.InvalidContentType;

    /// <summary>Parses the body as an envelope; on failure <paramref name="error"/> is the reference's text.</summary>
    public static bool TryParse(ReadOnlyMemory<byte> body, out Envelope envelope, out string error)
    {
        envelope = null!;
        JsonDocument document;
        try
        {
            // The reference decodes the body as UTF-8 first; the JSON reader only checks the strings it reads.
            if (!System.Text.Unicode.Utf8.IsValid(body.Span))
            {
                throw new JsonException("The body is not UTF-8.");
            }

            document = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            error = SubmitErrors.InvalidPayload;
            return false;
        }

        using (document)
        {
            error = SubmitErrors.SchemaMismatch;
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            // Duplicate keys: the last one wins, as in Python's json.
            var fields = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                fields[property.Name] = property.Value;
            }

            // "protocol" is the reference's old alias of schema_digest.
            if (!TryInteger(Field(fields, "version"), out var version) || version is null
                || !TryText(Field(fields, "sender"), out var sender) || sender is null
                || !TryText(Field(fields, "target"), out var target) || target is null
                || !TrySession(Field(fields, "session"), out var session)
                || !TryText(Field(fields, "schema_digest") ?? Field(fields, "protocol"), out var schemaDigest) || schemaDigest is null
                || !TryOptionalText(fields, "protocol_digest", out var protocolDigest)
                || !TryOptionalText(fields, "payload", out var payload)
                || !TryOptionalInteger(fields, "expires", out var expires)
                || !TryOptionalInteger(fields, "nonce", out var nonce)
                || !TryOptionalText(fields, "signature", out var signature))
            {
                return false;
            }

            envelope = new Envelope
            {
                Version = (int)Math.Clamp(version.Value, int.MinValue, int.MaxValue),
                Sender = sender,
                Target = target,
                Session = session,
                SchemaDigest = schemaDigest,
                ProtocolDigest = protocolDigest,
                Payload = payload,
                Expires = expires,
                Nonce = nonce,
                Signature = signature,
            };
            error = "";
            return true;
        }
    }

    /// <summary>
    /// Null when the envelope's signature is good. Senders starting with <c>user</c> are unsigned by
    /// design: their acceptance is the target agent's choice (<see cref="AcceptsUserSender"/>).
    /// </summary>
    public static string? CheckSignature(Envelope envelope)
    {
        if (Address.IsUserSender(envelope.Sender))
        {
            return null;
        }

        if (envelope.Signature is null)
        {
            return SubmitErrors.SignatureMissing;
        }

        // The reference packs expires and nonce as unsigned 64-bit: a negative one cannot be verified.
        return envelope.Expires < 0 || envelope.Nonce < 0 || !envelope.HasValidSignature() ? SubmitErrors.SignatureFailed : null;
    }

    /// <summary>
    /// Whether an agent with <paramref name="config"/> accepts <paramref name="sender"/>: agents always do,
    /// unsigned <c>user…</c> senders only with <c>config.allow_user_senders: true</c>. Never <c>user:…</c>,
    /// which names the owner of an agent talking through the API and must not be forged from outside.
    /// </summary>
    public static bool AcceptsUserSender(JsonObject config, string sender) =>
        !Address.IsUserSender(sender)
        || (!sender.StartsWith(Senders.UserPrefix, StringComparison.Ordinal)
            && config[AgentBehaviors.AllowUserSendersField] is JsonValue allow && allow.TryGetValue<bool>(out var allowed) && allowed);

    /// <summary>The payload's JSON object (standard base64 of UTF-8), or null when it is missing or not one.</summary>
    public static JsonObject? DecodePayload(Envelope envelope)
    {
        if (envelope.Payload is null)
        {
            return null;
        }

        try
        {
            var text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(Convert.FromBase64String(envelope.Payload));
            return JsonNode.Parse(text) is JsonObject payload && StorableText.IsStorable(payload) ? payload : null;
        }
        catch (Exception exception) when (exception is FormatException or ArgumentException or JsonException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>
    /// Whether the texts that are stored with the message can be (<see cref="StorableText"/>). Checked
    /// last, so that every envelope the reference refuses gets the reference's own answer first.
    /// </summary>
    public static bool IsStorable(Envelope envelope) =>
        StorableText.IsStorable(envelope.Sender) && StorableText.IsStorable(envelope.Target)
        && StorableText.IsStorable(envelope.SchemaDigest) && StorableText.IsStorable(envelope.ProtocolDigest)
        // The columns' widths: an unsigned field (protocol_digest) can be anything a replayer writes into it.
        && envelope.Sender.Length <= MaxAddressLength && envelope.Target.Length <= MaxAddressLength
        && envelope.SchemaDigest.Length <= MaxDigestLength && (envelope.ProtocolDigest?.Length ?? 0) <= MaxDigestLength;

    /// <summary>The widths of <c>messages.sender</c>/<c>target</c> and of the digest columns.</summary>
    public const int MaxAddressLength = 200;
    public const int MaxDigestLength = 80;

    /// <summary>The envelope's expiry as UTC, when it has one that a calendar can hold.</summary>
    public static DateTime? ExpiresAt(Envelope envelope) =>
        envelope.Expires is { } expires && expires is >= 0 and <= 253_402_300_799
            ? DateTimeOffset.FromUnixTimeSeconds(expires).UtcDateTime
            : null;

    private static JsonElement? Field(Dictionary<string, JsonElement> fields, string name) =>
        fields.TryGetValue(name, out var value) ? value : null;

    private static bool TryText(JsonElement? element, out string? value)
    {
        try
        {
            value = element is { ValueKind: JsonValueKind.String } text ? text.GetString() : null;
        }
        catch (InvalidOperationException)
        {
            // An escaped lone surrogate: no .NET string holds it, so the field cannot be what the schema asks.
            value = null;
        }

        return value is not null;
    }

    private static bool TryOptionalText(Dictionary<string, JsonElement> fields, string name, out string? value)
    {
        value = null;
        var element = Field(fields, name);
        return element is null || element.Value.ValueKind == JsonValueKind.Null || TryText(element, out value);
    }

    // pydantic's lax int: an integral number, or a string holding one.
    private static bool TryInteger(JsonElement? element, out long? value)
    {
        value = null;
        switch (element?.ValueKind)
        {
            case JsonValueKind.Number when element.Value.TryGetInt64(out var integer):
                value = integer;
                return true;
            case JsonValueKind.Number when element.Value.TryGetDecimal(out var number) && number == decimal.Truncate(number)
                                           && number is >= long.MinValue and <= long.MaxValue:
                value = (long)number;
                return true;
            case JsonValueKind.String when long.TryParse(element.Value.GetString()?.Trim(),
                System.Globalization.NumberStyles.AllowLeadingSign,
                                               System.Globalization.CultureInfo.InvariantCulture, out var parsed):
                value = parsed;
                return true;
            default:
                return false;
        }
    }

    private static bool TryOptionalInteger(Dictionary<string, JsonElement> fields, string name, out long? value)
    {
        value = null;
        var element = Field(fields, name);
        return element is null || element.Value.ValueKind == JsonValueKind.Null || TryInteger(element, out value);
    }

    // pydantic's UUID4: any form Python's uuid.UUID reads, of version 4 and the RFC 4122 variant.
    private static bool TrySession(JsonElement? element, out Guid session)
    {
        session = Guid.Empty;
        if (!TryText(element, out var text) || !Guid.TryParse(text, out session))
        {
            return false;
        }

        var bytes = session.ToByteArray(bigEndian: true);
        return bytes[6] >> 4 == 4 && (bytes[8] & 0xC0) == 0x80;
    }
}
