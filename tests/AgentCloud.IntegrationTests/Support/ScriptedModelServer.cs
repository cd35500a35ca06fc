using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace AgentCloud.IntegrationTests;

/// <summary>What the scripted model answers to one request.</summary>
public abstract record ModelReply
{
    public TimeSpan Delay { get; init; }

    /// <summary>A pause between the streamed pieces of a text answer, so a client can be seen showing the first alone.</summary>
    public TimeSpan ChunkDelay { get; init; }

    public int InputTokens { get; init; } = 11;

    public int OutputTokens { get; init; } = 7;
}

public sealed record TextReply(string Text) : ModelReply;

/// <summary>Tool calls: (id, name, arguments as the raw JSON text the model "wrote").</summary>
public sealed record ToolCallsReply(params (string Id, string Name, string Arguments)[] Calls) : ModelReply;

public sealed record ErrorReply(int Status, string Message, IReadOnlyDictionary<string, string>? Headers = null) : ModelReply;

/// <summary>
/// An OpenAI-compatible <c>/v1/chat/completions</c> on loopback that answers from a script per test. A test's
/// script is found by the marker <c>[script:{id}]</c> in the agent's instructions, so parallel tests never
/// share one; every request a script received is kept so the test can check what the model saw.
/// </summary>
public sealed class ScriptedModelServer : IAsyncDisposable
{
    public const string Model = "scripted-model";
    public const string OtherModel = "scripted-model-large";
    public const string Key = "sk-test-0123456789-not-a-real-key";

    private readonly ConcurrentDictionary<string, Script> scripts = new();
    private WebApplication? app;

    public string BaseUrl { get; private set; } = "";

    public string ConnectionString => $"Endpoint={BaseUrl}/v1;Key={Key};Model={Model};Models={OtherModel}";

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        app = builder.Build();
        app.MapPost("/v1/chat/completions", HandleAsync);
        await app.StartAsync();
        BaseUrl = app.Urls.First();
    }

    /// <summary>A new script; put <see cref="Script.Marker"/> in the agent's instructions.</summary>
    public Script NewScript(Func<int, JsonObject, ModelReply> reply)
    {
        var script = new Script(Guid.NewGuid().ToString("N"), reply);
        scripts[script.Id] = script;
        return script;
    }

    public Script NewScript(params ModelReply[] replies) =>
        NewScript((n, _) => n < replies.Length ? replies[n] : new ErrorReply(500, "The script has no more replies."));

    private async Task HandleAsync(HttpContext context)
    {
        var body = (await JsonNode.ParseAsync(context.Request.Body))!.AsObject();
        var system = (body["messages"] as JsonArray)?.FirstOrDefault(m => m?["role"]?.GetValue<string>() is "system" or "developer");
        var text = system?["content"] is JsonValue v ? v.GetValue<string>() : system?["content"]?.ToJsonString() ?? "";
        var at = text.IndexOf("[script:", StringComparison.Ordinal);
        if (at < 0 || !scripts.TryGetValue(text.Substring(at + 8, 32), out var script))
        {
            context.Response.StatusCode = 400;
            await context.Response.WriteAsJsonAsync(new { error = new { message = "No script for this request." } });
            return;
        }

        int n;
        lock (script.Requests)
        {
            n = script.Requests.Count;
            script.Requests.Add(body);
        }

        script.Authorizations.Add(context.Request.Headers.Authorization.ToString());
        var reply = script.Reply(n, body);
        if (reply.Delay > TimeSpan.Zero)
        {
            await Task.Delay(reply.Delay, context.RequestAborted);
        }

        if (reply is ErrorReply error)
        {
            context.Response.StatusCode = error.Status;
            foreach (var (name, value) in error.Headers ?? new Dictionary<string, string>())
            {
                context.Response.Headers[name] = value;
            }

            await context.Response.WriteAsJsonAsync(new { error =
                new { message = error.Message, type = "scripted", code = (string?)null } });
            return;
        }

        var model = body["model"]?.GetValue<string>() ?? Model;
        var usage = new JsonObject { ["prompt_tokens"] = reply.InputTokens, ["completion_tokens"] = reply.OutputTokens,
            ["total_tokens"] = reply.InputTokens + reply.OutputTokens };
        var toolCalls = reply is ToolCallsReply calls
            ? new JsonArray([.. calls.Calls.Select((c, i) => (JsonNode)new JsonObject
            {
                ["index"] = i, ["id"] = c.Id, ["type"] = "function",
                ["function"] = new JsonObject { ["name"] = c.Name, ["arguments"] = c.Arguments },
            })])
            : null;
        var content = reply is TextReply t ? t.Text : null;
        var finish = toolCalls is null ? "stop" : "tool_calls";
        if (body["stream"]?.GetValue<bool>() != true)
        {
            var message = new JsonObject { ["role"] = "assistant", ["content"] = content };
            if (toolCalls is not null)
            {
                foreach (var call in toolCalls)
                {
                    call!.AsObject().Remove("index");
                }

                message["tool_calls"] = toolCalls;
            }

            await context.Response.WriteAsJsonAsync(new JsonObject
            {
                ["id"] = "chatcmpl-" + n, ["object"] = "chat.completion", ["created"] = 1, ["model"] = model,
                ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["message"] = message, ["finish_reason"] = finish }),
                ["usage"] = usage,
            });
            return;
        }

        context.Response.ContentType = "text/event-stream";
        async Task Chunk(JsonObject delta, string? finishReason, JsonObject? chunkUsage = null)
        {
            var chunk = new JsonObject
            {
                ["id"] = "chatcmpl-" + n, ["object"] = "chat.completion.chunk", ["created"] = 1, ["model"] = model,
                ["choices"] = chunkUsage is not null ? new JsonArray()
                    : new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = finishReason }),
            };
            if (chunkUsage is not null)
            {
                chunk["usage"] = chunkUsage;
            }

            await context.Response.WriteAsync($"data: {chunk.ToJsonString()}\n\n", Encoding.UTF8);
            await context.Response.Body.FlushAsync();
        }

        await Chunk(new JsonObject { ["role"] = "assistant" }, null);
        if (content is not null)
        {
            // Two pieces, so the answer really arrives as deltas.
            var half = content.Length / 2;
            await Chunk(new JsonObject { ["content"] = content[..half] }, null);
            if (reply.ChunkDelay > TimeSpan.Zero)
            {
                await Task.Delay(reply.ChunkDelay, context.RequestAborted);
            }

            await Chunk(new JsonObject { ["content"] = content[half..] }, null);
        }

        if (toolCalls is not null)
        {
            await Chunk(new JsonObject { ["tool_calls"] = toolCalls }, null);
        }

        await Chunk([], finish);
        await Chunk([], null, usage);
        await context.Response.WriteAsync("data: [DONE]\n\n", Encoding.UTF8);
    }

    public async ValueTask DisposeAsync()
    {
        if (app is not null)
        {
            await app.DisposeAsync();
        }
    }

    public sealed class Script(string id, Func<int, JsonObject, ModelReply> reply)
    {
        public string Id { get; } = id;

        public string Marker => $"[script:{Id}]";

        public Func<int, JsonObject, ModelReply> Reply { get; } = reply;

        public List<JsonObject> Requests { get; } = [];

        public ConcurrentBag<string> Authorizations { get; } = [];

        public int Count
        {
            get
            {
                lock (Requests)
                {
                    return Requests.Count;
                }
            }
        }

        public JsonObject Request(int n)
        {
            lock (Requests)
            {
                return Requests[n];
            }
        }
    }
}
