using System.Text.Json.Nodes;
using AgentCloud.Shared.Llm;
using Microsoft.Extensions.Configuration;

namespace AgentCloud.UnitTests.Llm;

public sealed class ModelCatalogTests
{
    private const string Key = "sk-secret-do-not-show";

    private static ModelCatalog Catalog(params (string Name, string Value)[] connections) =>
        new(Configuration(connections.Select(c => KeyValuePair.Create($"ConnectionStrings:{c.Name}", (string?)c.Value))));

    private static IConfiguration Configuration(IEnumerable<KeyValuePair<string, string?>> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build();

    private static readonly McpServerCatalog NoMcp = new(Configuration([]));

    [Fact]
    public void TheDefaultAndNamedConnectionsAreReadWithTheirModels()
    {
        var catalog = Catalog(
            ("llm", $"Endpoint=https://api.example.test/v1;Key={Key};Model=gpt-small"),
            ("llm-local", "Endpoint=http://127.0.0.1:8080/v1;Model=llama;Models=qwen, mistral"),
            ("agentsdb", "Host=localhost"));

        Assert.Equal(["llm", "llm-local"], catalog.Connections.Select(c => c.Name));
        Assert.Equal(Key, catalog.Connections[0].Key);
        Assert.Null(catalog.Connections[1].Key);
        Assert.Equal(["gpt-small", "llama", "qwen", "mistral"], catalog.OfferedModels);
        Assert.Equal(("llm", "gpt-small"), catalog.Resolve(null) is { } d ? (d.Connection.Name, d.Model) : default);
        Assert.Equal("llm-local", catalog.Resolve("qwen")!.Value.Connection.Name);
        Assert.Null(catalog.Resolve("gpt-9"));
    }

    [Fact]
    public void AConnectionNeverShowsItsKey()
    {
        var catalog = Catalog(("llm", $"Endpoint=https://api.example.test/v1;Key={Key};Model=m"), ("llm-bad", $"Key={Key};Model=m"));

        Assert.DoesNotContain(Key, catalog.Connections[0].ToString());
        Assert.DoesNotContain(Key, Assert.Single(catalog.Problems));
    }

    [Fact]
    public void ConnectionStringsWithoutAnEndpointOrModelAreProblemsNotConnections()
    {
        var catalog = Catalog(("llm", "Model=m"), ("llm-x", "Endpoint=ftp://host/v1;Model=m"), ("llm-y", "Endpoint=https://h/v1"));

        Assert.True(catalog.IsEmpty);
        Assert.Equal(3, catalog.Problems.Count);
    }

    [Fact]
    public void WithNoModelConfiguredAnLlmAgentIsRefusedSayingSo()
    {
        var problems = LlmAgentConfig.Validate(new JsonObject { ["behavior"] = "llm" }, Catalog(), NoMcp);

        Assert.Contains(problems, p => p.Contains("no model is configured"));
    }

    [Fact]
    public void McpToolsAreKnownOnlyForConfiguredServers()
    {
        var mcp = new McpServerCatalog(Configuration([KeyValuePair.Create("AgentCloud:Llm:McpServers:files:Url",
            (string?)"http://127.0.0.1:9/mcp")]));
        var catalog = Catalog(("llm", "Endpoint=http://127.0.0.1:1/v1;Model=m"));

        Assert.Empty(LlmAgentConfig.Validate(new JsonObject { ["tools"] = new JsonArray("files.read", "files.*", "recall") }, catalog,
            mcp));
        Assert.Single(LlmAgentConfig.Validate(new JsonObject { ["tools"] = new JsonArray("web.search") }, catalog, mcp));
        Assert.Single(LlmAgentConfig.Validate(new JsonObject { ["tools"] = new JsonArray("files.bad name") }, catalog, mcp));
    }
}
