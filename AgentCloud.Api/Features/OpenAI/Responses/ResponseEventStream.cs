using System.Text;
using System.Text.Json.Nodes;
using AgentCloud.Api.Features.Doors;
using AgentCloud.Api.Features.Messages.Events;
using AgentCloud.Shared.Llm;
using AgentCloud.Shared.Messaging;

namespace AgentCloud.Api.Features.OpenAI.Responses;

/// <summary>
/// A message's feed as the Responses stream: response.created and response.in_progress, then each output item as it
/// happens (added, its deltas, done: text as a message with one output_text part, each tool call the agent made as a
/// function_call and its result as a function_call_output), then response.completed or response.failed (a dead or
/// cancelled message) and <c>data: [DONE]</c>. The events follow from the stored run events alone, so a replay
/// (<c>GET /v1/responses/{id}?stream=true</c>) numbers them alike and <c>starting_after</c> resumes after one.
/// </summary>
public sealed class ResponseEventStream(MessageEventFeed feed, ResponseStore store)
{
    public async Task WriteAsync(HttpContext context, MessageRow message, ResponseEcho echo, long? startingAfter,
        CancellationToken cancellationToken)
    {
        await ServerSentEvents.StartAsync(context, cancellationToken);
        var writer = new Writer(context.Response, message.Id, startingAfter, cancellationToken);
        try
        {
            // As the message was when it was sent, so a replay numbers and shows these two alike.
            await writer.EventAsync("response.created",
                new JsonObject { ["response"] = ResponseObjects.Response(message, echo, [], null, status: "queued") });
            await writer.EventAsync("response.in_progress",
                new JsonObject { ["response"] = ResponseObjects.Response(message, echo, [], null, status: "in_progress") });
            await foreach (var item in feed.FollowAsync(message, null, ServerSentEvents.TokenExpiry(context.User), cancellationToken))
            {
                switch (item.Type)
                {
                    case FeedEventTypes.Heartbeat:
                        await ServerSentEvents.WriteKeepAliveAsync(context.Response, cancellationToken);
                        break;
                    case RunEventTypes.Delta when item.DeltaText is { Length: > 0 } delta:
                        await writer.TextAsync(delta);
                        break;
                    case RunEventTypes.ToolCall when item.DataJson is { } json:
                        await writer.ToolCallAsync(JsonNode.Parse(json) as JsonObject ?? []);
                        break;
                    case RunEventTypes.ToolResult when item.DataJson is { } json:
                        await writer.ToolResultAsync(JsonNode.Parse(json) as JsonObject ?? []);
                        break;
                    case FeedEventTypes.Done:
                        if (!writer.TextSinceTools && DoorText.Of(item.Message!.Reply) is { Length: > 0 } reply)
                        {
                            // A behaviour that streams nothing (echo, forward): its reply is the one delta.
                            await writer.TextAsync(reply);
                        }

                        await writer.CloseTextAsync();
                        var steps = await store.StepsAsync(message.Id, cancellationToken);
                        await writer.EventAsync("response.completed",
                            new JsonObject { ["response"] = ResponseObjects.Response(item.Message!, echo, writer.Output(), steps) });
                        break;
                    case FeedEventTypes.Error:
                        await writer.CloseTextAsync();
                        var ended = item.Message!;
                        var response = ResponseObjects.Response(ended, echo, writer.Output(),
                            await store.StepsAsync(message.Id, cancellationToken),
                            status: ended.Status == MessageStatus.Canceled ? "cancelled" : "failed");
                        // A cancelled response has no error of its own; the stream still says why it ended.
                        response["error"] = ended.Status == MessageStatus.Canceled
                            ? new JsonObject { ["code"] = "cancelled", ["message"] = "The response was cancelled." }
                            : ResponseObjects.Error(ended);
                        await writer.EventAsync("response.failed", new JsonObject { ["response"] = response });
                        break;
                }
            }

            await ServerSentEvents.WriteAsync(context.Response, null, null, "[DONE]", cancellationToken);
        }
        catch (Exception exception) when (cancellationToken.IsCancellationRequested
            && exception is OperationCanceledException or IOException)
        {
            // The client went away.
        }
    }

    /// <summary>The stream's state: the items so far, the one text item open, the next sequence number.</summary>
    private sealed class Writer(HttpResponse response, Guid messageId, long? startingAfter, CancellationToken cancellationToken)
    {
        private readonly List<JsonObject> output = [];
        private readonly StringBuilder text = new();
        private long sequence;
        private JsonObject? open;

