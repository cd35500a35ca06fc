using System.Text.Json.Nodes;
using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.Messaging.Behaviors;
using AgentCloud.Shared.UAgents;

namespace AgentCloud.UnitTests.UAgents.Inbound;

public sealed class ChatReplyTests
{
    private static readonly string Self = AgentIdentity.FromSeed("chat-reply-tests-self").Address;
    private static readonly string Peer = AgentIdentity.FromSeed("chat-reply-tests-peer").Address;

    private static string ChatPayload => Vectors.ChatProtocolPayloads.GetProperty("chat_message").GetString()!;

    private static BehaviorContext Context(string payload, MessageModel? model, string? protocol = null) =>
        new(3, Self, [], new MessageRow
        {
            Id = Guid.NewGuid(), AgentId = 3, Sender = Peer, Target = Self, Payload = payload,
            SchemaDigest = model?.Digest, ProtocolDigest = protocol,
        });

    private static void AssertAcknowledges(ReplyMessage ack, DateTimeOffset before)
    {
        Assert.Equal(MessageModels.ChatAcknowledgement.Digest, ack.SchemaDigest);
        Assert.Equal(ProtocolDigest.AgentChat, ack.ProtocolDigest);
        Assert.Equal("11111111-2222-4333-8444-555555555555", ack.Payload?["acknowledged_msg_id"]?.GetValue<string>());
        Assert.True(ack.Payload!.AsObject().ContainsKey("metadata"));
        Assert.Null(ack.Payload["metadata"]);
        Assert.InRange(DateTimeOffset.Parse(ack.Payload["timestamp"]!.GetValue<string>()), before.AddSeconds(-1),
            DateTimeOffset.UtcNow.AddSeconds(1));
    }

    [Fact]
    public void TheChatProtocolDigestIsTheReferences() =>
        Assert.Equal("proto:30a801ed3a83f9a0ff0a9f1e6fe958cb91da1fc2218b153df7b6cbf87bd33d62", ProtocolDigest.AgentChat);

    [Fact]
    public async Task TheDefaultBehaviourAcknowledgesAChatMessage()
    {
        var before = DateTimeOffset.UtcNow;

        var result = await new DefaultBehavior().HandleAsync(Context(ChatPayload, MessageModels.ChatMessage, ProtocolDigest.AgentChat),
            default);

        var ack = Assert.Single(result.RepliesToSend);
        AssertAcknowledges(ack, before);
        Assert.True(JsonNode.DeepEquals(ack.Payload, result.Reply));
        Assert.Single(result.Logs);
    }

    [Fact]
    public async Task EchoAcknowledgesAChatMessageThenSaysTheSameText()
    {
        var before = DateTimeOffset.UtcNow;

        var result = await new EchoBehavior().HandleAsync(Context(ChatPayload, MessageModels.ChatMessage, ProtocolDigest.AgentChat),
            default);

        Assert.Equal(2, result.RepliesToSend.Count);
        AssertAcknowledges(result.RepliesToSend[0], before);
        var echo = result.RepliesToSend[1];
        Assert.Equal(MessageModels.ChatMessage.Digest, echo.SchemaDigest);
        Assert.Equal(ProtocolDigest.AgentChat, echo.ProtocolDigest);
        Assert.Equal(["hi"], ChatProtocol.TextContents(echo.Payload));
        Assert.Equal("text", echo.Payload!["content"]![0]!["type"]!.GetValue<string>());
        Assert.NotEqual("11111111-2222-4333-8444-555555555555", echo.Payload["msg_id"]!.GetValue<string>());
        Assert.True(Guid.TryParse(echo.Payload["msg_id"]!.GetValue<string>(), out _));
        Assert.True(JsonNode.DeepEquals(echo.Payload, result.Reply));
    }

    [Fact]
    public async Task EchoAnswersAPlainMessageWithTheSamePayloadAndModel()
    {
        var result = await new EchoBehavior().HandleAsync(Context("""{"message": "ping"}""", MessageModels.Message), default);

        var reply = Assert.Single(result.RepliesToSend);
        Assert.Equal(MessageModels.Message.Digest, reply.SchemaDigest);
        Assert.Null(reply.ProtocolDigest);
        Assert.Equal("""{"message":"ping"}""", reply.Payload?.ToJsonString());
    }

    [Fact]
    public async Task APlainDefaultAcknowledgementHasNoModel()
    {
        var result = await new DefaultBehavior().HandleAsync(Context("""{"text": "hello"}""", null), default);

        var reply = Assert.Single(result.RepliesToSend);
        Assert.Null(reply.SchemaDigest);
        Assert.Equal("acknowledged", reply.Payload?["status"]?.GetValue<string>());
    }

    [Fact]
    public void AcknowledgementsAreRecognisedSoNobodyAnswersThem()
    {
        Assert.True(ChatProtocol.IsAcknowledgement(new MessageRow { SchemaDigest = MessageModels.ChatAcknowledgement.Digest }));
        Assert.False(ChatProtocol.IsAcknowledgement(new MessageRow { SchemaDigest = MessageModels.ChatMessage.Digest }));
        Assert.True(ChatProtocol.IsChatMessage(new MessageRow { SchemaDigest = MessageModels.ChatMessage.Digest }));
    }

    [Fact]
    public void AChatMessageWithoutAMessageIdIsNotAcknowledged() =>
        Assert.Null(ChatProtocol.Acknowledge(JsonNode.Parse("""{"content": []}"""), DateTimeOffset.UtcNow));

    [Theory]
    [InlineData("""{"allow_user_senders": true}""", 0)]
    [InlineData("""{"allow_user_senders": false, "behavior": "echo"}""", 0)]
    [InlineData("""{"allow_user_senders": "yes"}""", 1)]
    [InlineData("""{"allow_user_senders": 1, "behavior": "forward"}""", 2)]
    public void AllowUserSendersMustBeABoolean(string config, int problems) =>
        Assert.Equal(problems, new AgentBehaviors([new DefaultBehavior(), new EchoBehavior(), new ForwardBehavior()])
            .Validate(JsonNode.Parse(config)!.AsObject()).Count);
}
