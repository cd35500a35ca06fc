using System.ComponentModel;
using System.Globalization;
using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentCloud.Api.Features.Doors;
using AgentCloud.Api.Features.Logs;
using AgentCloud.Api.Features.Messages;
using AgentCloud.Shared.Quotas;
using AgentCloud.Api.Infrastructure;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace AgentCloud.Api.Features.Mcp;

/// <summary>
/// The MCP tools: a user's fleet of agents as tools of the MCP host. Every tool acts as the caller (the
/// bearer token of the /mcp request); an agent that is not the caller's is "not found", as in the API.
/// Each returns a typed result, so the SDK lists its output schema and answers with structured content
/// (2026-07-28 sees the natural schema; older revisions get non-object results wrapped as {"result": …}).
/// </summary>
[McpServerToolType]
public sealed class AgentTools(Conversations conversations, MessageStore messages, MessageWaiter waiter, LogStore logs,
    IHttpContextAccessor http)
{
    public const int MaxWaitSeconds = 30;

    /// <summary>
    /// The tools' JSON: the MCP SDK's (its type resolvers), with the API's snake_case names and its nulls
    /// written, since the output schemas list every property as required (null where it may be).
    /// </summary>
    public static readonly JsonSerializerOptions SerializerOptions = new(McpJsonUtilities.DefaultOptions)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.Never,
    };

    [McpServerTool(Name = "list_agents", ReadOnly = true, UseStructuredContent = true),
     Description("Lists your AgentCloud agents: id, name, behaviour, uAgents address.")]
    public async Task<IReadOnlyList<AgentSummary>> ListAgentsAsync(CancellationToken cancellationToken)
    {
        RequireScope(ApiScopes.AgentsRead);
        var agents = await conversations.AgentsAsync(UserId(), cancellationToken);
        return [.. agents.Where(agent => Caller().MayUseAgent(agent.Id))
            .Select(agent => new AgentSummary(agent.Id, agent.Name, agent.Behavior, agent.Address))];
    }

    [McpServerTool(Name = "send_message", UseStructuredContent = true),
     Description("Sends a text message to one of your agents and waits for its answer (up to wait_seconds, at most 30). Returns the " +
        "answer, or the message id and status to poll with get_message if it is not done yet. Give the same session to continue a " +
        "conversation.")]
    public async Task<SendResult> SendMessageAsync(
        [Description("The agent's id (see list_agents).")] int agent_id,
        [Description("What to say to the agent.")] string text,
        [Description("A conversation id (UUID) from an earlier answer; leave out to start a new one.")] string? session = null,
        [Description("Seconds to wait for the answer, 0 to 30 (default 20).")] int wait_seconds = 20,
        CancellationToken cancellationToken = default)
    {
        RequireScope(ApiScopes.MessagesSend);
        if (!Caller().MayUseAgent(agent_id))
        {
            throw AgentNotFound(agent_id);
        }

        if (wait_seconds is < 0 or > MaxWaitSeconds)
        {
            throw new McpException($"wait_seconds must be from 0 to {MaxWaitSeconds}.");
        }

        var payload = DoorText.Payload(text)
            ?? throw new McpException($"text is too long (at most {MessageRules.MaxPayloadBytes} bytes) or holds U+0000.");
        Guid conversation;
        if (string.IsNullOrEmpty(session))
        {
            conversation = Guid.NewGuid();
        }
        else if (!Guid.TryParse(session, out conversation))
        {
            throw new McpException("session must be a UUID.");
        }

        Shared.Messaging.MessageRow message;
        try
        {
            message = (await messages.SendToAgentAsync(UserId(), agent_id, payload, conversation, MessageRules.CurrentTraceparent(),
                idempotencyKey: null, cancellationToken)).Message
                ?? throw AgentNotFound(agent_id);
        }
        catch (QuotaExceededException quota)
        {
            // A tool error the model can read, not a failed request.
            throw new McpException(quota.Message);
        }

        message = await waiter.WaitUntilFinishedAsync(message, TimeSpan.FromSeconds(wait_seconds), cancellationToken);
        return new SendResult(message.Id, message.Session, message.Status, message.Reply is null ? null : DoorText.Of(message.Reply),
            message.Error);
    }

    [McpServerTool(Name = "get_message", ReadOnly = true, UseStructuredContent = true),
     Description("One message of one of your agents: status, payload, reply.")]
    public async Task<MessageResponse> GetMessageAsync(
        [Description("The agent's id.")] int agent_id,
        [Description("The message id (send_message returns it).")] string message_id,
        CancellationToken cancellationToken = default)
    {
        await RequireAgentAsync(agent_id, cancellationToken);
        var message = Guid.TryParse(message_id, out var id) ? await messages.FindAsync(agent_id, id, cancellationToken) : null;
        return message is null ? throw new McpException($"Message {message_id} not found.") : MessageResponse.From(message);
    }

    [McpServerTool(Name = "get_conversation", ReadOnly = true, UseStructuredContent = true),
     Description("The messages of one conversation (session) with one of your agents, oldest first, each with its answer.")]
    public async Task<IReadOnlyList<MessageResponse>> GetConversationAsync(
        [Description("The agent's id.")] int agent_id,
        [Description("The session (UUID).")] string session,
        [Description("At most this many of the newest messages (1 to 200, default 50).")] int limit = 50,
        CancellationToken cancellationToken = default)
    {
        if (!Guid.TryParse(session, out var conversation))
        {
            throw new McpException("session must be a UUID.");
        }

        if (limit is < 1 or > 200)
        {
            throw new McpException("limit must be from 1 to 200.");
        }

        await RequireAgentAsync(agent_id, cancellationToken);
        var rows = await conversations.SessionAsync(agent_id, conversation, limit, cancellationToken);
        return [.. rows.Select(MessageResponse.From)];
    }

    [McpServerTool(Name = "read_logs", ReadOnly = true, UseStructuredContent = true),
     Description("The newest lines of one of your agents' log, oldest first.")]
    public async Task<IReadOnlyList<LogLine>> ReadLogsAsync(
        [Description("The agent's id.")] int agent_id,
        [Description("How many lines (1 to 500, default 50).")] int limit = 50,
        CancellationToken cancellationToken = default)
    {
        if (limit is < 1 or > 500)
        {
            throw new McpException("limit must be from 1 to 500.");
        }

        await RequireAgentAsync(agent_id, cancellationToken);
        var (lines, _) = await logs.ReadTailAsync(agent_id, limit, cancellationToken);
        return [.. lines.Select(line => new LogLine(line.Timestamp.AsUtc(), line.LogLevel, line.Message))];
    }

    /// <summary>The log as text, a line each: time, level, message.</summary>
    public static async Task<string> RecentLogAsync(LogStore logs, int agentId, int count, CancellationToken cancellationToken)
    {
        var (lines, _) = await logs.ReadTailAsync(agentId, count, cancellationToken);
        return string.Join("\n", lines.Select(line =>
            $"{line.Timestamp.AsUtc().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)} {line.LogLevel} " +
            $"{line.Message}"));
    }

    /// <summary>For the reading tools: the agents:read scope, and an agent of the caller this credential may use.</summary>
    private async Task RequireAgentAsync(int agentId, CancellationToken cancellationToken)
    {
        RequireScope(ApiScopes.AgentsRead);
        if (!Caller().MayUseAgent(agentId) || await conversations.AgentAsync(UserId(), agentId, cancellationToken) is null)
        {
            throw AgentNotFound(agentId);
        }
    }

    private static McpException AgentNotFound(int agentId) => new($"Agent {agentId} not found.");

    private ClaimsPrincipal Caller() => http.HttpContext?.User ?? new ClaimsPrincipal();

    private int UserId() => Caller().UserId();

    /// <summary>/mcp admits any credential; each tool asks for the scope of what it does (an API key may lack it).</summary>
    private void RequireScope(string scope)
    {
        if (!Caller().HasScope(scope))
        {
            throw new McpException($"This API key lacks the scope '{scope}'.");
        }
    }
}

