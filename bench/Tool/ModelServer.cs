using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Bench;

/// <summary>
/// A scripted OpenAI-compatible model on loopback (<c>POST /v1/chat/completions</c>, streamed or not) that
/// answers every request with the same text and records its own time per request, so the bench can take
/// the model's time out of a run's. The system prompt may carry <c>[ttft:ms]</c> (time to first token)
/// and <c>[token:ms]</c> (between tokens); <c>--ttft-ms</c> / <c>--token-ms</c> are the defaults.
/// <c>GET /timings</c> lists what it recorded, keyed by the last user message's text.
/// </summary>
public static partial class ModelServer
{
    public const string Model = "bench-model";
    private static readonly string[] Tokens = ["The ", "scripted ", "model ", "answers ", "this ", "same ", "text ", "every time."];
    private static readonly ConcurrentDictionary<string, Timing> Timings = new();

    public static async Task RunAsync(Args args)
    {
        var defaultTtft = args.Int("ttft-ms", 0);
        var defaultToken = args.Int("token-ms", 0);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{args.Get("port")}");
        var app = builder.Build();
        app.MapGet("/health", () => "ok");
        app.MapGet("/timings", () => new JsonArray([.. Timings.Values.Select(t => (JsonNode)t.ToJson())]));
        app.MapPost("/v1/chat/completions", context => HandleAsync(context, defaultTtft, defaultToken));
        Console.WriteLine($"  model server on http://127.0.0.1:{args.Get("port")} (ttft {defaultTtft} ms, {defaultToken} ms per token)");
        await app.RunAsync();
    }

    private static async Task HandleAsync(HttpContext context, int defaultTtft, int defaultToken)
    {
        var start = Stopwatch.GetTimestamp();
        var arrived = DateTime.UtcNow;
        var body = (await JsonNode.ParseAsync(context.Request.Body))!.AsObject();
        var messages = body["messages"] as JsonArray ?? [];
        var system = Text(messages.FirstOrDefault(m => m?["role"]?.GetValue<string>() is "system" or "developer"));
        var key = Text(messages.LastOrDefault(m => m?["role"]?.GetValue<string>() == "user"));
        var ttft = Setting(system, TtftPattern(), defaultTtft);
        var perToken = Setting(system, TokenPattern(), defaultToken);
        var stream = body["stream"]?.GetValue<bool>() == true;
        double firstToken;
        var response = context.Response;
        if (ttft > 0)
        {
            await Task.Delay(ttft, context.RequestAborted);
        }

        var usage = new JsonObject { ["prompt_tokens"] = 20, ["completion_tokens"] = Tokens.Length, ["total_tokens"] = 20 + Tokens.Length };
        // Delegation ("ask ADDRESS: TEXT"): the model calls send_message, then answers with what came back.
        var last = messages.LastOrDefault()?["role"]?.GetValue<string>();
        if (Delegation(key) is { } ask && last != "tool")
        {
            firstToken = Elapsed(start);
            await ToolCallAsync(response, stream, ask.Target, ask.Text, usage);
        }
        else if (last == "tool")
        {
            firstToken = Elapsed(start);
            var answer = $"{Delegation(key)?.Target} said: {Text(messages[^1])}";
            await AnswerAsync(response, stream, answer, usage);
        }
        else if (!stream)
        {
            firstToken = Elapsed(start);
            await response.WriteAsJsonAsync(new JsonObject
            {
                ["id"] = "chatcmpl-bench", ["object"] = "chat.completion", ["created"] = 1, ["model"] = Model,
                ["choices"] = new JsonArray(new JsonObject
                {
                    ["index"] = 0, ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = string.Concat(Tokens) },
                        ["finish_reason"] = "stop",
                }),
                ["usage"] = usage,
            });
        }
        else
        {
            response.ContentType = "text/event-stream";
            firstToken = double.NaN;
            await ChunkAsync(response, new JsonObject { ["role"] = "assistant", ["content"] = "" }, null, null);
            for (var i = 0; i < Tokens.Length; i++)
            {
                if (i > 0 && perToken > 0)
                {
                    await Task.Delay(perToken, context.RequestAborted);
                }

                await ChunkAsync(response, new JsonObject { ["content"] = Tokens[i] }, null, null);
                if (i == 0)
                {
                    firstToken = Elapsed(start);
                }
            }

            await ChunkAsync(response, [], "stop", null);
            await ChunkAsync(response, null, null, usage);
            await response.WriteAsync("data: [DONE]\n\n", Encoding.UTF8);
        }

