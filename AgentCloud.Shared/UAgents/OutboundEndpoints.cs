using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace AgentCloud.Shared.UAgents;

/// <summary>
/// Where uAgents addresses are reached (section <c>UAgents</c>, shared by the API and the worker): the static map (the
/// reference's offline mode) from configuration and from a JSON file that is re-read when it changes,
/// and the Almanac API (online mode) when <see cref="AlmanacApiUrl"/> is set.
/// </summary>
public sealed class OutboundEndpointOptions
{
    public const string SectionName = "UAgents";

    /// <summary>The section's first name, still read (the new one wins) so that existing deployments keep working.</summary>
    public const string LegacySectionName = "AgentWorker:Uagents";

    /// <summary>
    /// Where peers reach the agents hosted here: this deployment's public <c>…/submit</c> URL, the
    /// endpoint to give a Python uAgent (or register in the Almanac) for any of our addresses.
    /// </summary>
    public string? PublicUrl { get; set; }

    /// <summary>Address → endpoint URL (e.g. <c>http://host:8000/submit</c>).</summary>
    public Dictionary<string, string> Endpoints { get; set; } = new(StringComparer.Ordinal);

    /// <summary>A JSON file <c>{"agent1…": "http://…/submit"}</c>, watched: edits apply without a restart.</summary>
    public string? EndpointsFile { get; set; }

    /// <summary>Filled from <see cref="EndpointsFile"/>; wins over <see cref="Endpoints"/>.</summary>
    public Dictionary<string, string> FileEndpoints { get; } = new(StringComparer.Ordinal);

    /// <summary>Base URL of the Almanac API, e.g. <c>https://agentverse.ai</c>; unset = offline.</summary>
    public string? AlmanacApiUrl { get; set; }

    public TimeSpan AlmanacTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long an Almanac answer is reused.</summary>
    public TimeSpan AlmanacCacheDuration { get; set; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// The static endpoint map. Rule: an address listed here is always delivered over HTTP to its URL, even
/// when the agent is hosted here (that is how two deployments, or the tests, exercise the real wire).
/// </summary>
public sealed class StaticEndpointMap(IOptionsMonitor<OutboundEndpointOptions> options)
{
    public string? Find(string address)
    {
        var current = options.CurrentValue;
        return current.FileEndpoints.TryGetValue(address, out var fromFile) && !string.IsNullOrWhiteSpace(fromFile) ? fromFile
            : current.Endpoints.TryGetValue(address, out var configured) && !string.IsNullOrWhiteSpace(configured) ? configured
            : null;
    }

    public bool Contains(string address) => Find(address) is not null;

    /// <summary>
    /// Whether any endpoint source could ever name a URL for <paramref name="address"/>: it is in the map, or
    /// an Almanac is configured. When not, a send to it can only fail, so it is refused or dead at once.
    /// </summary>
    public bool CanResolve(string address) =>
        Contains(address) || !string.IsNullOrWhiteSpace(options.CurrentValue.AlmanacApiUrl);
}

public static class OutboundEndpointExtensions
{
    /// <summary>The options of <c>UAgents</c>, the watched endpoints file and <see cref="StaticEndpointMap"/>.</summary>
    public static TBuilder AddStaticEndpointMap<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        var services = builder.Services;
        services.AddOptions<OutboundEndpointOptions>()
            .BindConfiguration(OutboundEndpointOptions.LegacySectionName)
            .BindConfiguration(OutboundEndpointOptions.SectionName);
        var file = builder.Configuration[$"{OutboundEndpointOptions.SectionName}:{nameof(OutboundEndpointOptions.EndpointsFile)}"]
            ?? builder.Configuration[$"{OutboundEndpointOptions.LegacySectionName}:{nameof(OutboundEndpointOptions.EndpointsFile)}"];
        if (!string.IsNullOrWhiteSpace(file))
        {
            var fileConfiguration = LoadWatched(file);
            services.AddSingleton<IOptionsChangeTokenSource<OutboundEndpointOptions>>(
                new ConfigurationChangeTokenSource<OutboundEndpointOptions>(fileConfiguration));
            services.Configure<OutboundEndpointOptions>(options =>
            {
                foreach (var entry in fileConfiguration.GetChildren())
                {
                    if (!string.IsNullOrWhiteSpace(entry.Value))
                    {
                        options.FileEndpoints[entry.Key] = entry.Value;
                    }
                }
            });
        }

        services.AddSingleton<StaticEndpointMap>();
        return builder;
    }

    /// <summary>The file as configuration of its own (its keys are addresses, not sections), reloaded on change.</summary>
    internal static IConfigurationRoot LoadWatched(string file)
    {
        var path = Path.GetFullPath(file);
        var directory = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(directory);
        return new ConfigurationBuilder()
            .Add(new JsonConfigurationSource
            {
                FileProvider = new PhysicalFileProvider(directory),
                Path = Path.GetFileName(path),
                Optional = true,
                ReloadOnChange = true,
                // A half-written or broken file must not crash the process from the reload callback:
                // it reads as empty until it is fixed.
                OnLoadException = context => context.Ignore = true,
            })
            .Build();
    }
}
