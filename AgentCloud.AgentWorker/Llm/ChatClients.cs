using System.ClientModel;
using System.ClientModel.Primitives;
using System.Collections.Concurrent;
using AgentCloud.Shared.Llm;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using OpenAI;

namespace AgentCloud.AgentWorker.Llm;

/// <summary>
/// One <see cref="IChatClient"/> per connection and model, through the OpenAI SDK (OpenAI, Azure OpenAI's
/// v1 endpoint, any OpenAI-compatible server), with the GenAI OpenTelemetry spans of Microsoft.Extensions.AI.
/// </summary>
public sealed class ChatClients(IOptions<LlmOptions> options, ILoggerFactory loggerFactory)
{
    public const string ActivitySourceName = "AgentCloud.Llm";

    private readonly ConcurrentDictionary<(string Connection, string Model), IChatClient> clients = new();
    private readonly ConcurrentDictionary<string, SemaphoreSlim> callsPerConnection = new();

    public IChatClient For(ModelConnection connection, string model) =>
        clients.GetOrAdd((connection.Name, model), _ =>
        {
            var settings = options.Value;
            var openAi = new OpenAIClient(
                // Local servers take no key; the SDK insists on one.
                new ApiKeyCredential(connection.Key ?? "none"),
                new OpenAIClientOptions
                {
                    Endpoint = connection.Endpoint,
                    // Retries 408, 429 and 5xx with exponential backoff, waiting what Retry-After asks.
                    RetryPolicy = new ClientRetryPolicy(settings.ProviderRetries),
                    // The run's own timeout (ModelCallTimeout) ends a slow call as a failed attempt; the SDK's must not come first.
                    NetworkTimeout = settings.ModelCallTimeout + TimeSpan.FromSeconds(30),
                });
            return openAi.GetChatClient(model).AsIChatClient()
                .AsBuilder()
                .UseOpenTelemetry(loggerFactory, ActivitySourceName,
                    telemetry => telemetry.EnableSensitiveData = settings.RecordMessageContent)
                .Use(inner => new ConcurrencyLimitedChatClient(inner, callsPerConnection.GetOrAdd(connection.Name,
                    _ => new SemaphoreSlim(settings.MaxConcurrentCallsPerConnection, settings.MaxConcurrentCallsPerConnection))))
                .Build();
        });
}

/// <summary>At most as many calls at once as the connection's semaphore allows; a streamed call holds its place until it ends.</summary>
internal sealed class ConcurrencyLimitedChatClient(IChatClient inner, SemaphoreSlim calls) : DelegatingChatClient(inner)
{
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        await calls.WaitAsync(cancellationToken);
        try
        {
            return await base.GetResponseAsync(messages, options, cancellationToken);
        }
        finally
        {
            calls.Release();
        }
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages,
        ChatOptions? options = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await calls.WaitAsync(cancellationToken);
        try
        {
            await foreach (var update in base.GetStreamingResponseAsync(messages, options, cancellationToken))
            {
                yield return update;
            }
        }
        finally
        {
            calls.Release();
        }
    }
}
