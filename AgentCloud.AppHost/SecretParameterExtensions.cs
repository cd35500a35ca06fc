namespace AgentCloud.AppHost;

public static class SecretParameterExtensions
{
    /// <summary>
    /// A secret parameter that takes its value from configuration (<c>Parameters:{name}</c>) and
    /// otherwise gets a random 64-character value, kept in the AppHost's user secrets so it stays
    /// stable between runs (tokens and agent addresses survive a restart).
    /// </summary>
    public static IResourceBuilder<ParameterResource> AddGeneratedSecret(
        this IDistributedApplicationBuilder builder, string name) =>
        builder.AddParameter(
            name,
            new GenerateParameterDefault { MinLength = 64, Special = false },
            secret: true,
            persist: true);
}
