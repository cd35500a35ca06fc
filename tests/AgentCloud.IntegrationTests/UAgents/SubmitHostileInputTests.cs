using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using AgentCloud.Shared.UAgents;
using Dapper;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// A corpus of hostile envelopes for the worker's <c>/submit</c>: each gets the reference's 400 (or a
/// 413 when too large) with its error text, never a 5xx, and nothing is queued.
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed class SubmitHostileInputTests(AgentCloudFixture fixture)
{
    private const string InvalidPayload = "empty or invalid payload";
    private const string SchemaMismatch = "contents do not match envelope schema";
    private const string SignatureMissing = "Envelope signature is missing";
    private const string SignatureFailed = "Signature verification failed";
    private const string UnableToRoute = "unable to route envelope";

    private sealed record Context(AgentIdentity Peer, AgentIdentity Stranger, string Target, Envelope Good)
    {
        public Envelope Compose(string payloadJson) =>
            Envelope.Create(Peer.Address, Target, MessageModels.Message, payloadJson,
                expires: DateTimeOffset.UtcNow.AddSeconds(30).ToUnixTimeSeconds());

        /// <summary>The good envelope as a JSON object, changed by <paramref name="change"/>.</summary>
        public byte[] Edited(Action<JsonObject> change)
        {
            var node = JsonNode.Parse(Good.ToJson())!.AsObject();
            change(node);
            return Encoding.UTF8.GetBytes(node.ToJsonString());
        }
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static byte[] Json(Envelope envelope) => Utf8(envelope.ToJson());

    private static string Base64(byte[] bytes) => Convert.ToBase64String(bytes);

    /// <summary>Name → (body, expected status, expected error).</summary>
    private static readonly (string Name, Func<Context, byte[]> Body, int Status, string Error)[] Corpus =
    [
        // Broken JSON.
        ("truncated JSON", c => Utf8(c.Good.ToJson()[..40]), 400, InvalidPayload),
        ("not JSON at all", _ => Utf8("hello, agent"), 400, InvalidPayload),
        ("trailing comma", c => Utf8(c.Good.ToJson().TrimEnd('}') + ",}"), 400, InvalidPayload),
        ("trailing garbage", c => Utf8(c.Good.ToJson() + " xyz"), 400, InvalidPayload),
        ("invalid UTF-8 in a string", c => [.. Utf8(c.Good.ToJson()[..^1]), .. Utf8(", \"x\": \""), 0xC3, 0x28, 0xFF, .. Utf8("\"}")], 400,
            InvalidPayload),
        ("deeply nested envelope", c => Utf8(c.Good.ToJson()[..^1] + ", \"x\": " + new string('[', 5000) + new string(']', 5000) + "}"),
            400, InvalidPayload),
        ("empty body", _ => [], 400, InvalidPayload),
        ("lone BOM and NUL", _ => [0xEF, 0xBB, 0xBF, 0x00], 400, InvalidPayload),
        // Wrong shapes and types.
        ("JSON null", _ => Utf8("null"), 400, SchemaMismatch),
        ("JSON string", _ => Utf8("\"envelope\""), 400, SchemaMismatch),
        ("JSON number", _ => Utf8("12345"), 400, SchemaMismatch),
        ("empty object", _ => Utf8("{}"), 400, SchemaMismatch),
        ("version is an object", c => c.Edited(e => e["version"] = new JsonObject()), 400, SchemaMismatch),
        ("version is text", c => c.Edited(e => e["version"] = "one"), 400, SchemaMismatch),
        ("sender is a number", c => c.Edited(e => e["sender"] = 42), 400, SchemaMismatch),
        ("target missing", c => c.Edited(e => e.Remove("target")), 400, SchemaMismatch),
        ("session not a UUID", c => c.Edited(e => e["session"] = "'; DROP TABLE messages; --"), 400, SchemaMismatch),
        ("schema digest null", c => c.Edited(e => e["schema_digest"] = null), 400, SchemaMismatch),
        ("expires is text", c => c.Edited(e => e["expires"] = "soon"), 400, SchemaMismatch),
        ("expires too big for 64 bits", c => Utf8(c.Good.ToJson()
            .Replace($"\"expires\":{c.Good.Expires}", "\"expires\":99999999999999999999999")), 400, SchemaMismatch),
        ("signature is a number", c => c.Edited(e => e["signature"] = 7), 400, SchemaMismatch),
        ("payload is an object", c => c.Edited(e => e["payload"] = new JsonObject { ["message"] = "hi" }), 400, SchemaMismatch),
        // Payloads that are not base64 of a UTF-8 JSON object, correctly signed.
        ("payload not base64", c => Json((c.Good with { Payload = "not base64 at all!!" }).SignedBy(c.Peer)), 400, InvalidPayload),
        ("payload base64 of invalid UTF-8", c => Json((c.Good with { Payload = Base64([0xC3, 0x28, 0xFF]) }).SignedBy(c.Peer)), 400,
            InvalidPayload),
        ("payload base64 of a JSON string", c => Json((c.Good with { Payload = Base64(Utf8("\"just text\"")) }).SignedBy(c.Peer)), 400,
            InvalidPayload),
        ("payload base64 of broken JSON", c => Json((c.Good with { Payload = Base64(Utf8("{\"message\": ")) }).SignedBy(c.Peer)), 400,
            InvalidPayload),
        ("payload deeply nested", c => Json(c.Compose("{\"a\": " + new string('[', 3000) + new string(']', 3000) + "}").SignedBy(c.Peer)),
            400, InvalidPayload),
        ("payload missing", c => Json((c.Good with { Payload = null }).SignedBy(c.Peer)), 400, InvalidPayload),
        ("payload empty", c => Json((c.Good with { Payload = "" }).SignedBy(c.Peer)), 400, InvalidPayload),
        // U+0000, which PostgreSQL cannot store, correctly signed.
        ("payload with U+0000", c => Json(c.Compose("{\"message\": \"a\\u0000b\"}").SignedBy(c.Peer)), 400, InvalidPayload),
        ("payload key with U+0000", c => Json(c.Compose("{\"message\": \"hi\", \"\\u0000\": 1}").SignedBy(c.Peer)), 400, InvalidPayload),
        ("schema digest with U+0000", c => Json((c.Good with { SchemaDigest = "model:\u0000" }).SignedBy(c.Peer)), 400, SchemaMismatch),
        ("protocol digest with U+0000", c => Json((c.Good with { ProtocolDigest = "proto:\u0000" }).SignedBy(c.Peer)), 400, SchemaMismatch),
        // Issue 12: what read back as 500s.
        ("payload with a lone surrogate", c => Json(c.Compose("{\"message\": \"x\\ud800y\"}").SignedBy(c.Peer)), 400, InvalidPayload),
        ("payload key with a lone surrogate", c => Json(c.Compose("{\"message\": \"hi\", \"\\udc00\": 1}").SignedBy(c.Peer)), 400,
            InvalidPayload),
        ("payload nested 62 levels deep", c => Json(c.Compose("{\"message\": \"hi\", \"a\": " + new string('[', 61) + new string(']', 61)
            + "}").SignedBy(c.Peer)), 400, InvalidPayload),
        ("sender with a lone surrogate", c => Utf8(c.Good.ToJson().Replace("\"sender\":\"", "\"sender\":\"\\ud800")), 400, SchemaMismatch),
        ("protocol digest of 81 characters, unsigned", c => Json(c.Good with { ProtocolDigest = "proto:" + new string('a', 75) }), 400,
            SchemaMismatch),
        // Digests and signatures.
        ("schema digest changed after signing", c => Json(c.Good with { SchemaDigest = MessageModels.ChatMessage.Digest }), 400,
            SignatureFailed),
        ("session changed after signing", c => Json(c.Good with { Session = Guid.NewGuid() }), 400, SignatureFailed),
        ("payload changed after signing", c => Json(c.Good with { Payload = Base64(Utf8("{\"message\": \"forged\"}")) }), 400,
            SignatureFailed),
        ("expires extended after signing", c => Json(c.Good with { Expires = c.Good.Expires + 3600 }), 400, SignatureFailed),
        ("signed by the wrong key", c => Json(c.Good with { Signature = c.Stranger.Sign(c.Good.Digest()) }), 400, SignatureFailed),
        ("another sender's identity", c => Json(c.Good with { Sender = c.Stranger.Address }), 400, SignatureFailed),
        ("truncated signature", c => Json(c.Good with { Signature = c.Good.Signature![..^6] }), 400, SignatureFailed),
        ("signature cut in half", c => Json(c.Good with { Signature = c.Good.Signature![..(c.Good.Signature!.Length / 2)] }), 400,
            SignatureFailed),
        ("signature garbage", c => Json(c.Good with { Signature = "sig1' OR 1=1 --" }), 400, SignatureFailed),
        ("signature empty", c => Json(c.Good with { Signature = "" }), 400, SignatureFailed),
        ("signature huge", c => Json(c.Good with { Signature = "sig1" + new string('q', 100_000) }), 400, SignatureFailed),
        ("negative expires", c => Json((c.Good with { Expires = -1 }).SignedBy(c.Peer)), 400, SignatureFailed),
        ("negative nonce", c => Json((c.Good with { Nonce = -5 }).SignedBy(c.Peer)), 400, SignatureFailed),
        ("signature missing", c => Json(c.Good with { Signature = null }), 400, SignatureMissing),
        ("script and control characters in the sender", c => Json(c.Good with
            { Sender = "<script>alert(1)</script>\u0000\u001b", Signature = null }), 400, SignatureMissing),
        ("huge sender", c => Json(c.Good with { Sender = "agent1" + new string('x', 200_000) }), 400, SignatureFailed),
        ("the owner's API sender forged", c => Json(c.Good with { Sender = "user:1", Signature = null }), 400, SignatureMissing),
        // Routing.
        ("SQL in the target, signed", c => Json((c.Good with { Target = "agent1' OR 1=1 --" }).SignedBy(c.Peer)), 400, UnableToRoute),
        ("an address hosted nowhere, signed", c => Json((c.Good with { Target = c.Stranger.Address }).SignedBy(c.Peer)), 400,
            UnableToRoute),
        // Size.
        ("huge payload", c => Json(c.Compose("{\"message\": \"" + new string('x', 400_000) + "\"}").SignedBy(c.Peer)), 413,
            "envelope too large"),
        ("huge body of whitespace", c => [.. Utf8(c.Good.ToJson()), .. Enumerable.Repeat((byte)' ', 300_000)], 413, "envelope too large"),
    ];

    public static TheoryData<string> Cases => [.. Corpus.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AHostileEnvelopeGetsTheReferencesErrorAndQueuesNothing(string name)
    {
        var (_, makeBody, expectedStatus, expectedError) = Corpus.Single(c => c.Name == name);
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("submit target", new { behavior = "echo", allow_user_senders = false });
        var peer = AgentIdentity.FromSeed($"hostile submit peer {Guid.NewGuid()}");
        var target = agent["address"]!.GetValue<string>();
        var good = Envelope.Create(peer.Address, target, MessageModels.Message, "{\"message\": \"hi\"}",
            expires: DateTimeOffset.UtcNow.AddSeconds(30).ToUnixTimeSeconds()).SignedBy(peer);
        var context = new Context(peer, AgentIdentity.FromSeed($"hostile submit stranger {Guid.NewGuid()}"), target, good);
        var before = await CountAsync();

        var (status, body) = await PostAsync(makeBody(context));

        Assert.True(status == expectedStatus, $"{name}: {status} {body}");
        Assert.Equal(expectedError, JsonNode.Parse(body)!["error"]!.GetValue<string>());
        Assert.Equal(before, await CountAsync());
    }

    [Fact]
    public async Task TheCorpusMeansSomethingTheGoodEnvelopeIsAccepted()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("submit target", new { behavior = "echo" });
        var peer = AgentIdentity.FromSeed($"hostile submit peer {Guid.NewGuid()}");
        var good = Envelope.Create(peer.Address, agent["address"]!.GetValue<string>(), MessageModels.Message, "{\"message\": \"hi\"}",
            expires: DateTimeOffset.UtcNow.AddSeconds(30).ToUnixTimeSeconds()).SignedBy(peer);

        Assert.Equal((200, "{}"), await PostAsync(Json(good)));
    }

    private async Task<(int Status, string Body)> PostAsync(byte[] body)
    {
        using var client = fixture.App.CreateHttpClient("agent-worker");
        client.Timeout = TimeSpan.FromSeconds(30);
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        try
        {
            using var response = await client.PostAsync("/submit", content);
            var text = await response.Content.ReadAsStringAsync();
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            return ((int)response.StatusCode, text);
        }
        catch (HttpRequestException exception) when (body.Length > 256 * 1024 && exception.InnerException is IOException)
        {
            // Refused before the body was read and the connection closed under the sender: the point of the limit.
            return (413, "{\"error\": \"envelope too large\"}");
        }
    }

    /// <summary>All messages: a hostile envelope must not queue anything anywhere.</summary>
    private async Task<long> CountAsync()
    {
        await using var db = await fixture.OpenDatabaseAsync();
        return await db.ExecuteScalarAsync<long>("SELECT count(*) FROM messages WHERE direction = 'inbound' AND sender NOT LIKE 'user:%'");
    }
}
