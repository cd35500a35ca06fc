using System.Text;
using System.Text.Json.Nodes;
using AgentCloud.Shared.UAgents;

namespace AgentCloud.UnitTests.Outbound;

public class OutboundEnvelopeTests
{
    private static readonly AgentIdentity Alice = AgentIdentity.FromSeed("outbound alice seed");
    private static readonly AgentIdentity Bob = AgentIdentity.FromSeed("outbound bob seed");
    private static readonly DateTimeOffset Now = new(2025, 1, 2, 3, 4, 5, TimeSpan.Zero);

    [Fact]
    public void TheEnvelopeIsSignedByTheSenderAndVerifies()
    {
        var session = Guid.NewGuid();

        var envelope = OutboundEnvelope.Build(Alice, Bob.Address, session, null, null, "\"hello\"", Now);

        Assert.Equal(1, envelope.Version);
        Assert.Equal(Alice.Address, envelope.Sender);
        Assert.Equal(Bob.Address, envelope.Target);
        Assert.Equal(session, envelope.Session);
        Assert.Null(envelope.Nonce);
        Assert.Equal(Now.ToUnixTimeSeconds() + 30, envelope.Expires);
        Assert.True(Signatures.Verify(Alice.Address, envelope.Digest(), envelope.Signature));
        Assert.False(Signatures.Verify(Bob.Address, envelope.Digest(), envelope.Signature));

        // What goes on the wire verifies after a round trip through JSON, with the reference's field names.
        var json = JsonNode.Parse(envelope.ToJson())!.AsObject();
        foreach (var field in new[] { "version", "sender", "target", "session", "schema_digest", "protocol_digest", "payload", "expires",
            "nonce", "signature" })
        {
            Assert.True(json.ContainsKey(field), field);
        }

        Assert.Equal(session.ToString("D"), json["session"]!.GetValue<string>());
        Assert.True(Envelope.FromJson(envelope.ToJson())!.HasValidSignature());
    }

    [Fact]
    public void ATamperedEnvelopeNoLongerVerifies()
    {
        var envelope = OutboundEnvelope.Build(Alice, Bob.Address, Guid.NewGuid(), null, null, "{\"n\": 1}", Now);

        var tampered = envelope with { Payload = Convert.ToBase64String(Encoding.UTF8.GetBytes("{\"message\":\"other\"}")) };

        Assert.False(tampered.HasValidSignature());
    }

    [Fact]
    public void APlainStringPayloadTravelsAsAMessageWithThatText()
    {
        var (digest, model) = OutboundEnvelope.ModelPayload(null, "\"hi there\"");

        Assert.Equal(MessageModels.Message.Digest, digest);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("{\"message\": \"hi there\"}"), JsonNode.Parse(model)));
    }

    [Theory]
    [InlineData("{\"question\": 42}", "{\"question\":42}")]
    [InlineData("[1, 2]", "[1,2]")]
    [InlineData("7", "7")]
    [InlineData("null", "null")]
    public void AnyOtherPlainJsonPayloadTravelsAsAMessageWithItsJsonText(string payload, string text)
    {
        var (digest, model) = OutboundEnvelope.ModelPayload(null, payload);

        Assert.Equal(MessageModels.Message.Digest, digest);
        Assert.Equal(text, JsonNode.Parse(model)!["message"]!.GetValue<string>());
    }

    [Fact]
    public void APayloadWithASchemaDigestTravelsAsItIs()
    {
        var chat = "{\"timestamp\": \"2025-01-01T00:00:00Z\", \"msg_id\": \"7d3b1f8e-3f7c-4b8e-9a52-2f3e0e2c1a11\", \"content\": []}";

        var envelope = OutboundEnvelope.Build(Alice, Bob.Address, Guid.NewGuid(), MessageModels.ChatMessage.Digest,
            ProtocolDigest.AgentChat,
            chat, Now);

        Assert.Equal(MessageModels.ChatMessage.Digest, envelope.SchemaDigest);
        Assert.Equal(ProtocolDigest.AgentChat, envelope.ProtocolDigest);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(chat), JsonNode.Parse(envelope.DecodePayload()!)));
    }

    [Fact]
    public void ASignedReplyIsReadAndAForgedOneRefused()
    {
        var reply = Envelope.Create(Bob.Address, Alice.Address, MessageModels.Message, "{\"message\":\"pong\"}", expires: 1).SignedBy(Bob);
        var forged = reply with { Sender = AgentIdentity.FromSeed("mallory").Address };

        Assert.True(OutboundEnvelope.TryReadReply(reply.ToJson(), out var payload, out _));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("{\"message\":\"pong\"}"), JsonNode.Parse(payload!)));
        Assert.False(OutboundEnvelope.TryReadReply(forged.ToJson(), out _, out var problem));
        Assert.Contains("signature", problem);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("not json")]
    [InlineData("[]")]
    public void AnUnsignedReplyIsAcceptedButGarbageIsNot(string garbage)
    {
        var unsigned = Envelope.Create(Bob.Address, Alice.Address, MessageModels.ErrorMessage, "{\"error\":\"late\"}");

        Assert.True(OutboundEnvelope.TryReadReply(unsigned.ToJson(), out var payload, out _));
        Assert.Equal("late", JsonNode.Parse(payload!)!["error"]!.GetValue<string>());
        Assert.False(OutboundEnvelope.TryReadReply(garbage, out _, out _));
    }

    [Fact]
    public void AReplyHoldingNulIsRefusedBecauseItCannotBeStored()
    {
        var reply = Envelope.Create(Bob.Address, Alice.Address, MessageModels.Message, "{\"message\":\"a\\u0000b\"}", expires: 1)
            .SignedBy(Bob);

        Assert.False(OutboundEnvelope.TryReadReply(reply.ToJson(), out var payload, out var problem));
        Assert.Null(payload);
        Assert.Contains("U+0000", problem);
    }
}
