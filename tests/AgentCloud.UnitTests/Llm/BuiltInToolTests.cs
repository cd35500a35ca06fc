using System.Text.Json.Nodes;
using AgentCloud.AgentWorker.Llm.Tools;
using AgentCloud.Shared.Llm;
using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.Messaging.Behaviors;
using Npgsql;

namespace AgentCloud.UnitTests.Llm;

public sealed class BuiltInToolTests
{
    [Fact]
    public void TheRegistryFindsEachToolByNameAndNothingUnderAnUnknownName()
    {
        var registry = new BuiltInToolRegistry([.. BuiltInTools.All.Select(name => new NamedTool(name))]);

        Assert.All(BuiltInTools.All, name => Assert.Equal(name, registry.Find(name)?.Name));
        Assert.Null(registry.Find("launch_rockets"));
    }

    [Fact]
    public void ARegistryWithoutAnImplementationOfAToolTheApiAcceptsRefusesToStart()
    {
        var exception = Assert.Throws<InvalidOperationException>(() =>
            new BuiltInToolRegistry([.. BuiltInTools.All.Where(name => name != BuiltInTools.Forget).Select(name => new NamedTool(name))]));

        Assert.Contains(BuiltInTools.Forget, exception.Message);
    }

    [Fact]
    public void TheModelSeesEachToolsNameDescriptionAndSchema()
    {
        var registry = new BuiltInToolRegistry([.. BuiltInTools.All.Select(name => new NamedTool(name))]);

        var declaration = registry.Declaration(BuiltInTools.Remember);

        Assert.Equal(BuiltInTools.Remember, declaration.Name);
        Assert.Equal("about remember", declaration.Description);
        Assert.Equal("object", declaration.JsonSchema.GetProperty("type").GetString());
    }

    [Theory]
    [InlineData("""{"key": "color"}""", "Missing argument 'value'.")]
    [InlineData("""{"key": 7, "value": "blue"}""", "Argument 'key' must be a string.")]
    [InlineData("""{"key": "", "value": "blue"}""", "Argument 'key' must be 1 to 200 characters, without U+0000.")]
    public async Task RememberRefusesBadArgumentsBeforeItTouchesTheDatabase(string arguments, string error)
    {
        // No connection at all: a refusal must come before any statement.
        var applied = await new RememberTool().ApplyAsync(Call(arguments), null!, null!, CancellationToken.None);

        Assert.Equal(error, applied.Error);
    }

    [Fact]
    public async Task ForgetRefusesAMissingKeyBeforeItTouchesTheDatabase()
    {
        var applied = await new ForgetTool().ApplyAsync(Call("{}"), null!, null!, CancellationToken.None);

        Assert.Equal("Missing argument 'key'.", applied.Error);
    }

    private static ToolInvocation Call(string arguments) =>
        new(new BehaviorContext(1, "agent1q", [], new MessageRow()), JsonNode.Parse(arguments)!.AsObject(), [], DateTime.UtcNow,
            MemoryScope.Owner);

    /// <summary>A tool with nothing but a name: the registry's rules are about names.</summary>
    private sealed class NamedTool(string name) : IBuiltInTool
    {
        public string Name => name;

        public string Description => $"about {name}";

        public string Schema => """{"type":"object","properties":{}}""";

        public Task<ToolApplied> ApplyAsync(ToolInvocation call, NpgsqlConnection connection, NpgsqlTransaction transaction,
            CancellationToken cancellationToken) => Task.FromResult(ToolApplied.Nothing);

        public Task<ToolOutcome> ResultAsync(ToolInvocation call, CancellationToken cancellationToken) =>
            Task.FromResult(new ToolOutcome(""));
    }
}
