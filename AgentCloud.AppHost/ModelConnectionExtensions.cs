using Microsoft.Extensions.Configuration;

namespace AgentCloud.AppHost;

public static class ModelConnectionExtensions
{
    /// <summary>
    /// The operator's model connections, <c>ConnectionStrings:llm</c> and <c>ConnectionStrings:llm-{name}</c>
    /// (user secrets, environment or command line), as secret connection strings for the API (which validates
    /// agent configs against them) and the worker (which calls the models). Only those set are added: with none,
    /// nothing waits for a value and the system runs as without language models. The MCP servers of
    /// <c>AgentCloud:Llm:McpServers</c> are passed on the same way.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithModelConnections(this IResourceBuilder<ProjectResource> project)
    {
        var configuration = project.ApplicationBuilder.Configuration;
        foreach (var child in configuration.GetSection("ConnectionStrings").GetChildren())
        {
            if ((child.Key == "llm" || child.Key.StartsWith("llm-", StringComparison.Ordinal)) && !string.IsNullOrWhiteSpace(child.Value))
            {
                var name = child.Key;
                var connection = project.ApplicationBuilder.Resources.OfType<IResourceWithConnectionString>()
                    .FirstOrDefault(r => r.Name == name)
                    ?? project.ApplicationBuilder.AddConnectionString(name).Resource;
                project.WithReference(project.ApplicationBuilder.CreateResourceBuilder(connection));
            }
        }

        foreach (var server in configuration.GetSection("AgentCloud:Llm:McpServers").GetChildren())
        {
            if (server["Url"] is { Length: > 0 } url)
            {
                project.WithEnvironment($"AgentCloud__Llm__McpServers__{server.Key}__Url", url);
            }
        }

        return project;
    }
}
