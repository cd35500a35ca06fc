using System.Text.Json;

namespace AgentCloud.Web.Api;

/// <summary>An RFC 9457 answer of the API: its status, detail and field errors (field → messages).</summary>
public sealed class ApiProblemException(int status, string? title, string? detail, IReadOnlyDictionary<string, string[]> errors,
    string? traceId)
    : Exception(detail ?? title ?? $"The API answered {status}.")
{
    public int Status { get; } = status;

    public string? Title { get; } = title;

    public string? Detail { get; } = detail;

    public IReadOnlyDictionary<string, string[]> Errors { get; } = errors;

    public string? TraceId { get; } = traceId;

    public bool IsNotFound => Status == StatusCodes.Status404NotFound;

    public static async Task<ApiProblemException> ReadAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var status = (int)response.StatusCode;
        try
        {
            using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
            var root = document.RootElement;
            var errors = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
            if (root.TryGetProperty("errors", out var fields) && fields.ValueKind == JsonValueKind.Object)
            {
                foreach (var field in fields.EnumerateObject())
                {
                    errors[field.Name] = field.Value.ValueKind == JsonValueKind.Array
                        ? [.. field.Value.EnumerateArray().Select(m => m.ToString())]
                        : [field.Value.ToString()];
                }
            }

            return new ApiProblemException(status, Text(root, "title"), Text(root, "detail"), errors, Text(root, "trace_id"));
        }
        catch (JsonException)
        {
            return new ApiProblemException(status, response.ReasonPhrase, null, new Dictionary<string, string[]>(), null);
        }
    }

    private static string? Text(JsonElement root, string name) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString() : null;
}

/// <summary>The API refused the session's token (expired, logged out elsewhere, password changed): log in again.</summary>
public sealed class SessionEndedException() : Exception("The session has ended.");
