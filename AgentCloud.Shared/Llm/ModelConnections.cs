using System.Data.Common;
using Microsoft.Extensions.Configuration;

namespace AgentCloud.Shared.Llm;

/// <summary>
/// One operator-configured model endpoint, from an Aspire-style connection string
/// <c>Endpoint=https://…/v1;Key=…;Model=…[;Models=a,b]</c>. <see cref="ToString"/> never shows the key.
/// </summary>
public sealed class ModelConnection
{
    public required string Name { get; init; }

    /// <summary>The OpenAI-compatible base URL (the part before <c>/chat/completions</c>).</summary>
    public required Uri Endpoint { get; init; }

    /// <summary>Null for servers that take none (a local llama.cpp, vLLM, Ollama).</summary>
    public string? Key { get; init; }

    /// <summary>The model an agent gets when its config names none.</summary>
    public required string DefaultModel { get; init; }

    /// <summary>Every model this connection offers: the default first, then <c>Models=</c>.</summary>
    public required IReadOnlyList<string> Models { get; init; }

    public override string ToString() => $"{Name} ({Endpoint}, models {string.Join(", ", Models)})";
}

/// <summary>
/// The model connections of this deployment: <c>ConnectionStrings:llm</c> and every
/// <c>ConnectionStrings:llm-{name}</c>. Both the API (to validate agent configs) and the worker read it.
/// </summary>
public sealed class ModelCatalog
{
    public const string DefaultConnectionName = "llm";
    public const string NamedPrefix = "llm-";

    public ModelCatalog(IConfiguration configuration)
    {
        var section = configuration.GetSection("ConnectionStrings");
        var names = section.GetChildren().Select(c => c.Key)
            .Where(name => name == DefaultConnectionName || name.StartsWith(NamedPrefix, StringComparison.Ordinal))
            .OrderBy(name => name == DefaultConnectionName ? 0 : 1).ThenBy(name => name, StringComparer.Ordinal);
        var connections = new List<ModelConnection>();
        var problems = new List<string>();
        foreach (var name in names)
        {
            var value = section[name];
            if (string.IsNullOrWhiteSpace(value))
            {
                continue;
            }

            if (TryParse(name, value, out var connection, out var problem))
            {
                connections.Add(connection);
            }
            else
            {
                problems.Add(problem);
            }
        }

        Connections = connections;
        Problems = problems;
    }

    public IReadOnlyList<ModelConnection> Connections { get; }

    /// <summary>Connection strings that could not be read (never quoting them: they hold keys).</summary>
    public IReadOnlyList<string> Problems { get; }

    public bool IsEmpty => Connections.Count == 0;

    public IEnumerable<string> OfferedModels => Connections.SelectMany(c => c.Models).Distinct(StringComparer.Ordinal);

    /// <summary>The connection and model an agent's <c>model</c> (or null: the default) selects; null when not offered.</summary>
    public (ModelConnection Connection, string Model)? Resolve(string? model)
    {
        if (Connections.Count == 0)
        {
            return null;
        }

        if (model is null)
        {
            return (Connections[0], Connections[0].DefaultModel);
        }

        var connection = Connections.FirstOrDefault(c => c.Models.Contains(model, StringComparer.Ordinal));
        return connection is null ? null : (connection, model);
    }

    public static bool TryParse(string name, string connectionString, out ModelConnection connection, out string problem)
    {
        connection = null!;
        var builder = new DbConnectionStringBuilder();
        try
        {
            builder.ConnectionString = connectionString;
        }
        catch (ArgumentException)
        {
            problem = $"ConnectionStrings:{name} is not a connection string (Endpoint=…;Key=…;Model=…).";
            return false;
        }

        string? Get(string key) => builder.TryGetValue(key, out var value) && value?.ToString() is { Length: > 0 } text ? text.Trim()
            : null;

        if (!Uri.TryCreate(Get("Endpoint"), UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
        {
            problem = $"ConnectionStrings:{name} needs Endpoint=, an http(s) URL such as https://api.openai.com/v1.";
            return false;
        }

        var model = Get("Model") ?? Get("Deployment");
        if (model is null)
        {
            problem = $"ConnectionStrings:{name} needs Model=, the model (or Azure deployment) agents get by default.";
            return false;
        }

        var more = (Get("Models") ?? "").Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        connection = new ModelConnection
        {
            Name = name,
            Endpoint = endpoint,
            Key = Get("Key") ?? Get("AccessKey"),
            DefaultModel = model,
            Models = [model, .. more.Where(m => m != model).Distinct(StringComparer.Ordinal)],
        };
        problem = "";
        return true;
    }
}
