using Microsoft.Extensions.Configuration;

namespace AgentCloud.AppHost;

public static class UAgentsSettingsExtensions
{
    /// <summary>
    /// The AppHost's <c>UAgents</c> section (endpoint map, its watched file, the Almanac), handed to the project as
    /// it is: the API and the worker read the same section, so one setting here configures both.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithUAgentsSettings(this IResourceBuilder<ProjectResource> project)
    {
        foreach (var (key, value) in project.ApplicationBuilder.Configuration.GetSection("UAgents").AsEnumerable())
        {
            if (!string.IsNullOrEmpty(value))
            {
                project.WithEnvironment(key.Replace(":", "__", StringComparison.Ordinal), value);
            }
        }

        return project;
    }
}
