using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using AgentCloud.Api.Features.Logs.List;
using AgentCloud.Api.Infrastructure;
using AgentCloud.Shared.Messaging;
using Microsoft.Extensions.Options;
using HttpJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace AgentCloud.Api.Features.Logs;

/// <summary>
/// Writes an agent's log as server-sent events. A stream holds no database connection while idle:
/// it waits on the shared <c>agent_logs</c> listener (or a 2 s poll, should a notification be lost)
/// and then reads the lines after the last one it sent.
/// </summary>
public sealed class LogFollower(LogStore logs, DatabaseNotifications notifications, IOptions<HttpJsonOptions> json)
{
    private const int BatchSize = 500;
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan KeepAliveInterval = TimeSpan.FromSeconds(15);

    /// <summary>Runs until the client goes away.</summary>
    public async Task FollowAsync(HttpResponse response, int agentId, int tail, int? lastEventId, CancellationToken cancellationToken)
    {
        using var written = notifications.Subscribe(NotifyChannels.AgentLogs, agentId.ToString(CultureInfo.InvariantCulture));
        try
        {
            int lastId;
            if (lastEventId is { } resumeAfter)
            {
                lastId = await SendNewLinesAsync(response, agentId, resumeAfter, cancellationToken);
            }
            else
            {
                var (lines, newest) = await logs.ReadTailAsync(agentId, tail, cancellationToken);
                await WriteAsync(response, lines, cancellationToken);
                lastId = newest;
            }

            var lastWrite = Stopwatch.GetTimestamp();
            while (!cancellationToken.IsCancellationRequested)
            {
                var untilKeepAlive = KeepAliveInterval - Stopwatch.GetElapsedTime(lastWrite);
                await written.WaitAsync(untilKeepAlive < PollInterval ? untilKeepAlive : PollInterval, cancellationToken);
                var sentUpTo = await SendNewLinesAsync(response, agentId, lastId, cancellationToken);
                if (sentUpTo != lastId)
                {
                    lastId = sentUpTo;
                    lastWrite = Stopwatch.GetTimestamp();
                }
                else if (Stopwatch.GetElapsedTime(lastWrite) >= KeepAliveInterval)
                {
                    await response.WriteAsync(": keep-alive\n\n", cancellationToken);
                    await response.Body.FlushAsync(cancellationToken);
                    lastWrite = Stopwatch.GetTimestamp();
                }
            }
        }
        catch (Exception exception) when (cancellationToken.IsCancellationRequested
            && exception is OperationCanceledException or IOException)
        {
            // The client went away: the normal end of a stream.
        }
    }

    /// <summary>Everything after <paramref name="afterId"/>, in batches; returns the id of the last line sent.</summary>
    private async Task<int> SendNewLinesAsync(HttpResponse response, int agentId, int afterId, CancellationToken cancellationToken)
    {
        while (true)
        {
            var lines = await logs.ReadAfterAsync(agentId, afterId, BatchSize, cancellationToken);
            if (lines.Count == 0)
            {
                return afterId;
            }

            await WriteAsync(response, lines, cancellationToken);
            afterId = lines[^1].Id;
            if (lines.Count < BatchSize)
            {
                return afterId;
            }
        }
    }

    private async Task WriteAsync(HttpResponse response, IReadOnlyList<LogRow> lines, CancellationToken cancellationToken)
    {
        foreach (var line in lines)
        {
            var data = JsonSerializer.Serialize(LogResponse.From(line), json.Value.SerializerOptions);
            await response.WriteAsync(
                $"id: {line.Id.ToString(CultureInfo.InvariantCulture)}\nevent: log\ndata: {data}\n\n", cancellationToken);
        }

        await response.Body.FlushAsync(cancellationToken);
    }
}
