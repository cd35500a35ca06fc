using System.Text.Json;
using AgentCloud.Api.Features.Messages;
using FluentValidation.TestHelper;
using MessageGet = AgentCloud.Api.Features.Messages.Get;
using MessageList = AgentCloud.Api.Features.Messages.List;
using MessagePost = AgentCloud.Api.Features.Messages.Post;
using MessageSend = AgentCloud.Api.Features.Messages.Send;
using LogStream = AgentCloud.Api.Features.Logs.Stream;

namespace AgentCloud.UnitTests.Api;

public sealed class MessageValidatorTests
{
    private const string Alice = "agent1qf5gfqm48k9acegez3sg82ney2aa6l5fvpwh3n3z0ajh0nam3ssgwnn5me7";

    private readonly MessagePost.Request.Validator post = new();
    private readonly MessageSend.Request.Validator send = new();
    private readonly MessageList.Request.Validator list = new();
    private readonly MessageGet.Request.Validator get = new();
    private readonly LogStream.Request.Validator stream = new();

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    [Theory]
    [InlineData("{\"a\": [1, 2]}")]
    [InlineData("\"just text\"")]
    [InlineData("42")]
    [InlineData("null")]
    public void AnyJsonValueIsAPayload(string payload) =>
        post.TestValidate(new MessagePost.Request { AgentId = 1, Payload = Json(payload) }).ShouldNotHaveAnyValidationErrors();

    [Fact]
    public void TextAlonePasses() =>
        post.TestValidate(new MessagePost.Request { AgentId = 1, Text = "hello" }).ShouldNotHaveAnyValidationErrors();

    [Fact]
    public void NeitherPayloadNorTextIsRefused() =>
        Assert.Contains(post.Validate(new MessagePost.Request { AgentId = 1 }).Errors, e => e.PropertyName == "payload");

    [Fact]
    public void BothPayloadAndTextIsRefused() =>
        Assert.Contains(post.Validate(new MessagePost.Request { AgentId = 1, Payload = Json("1"), Text = "x" }).Errors,
            e => e.PropertyName == "payload");

    [Theory]
    [InlineData("not-a-uuid")]
    [InlineData("0b7e4c6a2f1d4e8b9a536c1f0e2d3b4a")]
    [InlineData("")]
    public void ASessionMustBeAHyphenatedUuid(string session) =>
        post.TestValidate(new MessagePost.Request { AgentId = 1, Text = "x", Session = session })
            .ShouldHaveValidationErrorFor(r => r.Session);

    [Theory]
    [InlineData("-1")]
    [InlineData("31")]
    [InlineData("1.5")]
    [InlineData("soon")]
    public void WaitMustBe0To30Seconds(string wait) =>
        post.TestValidate(new MessagePost.Request { AgentId = 1, Text = "x", Wait = wait }).ShouldHaveValidationErrorFor(r => r.Wait);

    [Theory]
    [InlineData("0", 0)]
    [InlineData("30", 30)]
    public void AWaitIsReadInSeconds(string wait, int seconds)
    {
        var request = new MessagePost.Request { AgentId = 1, Text = "x", Wait = wait };

        post.TestValidate(request).ShouldNotHaveAnyValidationErrors();
        Assert.Equal(TimeSpan.FromSeconds(seconds), request.WaitTime);
    }

    [Theory]
    [InlineData(Alice)]
    [InlineData("agent://" + Alice)]
    [InlineData("  " + Alice + " ")]
    public void ASendGoesToAnAgentAddress(string target) =>
        send.TestValidate(new MessageSend.Request { AgentId = 1, Target = target, Payload = Json("{}") })
            .ShouldNotHaveAnyValidationErrors();

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("agent1nope")]
    [InlineData("user:1")]
    [InlineData("agent1qf5gfqm48k9acegez3sg82ney2aa6l5fvpwh3n3z0ajh0nam3ssgwnn5me8")]
    public void ASendToAMalformedAddressIsRefused(string? target) =>
        send.TestValidate(new MessageSend.Request { AgentId = 1, Target = target, Payload = Json("{}") })
            .ShouldHaveValidationErrorFor(r => r.Target);

    [Fact]
    public void ASendNeedsAPayload() =>
        Assert.Contains(send.Validate(new MessageSend.Request { AgentId = 1, Target = Alice }).Errors, e => e.PropertyName == "payload");

    [Theory]
    [InlineData("status", "finished")]
    [InlineData("status", "DONE")]
    [InlineData("direction", "sideways")]
    [InlineData("limit", "0")]
    [InlineData("limit", "101")]
    [InlineData("cursor", "bm9wZQ")]
    public void ABadListParameterIsNamed(string parameter, string value)
    {
        var request = parameter switch
        {
            "status" => new MessageList.Request { Status = value },
            "direction" => new MessageList.Request { Direction = value },
            "limit" => new MessageList.Request { Limit = value },
            _ => new MessageList.Request { Cursor = value },
        };

        Assert.Contains(list.Validate(request).Errors, e => e.PropertyName.Equals(parameter, StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void AGoodListQueryPasses() =>
        list.TestValidate(new MessageList.Request { Status = "dead", Direction = "outbound", Limit = "100" })
            .ShouldNotHaveAnyValidationErrors();

    [Theory]
    [InlineData("abc")]
    [InlineData("")]
    [InlineData(null)]
    public void AMessageIdMustBeAUuid(string? id) =>
        get.TestValidate(new MessageGet.Request { AgentId = 1, MessageId = id }).ShouldHaveValidationErrorFor(r => r.MessageId);

    [Theory]
    [InlineData("-1")]
    [InlineData("1001")]
    [InlineData("many")]
    public void ATailMustBe0To1000(string tail) =>
        stream.TestValidate(new LogStream.Request { AgentId = 1, Tail = tail }).ShouldHaveValidationErrorFor(r => r.Tail);

    [Theory]
    [InlineData("17", 17)]
    [InlineData("0", 0)]
    [InlineData("x", null)]
    [InlineData("-4", null)]
    [InlineData(null, null)]
    public void ALastEventIdIsALineId(string? header, int? expected) =>
        Assert.Equal(expected, LogStream.Request.ParseLastEventId(header));

    [Fact]
    public void TextBecomesAJsonStringPayload() =>
        Assert.Equal("hi \"there\"", JsonDocument.Parse(MessageRules.PayloadJson(default, "hi \"there\"")).RootElement.GetString());

    [Fact]
    public void APayloadOver32KiBIsTooLarge()
    {
        Assert.False(MessageRules.IsTooLarge(JsonSerializer.Serialize(new string('x', 32 * 1024 - 2))));
        Assert.True(MessageRules.IsTooLarge(JsonSerializer.Serialize(new string('x', 32 * 1024 - 1))));
    }
}
