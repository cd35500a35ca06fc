using System.Text;
using System.Text.Json.Nodes;
using AgentCloud.Shared.UAgents;

namespace AgentCloud.UnitTests.UAgents.Inbound;

public sealed class InboundEnvelopeTests
{
    private static readonly AgentIdentity Peer = AgentIdentity.FromSeed("inbound-envelope-tests-peer");
    private static readonly string Target = AgentIdentity.FromSeed("inbound-envelope-tests-target").Address;

    private static Envelope Signed(string payloadJson = """{"message": "hi"}""", long? expires = null) =>
        Envelope.Create(Peer.Address, Target, MessageModels.Message, payloadJson, expires: expires).SignedBy(Peer);

    private static string Parse(string json)
    {
        InboundEnvelope.TryParse(Encoding.UTF8.GetBytes(json), out _, out var error);
        return error;
    }

    private static JsonObject Valid() => JsonNode.Parse(Signed().ToJson())!.AsObject();

    [Theory]
    [InlineData("application/json", null)]
    [InlineData("application/json; charset=utf-8", null)]
    [InlineData("text/plain", SubmitErrors.InvalidContentType)]
    [InlineData("application/x-www-form-urlencoded", SubmitErrors.InvalidContentType)]
    [InlineData(null, SubmitErrors.MissingContentType)]
    public void OnlyAJsonContentTypeIsTaken(string? contentType, string? expected) =>
        Assert.Equal(expected, InboundEnvelope.CheckContentType(contentType));

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("not json")]
    [InlineData("{\"version\": 1,")]
    public void ABodyThatIsNotJsonIsAnEmptyOrInvalidPayload(string body) => Assert.Equal(SubmitErrors.InvalidPayload, Parse(body));

    [Fact]
    public void ABodyThatIsNotUtf8IsAnEmptyOrInvalidPayload()
    {
        var ok = InboundEnvelope.TryParse(new byte[] { (byte)'"', 0xff, 0xfe, (byte)'"' }, out _, out var error);

        Assert.False(ok);
        Assert.Equal(SubmitErrors.InvalidPayload, error);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("null")]
    [InlineData("42")]
    [InlineData("\"envelope\"")]
    [InlineData("{}")]
    public void JsonThatIsNotAnEnvelopeObjectDoesNotMatchTheSchema(string body) => Assert.Equal(SubmitErrors.SchemaMismatch, Parse(body));

    [Theory]
    [InlineData("version")]
    [InlineData("sender")]
    [InlineData("target")]
    [InlineData("session")]
    [InlineData("schema_digest")]
    public void EachRequiredFieldIsRequired(string field)
    {
        var envelope = Valid();
        envelope.Remove(field);

        Assert.Equal(SubmitErrors.SchemaMismatch, Parse(envelope.ToJsonString()));
    }

    [Theory]
    [InlineData("version", "\"one\"")]
    [InlineData("version", "1.5")]
    [InlineData("version", "null")]
    [InlineData("sender", "42")]
    [InlineData("sender", "null")]
    [InlineData("target", "[\"agent1\"]")]
    [InlineData("session", "\"not-a-uuid\"")]
    [InlineData("session", "\"6f1f6b5e-2b59-1a8e-9a3e-1c2d3e4f5a6b\"")]
    [InlineData("session", "42")]
    [InlineData("schema_digest", "7")]
    [InlineData("protocol_digest", "7")]
    [InlineData("payload", "{\"message\": \"hi\"}")]
    [InlineData("expires", "\"soon\"")]
    [InlineData("expires", "1.25")]
    [InlineData("nonce", "true")]
    [InlineData("signature", "12")]
    public void AFieldOfTheWrongTypeDoesNotMatchTheSchema(string field, string value)
    {
        var envelope = Valid();
        envelope[field] = JsonNode.Parse(value);

        Assert.Equal(SubmitErrors.SchemaMismatch, Parse(envelope.ToJsonString()));
    }

    [Fact]
    public void OptionalFieldsMayBeNullOrAbsentAndUnknownFieldsAreIgnored()
    {
        var json = $$"""
            {"version": 1, "sender": "{{Peer.Address}}", "target": "{{Target}}", "session": "6f1f6b5e-2b59-4a8e-9a3e-1c2d3e4f5a6b",
             "schema_digest": "{{MessageModels.Message.Digest}}", "protocol_digest": null, "nonce": null, "whatever": [{"x": 1} ]}
            """;

        Assert.True(InboundEnvelope.TryParse(Encoding.UTF8.GetBytes(json), out var envelope, out _));
        Assert.Equal(Peer.Address, envelope.Sender);
        Assert.Null(envelope.Payload);
        Assert.Null(envelope.Expires);
        Assert.Null(envelope.Signature);
    }

    [Fact]
    public void IntegersMayComeAsNumericStringsAsPydanticAllows()
    {
        var envelope = Valid();
        envelope["version"] = "1";
        envelope["expires"] = 1700000000.0;

        Assert.True(InboundEnvelope.TryParse(Encoding.UTF8.GetBytes(envelope.ToJsonString()), out var parsed, out _));
        Assert.Equal(1, parsed.Version);
        Assert.Equal(1700000000, parsed.Expires);
    }

    [Fact]
    public void EveryVectorEnvelopeParsesToTheSameDigest()
    {
        foreach (var vector in Vectors.EnvelopeCases)
        {
            var json = vector.GetProperty("json").GetString()!;

            Assert.True(InboundEnvelope.TryParse(Encoding.UTF8.GetBytes(json), out var envelope, out var error), error);
            Assert.Equal(Envelope.FromJson(json)!.Digest(), envelope.Digest());
        }
    }

    [Fact]
    public void AGoodSignatureAndTheCapturedHighSSignaturePass()
    {
        var captured = Vectors.EnvelopeCases.Single(v => v.GetProperty("name").GetString() == "captured_from_running_reference_agent");
        InboundEnvelope.TryParse(Encoding.UTF8.GetBytes(captured.GetProperty("json").GetString()!), out var reference, out _);

        Assert.Null(InboundEnvelope.CheckSignature(Signed()));
        Assert.Null(InboundEnvelope.CheckSignature(reference));
    }

    [Fact]
    public void AnAgentSenderWithoutASignatureIsRefused() =>
        Assert.Equal(SubmitErrors.SignatureMissing, InboundEnvelope.CheckSignature(Signed() with { Signature = null }));

    [Fact]
    public void ATamperedOrForeignSignatureFailsVerification()
    {
        var envelope = Signed();
        var other = Signed("""{"message": "something else"}""");

        Assert.Equal(SubmitErrors.SignatureFailed, InboundEnvelope.CheckSignature(envelope with { Target = Peer.Address }));
        Assert.Equal(SubmitErrors.SignatureFailed, InboundEnvelope.CheckSignature(envelope with { Signature = other.Signature }));
        Assert.Equal(SubmitErrors.SignatureFailed, InboundEnvelope.CheckSignature(envelope with { Signature = "sig1nonsense" }));
        Assert.Equal(SubmitErrors.SignatureFailed, InboundEnvelope.CheckSignature(envelope with { Sender = "agent1garbage" }));
        Assert.Equal(SubmitErrors.SignatureFailed, InboundEnvelope.CheckSignature(envelope with { Nonce = -1 }));
    }

    [Fact]
    public void UserSendersAreNotVerifiedButOnlyAgentsThatAllowThemTakeThem()
    {
        var user = Signed() with { Sender = "user1qxyz", Signature = null };
        var allow = JsonNode.Parse("""{"allow_user_senders": true}""")!.AsObject();

        Assert.Null(InboundEnvelope.CheckSignature(user));
        Assert.False(InboundEnvelope.AcceptsUserSender([], user.Sender));
        Assert.False(InboundEnvelope.AcceptsUserSender(JsonNode.Parse("""{"allow_user_senders": false}""")!.AsObject(), user.Sender));
        Assert.False(InboundEnvelope.AcceptsUserSender(JsonNode.Parse("""{"allow_user_senders": "yes"}""")!.AsObject(), user.Sender));
        Assert.True(InboundEnvelope.AcceptsUserSender(allow, user.Sender));
        Assert.True(InboundEnvelope.AcceptsUserSender([], Peer.Address));
        // "user:{id}" is how the owner speaks through the API: never accepted from outside.
        Assert.False(InboundEnvelope.AcceptsUserSender(allow, "user:1"));
    }

    [Fact]
    public void ThePayloadMustBeBase64OfAUtf8JsonObject()
    {
        var envelope = Signed();
        static string Base64(byte[] bytes) => Convert.ToBase64String(bytes);

        Assert.Equal("hi", InboundEnvelope.DecodePayload(envelope)?["message"]?.GetValue<string>());
        Assert.Null(InboundEnvelope.DecodePayload(envelope with { Payload = null }));
        Assert.Null(InboundEnvelope.DecodePayload(envelope with { Payload = "***not base64***" }));
        Assert.Null(InboundEnvelope.DecodePayload(envelope with { Payload = Base64([0xff, 0xfe, 0x7b, 0x7d]) }));
        Assert.Null(InboundEnvelope.DecodePayload(envelope with { Payload = Base64(Encoding.UTF8.GetBytes("[1, 2]")) }));
        Assert.Null(InboundEnvelope.DecodePayload(envelope with { Payload = Base64(Encoding.UTF8.GetBytes("{\"open\": ")) }));
    }

    [Fact]
    public void ExpiryIsKeptAsUtcWhenACalendarCanHoldIt()
    {
        Assert.Equal(new DateTime(2023, 11, 14, 22, 13, 20, DateTimeKind.Utc), InboundEnvelope.ExpiresAt(Signed(expires: 1700000000)));
        Assert.Null(InboundEnvelope.ExpiresAt(Signed()));
        Assert.Null(InboundEnvelope.ExpiresAt(Signed() with { Expires = long.MaxValue }));
    }
}