        /// <summary>Whether text came after the last tool call (the answer then streamed as deltas).</summary>
        public bool TextSinceTools { get; private set; }

        public JsonArray Output() => [.. output.Select(item => item.DeepClone())];

        public async Task EventAsync(string type, JsonObject data)
        {
            var number = sequence++;
            if (startingAfter is { } after && number <= after)
            {
                return;
            }

            var body = new JsonObject { ["type"] = type, ["sequence_number"] = number };
            foreach (var (name, value) in data.ToList())
            {
                data.Remove(name);
                body[name] = value;
            }

            await ServerSentEvents.WriteAsync(response, null, type, body.ToJsonString(), cancellationToken);
        }

        public async Task TextAsync(string delta)
        {
            if (open is null)
            {
                open = ResponseObjects.AssistantMessage(ResponseIds.Item("msg", messageId, output.Count + 1), "", "in_progress");
                output.Add(open);
                await EventAsync("response.output_item.added", new JsonObject { ["output_index"] = Index, ["item"] = open.DeepClone() });
                await EventAsync("response.content_part.added", Part(ResponseObjects.OutputText("")));
            }

            text.Append(delta);
            TextSinceTools = true;
            await EventAsync("response.output_text.delta", new JsonObject
            {
                ["item_id"] = Id, ["output_index"] = Index, ["content_index"] = 0, ["delta"] = delta, ["logprobs"] = new JsonArray(),
            });
        }

        public async Task CloseTextAsync()
        {
            if (open is null)
            {
                return;
            }

            var whole = text.ToString();
            await EventAsync("response.output_text.done", new JsonObject
            {
                ["item_id"] = Id, ["output_index"] = Index, ["content_index"] = 0, ["text"] = whole, ["logprobs"] = new JsonArray(),
            });
            await EventAsync("response.content_part.done", Part(ResponseObjects.OutputText(whole)));
            open["status"] = "completed";
            open["content"] = new JsonArray(ResponseObjects.OutputText(whole));
            await EventAsync("response.output_item.done", new JsonObject { ["output_index"] = Index, ["item"] = open.DeepClone() });
            open = null;
            text.Clear();
        }

        public async Task ToolCallAsync(JsonObject call)
        {
            await CloseTextAsync();
            TextSinceTools = false;
            var callId = Str(call["id"]);
            var arguments = call["arguments"]?.ToJsonString() ?? "{}";
            var item = ResponseObjects.FunctionCall(ResponseIds.Item("fc", messageId, output.Count + 1), callId, Str(call["name"]), "",
                "in_progress");
            output.Add(item);
            var index = output.Count - 1;
            var id = Str(item["id"]);
            await EventAsync("response.output_item.added", new JsonObject { ["output_index"] = index, ["item"] = item.DeepClone() });
            await EventAsync("response.function_call_arguments.delta", new JsonObject
            {
                ["item_id"] = id, ["output_index"] = index, ["call_id"] = callId, ["delta"] = arguments,
            });
            await EventAsync("response.function_call_arguments.done", new JsonObject
            {
                ["item_id"] = id, ["output_index"] = index, ["call_id"] = callId, ["name"] = Str(call["name"]), ["arguments"] = arguments,
            });
            item["arguments"] = arguments;
            item["status"] = "completed";
            await EventAsync("response.output_item.done", new JsonObject { ["output_index"] = index, ["item"] = item.DeepClone() });
        }

        public async Task ToolResultAsync(JsonObject result)
        {
            await CloseTextAsync();
            TextSinceTools = false;
            var item = ResponseObjects.FunctionCallOutput(ResponseIds.Item("fco", messageId, output.Count + 1), Str(result["id"]),
                Str(result["result"]));
            output.Add(item);
            var index = output.Count - 1;
            await EventAsync("response.output_item.added", new JsonObject { ["output_index"] = index, ["item"] = item.DeepClone() });
            await EventAsync("response.output_item.done", new JsonObject { ["output_index"] = index, ["item"] = item.DeepClone() });
        }

        private int Index => output.IndexOf(open!);

        private string Id => Str(open!["id"]);

        private JsonObject Part(JsonObject part) => new()
        {
            ["item_id"] = Id, ["output_index"] = Index, ["content_index"] = 0, ["part"] = part,
        };

        private static string Str(JsonNode? node) => node is JsonValue value && value.TryGetValue<string>(out var s) ? s
            : node?.ToJsonString() ?? "";
    }
}
