using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentCloud.Api.Infrastructure;
using AgentCloud.AgentWorker.UAgents;
using AgentCloud.Shared.Data;

namespace AgentCloud.UnitTests.Data;

/// <summary>What would break reading a stored value back: lone surrogates and nesting past
/// <see cref="StorableText.MaxJsonDepth"/>.</summary>
public sealed class ReadableJsonTests
{
    private static string Nested(int depth) => new string('[', depth) + new string(']', depth);

    [Theory]
    [InlineData("\"x\\ud800y\"")]
    [InlineData("\"\\udc00\"")]
    [InlineData("\"ends high \\ud83e\"")]
    [InlineData("{\"\\ud800\": 1}")]
    [InlineData("[1, {\"a\": [\"\\udfff\"]}]")]
    public void ALoneSurrogateIsNotStorable(string json)
    {
        using var document = JsonDocument.Parse(json);

        Assert.Equal(StorableText.SurrogateProblem, StorableText.ProblemWith(document.RootElement));
        Assert.Equal(StorableText.SurrogateProblem, StorableText.ProblemWith(JsonNode.Parse(json)));
        Assert.True(JsonTextCheck.HasLoneSurrogate(Encoding.UTF8.GetBytes(json)));
    }

    [Fact]
    public void APairedSurrogateIsStorable()
    {
        const string json = "{\"robot\": \"\\ud83e\\udd16\", \"raw\": \"🤖\"}";

        Assert.Null(StorableText.ProblemWith(JsonDocument.Parse(json).RootElement));
        Assert.False(JsonTextCheck.HasLoneSurrogate(Encoding.UTF8.GetBytes(json)));
        Assert.Equal(StorableText.SurrogateProblem, StorableText.ProblemWith("x\ud800y"));
        Assert.Null(StorableText.ProblemWith("x\ud83e\udd16y"));
    }

    [Fact]
    public void JsonUpToTheDepthLimitIsStorableAndOneLevelMoreIsNot()
    {
        Assert.Null(StorableText.ProblemWith(JsonDocument.Parse(Nested(StorableText.MaxJsonDepth)).RootElement));
        Assert.Null(StorableText.ProblemWith(JsonNode.Parse(Nested(StorableText.MaxJsonDepth))));
        Assert.Equal(StorableText.DepthProblem, StorableText.ProblemWith(
            JsonDocument.Parse(Nested(StorableText.MaxJsonDepth + 1)).RootElement));
        Assert.Equal(StorableText.DepthProblem, StorableText.ProblemWith(JsonNode.Parse(Nested(StorableText.MaxJsonDepth + 1))));
    }

    [Fact]
    public void AMaximallyDeepValueFitsInEveryResponseThatWrapsIt()
    {
        // The deepest wrapper of a stored value: a page of messages, {"items": [{"payload": …}]}, and some room.
        var wrapped = "{\"items\": [{\"reply\": {\"wrapper\": [" + Nested(StorableText.MaxJsonDepth) + "]}}]}";

        var node = JsonNode.Parse(wrapped, documentOptions: new JsonDocumentOptions { MaxDepth = 64 });
        Assert.NotNull(JsonSerializer.Serialize(node, new JsonSerializerOptions { MaxDepth = 64 }));
    }

    [Fact]
    public void UntrustedTextIsShortAndOnOneLine()
    {
        var sender = "agent1forged\n2026-12-02 warn: everything is fine\r\u2028" + new string('x', 250_000);

        var logged = UntrustedText.ForLog(sender);

        Assert.True(logged.Length < 160, logged);
        Assert.DoesNotContain('\n', logged);
        Assert.DoesNotContain('\r', logged);
        Assert.DoesNotContain('\u2028', logged);
        Assert.StartsWith("agent1forged\\u000a2026-12-02", logged);
        Assert.EndsWith($"…({sender.Length} characters)", logged);
        Assert.Equal("agent1plain", UntrustedText.ForLog("agent1plain"));
    }

    [Fact]
    public void RepeatedWarningsAreThrottledAndCounted()
    {
        var time = new ManualTime();
        var throttle = new WarningThrottle(burst: 3, perMinute: 6, time);

        var written = Enumerable.Range(0, 100).Count(i => throttle.TryTake("bad signature", out _));
        Assert.Equal(3, written);
        Assert.True(throttle.TryTake("another kind", out _));

        time.Ticks += TimeSpan.FromSeconds(10).Ticks;
        Assert.True(throttle.TryTake("bad signature", out var suppressed));
        Assert.Equal(97L, suppressed);
        Assert.False(throttle.TryTake("bad signature", out _));
    }

    private sealed class ManualTime : TimeProvider
    {
        public long Ticks { get; set; } = 1;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Ticks;
    }
}
