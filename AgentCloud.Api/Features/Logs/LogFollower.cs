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
/// it waits for <c>agent_logs</c> from the <see cref="NotificationHub"/> (or the 2 s lookback below)
/// and then reads the lines after the last one it sent.
/// </summary>
/// <remarks>
/// Ids come from a sequence when a line is inserted, but lines become visible when their transactions
/// commit, so a line can appear after one with a higher id has been sent (two writers on one agent).
/// Every poll therefore also looks back over the ids sent in the last <see cref="Lookback"/> for lines
/// it has not sent yet, and sends those late (after higher ids). A line whose transaction stays open
/// longer than that after writing it is not caught; the log itself keeps it, as always.
/// </remarks>
public sealed class LogFollower(LogStore logs, NotificationHub notifications, IOptions<HttpJsonOptions> json)
{
    private const int BatchSize = 500;
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan KeepAliveInterval = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan Lookback = TimeSpan.FromSeconds(10);

    /// <summary>Runs until the client goes away.</summary>
    public async Task FollowAsync(HttpResponse response, int agentId, int tail, int? lastEventId, CancellationToken cancellationToken)
    {
        using var written = notifications.Subscribe(NotifyChannels.AgentLogs, agentId.ToString(CultureInfo.InvariantCulture));
        try
        {
            Sent sent;
            if (lastEventId is { } resumeAfter)
            {
                sent = new Sent(resumeAfter);
                await SendNewLinesAsync(response, agentId, sent, cancellationToken);
            }
            else
            {
                var (lines, newest) = await logs.ReadTailAsync(agentId, tail, cancellationToken);
                sent = new Sent(lines.Count > 0 ? lines[0].Id - 1 : newest);
                await WriteAsync(response, lines, sent, cancellationToken);
                sent.Reached(newest);
            }

            var lastWrite = Stopwatch.GetTimestamp();
            var lastLookback = Stopwatch.GetTimestamp();
            while (!cancellationToken.IsCancellationRequested)
            {
                var untilKeepAlive = KeepAliveInterval - Stopwatch.GetElapsedTime(lastWrite);
                await written.WaitAsync(untilKeepAlive < PollInterval ? untilKeepAlive : PollInterval, cancellationToken);
                var wrote = await SendNewLinesAsync(response, agentId, sent, cancellationToken);
                if (Stopwatch.GetElapsedTime(lastLookback) >= PollInterval)
                {
                    wrote |= await SendMissedLinesAsync(response, agentId, sent, cancellationToken);
                    lastLookback = Stopwatch.GetTimestamp();
                }

                if (wrote)
                {
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

    /// <summary>Everything after the last id sent, in batches; whether anything was sent.</summary>
    private async Task<bool> SendNewLinesAsync(HttpResponse response, int agentId, Sent sent, CancellationToken cancellationToken)
    {
        var wrote = false;
        while (true)
        {
            var lines = await logs.ReadAfterAsync(agentId, sent.LastId, BatchSize, cancellationToken);
            if (lines.Count == 0)
            {
                return wrote;
            }

            await WriteAsync(response, lines, sent, cancellationToken);
            wrote = true;
            if (lines.Count < BatchSize)
            {
                return wrote;
            }
        }
    }

    /// <summary>The lines below the last id sent that committed late, within the lookback; whether any were sent.</summary>
    private async Task<bool> SendMissedLinesAsync(HttpResponse response, int agentId, Sent sent, CancellationToken cancellationToken)
    {
        sent.MoveFloor(Stopwatch.GetTimestamp());
        if (sent.Floor >= sent.LastId)
        {
            return false;
        }

        var lines = await logs.ReadMissedAsync(agentId, sent.Floor, sent.LastId, sent.Recent, BatchSize, cancellationToken);
        await WriteAsync(response, lines, sent, cancellationToken);
        return lines.Count > 0;
    }

    private async Task WriteAsync(HttpResponse response, IReadOnlyList<LogRow> lines, Sent sent, CancellationToken cancellationToken)
    {
        if (lines.Count == 0)
        {
            return;
        }

        foreach (var line in lines)
        {
            var data = JsonSerializer.Serialize(LogResponse.From(line), json.Value.SerializerOptions);
            await response.WriteAsync(
                $"id: {line.Id.ToString(CultureInfo.InvariantCulture)}\nevent: log\ndata: {data}\n\n", cancellationToken);
            sent.Add(line.Id);
        }

        await response.Body.FlushAsync(cancellationToken);
    }

    /// <summary>
    /// What one stream has sent: every id up to <see cref="Floor"/> is settled, above it the ids sent are
    /// remembered, and the floor follows <see cref="LastId"/> <see cref="Lookback"/> behind.
    /// </summary>
    private sealed class Sent(int floor)
    {
        private readonly SortedSet<int> recent = [];
        private readonly Queue<(long At, int LastId)> marks = new();

        public int Floor { get; private set; } = floor;
        public int LastId { get; private set; } = floor;
        public int[] Recent => [.. recent];

        public void Add(int id)
        {
            recent.Add(id);
            Reached(id);
        }

        public void Reached(int id)
        {
            if (id > LastId)
            {
                LastId = id;
            }
        }

        /// <summary>Settles what was sent more than <see cref="Lookback"/> ago; notes where the stream is now.</summary>
        public void MoveFloor(long now)
        {
            while (marks.TryPeek(out var mark) && Stopwatch.GetElapsedTime(mark.At, now) >= Lookback)
            {
                Floor = Math.Max(Floor, mark.LastId);
                marks.Dequeue();
            }

            recent.RemoveWhere(id => id <= Floor);
            marks.Enqueue((now, LastId));
        }
    }
}
