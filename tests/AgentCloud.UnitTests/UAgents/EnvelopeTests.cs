using System.Text.Json;
using AgentCloud.Shared.UAgents;

namespace AgentCloud.UnitTests.UAgents;

public class EnvelopeTests
{
    private const string AliceSeed = "alice recovery password";

    public static TheoryData<string> EnvelopeNames()
    {
        var data = new TheoryData<string>();
        foreach (var vector in Vectors.EnvelopeCases)
        {
            data.Add(vector.GetProperty("name").GetString()!);
        }

        return data;
    }

    private static JsonElement Case(string name) =>
        Vectors.EnvelopeCases.Single(vector => vector.GetProperty("name").GetString() == name);

    [Theory]
    [MemberData(nameof(EnvelopeNames))]
    public void ComputesTheDigestAndChecksTheSignatureOfEveryEnvelopeVector(string name)
    {
        var vector = Case(name);

        var envelope = Envelope.FromJson(vector.GetProperty("json").GetString()!)!;

        if (vector.OptionalString("digest_preimage_hex") is { } preimage)
        {
            Assert.Equal(preimage, Convert.ToHexStringLower(envelope.DigestPreimage()));
        }

        if (vector.OptionalString("digest") is { } digest)
        {
            Assert.Equal(digest, Convert.ToHexStringLower(envelope.Digest()));
        }

        if (vector.Flag("signature_valid"))
        {
            Assert.True(envelope.HasValidSignature());
        }

        if (vector.OptionalString("payload_json") is { } payload)
        {
            Assert.Equal(payload, envelope.DecodePayload());
        }
    }

    [Theory]
    [MemberData(nameof(EnvelopeNames))]
    public void WritesEveryEnvelopeVectorBackWithTheSameFields(string name)
    {
        var original = JsonDocument.Parse(Case(name).GetProperty("json").GetString()!).RootElement;

        var written = JsonDocument.Parse(Envelope.FromJson(original.GetRawText())!.ToJson()).RootElement;

        var fields = original.EnumerateObject().Select(field => field.Name).ToList();
        Assert.Equal(fields, written.EnumerateObject().Select(field => field.Name).ToList());
        foreach (var field in fields)
        {
            Assert.Equal(original.GetProperty(field).ToString(), written.GetProperty(field).ToString());
        }
    }

    [Fact]
    public void SigningTheFirstEnvelopeReproducesTheDeterministicSignatureVector()
    {
        var envelope = Envelope.FromJson(Case("envelope_1").GetProperty("json").GetString()!)! with { Signature = null };
        var rfc6979 = Vectors.SignatureCases.Single(vector => vector.Flag("rfc6979")).GetProperty("signature").GetString();

        var signed = envelope.SignedBy(AgentIdentity.FromSeed(AliceSeed));

        Assert.Equal(rfc6979, signed.Signature);
        Assert.True(signed.HasValidSignature());
    }

    [Fact]
    public void ATamperedEnvelopeFailsVerification()
    {
        var signed = Envelope.FromJson(Case("envelope_1").GetProperty("json").GetString()!)!;
        Assert.True(signed.HasValidSignature());

        Assert.False((signed with { Payload = "eyJtZXNzYWdlIjogImJ5ZSJ9" }).HasValidSignature());
        Assert.False((signed with { Nonce = 43 }).HasValidSignature());
        Assert.False((signed with { Expires = null }).HasValidSignature());
        Assert.False((signed with { Signature = null }).HasValidSignature());
    }

    [Fact]
    public void ANewEnvelopeSignedByItsSenderVerifies()
    {
        var alice = AgentIdentity.FromSeed(AliceSeed);
        var bob = AgentIdentity.FromSeed("bob recovery password");

        var envelope = Envelope.Create(alice.Address, bob.Address, MessageModels.Message, """{"message": "hi"}""",
            expires: DateTimeOffset.UtcNow.AddSeconds(30).ToUnixTimeSeconds()).SignedBy(alice);

        Assert.True(envelope.HasValidSignature());
        Assert.Equal("""{"message": "hi"}""", envelope.DecodePayload());
        Assert.Throws<InvalidOperationException>(() => envelope.SignedBy(bob));
    }

    [Fact]
    public void IgnoresUnknownFields()
    {
        var json = Case("envelope_2_unsigned_minimal").GetProperty("json")
            .GetString()!.Replace("{\"version\":1,", "{\"version\":1,\"extra\":[1,2],");

        var envelope = Envelope.FromJson(json)!;

        Assert.Equal("c5d295a10669f3a389cd35ba1ecc6dd6f72f1a1234ad441404ec9e05ca138e06", Convert.ToHexStringLower(envelope.Digest()));
    }
}
