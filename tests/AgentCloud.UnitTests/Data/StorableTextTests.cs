using System.Text.Json;
using System.Text.Json.Nodes;
using AgentCloud.Shared.Data;

namespace AgentCloud.UnitTests.Data;

public class StorableTextTests
{
    [Theory]
    [InlineData("null")]
    [InlineData("1")]
    [InlineData("\"plain\"")]
    [InlineData("\"\\u0001\\u001f\\u007f and a tab\\t\"")]
    [InlineData("\"a literal backslash-u: \\\\u0000\"")]
    [InlineData("{\"\\u0001\": [\"\\ud83e\\udd16\", {\"b\": \"\\\\u0000\"}]}")]
    public void JsonWithoutNulIsStorable(string json)
    {
        using var document = JsonDocument.Parse(json);

        Assert.True(StorableText.IsStorable(document.RootElement));
        Assert.True(StorableText.IsStorable(JsonNode.Parse(json)));
    }

    [Theory]
    [InlineData("\"\\u0000\"")]
    [InlineData("\"a\\u0000b\"")]
    [InlineData("[1, [2, [\"\\u0000\"]]]")]
    [InlineData("{\"a\": {\"b\": \"x\\u0000\"}}")]
    [InlineData("{\"a\\u0000\": 1}")]
    [InlineData("{\"ok\": 1, \"nested\": {\"\\u0000\": null}}")]
    public void JsonWithNulAnywhereIsNot(string json)
    {
        using var document = JsonDocument.Parse(json);

        Assert.False(StorableText.IsStorable(document.RootElement));
        Assert.False(StorableText.IsStorable(JsonNode.Parse(json)));
    }

    [Fact]
    public void TextIsStorableUnlessItHoldsNul()
    {
        Assert.True(StorableText.IsStorable((string?)null));
        Assert.True(StorableText.IsStorable("\u0001 ok \\u0000"));
        Assert.False(StorableText.IsStorable("a\0b"));
    }
}
