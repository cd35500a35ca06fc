using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentCloud.Shared.Data;

namespace AgentCloud.Shared.UAgents;

/// <summary>
/// The envelope an AgentCloud agent POSTs to a peer, and the reading of a sync answer.
/// A stored message without a schema digest is plain JSON posted through the API, which no uAgent has a
/// model for: it travels as <c>Message {message}</c>, the text itself for a JSON string, else its JSON text.
/// </summary>
public static class OutboundEnvelope
{
    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromSeconds(30);

    /// <summary>The schema digest and model JSON a stored message travels as.</summary>
    public static (string SchemaDigest, string ModelJson) ModelPayload(string? schemaDigest, string payloadJson)
    {
        var payload = JsonNode.Parse(payloadJson);
        if (schemaDigest is not null)
        {
            return (schemaDigest, payload?.ToJsonString() ?? "null");
        }

        var text = payload is JsonValue value && value.TryGetValue<string>(out var s) ? s : payload?.ToJsonString() ?? "null";
        return (MessageModels.Message.Digest, new JsonObject { ["message"] = text }.ToJsonString());
    }

    /// <summary>A signed envelope from <paramref name="identity"/> (the sender) expiring <paramref name="lifetime"/> after
    /// <paramref name="now"/>.</summary>
    public static Envelope Build(AgentIdentity identity, string target, Guid session, string? schemaDigest, string? protocolDigest,
        string payloadJson, DateTimeOffset now, TimeSpan? lifetime = null)
    {
        var (digest, model) = ModelPayload(schemaDigest, payloadJson);
        return new Envelope
        {
            Sender = identity.Address,
            Target = target,
            Session = session,
            SchemaDigest = digest,
            ProtocolDigest = protocolDigest,
            Payload = Convert.ToBase64String(Encoding.UTF8.GetBytes(model)),
            Expires = (now + (lifetime ?? DefaultLifetime)).ToUnixTimeSeconds(),
            Nonce = null,
        }.SignedBy(identity);
    }

    /// <summary>
    /// The payload JSON of the envelope a peer answered a sync POST with. Unsigned answers are accepted
    /// (the reference may send them); a signature that is there must verify.
    /// </summary>
    public static bool TryReadReply(string body, out string? replyJson, out string? problem)
    {
        replyJson = null;
        try
        {
            var envelope = Envelope.FromJson(body);
            if (envelope is null)
            {
                problem = "the reply is not an envelope";
                return false;
            }

            if (envelope.Signature is not null && !envelope.HasValidSignature())
            {
                problem = $"the reply's signature does not verify against {envelope.Sender}";
                return false;
            }

            var reply = JsonNode.Parse(envelope.DecodePayload() ?? "null");
            if (StorableText.ProblemWith(reply) is { } unstorable)
            {
                problem = $"the reply's payload {unstorable}";
                return false;
            }

            replyJson = reply?.ToJsonString() ?? "null";
            problem = null;
            return true;
        }
        catch (Exception exception) when (exception is JsonException or FormatException or ArgumentException or InvalidOperationException)
        {
            problem = $"the reply is not a valid envelope: {exception.Message}";
            return false;
        }
    }
}
