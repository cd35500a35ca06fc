using System.Globalization;
using System.Text.Json.Nodes;
using AgentCloud.Shared.Quotas;
using AgentCloud.Api.Infrastructure;
using Microsoft.AspNetCore.Authentication;

namespace AgentCloud.Api.Features.OpenAI;

/// <summary>Errors as OpenAI's API writes them: <c>{"error": {message, type, param, code}}</c>.</summary>
public static class OpenAIErrors
{
    public static async Task WriteAsync(HttpContext context, int status, string message, string type, string? param = null,
        string? code = null)
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

    /// <summary>
    /// Whether the caller's credential holds <paramref name="scope"/>; false after writing OpenAI's 403
    /// (this door authenticates by hand, so no route policy checks scopes for it).
    /// </summary>
    public static async Task<bool> RequireScopeAsync(HttpContext context, string scope)
    {
        if (context.User.HasScope(scope))
        {
            return true;
        }

        await WriteAsync(context, StatusCodes.Status403Forbidden, $"This API key lacks the scope '{scope}'.", "permission_error",
            code: "insufficient_permissions");
        return false;
    }

    /// <summary>A quota as OpenAI answers a spent one: 429 (403 for a standing limit) with Retry-After, never problem details.</summary>
    public static Task WriteQuotaAsync(HttpContext context, QuotaExceededException quota)
    {
        if (quota.RetryAfter is { } retry)
        {
            context.Response.Headers.RetryAfter = Math.Ceiling(retry.TotalSeconds).ToString(CultureInfo.InvariantCulture);
        }

        return WriteAsync(context, quota.Status, quota.Message, "insufficient_quota", code: quota.Quota);
    }

    /// <summary>agent-{id} names an agent.</summary>
    public static int? AgentId(string? model) =>
        model is { Length: > 6 } && model.StartsWith("agent-", StringComparison.Ordinal)
        && int.TryParse(model.AsSpan(6), NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id > 0 ? id : null;

    public static string Model(int agentId) => $"agent-{agentId.ToString(CultureInfo.InvariantCulture)}";
}
