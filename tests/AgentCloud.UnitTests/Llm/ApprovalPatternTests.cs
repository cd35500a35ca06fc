using System.Text.Json.Nodes;
using AgentCloud.Shared.Llm;
using Microsoft.Extensions.Configuration;

namespace AgentCloud.UnitTests.Llm;

public sealed class ApprovalPatternTests
{
    [Theory]
    [InlineData("send_message", "send_message", true)]
    [InlineData("send_message", "send_messages", false)]
    [InlineData("send_message", "Send_Message", false)]
    [InlineData("files.*", "files.delete", true)]
    [InlineData("files.*", "files.", false)]
    [InlineData("files.*", "filesystem.delete", false)]
    [InlineData("files.*", "files", false)]
    [InlineData("files.delete", "files.delete", true)]
    [InlineData("files.delete", "files.read", false)]
    [InlineData("*", "remember", true)]
    [InlineData("*", "files.read", true)]
    [InlineData(".*", "x", false)]
    public void APatternMatchesItsToolItsServersToolsOrEverything(string pattern, string tool, bool matches) =>
        Assert.Equal(matches, ApprovalPatterns.Matches(pattern, tool));

    [Fact]
    public void TheConfigNamesWhichCallsWaitAndForHowLong()
    {
        var config = LlmAgentConfig.Read(new JsonObject { ["approve"] = new JsonArray("send_message", "files.*"),
            ["approval_timeout_seconds"] = 60 });

        Assert.True(config.NeedsApproval("send_message"));
        Assert.True(config.NeedsApproval("files.write"));
        Assert.False(config.NeedsApproval("recall"));
        Assert.Equal(60, config.ApprovalTimeoutSeconds);
        Assert.False(LlmAgentConfig.Read([]).NeedsApproval("send_message"));
        Assert.Equal(LlmAgentConfig.DefaultApprovalTimeoutSeconds, LlmAgentConfig.Read([]).ApprovalTimeoutSeconds);
    }

    [Fact]
    public void TheConfigCheckNamesEachBadApproveEntryAndABadTimeout()
    {
        var models = new ModelCatalog(Configuration([KeyValuePair.Create("ConnectionStrings:llm",
            (string?)"Endpoint=http://127.0.0.1:9/v1;Key=k;Model=m")]));
        var mcp = new McpServerCatalog(Configuration([KeyValuePair.Create("AgentCloud:Llm:McpServers:files:Url",
            (string?)"http://127.0.0.1:9/mcp")]));

        Assert.Empty(LlmAgentConfig.Validate(new JsonObject { ["approve"] = new JsonArray("send_message", "files.*", "files.delete",
            "*") }, models, mcp));
        Assert.Contains("config.approve: 'web.*'",
            Assert.Single(LlmAgentConfig.Validate(new JsonObject { ["approve"] = new JsonArray("web.*") }, models, mcp)));
        Assert.Single(LlmAgentConfig.Validate(new JsonObject { ["approve"] = "send_message" }, models, mcp));
        Assert.Single(LlmAgentConfig.Validate(new JsonObject { ["approve"] = new JsonArray("recall", "recall") }, models, mcp));
        Assert.Single(LlmAgentConfig.Validate(new JsonObject { ["approve"] = new JsonArray(1) }, models, mcp));
        foreach (var seconds in new JsonNode[] { 0, LlmAgentConfig.MaxApprovalTimeoutSeconds + 1, 1.5, "60" })
        {
            Assert.Contains("config.approval_timeout_seconds",
                Assert.Single(LlmAgentConfig.Validate(new JsonObject { ["approval_timeout_seconds"] = seconds }, models, mcp)));
        }
    }

    private static IConfiguration Configuration(IEnumerable<KeyValuePair<string, string?>> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build();
}
