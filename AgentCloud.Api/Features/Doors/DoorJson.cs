using System.Text.Json;
using System.Text.Json.Nodes;

namespace AgentCloud.Api.Features.Doors;

/// <summary>
/// How the doors that read their body as JSON nodes (A2A, OpenAI-compatible chat) parse it. A member given
/// twice is a parse error here, as FastEndpoints' routes refuse it (<c>AllowDuplicateProperties = false</c>):
/// left to the node, it throws an ArgumentException when the object is first read, long after the parse.
/// </summary>
public static class DoorJson
{
    private static readonly JsonDocumentOptions Strict = new() { AllowDuplicateProperties = false };

    public static JsonNode? Parse(string json) => JsonNode.Parse(json, documentOptions: Strict);

    public static Task<JsonNode?> ParseAsync(Stream body, CancellationToken cancellationToken) =>
        JsonNode.ParseAsync(body, documentOptions: Strict, cancellationToken: cancellationToken);
}
