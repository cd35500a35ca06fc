using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AgentCloud.Web.Api;

/// <summary>
/// The public API over HTTP, as the signed-in person: everything the console shows, a curl user can do too.
/// A 401 is <see cref="SessionEndedException"/>, any other refusal <see cref="ApiProblemException"/>.
/// </summary>
public sealed class AgentCloudApi(HttpClient http, SessionToken session, IHttpContextAccessor context)
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    public Task<UserInfo> SignupAsync(string username, string email, string password, CancellationToken ct) =>
        SendAsync<UserInfo>(HttpMethod.Post, "/signup", new { username, email, password }, ct, anonymous: true);

    public Task<TokenInfo> LoginAsync(string username, string password, CancellationToken ct) =>
        SendAsync<TokenInfo>(HttpMethod.Post, "/login", new { username, password }, ct, anonymous: true);

    public Task<UserInfo> MeAsync(CancellationToken ct) => SendAsync<UserInfo>(HttpMethod.Get, "/users/me", null, ct);

    public async Task LogoutAsync(CancellationToken ct)
    {
        try
        {
            await SendAsync(HttpMethod.Post, "/logout", null, ct);
        }
        catch (SessionEndedException)
        {
            // Already over: nothing to end.
        }
    }

    public Task<Page<AgentInfo>> AgentsAsync(string? cursor, CancellationToken ct) =>
        SendAsync<Page<AgentInfo>>(HttpMethod.Get, "/agents?limit=100" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor)),
            null, ct);

    public Task<AgentInfo> AgentAsync(int agentId, CancellationToken ct) =>
        SendAsync<AgentInfo>(HttpMethod.Get, $"/agents/{agentId}", null, ct);

    public Task<AgentInfo> CreateAgentAsync(string name, JsonObject config, CancellationToken ct) =>
        SendAsync<AgentInfo>(HttpMethod.Post, "/agents", new { name, config }, ct);

    public Task<AgentInfo> UpdateAgentAsync(int agentId, string name, JsonObject config, CancellationToken ct) =>
        SendAsync<AgentInfo>(HttpMethod.Put, $"/agents/{agentId}", new { name, config }, ct);

    public Task DeleteAgentAsync(int agentId, CancellationToken ct) => SendAsync(HttpMethod.Delete, $"/agents/{agentId}", null, ct);

    /// <summary>Messages of the agent in <paramref name="status"/>, up to 100 (the API's page).</summary>
    public Task<Page<MessageInfo>> MessagesAsync(int agentId, string? status, int limit, CancellationToken ct) =>
        SendAsync<Page<MessageInfo>>(HttpMethod.Get, $"/agents/{agentId}/messages?limit={limit}"
            + (status is null ? "" : "&status=" + status), null, ct);

    public Task<MessageInfo> MessageAsync(int agentId, Guid messageId, CancellationToken ct) =>
        SendAsync<MessageInfo>(HttpMethod.Get, $"/agents/{agentId}/messages/{messageId}", null, ct);

    public Task<RunSteps> StepsAsync(int agentId, Guid messageId, CancellationToken ct) =>
        SendAsync<RunSteps>(HttpMethod.Get, $"/agents/{agentId}/messages/{messageId}/steps", null, ct);

    public Task<Page<ConversationInfo>> ConversationsAsync(int agentId, CancellationToken ct) =>
        SendAsync<Page<ConversationInfo>>(HttpMethod.Get, $"/agents/{agentId}/conversations?limit=50", null, ct);

    public Task<ConversationTurns> ConversationAsync(int agentId, Guid session, CancellationToken ct) =>
        SendAsync<ConversationTurns>(HttpMethod.Get, $"/agents/{agentId}/conversations/{session}", null, ct);

    public Task<AgentUsageInfo> UsageAsync(int agentId, CancellationToken ct) =>
        SendAsync<AgentUsageInfo>(HttpMethod.Get, $"/agents/{agentId}/usage", null, ct);

    public Task<Dictionary<string, QuotaUse>> QuotasAsync(CancellationToken ct) =>
        SendAsync<Dictionary<string, QuotaUse>>(HttpMethod.Get, "/users/me/usage", null, ct);

    public Task<Page<LogLine>> LogsAsync(int agentId, CancellationToken ct) =>
        SendAsync<Page<LogLine>>(HttpMethod.Get, $"/agents/{agentId}/logs?limit=1", null, ct);

    public Task<ScheduleList> SchedulesAsync(int agentId, CancellationToken ct) =>
        SendAsync<ScheduleList>(HttpMethod.Get, $"/agents/{agentId}/schedules", null, ct);

    /// <summary>A schedule as the API's create takes it (one of cron, interval_seconds or at, and text).</summary>
    public Task<ScheduleInfo> CreateScheduleAsync(int agentId, object schedule, CancellationToken ct) =>
        SendAsync<ScheduleInfo>(HttpMethod.Post, $"/agents/{agentId}/schedules", schedule, ct);

    public Task DeleteScheduleAsync(int agentId, Guid scheduleId, CancellationToken ct) =>
        SendAsync(HttpMethod.Delete, $"/agents/{agentId}/schedules/{scheduleId}", null, ct);

    public Task<List<ApiKeyInfo>> ApiKeysAsync(CancellationToken ct) => SendAsync<List<ApiKeyInfo>>(HttpMethod.Get, "/api-keys", null, ct);

    public Task<NewApiKey> CreateApiKeyAsync(string name, IReadOnlyList<string> scopes, CancellationToken ct) =>
        SendAsync<NewApiKey>(HttpMethod.Post, "/api-keys", new { name, scopes }, ct);

    public Task DeleteApiKeyAsync(int keyId, CancellationToken ct) => SendAsync(HttpMethod.Delete, $"/api-keys/{keyId}", null, ct);

    /// <summary>Pending approvals of every agent of the caller.</summary>
    public Task<ApprovalList> PendingApprovalsAsync(CancellationToken ct) =>
        SendAsync<ApprovalList>(HttpMethod.Get, "/approvals", null, ct);

    public Task<ApprovalInfo> ApprovalAsync(int agentId, Guid approvalId, CancellationToken ct) =>
        SendAsync<ApprovalInfo>(HttpMethod.Get, $"/agents/{agentId}/approvals/{approvalId}", null, ct);

    public Task<ApprovalInfo> DecideAsync(int agentId, Guid approvalId, bool approve, string? reason, CancellationToken ct) =>
        SendAsync<ApprovalInfo>(HttpMethod.Post, $"/agents/{agentId}/approvals/{approvalId}",
            new { decision = approve ? "approve" : "deny", reason = string.IsNullOrWhiteSpace(reason) ? null : reason }, ct);

    public Task<List<WebhookInfo>> WebhooksAsync(CancellationToken ct) =>
        SendAsync<List<WebhookInfo>>(HttpMethod.Get, "/webhooks", null, ct);

    public Task<NewWebhook> CreateWebhookAsync(string url, IReadOnlyList<string> events, CancellationToken ct) =>
        SendAsync<NewWebhook>(HttpMethod.Post, "/webhooks", new { url, events }, ct);

    public Task DeleteWebhookAsync(Guid webhookId, CancellationToken ct) =>
        SendAsync(HttpMethod.Delete, $"/webhooks/{webhookId}", null, ct);

    public Task<DeliveryList> DeliveriesAsync(Guid webhookId, int limit, CancellationToken ct) =>
        SendAsync<DeliveryList>(HttpMethod.Get, $"/webhooks/{webhookId}/deliveries?limit={limit}", null, ct);

    /// <summary>Sends a text message and yields its events as they happen (accepted, step, delta, tool_call, tool_result, done or
    /// error).</summary>
    public IAsyncEnumerable<ServerSentEvent> SendStreamingAsync(int agentId, string text, Guid? session, string idempotencyKey,
        CancellationToken ct) =>
        StreamAsync(HttpMethod.Post, $"/agents/{agentId}/messages?stream=true",
            new { text, session = session?.ToString("D"), idempotency_key = idempotencyKey }, null, ct);

    /// <summary>The agent's log: the newest <paramref name="tail"/> lines, then each new one, until canceled.</summary>
    public IAsyncEnumerable<ServerSentEvent> FollowLogAsync(int agentId, int tail, string? lastEventId, CancellationToken ct) =>
        StreamAsync(HttpMethod.Get, $"/agents/{agentId}/logs/stream?tail={tail}", null, lastEventId, ct);

    private async Task<T> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken ct, bool anonymous = false)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(CallTimeout);
        using var response = await SendCoreAsync(method, path, body, anonymous, HttpCompletionOption.ResponseContentRead, null,
            timeout.Token);
        return (await response.Content.ReadFromJsonAsync<T>(Json, timeout.Token))!;
    }

    private async Task SendAsync(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(CallTimeout);
        using var response = await SendCoreAsync(method, path, body, anonymous: false, HttpCompletionOption.ResponseContentRead, null,
            timeout.Token);
    }

    private async IAsyncEnumerable<ServerSentEvent> StreamAsync(HttpMethod method, string path, object? body, string? lastEventId,
        [EnumeratorCancellation] CancellationToken ct)
    {
        using var response = await SendCoreAsync(method, path, body, anonymous: false, HttpCompletionOption.ResponseHeadersRead,
            lastEventId, ct);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
        await foreach (var item in ServerSentEvents.ReadAsync(reader, ct))
        {
            yield return item;
        }
    }

    private async Task<HttpResponseMessage> SendCoreAsync(HttpMethod method, string path, object? body, bool anonymous,
        HttpCompletionOption completion, string? lastEventId, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, options: Json);
        }

        if (!anonymous)
        {
            var token = await session.GetAsync() ?? throw new SessionEndedException();
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        if (context.HttpContext?.Connection.RemoteIpAddress is { } client)
        {
            request.Headers.Add("X-Forwarded-For", client.ToString());
        }

        var response = await http.SendAsync(request, completion, ct);
        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            if (response.StatusCode == HttpStatusCode.Unauthorized && !anonymous)
            {
                throw new SessionEndedException();
            }

            throw await ApiProblemException.ReadAsync(response, ct);
        }
    }
}
