using System.Text.Json.Nodes;
using AgentCloud.Shared.UAgents;
using Dapper;

namespace AgentCloud.IntegrationTests;

/// <summary>The Agent Chat Protocol, spoken by a uAgent peer to agents hosted here over <c>/submit</c>.</summary>
[Collection(AgentCloudCollection.Name)]
public sealed class ChatProtocolTests(AgentCloudFixture fixture)
{
    private sealed record Row(Guid Id, string Direction, string Target, string? SchemaDigest, string? ProtocolDigest, string Payload,
        bool SenderWaits, string Status);

    private static string Chat(string text, Guid? msgId = null) =>
        new JsonObject
        {
            ["timestamp"] = DateTimeOffset.UtcNow.ToString("O"),
            ["msg_id"] = (msgId ?? Guid.NewGuid()).ToString(),
            ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = text }),
        }.ToJsonString();

    private UagentsPeer NewPeer() => new(fixture, $"chat-tests-peer-{Guid.NewGuid()}");

    private async Task<List<Row>> RowsAsync(JsonObject agent)
    {
        await using var db = await fixture.OpenDatabaseAsync();
        return (await db.QueryAsync<Row>(
            """
            SELECT id, direction, target, schema_digest AS SchemaDigest, protocol_digest AS ProtocolDigest, payload::text AS payload,
                   sender_waits AS SenderWaits, status
            FROM messages WHERE agent_id = @id ORDER BY seq
            """, new { id = agent["id"]!.GetValue<int>() })).ToList();
    }

    private async Task<List<Row>> WaitForOutboundAsync(JsonObject agent, int count) =>
        await Wait.ForAsync(async () =>
        {
            var rows = await RowsAsync(agent);
            return rows.Count(r => r.Direction == "outbound") >= count && rows.All(r => r.Direction != "inbound" || r.Status == "done")
                ? rows : null;
        });

    [Fact]
    public async Task TheDefaultAgentAcknowledgesAChatMessage()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("chatty");
        var peer = NewPeer();
        var msgId = Guid.NewGuid();

        using var response = await peer.SubmitAsync(peer.Compose(agent["address"]!.GetValue<string>(), MessageModels.ChatMessage,
            Chat("hello there", msgId), protocolDigest: ProtocolDigest.AgentChat));

        Assert.Equal((200, "{}"), await UagentsPeer.ReadAsync(response));
        var ack = Assert.Single(await WaitForOutboundAsync(agent, 1), r => r.Direction == "outbound");
        Assert.Equal(peer.Address, ack.Target);
        Assert.Equal(MessageModels.ChatAcknowledgement.Digest, ack.SchemaDigest);
        Assert.Equal(ProtocolDigest.AgentChat, ack.ProtocolDigest);
        var payload = JsonNode.Parse(ack.Payload)!;
        Assert.Equal(msgId.ToString(), payload["acknowledged_msg_id"]!.GetValue<string>());
        Assert.Null(payload["metadata"]);
        Assert.True(DateTimeOffset.TryParse(payload["timestamp"]!.GetValue<string>(), out _));
    }

    [Fact]
    public async Task AnEchoAgentAcknowledgesInTheSyncAnswerAndEchoesTheTextAfter()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("echo", new { behavior = "echo" });
        var address = agent["address"]!.GetValue<string>();
        var peer = NewPeer();
        var msgId = Guid.NewGuid();

        using var response = await peer.SubmitAsync(peer.Compose(address, MessageModels.ChatMessage, Chat("echo me", msgId),
            protocolDigest: ProtocolDigest.AgentChat), sync: true);

        var (status, body) = await UagentsPeer.ReadAsync(response);
        Assert.Equal(200, status);
        var answer = Envelope.FromJson(body)!;
        Assert.True(answer.HasValidSignature());
        Assert.Equal(address, answer.Sender);
        Assert.Equal(MessageModels.ChatAcknowledgement.Digest, answer.SchemaDigest);
        Assert.Equal(ProtocolDigest.AgentChat, answer.ProtocolDigest);
        Assert.Equal(msgId.ToString(), JsonNode.Parse(answer.DecodePayload()!)!["acknowledged_msg_id"]!.GetValue<string>());

        // The echo itself is the second reply: not the sync answer (that one lives on the inbound row), it goes out the usual way.
        var echo = Assert.Single(await WaitForOutboundAsync(agent, 1), r => r.Direction == "outbound");
        Assert.Equal(MessageModels.ChatMessage.Digest, echo.SchemaDigest);
        Assert.False(echo.SenderWaits);
        Assert.Equal(ProtocolDigest.AgentChat, echo.ProtocolDigest);
        var content = JsonNode.Parse(echo.Payload)!;
        Assert.Equal("echo me", content["content"]![0]!["text"]!.GetValue<string>());
        Assert.NotEqual(msgId.ToString(), content["msg_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task AChatAcknowledgementIsNeverAnswered()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("echo", new { behavior = "echo" });
        var peer = NewPeer();
        var ack = new JsonObject
        {
            ["timestamp"] = DateTimeOffset.UtcNow.ToString("O"),
            ["acknowledged_msg_id"] = Guid.NewGuid().ToString(),
            ["metadata"] = null,
        }.ToJsonString();

        using var response = await peer.SubmitAsync(peer.Compose(agent["address"]!.GetValue<string>(), MessageModels.ChatAcknowledgement,
            ack, protocolDigest: ProtocolDigest.AgentChat));

        Assert.Equal((200, "{}"), await UagentsPeer.ReadAsync(response));
        var rows = await Wait.ForAsync(async () =>
        {
            var all = await RowsAsync(agent);
            return all.Any(r => r.Status == "done") ? all : null;
        });
        Assert.Single(rows);
    }

    [Fact]
    public async Task AnEchoOfOurEchoComingBackIsAcknowledgedButNotEchoedAgain()
    {
        var user = await fixture.CreateUserAsync();
        var agent = await user.CreateAgentAsync("echo", new { behavior = "echo" });
        var address = agent["address"]!.GetValue<string>();
        var peer = NewPeer();
        var session = Guid.NewGuid();

        using (var first = await peer.SubmitAsync(peer.Compose(address, MessageModels.ChatMessage, Chat("ping-pong"), session,
                   ProtocolDigest.AgentChat)))
        {
            Assert.Equal(200, (int)first.StatusCode);
        }

        await WaitForOutboundAsync(agent, 2);
        // A remote echo agent answers our echo with the same text, as a new message in the same session.
        using (var back = await peer.SubmitAsync(peer.Compose(address, MessageModels.ChatMessage, Chat("ping-pong"), session,
                   ProtocolDigest.AgentChat)))
        {
            Assert.Equal(200, (int)back.StatusCode);
        }

        var rows = await WaitForOutboundAsync(agent, 3);
        await Task.Delay(TimeSpan.FromSeconds(1));
        rows = await RowsAsync(agent);
        Assert.Equal(2, rows.Count(r => r.Direction == "inbound"));
        Assert.Equal(2, rows.Count(r => r.Direction == "outbound" && r.SchemaDigest == MessageModels.ChatAcknowledgement.Digest));
        Assert.Single(rows, r => r.Direction == "outbound" && r.SchemaDigest == MessageModels.ChatMessage.Digest);
    }
}
