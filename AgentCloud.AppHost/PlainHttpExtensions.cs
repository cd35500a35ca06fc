namespace AgentCloud.AppHost;

public static class PlainHttpExtensions
{
    /// <summary>
    /// Opts every resource out of the HTTPS server certificate that Aspire would otherwise configure for
    /// it. The orchestrator warns about an untrusted development certificate, in the log and as a banner
    /// on every dashboard page, only when some resource could use one.
    /// </summary>
    public static IDistributedApplicationBuilder WithoutDevelopmentCertificates(this IDistributedApplicationBuilder builder)
    {
#pragma warning disable ASPIRECERTIFICATES001 // the certificate configuration API is marked experimental
        foreach (var resource in builder.Resources.Where(r => r.Annotations.OfType<HttpsCertificateConfigurationCallbackAnnotation>().Any())
            .ToList())
        {
            // What WithoutHttpsCertificate() records, for resources of any type.
            resource.Annotations.Add(new HttpsCertificateAnnotation { Certificate = null, UseDeveloperCertificate = false });
        }
#pragma warning restore ASPIRECERTIFICATES001
        return builder;
    }
}
