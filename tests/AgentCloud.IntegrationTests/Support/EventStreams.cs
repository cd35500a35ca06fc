using System.Net.Http.Headers;
using System.Text.Json.Nodes;

namespace AgentCloud.IntegrationTests;

/// <summary>One server-sent event as a client sees it; comments (keep-alives) are counted, not returned.</summary>
public sealed record ServerSentEvent(string? Id, string Type, string Data)
{
    public JsonNode? Json => Data.Length == 0 || Data == "[DONE]" ? null : JsonNode.Parse(Data);
}

/// <summary>Reads server-sent events off an open response, the way a browser's EventSource does.</summary>
public sealed class EventStreamReader(HttpResponseMessage response, StreamReader reader) : IDisposable
{
    public HttpResponseMessage Response { get; } = response;

    public static async Task<EventStreamReader> OpenAsync(HttpClient client, HttpRequestMessage request,
        CancellationToken cancellationToken)
    {
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        return new EventStreamReader(response, new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken)));
    }

    /// <summary>The next event, or null when the server ended the stream.</summary>
    public async Task<ServerSentEvent?> NextAsync(CancellationToken cancellationToken)
    {
        string? id = null, type = null, data = null;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (data is not null)
                {
                    return new ServerSentEvent(id, type ?? "message", data);
                }

                continue;
            }

            if (line.StartsWith(':'))
            {
                continue;
            }

            var colon = line.IndexOf(':');
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..].TrimStart(' ');
            switch (field)
            {
                case "id": id = value; break;
                case "event": type = value; break;
                case "data": data = data is null ? value : data + "\n" + value; break;
            }
        }

        return null;
    }

    /// <summary>Every event until the server ends the stream.</summary>
    public async Task<List<ServerSentEvent>> ReadToEndAsync(CancellationToken cancellationToken)
    {
        var events = new List<ServerSentEvent>();
        while (await NextAsync(cancellationToken) is { } next)
        {
            events.Add(next);
        }

        return events;
    }

    public void Dispose()
    {
        reader.Dispose();
        Response.Dispose();
    }
}
