using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace AgentCloud.Shared.UAgents;

/// <summary>The uAgents envelope, field for field as the reference sends it (unknown fields are ignored).</summary>
public sealed record Envelope
{
    [JsonPropertyName("version")]
    public int Version { get; init; } = 1;

    [JsonPropertyName("sender")]
    public required string Sender { get; init; }

    [JsonPropertyName("target")]
    public required string Target { get; init; }

    [JsonPropertyName("session")]
    public required Guid Session { get; init; }

    [JsonPropertyName("schema_digest")]
    public required string SchemaDigest { get; init; }

    [JsonPropertyName("protocol_digest")]
    public string? ProtocolDigest { get; init; }

    /// <summary>Standard base64 of the message's UTF-8 JSON.</summary>
    [JsonPropertyName("payload")]
    public string? Payload { get; init; }

    /// <summary>Unix seconds.</summary>
    [JsonPropertyName("expires")]
    public long? Expires { get; init; }

    [JsonPropertyName("nonce")]
    public long? Nonce { get; init; }

    [JsonPropertyName("signature")]
    public string? Signature { get; init; }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>A new envelope carrying <paramref name="payloadJson"/> (the message as JSON) of <paramref name="model"/>.</summary>
    public static Envelope Create(string sender, string target, MessageModel model, string payloadJson,
        Guid? session = null, string? protocolDigest = null, long? expires = null) => new()
    {
        Sender = sender,
        Target = target,
        Session = session ?? Guid.NewGuid(),
        SchemaDigest = model.Digest,
        ProtocolDigest = protocolDigest,
        Payload = Convert.ToBase64String(Encoding.UTF8.GetBytes(payloadJson)),
        Expires = expires,
    };

    public static Envelope? FromJson(string json) => JsonSerializer.Deserialize<Envelope>(json, JsonOptions);

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>The message's JSON, or null when there is no payload.</summary>
    public string? DecodePayload() => Payload is null ? null : Encoding.UTF8.GetString(Convert.FromBase64String(Payload));

    /// <summary>What the sender signs: version, protocol digest and signature are not covered.</summary>
    public byte[] DigestPreimage()
    {
        var preimage = new List<byte>();
        preimage.AddRange(Encoding.UTF8.GetBytes(Sender));
        preimage.AddRange(Encoding.UTF8.GetBytes(Target));
        preimage.AddRange(Encoding.UTF8.GetBytes(Session.ToString("D")));
        preimage.AddRange(Encoding.UTF8.GetBytes(SchemaDigest));
        if (Payload is not null)
        {
            preimage.AddRange(Encoding.UTF8.GetBytes(Payload));
        }

        Span<byte> number = stackalloc byte[8];
        foreach (var value in new[] { Expires, Nonce })
        {
            if (value is { } present)
            {
                BinaryPrimitives.WriteUInt64BigEndian(number, unchecked((ulong)present));
                preimage.AddRange(number.ToArray());
            }
        }

        return [.. preimage];
    }

    public byte[] Digest() => SHA256.HashData(DigestPreimage());

    /// <summary>This envelope signed by <paramref name="identity"/>, which must be its sender.</summary>
    public Envelope SignedBy(AgentIdentity identity)
    {
        if (identity.Address != Sender)
        {
            throw new InvalidOperationException("Only the sender can sign an envelope.");
        }

        return this with { Signature = identity.Sign(Digest()) };
    }

    /// <summary>
    /// What identifies this envelope, so that a redelivery is recognised (hex SHA-256): the signed digest
    /// (sender, target, session, schema, payload, expires, nonce) and the signature in its canonical
    /// low-S form. Two sends of the same message are two envelopes because their signatures differ (the
    /// reference signs with a random k). Unsigned (user…) senders have only the digest: for them a
    /// distinct envelope needs a distinct nonce or expiry, and the same one again is a redelivery.
    /// </summary>
    public string Identity()
    {
        var digest = Digest();
        var signature = Signatures.Canonical(Signature);
        return Convert.ToHexStringLower(signature is null ? SHA256.HashData(digest) : SHA256.HashData([.. digest, .. signature]));
    }

    public bool HasValidSignature() => Signatures.Verify(Sender, Digest(), Signature);
}
