namespace AgentCloud.AppHost;

public static class SecretParameterExtensions
{
    /// <summary>
    /// A secret parameter that takes its value from configuration (<c>Parameters:{name}</c>). When run
    /// locally it otherwise gets a random 64-character value, kept in the AppHost's user secrets so it
    /// stays stable between runs (tokens and agent addresses survive a restart). When published it has no
    /// default, so a deployment tool (azd) asks for it instead of deploying a value nobody chose.
    /// </summary>
    public static IResourceBuilder<ParameterResource> AddGeneratedSecret(
        this IDistributedApplicationBuilder builder, string name, int minLength = 64) =>
        builder.ExecutionContext.IsPublishMode
            ? builder.AddParameter(name, secret: true)
            : builder.AddParameter(
                name,
                new GenerateParameterDefault { MinLength = minLength, Special = false },
                secret: true,
                persist: true);
}