        await response.Body.FlushAsync();
        var timing = new Timing(key, stream, ttft, firstToken, Elapsed(start), arrived, arrived.AddMilliseconds(firstToken));
        Timings.AddOrUpdate(key, timing, (_, earlier) => earlier with
        {
            Requests = earlier.Requests + 1,
            FirstTokenMs = earlier.FirstTokenMs + firstToken,
            TotalMs = earlier.TotalMs + timing.TotalMs,
        });
    }

    private static (string Target, string Text)? Delegation(string text) =>
        text.StartsWith("ask ", StringComparison.Ordinal) && text.IndexOf(": ", StringComparison.Ordinal) is > 4 and var colon
            ? (text[4..colon], text[(colon + 2)..])
            : null;

    private static async Task ToolCallAsync(HttpResponse response, bool stream, string target, string text, JsonObject usage)
    {
        var arguments = new JsonObject { ["target"] = target, ["text"] = text }.ToJsonString();
        var call = new JsonObject
        {
            ["index"] = 0, ["id"] = "call_" + Guid.NewGuid().ToString("N")[..8], ["type"] = "function",
            ["function"] = new JsonObject { ["name"] = "send_message", ["arguments"] = arguments },
        };
        if (!stream)
        {
            await response.WriteAsJsonAsync(new JsonObject
            {
                ["id"] = "chatcmpl-bench", ["object"] = "chat.completion", ["created"] = 1, ["model"] = Model,
                ["choices"] = new JsonArray(new JsonObject
                {
                    ["index"] = 0, ["message"] = new JsonObject
                        { ["role"] = "assistant", ["content"] = null, ["tool_calls"] = new JsonArray(call) },
                    ["finish_reason"] = "tool_calls",
                }),
                ["usage"] = usage,
            });
            return;
        }

        response.ContentType = "text/event-stream";
        await ChunkAsync(response, new JsonObject { ["role"] = "assistant", ["tool_calls"] = new JsonArray(call) }, null, null);
        await ChunkAsync(response, [], "tool_calls", null);
        await ChunkAsync(response, null, null, usage);
        await response.WriteAsync("data: [DONE]\n\n", Encoding.UTF8);
    }

    private static async Task AnswerAsync(HttpResponse response, bool stream, string text, JsonObject usage)
    {
        if (!stream)
        {
            await response.WriteAsJsonAsync(new JsonObject
            {
                ["id"] = "chatcmpl-bench", ["object"] = "chat.completion", ["created"] = 1, ["model"] = Model,
                ["choices"] = new JsonArray(new JsonObject
                {
                    ["index"] = 0, ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = text }, ["finish_reason"] = "stop",
                }),
                ["usage"] = usage,
            });
            return;
        }

        response.ContentType = "text/event-stream";
        await ChunkAsync(response, new JsonObject { ["role"] = "assistant", ["content"] = text }, null, null);
        await ChunkAsync(response, [], "stop", null);
        await ChunkAsync(response, null, null, usage);
        await response.WriteAsync("data: [DONE]\n\n", Encoding.UTF8);
    }

    private static async Task ChunkAsync(HttpResponse response, JsonObject? delta, string? finish, JsonObject? usage)
    {
        var chunk = new JsonObject
        {
            ["id"] = "chatcmpl-bench", ["object"] = "chat.completion.chunk", ["created"] = 1, ["model"] = Model,
            ["choices"] = delta is null ? new JsonArray() : new
                JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = finish }),
        };
        if (usage is not null)
        {
            chunk["usage"] = usage;
        }

        await response.WriteAsync($"data: {chunk.ToJsonString()}\n\n", Encoding.UTF8);
        await response.Body.FlushAsync();
    }

    private static double Elapsed(long start) => Stopwatch.GetElapsedTime(start).TotalMilliseconds;

    private static string Text(JsonNode? message) =>
        message?["content"] switch
        {
            JsonValue value when value.TryGetValue<string>(out var text) => text,
            JsonArray parts => string.Concat(parts.Select(p => p?["text"]?.GetValue<string>() ?? "")),
            _ => "",
        };

    private static int Setting(string system, Regex pattern, int fallback) =>
        pattern.Match(system) is { Success: true } match ? int.Parse(match.Groups[1].Value) : fallback;

    [GeneratedRegex(@"\[ttft:(\d+)\]")]
    private static partial Regex TtftPattern();

    [GeneratedRegex(@"\[token:(\d+)\]")]
    private static partial Regex TokenPattern();

    /// <summary>One key's requests: time to first token and total, from the handler's start to the last byte flushed.</summary>
    private sealed record Timing(string Key, bool Stream, int ConfiguredTtftMs, double FirstTokenMs, double TotalMs, DateTime ArrivedAt,
        DateTime FirstTokenAt)
    {
        public int Requests { get; init; } = 1;

        public JsonObject ToJson() => new()
        {
            ["key"] = Key, ["stream"] = Stream, ["configured_ttft_ms"] = ConfiguredTtftMs, ["first_token_ms"] = FirstTokenMs,
            ["total_ms"] = TotalMs, ["requests"] = Requests, ["arrived_at"] = ArrivedAt.ToString("O"),
                ["first_token_at"] = FirstTokenAt.ToString("O"),
        };
    }
}
