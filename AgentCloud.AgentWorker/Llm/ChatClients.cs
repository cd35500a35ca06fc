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
                .UseOpenTelemetry(loggerFactory, ActivitySourceName, telemetry => telemetry.EnableSensitiveData = settings.RecordMessageContent)
                .Build();
        });
}
