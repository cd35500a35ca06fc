using Aspire.Hosting.Publishing;

namespace AgentCloud.AppHost;

public static class ManifestExtensions
{
    /// <summary>
    /// Writes the project as Aspire's manifest writer does, plus its replica count, which the stock
    /// <c>project.v0</c> entry leaves out (so a deployment could not know the worker runs twice).
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithReplicasInManifest(this IResourceBuilder<ProjectResource> builder) =>
        builder.WithManifestPublishingCallback(context => WriteProjectAsync(context, builder.Resource));

    private static async Task WriteProjectAsync(ManifestPublishingContext context, ProjectResource project)
    {
        var replicas = project.Annotations.OfType<ReplicaAnnotation>().LastOrDefault()?.Replicas ?? 1;
        context.Writer.WriteString("type", "project.v0");
        context.Writer.WriteString("path", context.GetManifestRelativePath(project.GetProjectMetadata().ProjectPath));
        await context.WriteEnvironmentVariablesAsync(project);
        await context.WriteCommandLineArgumentsAsync(project);
        context.WriteBindings(project);
        context.Writer.WriteNumber("replicas", replicas);
    }
}