public sealed record AgentSummary(int Id, string Name, string Behavior, string? Address);

/// <summary>send_message's answer: the message, its status, and the agent's answer as text once it is done.</summary>
public sealed record SendResult(Guid MessageId, Guid Session, string Status, string? Answer, string? Error);

public sealed record LogLine(DateTime Timestamp, string? Level, string? Message);

/// <summary>Each agent's recent log as an MCP resource: listed per caller, read by URI.</summary>
public static class AgentLogResources
{
    public const string UriPrefix = "agentcloud://agents/";
    public const string UriSuffix = "/log";
    private const int Lines = 200;

    public static async ValueTask<ListResourcesResult> ListAsync(RequestContext<ListResourcesRequestParams> context,
        CancellationToken cancellationToken)
    {
        var services = context.Services!;
        var user = context.User ?? services.GetRequiredService<IHttpContextAccessor>().HttpContext!.User;
        var agents = user.HasScope(ApiScopes.AgentsRead)
            ? await services.GetRequiredService<Conversations>().AgentsAsync(user.UserId(), cancellationToken)
            : [];
        return new ListResourcesResult
        {
            Resources = [.. agents.Where(agent => user.MayUseAgent(agent.Id)).Select(agent => new Resource
            {
                Uri = Uri(agent.Id),
                Name = $"{agent.Name} log",
                Description = $"The newest {Lines} lines of agent {agent.Id} ({agent.Name})'s log.",
                MimeType = "text/plain",
            })],
        };
    }

    public static async ValueTask<ReadResourceResult> ReadAsync(RequestContext<ReadResourceRequestParams> context,
        CancellationToken cancellationToken)
    {
        var services = context.Services!;
        var user = context.User ?? services.GetRequiredService<IHttpContextAccessor>().HttpContext!.User;
        var uri = context.Params?.Uri ?? "";
        var agentId = uri.StartsWith(UriPrefix, StringComparison.Ordinal) && uri.EndsWith(UriSuffix, StringComparison.Ordinal)
            && int.TryParse(uri.AsSpan(UriPrefix.Length, uri.Length - UriPrefix.Length - UriSuffix.Length), NumberStyles.None,
                CultureInfo.InvariantCulture, out var id) ? id : 0;
        if (agentId == 0 || !user.HasScope(ApiScopes.AgentsRead) || !user.MayUseAgent(agentId)
            || await services.GetRequiredService<Conversations>().AgentAsync(user.UserId(), agentId, cancellationToken) is null)
        {
            // MCP's own code for it (-32002), so a client can tell a missing resource from a failed read.
            throw new McpProtocolException($"Resource {uri} not found.", McpErrorCode.ResourceNotFound);
        }

        var text = await AgentTools.RecentLogAsync(services.GetRequiredService<LogStore>(), agentId, Lines, cancellationToken);
        return new ReadResourceResult { Contents = [new TextResourceContents { Uri = uri, MimeType = "text/plain", Text = text }] };
    }

    public static string Uri(int agentId) => $"{UriPrefix}{agentId.ToString(CultureInfo.InvariantCulture)}{UriSuffix}";
}
