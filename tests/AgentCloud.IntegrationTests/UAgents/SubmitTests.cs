using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using AgentCloud.Shared.UAgents;
using Dapper;

namespace AgentCloud.IntegrationTests;

/// <summary>A uAgent elsewhere: its own identity, talking to the worker's <c>/submit</c> over HTTP.</summary>
internal sealed class UagentsPeer(AgentCloudFixture fixture, string seed)
{
    public AgentIdentity Identity { get; } = AgentIdentity.FromSeed(seed);

    public string Address => Identity.Address;

    public Envelope Compose(string target, MessageModel model, string payloadJson, Guid? session = null,
        string? protocolDigest = null, long? expires = null) =>
        Envelope.Create(Address, target, model, payloadJson, session, protocolDigest,
            expires ?? DateTimeOffset.UtcNow.AddSeconds(30).ToUnixTimeSeconds()).SignedBy(Identity);

    public Task<HttpResponseMessage> SubmitAsync(Envelope envelope, bool sync = false) =>
        PostAsync(envelope.ToJson(), "application/json", sync);

    public async Task<HttpResponseMessage> PostAsync(string body, string? contentType, bool sync = false)
    {
        var client = fixture.App.CreateHttpClient("agent-worker");
        client.Timeout = TimeSpan.FromSeconds(60);
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        if (contentType is not null)
        {
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, "/submit") { Content = content };
        if (sync)
        {
            request.Headers.Add("x-uagents-connection", "sync");
        }

        return await client.SendAsync(request);
    }

    public static async Task<(int Status, string Body)> ReadAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return ((int)response.StatusCode, body);
    }
}

[Collection(AgentCloudCollection.Name)]
public sealed class SubmitTests(AgentCloudFixture fixture)
{
    private UagentsPeer NewPeer() => new(fixture, $"submit-tests-peer-{Guid.NewGuid()}");

    private static string Hello(string text = "hello") => $$"""{"message": "{{text}}"}""";

    [Fact]
    public async Task AnEnvelopeFromARemoteAgentIsAcceptedStoredAndHandled()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("echo", new { behavior = "echo" });
        var address = agent["address"]!.GetValue<string>();
        var peer = NewPeer();
        var envelope = peer.Compose(address, MessageModels.Message, Hello());

        using var response = await peer.SubmitAsync(envelope);

