using Microsoft.Extensions.Configuration;

namespace AgentCloud.AppHost;

public static class UAgentsSettingsExtensions
{
    /// <summary>
    /// The AppHost's <c>UAgents</c> section (endpoint map, its watched file, the Almanac), handed to the project as
    /// it is: the API and the worker read the same section, so one setting here configures both.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithUAgentsSettings(this IResourceBuilder<ProjectResource> project) =>
        project.WithSettingsSection("UAgents");

    /// <summary>
    /// The AppHost's <c>Quotas</c> section, for the API (which refuses a request over one) and the worker (whose schedules send
    /// the owner's messages under the same quotas, and whose runs spend the owner's tokens).
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithQuotaSettings(this IResourceBuilder<ProjectResource> project) =>
        project.WithSettingsSection("Quotas");

    private static IResourceBuilder<ProjectResource> WithSettingsSection(this IResourceBuilder<ProjectResource> project, string section)
    {
        foreach (var (key, value) in project.ApplicationBuilder.Configuration.GetSection(section).AsEnumerable())
        {
            if (!string.IsNullOrEmpty(value))
            {
                project.WithEnvironment(key.Replace(":", "__", StringComparison.Ordinal), value);
            }
        }

        return project;
    }
}
