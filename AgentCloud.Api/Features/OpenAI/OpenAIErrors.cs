using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Authentication;

namespace AgentCloud.Api.Features.OpenAI;

/// <summary>Errors as OpenAI's API writes them: <c>{"error": {message, type, param, code}}</c>.</summary>
public static class OpenAIErrors
{
    public static async Task WriteAsync(HttpContext context, int status, string message, string type, string? param = null, string? code = null)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        var body = new JsonObject
        {
            ["error"] = new JsonObject { ["message"] = message, ["type"] = type, ["param"] = param, ["code"] = code },
        };
        await context.Response.WriteAsync(body.ToJsonString(), context.RequestAborted);
    }

    /// <summary>The caller's user id from the bearer token; null after writing OpenAI's 401.</summary>
    public static async Task<int?> AuthenticateAsync(HttpContext context)
    {
        var result = await context.AuthenticateAsync();
        if (result.Succeeded && result.Principal.FindFirst("sub")?.Value is { } subject
            && int.TryParse(subject, NumberStyles.None, CultureInfo.InvariantCulture, out var userId))
        {
            context.User = result.Principal;
            return userId;
        }

        context.Response.Headers.WWWAuthenticate = "Bearer";
        await WriteAsync(context, StatusCodes.Status401Unauthorized,
            "Incorrect or missing API key: send an AgentCloud access token as the bearer token (api_key).", "invalid_request_error",
            code: "invalid_api_key");
        return null;
    }

    /// <summary>agent-{id} names an agent.</summary>
    public static int? AgentId(string? model) =>
        model is { Length: > 6 } && model.StartsWith("agent-", StringComparison.Ordinal)
        && int.TryParse(model.AsSpan(6), NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id > 0 ? id : null;

    public static string Model(int agentId) => $"agent-{agentId.ToString(CultureInfo.InvariantCulture)}";
}