        Assert.Equal((200, "{}"), await UagentsPeer.ReadAsync(response));
        var handled = await Wait.ForAsync(async () =>
            (await MessagingTests.ListMessagesAsync(user, agent, "?direction=inbound"))
                .FirstOrDefault(m => m["sender"]!.GetValue<string>() == peer.Address && m["status"]!.GetValue<string>() == "done"));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(Hello()), handled["payload"]));
        Assert.Equal(envelope.Session.ToString(), handled["session"]!.GetValue<string>());
        Assert.Equal(address, handled["target"]!.GetValue<string>());

        await using var db = await fixture.OpenDatabaseAsync();
        var stored = await db.QuerySingleAsync<(string SchemaDigest, DateTime? ExpiresAt, bool SenderWaits)>(
            "SELECT schema_digest, expires_at, sender_waits FROM messages WHERE id = @id",
                new { id = Guid.Parse(handled["id"]!.GetValue<string>()) });
        Assert.Equal(MessageModels.Message.Digest, stored.SchemaDigest);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(envelope.Expires!.Value).UtcDateTime, stored.ExpiresAt);
        Assert.False(stored.SenderWaits);
        // The echo goes back to the peer as an outbound message of the same model.
        var reply = await db.QuerySingleAsync<(string Target, string SchemaDigest, string Payload)>(
            "SELECT target, schema_digest, payload::text FROM messages WHERE in_reply_to = @id AND direction = 'outbound'",
            new { id = Guid.Parse(handled["id"]!.GetValue<string>()) });
        Assert.Equal(peer.Address, reply.Target);
        Assert.Equal(MessageModels.Message.Digest, reply.SchemaDigest);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(Hello()), JsonNode.Parse(reply.Payload)));
    }

    [Fact]
    public async Task EveryBadSubmissionGetsTheReferencesErrorAndStoresNothing()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("target");
        var address = agent["address"]!.GetValue<string>();
        var peer = NewPeer();
        var good = peer.Compose(address, MessageModels.Message, Hello());
        var noSession = JsonNode.Parse(good.ToJson())!.AsObject();
        noSession.Remove("session");
        var cases = new (string Body, string? ContentType, string Error)[]
        {
            (good.ToJson(), "text/plain", "invalid content-type"),
            ("{\"version\": 1, ", "application/json", "empty or invalid payload"),
            ("", "application/json", "empty or invalid payload"),
            (noSession.ToJsonString(), "application/json", "contents do not match envelope schema"),
            ("[1, 2, 3]", "application/json", "contents do not match envelope schema"),
            ((good with { Signature = null }).ToJson(), "application/json", "Envelope signature is missing"),
            ((good with { Payload = Convert.ToBase64String(Encoding.UTF8.GetBytes(Hello("tampered"))) }).ToJson(), "application/json",
                "Signature verification failed"),
            (peer.Compose(AgentIdentity.FromSeed("nobody hosts this one").Address, MessageModels.Message, Hello()).ToJson(),
                "application/json", "unable to route envelope"),
            ((good with { Sender = "user1qsomebody", Signature = null }).ToJson(), "application/json", "Envelope signature is missing"),
            (peer.Compose(address, MessageModels.Message, "[\"not\", \"an object\"]").ToJson(), "application/json",
                "empty or invalid payload"),
        };

        foreach (var (body, contentType, error) in cases)
        {
            using var response = await peer.PostAsync(body, contentType);

            var (status, text) = await UagentsPeer.ReadAsync(response);
            Assert.True(status == 400, $"{error}: got {status} {text}");
            Assert.Equal(error, JsonNode.Parse(text)!["error"]!.GetValue<string>());
        }

        using var missing = await peer.PostAsync(good.ToJson(), contentType: null);
        Assert.Equal((400, "{\"error\":\"missing header: content-type\"}"), await UagentsPeer.ReadAsync(missing));
        await using var db = await fixture.OpenDatabaseAsync();
        Assert.Equal(0, await db.ExecuteScalarAsync<long>("SELECT count(*) FROM messages WHERE agent_id = @id",
            new { id = agent["id"]!.GetValue<int>() }));
    }

    [Fact]
    public async Task AnOversizedEnvelopeIs413()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("target");
        var peer = NewPeer();
        var envelope = peer.Compose(agent["address"]!.GetValue<string>(), MessageModels.Message, Hello(new string('x', 300_000)));

        using var response = await peer.SubmitAsync(envelope);

        var (status, body) = await UagentsPeer.ReadAsync(response);
        Assert.Equal(413, status);
        Assert.NotNull(JsonNode.Parse(body)!["error"]);
    }

    [Fact]
    public async Task AnUnsignedUserSenderIsTakenOnlyByAnAgentThatAllowsIt()
    {
        var user = await fixture.CreateUserAsync();
        var open = await user.CreateAgentAsync("open", new { allow_user_senders = true });
        var closed = await user.CreateAgentAsync("closed", new { allow_user_senders = false });
        var peer = NewPeer();
        Envelope FromUser(JsonObject agent) =>
            peer.Compose(agent["address"]!.GetValue<string>(), MessageModels.Message, Hello()) with
                { Sender = "user1qchatclient", Signature = null };

        using var accepted = await peer.SubmitAsync(FromUser(open));
        using var refused = await peer.SubmitAsync(FromUser(closed));

        Assert.Equal((200, "{}"), await UagentsPeer.ReadAsync(accepted));
        Assert.Equal((400, "{\"error\":\"Envelope signature is missing\"}"), await UagentsPeer.ReadAsync(refused));
        var stored = Assert.Single(await MessagingTests.ListMessagesAsync(user, open, "?direction=inbound"));
        Assert.Equal("user1qchatclient", stored["sender"]!.GetValue<string>());
    }

    [Fact]
    public async Task AReplayedEnvelopeIsHandledOnce()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("echo", new { behavior = "echo" });
        var peer = NewPeer();
        var envelope = peer.Compose(agent["address"]!.GetValue<string>(), MessageModels.Message, Hello("once"));

        for (var i = 0; i < 3; i++)
        {
            using var response = await peer.SubmitAsync(envelope);
            Assert.Equal((200, "{}"), await UagentsPeer.ReadAsync(response));
        }

        await Wait.ForAsync(async () =>
            (await MessagingTests.ListMessagesAsync(user, agent, "?direction=inbound&status=done")).FirstOrDefault());
        Assert.Single(await MessagingTests.ListMessagesAsync(user, agent, "?direction=inbound"));
        Assert.Single(await MessagingTests.ListMessagesAsync(user, agent, "?direction=outbound"));
    }

    [Fact]
    public async Task TwoDistinctEnvelopesWithTheSameSessionAndPayloadAreBothHandled()
    {
        // A uAgent saying the same thing twice in one conversation: two envelopes (here a second apart, as the
        // reference's expires = now + 30 makes them), two messages, two answers.
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("echo", new { behavior = "echo" });
        var peer = NewPeer();
        var session = Guid.NewGuid();
        var expires = DateTimeOffset.UtcNow.AddSeconds(30).ToUnixTimeSeconds();
        var first = peer.Compose(agent["address"]!.GetValue<string>(), MessageModels.Message, Hello("again"), session, expires: expires);
        var second = peer.Compose(agent["address"]!.GetValue<string>(), MessageModels.Message, Hello("again"), session, expires: expires
            + 1);

        foreach (var envelope in new[] { first, second })
        {
            using var response = await peer.SubmitAsync(envelope);
            Assert.Equal((200, "{}"), await UagentsPeer.ReadAsync(response));
        }

        var done = await Wait.ForAsync(async () =>
            await MessagingTests.ListMessagesAsync(user, agent, "?direction=inbound&status=done") is { Count: 2 } items ? items : null);
        Assert.All(done, message => Assert.Equal(session, Guid.Parse(message["session"]!.GetValue<string>())));
        Assert.NotEqual(done[0]["id"]!.GetValue<string>(), done[1]["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task TheSameEnvelopeTwiceIsHandledOnceEvenWithItsSignatureReencoded()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("echo", new { behavior = "echo" });
        var peer = NewPeer();
        var envelope = peer.Compose(agent["address"]!.GetValue<string>(), MessageModels.Message, Hello("only once"));
        // (r, n−s) is as valid as (r, s): a replay with S flipped must not pass for a new envelope.
        var raw = Bech32.Decode(envelope.Signature!, Signatures.Prefix);
        var order = System.Numerics.BigInteger.Parse(
            "0FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141", System.Globalization.NumberStyles.HexNumber);
        var flipped = (order - new System.Numerics.BigInteger(raw.AsSpan(32), isUnsigned: true, isBigEndian: true))
            .ToByteArray(isUnsigned: true, isBigEndian: true);
        var replay = envelope with { Signature = Bech32.Encode(Signatures.Prefix,
            [.. raw[..32], .. new byte[32 - flipped.Length], .. flipped]) };

        foreach (var copy in new[] { envelope, replay })
        {
            using var response = await peer.SubmitAsync(copy);
            Assert.Equal((200, "{}"), await UagentsPeer.ReadAsync(response));
        }

        await Wait.ForAsync(async () =>
            (await MessagingTests.ListMessagesAsync(user, agent, "?direction=inbound&status=done")).FirstOrDefault());
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Single(await MessagingTests.ListMessagesAsync(user, agent, "?direction=inbound"));
        Assert.Single(await MessagingTests.ListMessagesAsync(user, agent, "?direction=outbound"));
    }

    [Fact]
    public async Task EnvelopesPostedAtOnceAreEachHandledOnceAndRepeatsAmongThemAreNot()
    {
        // Envelopes that arrive together share a commit: eight distinct ones and one envelope eight times, all at once (within
        // one sender's burst on one replica).
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("echo", new { behavior = "echo" });
        var address = agent["address"]!.GetValue<string>();
        var peer = NewPeer();
        var repeated = peer.Compose(address, MessageModels.Message, Hello("repeated"));
        var envelopes = Enumerable.Range(0, 8).Select(i => peer.Compose(address, MessageModels.Message, Hello($"distinct {i}")))
            .Concat(Enumerable.Repeat(repeated, 8)).ToList();

        var answers = await Task.WhenAll(envelopes.Select(async envelope =>
        {
            using var response = await peer.SubmitAsync(envelope);
            return await UagentsPeer.ReadAsync(response);
        }));

        Assert.All(answers, answer => Assert.Equal((200, "{}"), answer));
        var done = await Wait.ForAsync(async () =>
            await MessagingTests.ListMessagesAsync(user, agent, "?direction=inbound&status=done&limit=100") is { Count: 9 } items ? items
                : null);
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(9, (await MessagingTests.ListMessagesAsync(user, agent, "?direction=inbound&limit=100")).Count);
        Assert.Equal(9, done.Select(message => message["payload"]!.ToJsonString()).Distinct().Count());
    }

    [Fact]
    public async Task ASyncSubmitToAnEchoAgentGetsTheSignedEchoBack()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("echo", new { behavior = "echo" });
        var address = agent["address"]!.GetValue<string>();
        var peer = NewPeer();
        var envelope = peer.Compose(address, MessageModels.Message, Hello("ping sync"));

        using var response = await peer.SubmitAsync(envelope, sync: true);

        var (status, body) = await UagentsPeer.ReadAsync(response);
        Assert.Equal(200, status);
        var reply = Envelope.FromJson(body)!;
        Assert.Equal(address, reply.Sender);
        Assert.Equal(peer.Address, reply.Target);
        Assert.Equal(envelope.Session, reply.Session);
        Assert.Equal(MessageModels.Message.Digest, reply.SchemaDigest);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(Hello("ping sync")), JsonNode.Parse(reply.DecodePayload()!)));
        Assert.True(reply.HasValidSignature());

        await using var db = await fixture.OpenDatabaseAsync();
        // The answer lives on the inbound row it answers, marked as handed over; no outbound row stands in for it.
        var handedOver = await db.QuerySingleAsync<(string Status, bool SenderWaits, string SchemaDigest, bool Sent)>(
            """
            SELECT status, sender_waits, sync_answer_schema_digest, sync_answer_sent_at IS NOT NULL
            FROM messages WHERE agent_id = @id AND direction = 'inbound'
            """,
            new { id = agent["id"]!.GetValue<int>() });
        Assert.Equal(("done", true, MessageModels.Message.Digest, true), handedOver);
        Assert.Equal(0, await db.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM messages WHERE agent_id = @id AND direction = 'outbound'", new { id = agent["id"]!.GetValue<int>() }));
    }

    [Fact]
    public async Task ASyncSubmitToAFailingAgentGetsAnErrorMessage()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("broken", new { behavior = "fail" });
        var address = agent["address"]!.GetValue<string>();
        var peer = NewPeer();
        var envelope = peer.Compose(address, MessageModels.Message, Hello("doomed"),
            expires: DateTimeOffset.UtcNow.AddSeconds(8).ToUnixTimeSeconds());

        using var response = await peer.SubmitAsync(envelope, sync: true);

        var (status, body) = await UagentsPeer.ReadAsync(response);
        Assert.Equal(200, status);
        var reply = Envelope.FromJson(body)!;
        Assert.Equal(MessageModels.ErrorMessage.Digest, reply.SchemaDigest);
        Assert.Equal(address, reply.Sender);
        Assert.Equal(envelope.Session, reply.Session);
        Assert.False(string.IsNullOrEmpty(JsonNode.Parse(reply.DecodePayload()!)!["error"]!.GetValue<string>()));
        Assert.True(reply.HasValidSignature());
    }

    [Fact]
    public async Task ASyncSubmitWhoseTimeRunsOutGetsQueryEnvelopeExpired()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("busy", new { behavior = "echo" });
        // A message some worker holds for a long while: the next one waits its turn, past its expiry.
        await fixture.HoldHeadOfLineAsync(agent);

        var peer = NewPeer();
        var envelope = peer.Compose(agent["address"]!.GetValue<string>(), MessageModels.Message, Hello(),
            expires: DateTimeOffset.UtcNow.AddSeconds(2).ToUnixTimeSeconds());

        using var response = await peer.SubmitAsync(envelope, sync: true);

        var reply = Envelope.FromJson((await UagentsPeer.ReadAsync(response)).Body)!;
        Assert.Equal(MessageModels.ErrorMessage.Digest, reply.SchemaDigest);
        Assert.Equal("{\"error\":\"Query envelope expired\"}", reply.DecodePayload());
    }

    [Fact]
    public async Task HeadSubmitTellsWhetherAnAddressIsHostedHere()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("probed");
        var client = fixture.App.CreateHttpClient("agent-worker");

        async Task<string?> ProbeAsync(string? address)
        {
            using var request = new HttpRequestMessage(HttpMethod.Head, "/submit");
            if (address is not null)
            {
                request.Headers.Add("x-uagents-address", address);
            }

            using var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return response.Headers.TryGetValues("x-uagents-status", out var values) ? values.Single() : null;
        }

        Assert.Equal("ready", await ProbeAsync(agent["address"]!.GetValue<string>()));
        Assert.Equal("not-ready", await ProbeAsync(AgentIdentity.FromSeed("not hosted anywhere").Address));
        Assert.Equal("indeterminate", await ProbeAsync(null));
    }

    [Fact]
    public async Task OtherPathsOnTheWorkerAre404()
    {
        var client = fixture.App.CreateHttpClient("agent-worker");

        using var get = await client.GetAsync("/anything");
        using var post = await client.PostAsync("/submit/more", TestApi.RawJson("{}"));

        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, post.StatusCode);
    }

    [Fact]
    public async Task TheEnvelopeCapturedFromTheReferenceIsAcceptedWhenItsTargetIsHosted()
    {
        var vectors = JsonNode.Parse(await File.ReadAllTextAsync(VectorsPath()))!;
        var captured = vectors["envelopes"]!["cases"]!.AsArray()
            .Single(c => c!["name"]!.GetValue<string>() == "captured_from_running_reference_agent")!["json"]!.GetValue<string>();
        var envelope = Envelope.FromJson(captured)!;
        var user = await fixture.CreateUserAsync();
        int agentId;
        await using (var db = await fixture.OpenDatabaseAsync())
        {
            agentId = await db.ExecuteScalarAsync<int>(
                """
                INSERT INTO agents (name, user_id, address) VALUES ('vector target', @userId, @address)
                ON CONFLICT (address) WHERE address IS NOT NULL DO UPDATE SET name = EXCLUDED.name
                RETURNING id
                """,
                new { userId = user.Id, address = envelope.Target });
        }

        using var response = await new UagentsPeer(fixture, "unused").PostAsync(captured, "application/json");

        Assert.Equal((200, "{}"), await UagentsPeer.ReadAsync(response));
        await using var check = await fixture.OpenDatabaseAsync();
        var payload = await check.ExecuteScalarAsync<string>(
            "SELECT payload::text FROM messages WHERE agent_id = @agentId AND sender = @sender AND session = @session",
            new { agentId, sender = envelope.Sender, session = envelope.Session });
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("{\"message\": \"hello from 8000\"}"), JsonNode.Parse(payload!)));
    }

    private static string VectorsPath()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "tests", "AgentCloud.UnitTests", "Vectors", "uagents-vectors.json");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException("uagents-vectors.json not found above the test's folder.");
    }
}
