using System.Text.Json.Nodes;
using AgentCloud.Shared.Llm;
using AgentCloud.Shared.Messaging;

namespace AgentCloud.UnitTests.Llm;

/// <summary>Which memory a run may use, by its sender's space and config.outsider_memory (issue 31).</summary>
public sealed class MemoryScopeTests
{
    private const string Peer = "agent1qstrangerpeer";

    [Theory]
    [InlineData(MemoryScope.None)]
    [InlineData(MemoryScope.Own)]
    [InlineData(MemoryScope.ReadOwner)]
    public void TheOwnerAlwaysUsesTheOwnersMemoryWhateverOutsidersMayDo(string mode)
    {
        Assert.Equal(MemoryScope.Owner, MemoryScope.For(SenderSpaces.Owner, mode));
        Assert.True(MemoryScope.Owner.IsOwner);
        Assert.Equal([SenderSpaces.Owner], MemoryScope.Owner.Reads);
    }

    [Fact]
    public void AnOutsiderWritesOnlyItsOwnSpaceAndReadsTheOwnersOnlyWhenTheConfigSaysSo()
    {
        Assert.Null(MemoryScope.For(Peer, MemoryScope.None));

        var own = MemoryScope.For(Peer, MemoryScope.Own)!;
        Assert.False(own.IsOwner);
        Assert.Equal(Peer, own.Writes);
        Assert.Equal([Peer], own.Reads);

        // The owner's values come first: an outsider cannot shadow what the owner stored, even in its own view.
        var readOwner = MemoryScope.For("user:42", MemoryScope.ReadOwner)!;
        Assert.Equal("user:42", readOwner.Writes);
        Assert.Equal([SenderSpaces.Owner, "user:42"], readOwner.Reads);

        // An unknown mode (a config written before validation knew it) gives an outsider nothing.
        Assert.Null(MemoryScope.For(Peer, "shared"));
    }

    [Fact]
    public void OutsiderMemoryIsOwnByDefaultAndOnlyAKnownModeIsAValidConfig()
    {
        Assert.Equal(MemoryScope.Own, MemoryScope.Read([]));
        Assert.Equal(MemoryScope.ReadOwner, MemoryScope.Read(new JsonObject { ["outsider_memory"] = "read_owner" }));
        Assert.Equal(MemoryScope.ReadOwner, LlmAgentConfig.Read(new JsonObject { ["outsider_memory"] = "read_owner" }).OutsiderMemory);

        Assert.All(MemoryScope.Modes, mode => Assert.Empty(MemoryScope.Problems(new JsonObject { ["outsider_memory"] = mode })));
        foreach (var bad in new JsonNode[] { "write_owner", "", 1, true, new JsonArray("own") })
        {
            var problem = Assert.Single(MemoryScope.Problems(new JsonObject { ["outsider_memory"] = bad.DeepClone() }));
            Assert.Equal("config.outsider_memory must be one of: none, own, read_owner.", problem);
        }
    }
}
